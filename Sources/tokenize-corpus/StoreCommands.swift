import ArgumentParser
import Corpus
import Foundation
import Store

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Counts of a store (also while a run writes to it).")

    @Option(help: "The store.") var store: String
    @Flag(help: "One JSON object.") var json = false

    func run() throws {
        let status = try Store(path: store, access: .read).status()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(status), as: UTF8.self))
        } else {
            let about = [
                status.modelRevision.map { "revision \($0)" }, status.modelLayout.map { "\($0) layout" },
                "fingerprint \(status.modelFingerprint ?? "-")",
            ]
            print("model     \(status.model ?? "-") (\(about.compactMap { $0 }.joined(separator: ", ")))")
            print("total     \(status.total)")
            print("done      \(status.done)  (\(ProgressLog.audio(status.audioSecondsDone)), \(status.frames) frames)")
            print("failed    \(status.failed)")
            print("pending   \(status.pending)")
            print("skipped manifest lines \(status.manifestProblems)")
        }
    }
}

struct DumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "JSONL of done utterances: {\"id\",\"text\",\"speaker\",\"duration\",\"num_frames\",\"codes\"[,\"fields\"]}.")

    @Option(help: "The store.") var store: String

    func run() throws {
        let out = FileHandle.standardOutput
        var buffer = ""
        try Store(path: store, access: .read).forEachDone { row in
            buffer += "{\"id\":\(CodesJSON.quoted(row.id)),\"text\":\(CodesJSON.quoted(row.text)),"
            buffer += "\"speaker\":\(row.speaker.map(CodesJSON.quoted) ?? "null"),\"duration\":\(row.duration),"
            buffer += "\"num_frames\":\(row.codes.count),\"codes\":[\(row.codes.map(String.init).joined(separator: ","))]"
            buffer += row.fields.map { ",\"fields\":\($0)}\n" } ?? "}\n"
            if buffer.utf8.count > 1 << 20 { out.write(Data(buffer.utf8)); buffer = "" }
        }
        out.write(Data(buffer.utf8))
    }
}

struct FailuresCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "failures",
        abstract: "JSONL of failed utterances and skipped manifest lines: {\"id\",\"path\",\"stage\",\"error\"}.")

    @Option(help: "The store.") var store: String

    func run() throws {
        var count = 0
        try Store(path: store, access: .read).forEachFailure { row in
            count += 1
            print(
                "{\"id\":\(CodesJSON.quoted(row.id)),\"path\":\(CodesJSON.quoted(row.path)),"
                    + "\"stage\":\(CodesJSON.quoted(row.stage.rawValue)),\"error\":\(CodesJSON.quoted(row.error)),"
                    + "\"attempts\":\(row.attempts)}"
            )
        }
        // On stderr: stdout stays JSON lines, one per failure.
        if count == 0 { FileHandle.standardError.write(Data("\(store): no failures\n".utf8)) }
    }
}
