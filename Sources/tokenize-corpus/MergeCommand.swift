import ArgumentParser
import Corpus
import Foundation
import Store

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
        // A rerun of `merge task-*.db --into all.db` may list the target among the sources: it is skipped, by file.
        let targetID = Self.fileID(into)
        var paths: [String] = []
        for path in stores {
            if let id = Self.fileID(path), id == targetID {
                FileHandle.standardError.write(Data("\(path): the target itself; skipped\n".utf8))
            } else if !paths.contains(where: { Self.fileID($0).map { $0 == Self.fileID(path) } ?? false }) {
                paths.append(path)
            }
        }
        let sources = try paths.map { try Store(path: $0, access: .read) }
        let existed = FileManager.default.fileExists(atPath: into)
        let target = try Store(path: into)
        do {
            try merge(sources, into: target)
            try target.close()
        } catch {
            try? target.close()
            // A merge that failed leaves no new store behind (an existing one keeps what its transactions committed).
            if !existed { for suffix in ["", "-wal", "-shm", ".lock"] { try? FileManager.default.removeItem(atPath: into + suffix) } }
            throw error
        }
    }

    func merge(_ sources: [Store], into target: Store) throws {
        // Check every model before writing anything.
        var fingerprints: [String: String] = [:]
        if let own = try target.info(.modelFingerprint) { fingerprints[own] = into }
        var withModel: [Store] = []
        for source in sources {
            guard let fingerprint = try source.info(.modelFingerprint) else {
                FileHandle.standardError.write(
                    Data("\(source.path): no model and no encoded rows (a store made by ingest?); skipped\n".utf8))
                continue
            }
            if let other = fingerprints.first(where: { $0.key != fingerprint }) {
                throw CommandFailure(
                    "\(source.path) was made with model \(try source.info(.modelID) ?? "?") "
                        + "(\(fingerprint)), \(other.value) with another (\(other.key)); not merged"
                )
            }
            fingerprints[fingerprint] = source.path
            withModel.append(source)
        }
        guard !withModel.isEmpty else { throw CommandFailure("nothing merged into \(into): no source holds encoded rows") }
        for source in withModel {
            let counts = try target.merge(from: source)
            FileHandle.standardError.write(
                Data("\(source.path): \(counts.added) added, \(counts.completed) completed, \(counts.unchanged) already there\n".utf8))
        }
        let status = try target.status()
        FileHandle.standardError.write(Data("\(into): \(status.done) done, \(status.failed) failed, \(status.pending) pending\n".utf8))
    }

    /// The file behind a path (device and inode), so that another spelling or a link of the target is recognised.
    static func fileID(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }
}
