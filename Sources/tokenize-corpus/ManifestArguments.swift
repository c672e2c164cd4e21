import ArgumentParser
import Corpus
import Foundation
import Store

extension ManifestFormat: ExpressibleByArgument {}
extension LhotseText: ExpressibleByArgument {}
extension LJSpeechText: ExpressibleByArgument {}

/// The manifests of `run`, `ingest` and `slurm`, named either way: as arguments or with `--manifest`.
struct ManifestList: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "LibriSpeech or LJSpeech folders, TSV or JSONL manifests, Lhotse cuts, tar shards (a shard, a folder, a list, a glob).",
            valueName: "manifest"))
    var positional: [String] = []

    @Option(name: .customLong("manifest"), parsing: .upToNextOption, help: "The same, given as an option.")
    var named: [String] = []

    var all: [String] { positional + named }

    func validate() throws {
        guard !all.isEmpty else { throw ValidationError("name at least one manifest (as an argument or with --manifest)") }
    }
}

/// How `run`, `ingest` and `slurm` read manifests.
struct ManifestArguments: ParsableArguments {
    @Option(
        name: .customLong("manifest-format"),
        help: "The manifest format (default: told from the path and the first parseable lines).")
    var format: ManifestFormat?

    @Option(
        name: .customLong("field"),
        help: ArgumentHelp(
            "ROLE=NAME: the JSONL field or TSV column holding ROLE (id, audio, text, speaker, duration); repeatable.",
            discussion: "Defaults: audio audio_filepath|path|wav|audio|file|file_name, text text|sentence|transcript|..."))
    var fields: [String] = []

    @Option(
        name: .customLong("audio-root"),
        help: "Relative audio paths (and Lhotse recording sources) resolve against this folder (default: the manifest's).")
    var audioRoot: String?

    @Option(
        name: .customLong("lhotse-text"),
        help: "LibriHeavy cuts: `book` (custom.texts[0], cased and punctuated) or `asr` (custom.texts[1]).")
    var lhotseText: LhotseText = .book

    @Option(name: .customLong("text-column"), help: "LJSpeech metadata.csv: the `raw` transcript or the `normalized` one.")
    var ljspeechText: LJSpeechText = .raw

    func validate() throws {
        do { _ = try FieldMap.parse(fields) } catch { throw ValidationError("\(error)") }
    }

    var options: ManifestOptions {
        var options = ManifestOptions(format: format)
        options.fields = (try? FieldMap.parse(fields)) ?? FieldMap()
        options.audioRoot = audioRoot
        options.lhotseText = lhotseText
        options.ljspeechText = ljspeechText
        return options
    }

    /// The same options as arguments, for `slurm`'s jobs.
    var arguments: [String] {
        var result: [String] = []
        if let format { result += ["--manifest-format", format.rawValue] }
        for field in fields { result += ["--field", field] }
        if let audioRoot { result += ["--audio-root", audioRoot] }
        result += ["--lhotse-text", lhotseText.rawValue, "--text-column", ljspeechText.rawValue]
        return result
    }
}

/// Lines naming skipped manifest lines: the first few, then a count (a bad cuts file can have millions).
final class ProblemLog {
    let log: ProgressLog
    let limit: Int
    private(set) var count = 0

    init(_ log: ProgressLog, limit: Int = 20) {
        self.log = log
        self.limit = limit
    }

    func add(_ problem: ManifestProblem) {
        count += 1
        if count <= limit { log.line("skipped \(problem)") }
    }

    func finish(store: String) {
        if count > limit { log.line("... and \(count - limit) more skipped lines (tokenize-corpus failures --store \(store))") }
    }
}

struct IngestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Read manifests into the store without encoding (what `run` does first).",
        discussion: "Checks a corpus's manifests, and lets `stats` see it, before the long run. Needs no model.")

    @OptionGroup var manifests: ManifestList
    @Option(help: "The SQLite store to create or update.") var store: String
    @OptionGroup var manifest: ManifestArguments

    func run() throws {
        let log = ProgressLog()
        let store = try Store(path: self.store)
        defer { do { try store.close() } catch { log.line("closing \(store.path): \(error)") } }
        let problems = ProblemLog(log)
        let result = try store.ingest(manifests: manifests.all, options: manifest.options, problem: problems.add)
        problems.finish(store: self.store)
        log.line(RunCommand.describe(result))
    }
}
