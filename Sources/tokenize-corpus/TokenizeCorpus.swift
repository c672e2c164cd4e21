import ArgumentParser
import Foundation

@main
struct TokenizeCorpus: ParsableCommand {
    static func main() {
        BLASCoreChoice.reexecIfGeneric()
        if let error = UnknownOptions.message(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data((error + "\n").utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "tokenize-corpus",
        abstract: "Turn speech corpora into X-Codec2 tokens for training Llasa TTS models.",
        version: Version.description,
        subcommands: [
            RunCommand.self, IngestCommand.self, StatusCommand.self, DumpCommand.self, FailuresCommand.self, MergeCommand.self,
            SlurmCommand.self,
            CodesCommand.self, DecodeCommand.self, RoundtripCommand.self, BenchCommand.self,
            TextTokensCommand.self, ChatTemplateCommand.self, ExportCommand.self, CheckExportCommand.self, BenchTokenizerCommand.self,
            StatsCommand.self, ReportCommand.self,
        ]
    )
}
