import ArgumentParser
import Corpus
import Foundation

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge stores (one per shard or Slurm task) into one.",
        discussion:
            "Refuses stores made with different models. Identical duplicates merge silently; a conflicting one stops the "
            + "merge naming the id. Each store merges in one transaction, so an interrupted merge can simply be rerun."
    )

    @Argument(help: "Stores to merge.") var stores: [String]
    @Option(help: "The store to merge into (created if missing).") var into: String

    func run() throws {
        let sources = try stores.map { try Store(path: $0, access: .read) }
        let target = try Store(path: into)
        defer { try? target.close() }  // on the main thread, before exit
        // Check every model before writing anything.
        var fingerprints: [String: String] = [:]
        if let own = try target.info("model_fingerprint") { fingerprints[own] = into }
        for source in sources {
            guard let fingerprint = try source.info("model_fingerprint") else { continue }
            if let other = fingerprints.first(where: { $0.key != fingerprint }) {
                throw CommandFailure(
                    "\(source.path) was made with model \(try source.info("model_id") ?? "?") "
                        + "(\(fingerprint)), \(other.value) with another (\(other.key)); not merged"
                )
            }
            fingerprints[fingerprint] = source.path
        }
        for source in sources {
            let counts = try target.merge(from: source)
            FileHandle.standardError.write(
                Data("\(source.path): \(counts.added) added, \(counts.completed) completed, \(counts.unchanged) already there\n".utf8))
        }
        let status = try target.status()
        FileHandle.standardError.write(Data("\(into): \(status.done) done, \(status.failed) failed, \(status.pending) pending\n".utf8))
    }
}
