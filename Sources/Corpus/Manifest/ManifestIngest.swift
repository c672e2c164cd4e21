import Foundation
import Store

extension Store {
    public struct ManifestIngestResult: Sendable {
        /// Utterances the manifests name (in the shard, when there is one).
        public var entries = 0
        public var problems = 0
        public var counts = IngestCounts()
        /// `Shard.hash` of every id read, for `pending(wanted:)`.
        public var wanted = Set<UInt64>()
    }

    /// Reads manifests into the store in transactions of `batch` entries, never holding a whole manifest: a
    /// LibriHeavy cuts file has millions of lines. `problem` sees each unusable line as it is recorded.
    public func ingest(
        manifests: [String], options: ManifestOptions, shard: Shard? = nil, batch: Int = 20_000,
        problem report: (ManifestProblem) -> Void = { _ in }
    ) throws -> ManifestIngestResult {
        var result = ManifestIngestResult()
        var entries: [ManifestEntry] = [], problems: [ManifestProblem] = []
        entries.reserveCapacity(batch)
        func flush() throws {
            result.counts += try ingest(entries, problems: problems)
            entries.removeAll(keepingCapacity: true)
            problems.removeAll()
        }
        try Manifest.scan(
            manifests, options: options,
            entry: { entry in
                if let shard, !shard.contains(entry.id) { return }
                result.entries += 1
                result.wanted.insert(Shard.hash(entry.id))
                entries.append(entry)
                if entries.count >= batch { try flush() }
            },
            problem: { problem in
                result.problems += 1
                report(problem)
                problems.append(problem)
            })
        try flush()
        return result
    }
}
