import Foundation
import GRDB

/// Where an utterance's audio is, as the `audio_*` and `segment_*` columns hold it (Corpus's `AudioLocation` gives
/// it meaning).
public struct StoredLocation: Sendable, Equatable {
    public var path: String
    public var member: String?
    public var segmentStart: Double?
    public var segmentDuration: Double?
    /// The channels to average, "0" or "0,1"; nil for all.
    public var segmentChannels: String?

    public init(
        path: String, member: String? = nil, segmentStart: Double? = nil, segmentDuration: Double? = nil, segmentChannels: String? = nil
    ) {
        self.path = path
        self.member = member
        self.segmentStart = segmentStart
        self.segmentDuration = segmentDuration
        self.segmentChannels = segmentChannels
    }

    /// From a row with the `audio_*` and `segment_*` columns (`path`: a string shared by a file's rows).
    init(_ row: Row, path: String? = nil) {
        self.init(
            path: path ?? row[UtteranceColumn.audioPath], member: row[UtteranceColumn.audioMember],
            segmentStart: row[UtteranceColumn.segmentStart], segmentDuration: row[UtteranceColumn.segmentDuration],
            segmentChannels: row[UtteranceColumn.segmentChannels])
    }
}

/// An utterance a manifest names, as `ingest` records it.
public struct NewUtterance: Sendable {
    public var id: String
    /// `file:line` (or the transcript file, or `shard.tar:KEY`) it came from.
    public var source: String
    public var location: StoredLocation
    public var text: String
    public var speaker: String?
    /// The manifest's other fields, a JSON object; nil when none.
    public var fields: String?

    public init(id: String, source: String, location: StoredLocation, text: String, speaker: String?, fields: String?) {
        self.id = id
        self.source = source
        self.location = location
        self.text = text
        self.speaker = speaker
        self.fields = fields
    }
}

/// A finished utterance for the store: codes, or the reason it failed.
public struct UtteranceResult: Sendable {
    public enum Outcome: Sendable {
        case done(codes: [Int32], duration: Double, sampleRate: Int)
        case failed(stage: FailureStage, error: String, duration: Double?, sampleRate: Int?)
    }
    public var id: String
    public var outcome: Outcome
    public init(id: String, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }
}

extension Store {
    public struct IngestCounts: Sendable {
        /// Ids new to the store.
        public var added = 0
        /// Known ids whose transcript, speaker, fields or audio path the manifests changed: updated, codes kept.
        public var updated = 0
        /// Known ids whose segment or channels changed: that is other audio, so they are to encode again.
        public var resegmented = 0

        public init() {}

        public static func += (a: inout IngestCounts, b: IngestCounts) {
            a.added += b.added
            a.updated += b.updated
            a.resegmented += b.resegmented
        }
    }

    /// Adds utterances not yet in the store and updates known ones whose transcript, speaker, fields or audio
    /// path changed (a done utterance keeps its codes; a changed segment does not); records the manifest problems.
    /// One transaction: call it with batches of a long manifest.
    @discardableResult
    public func ingest(_ utterances: [NewUtterance], problems: [(source: String, reason: String)]) throws -> IngestCounts {
        try write { db in
            var counts = IngestCounts()
            let insert = try db.makeStatement(
                sql: """
                    INSERT OR IGNORE INTO utterances (id, source, audio_path, audio_member, segment_start, segment_duration,
                        segment_channels, transcript, speaker, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            let resegment = try db.makeStatement(
                sql: """
                    UPDATE utterances SET segment_start = ?1, segment_duration = ?2, segment_channels = ?3,
                        status = \(UtteranceStatus.pending.sql), codes = NULL, num_frames = NULL, duration = NULL
                    WHERE id = ?4 AND (segment_start IS NOT ?1 OR segment_duration IS NOT ?2 OR segment_channels IS NOT ?3)
                    """)
            let update = try db.makeStatement(
                sql: """
                    UPDATE utterances SET audio_path = ?1, audio_member = ?2, transcript = ?3, speaker = ?4, fields = ?5
                    WHERE id = ?6 AND (audio_path IS NOT ?1 OR audio_member IS NOT ?2 OR transcript IS NOT ?3
                        OR speaker IS NOT ?4 OR fields IS NOT ?5)
                    """)
            for entry in utterances {
                let where_ = entry.location
                try insert.execute(arguments: [
                    entry.id, entry.source, where_.path, where_.member, where_.segmentStart, where_.segmentDuration,
                    where_.segmentChannels, entry.text, entry.speaker, entry.fields,
                ])
                if db.changesCount == 1 { counts.added += 1; continue }
                try resegment.execute(arguments: [where_.segmentStart, where_.segmentDuration, where_.segmentChannels, entry.id])
                counts.resegmented += db.changesCount
                try update.execute(arguments: [where_.path, where_.member, entry.text, entry.speaker, entry.fields, entry.id])
                counts.updated += db.changesCount
            }
            let problem = try db.makeStatement(sql: "INSERT OR REPLACE INTO manifest_problems (source, error) VALUES (?, ?)")
            for p in problems { try problem.execute(arguments: [p.source, p.reason]) }
            return counts
        }
    }

    /// Commits a batch of results in one transaction.
    public func commit(_ results: [UtteranceResult]) throws {
        guard !results.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try write { db in
            let done = try db.makeStatement(
                sql: """
                    UPDATE utterances SET status = \(UtteranceStatus.done.sql), codes = ?, num_frames = ?,
                        duration = ?, sample_rate = ?, updated_at = ?
                    WHERE id = ?
                    """)
            let clearFailure = try db.makeStatement(sql: "DELETE FROM failures WHERE id = ?")
            let failed = try db.makeStatement(
                sql: """
                    UPDATE utterances SET status = \(UtteranceStatus.failed.sql), codes = NULL, num_frames = NULL,
                        duration = COALESCE(?, duration), sample_rate = COALESCE(?, sample_rate), updated_at = ? WHERE id = ?
                    """)
            let failure = try db.makeStatement(
                sql: """
                    INSERT INTO failures (id, stage, error, attempts) VALUES (?, ?, ?, 1)
                    ON CONFLICT (id) DO UPDATE SET stage = excluded.stage, error = excluded.error, attempts = attempts + 1
                    """)
            for result in results {
                switch result.outcome {
                case let .done(codes, duration, sampleRate):
                    try done.execute(arguments: [CodeBlob.encode(codes), codes.count, duration, sampleRate, now, result.id])
                    try clearFailure.execute(arguments: [result.id])
                case let .failed(stage, error, duration, sampleRate):
                    try failed.execute(arguments: [duration, sampleRate, now, result.id])
                    try failure.execute(arguments: [result.id, stage.rawValue, error])
                }
            }
        }
    }
}
