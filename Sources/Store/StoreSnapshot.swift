import Foundation
import GRDB

/// One read transaction over a store (`Store.read`): the named queries of `stats`, `report` and `export`, each
/// returning typed rows, all seeing the same rows. The connection stays inside this target.
public struct StoreSnapshot {
    let db: Database
    /// The store's path, for messages.
    public let path: String

    static let done = "status = \(UtteranceStatus.done.sql)"
    /// Characters (not bytes) per second, as SQLite's `length` counts them.
    static let charsPerSecond = "length(transcript) / duration"

    public func info(_ key: StoreInfoKey) throws -> String? { try Store.info(db, key) }

    /// Utterances, seconds and codes per status (nil: a status this version does not know).
    public struct StatusShare: Sendable, FetchableRecord {
        public var status: UtteranceStatus?
        public var utterances: Int
        public var seconds: Double
        public var frames: Int

        public init(row: Row) {
            status = UtteranceStatus(rawValue: row[UtteranceColumn.status])
            utterances = row["n"]
            seconds = row["seconds"]
            frames = row["frames"]
        }
    }

    public func statusShares() throws -> [StatusShare] {
        try StatusShare.fetchAll(
            db,
            sql: """
                SELECT status, COUNT(*) AS n, COALESCE(SUM(duration), 0) AS seconds, COALESCE(SUM(num_frames), 0) AS frames
                FROM utterances GROUP BY status
                """)
    }

    public func manifestProblemCount() throws -> Int { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM manifest_problems") ?? 0 }

    public func longestDoneDuration() throws -> Double {
        try Double.fetchOne(db, sql: "SELECT MAX(duration) FROM utterances WHERE \(Self.done)") ?? 0
    }

    /// Every done utterance's duration, ascending (SQLite's sorter spills to disk rather than growing).
    public func forEachDoneDuration(ascending body: (Double) throws -> Void) throws {
        try forEach(Double.self, "SELECT duration FROM utterances WHERE \(Self.done) ORDER BY 1", body)
    }

    /// Every done utterance's characters per second, ascending.
    public func forEachDoneCharsPerSecond(ascending body: (Double) throws -> Void) throws {
        try forEach(Double.self, "SELECT \(Self.charsPerSecond) AS v FROM utterances WHERE \(Self.done) ORDER BY v", body)
    }

    /// |characters per second - `center`| of every done utterance, ascending.
    public func forEachDoneCharsPerSecondDeviation(from center: Double, ascending body: (Double) throws -> Void) throws {
        try forEach(
            Double.self, "SELECT abs(\(Self.charsPerSecond) - ?) AS d FROM utterances WHERE \(Self.done) ORDER BY d", body,
            arguments: [center])
    }

    public struct CharsPerSecondOutlier: Sendable, FetchableRecord {
        public var id: String, duration: Double, charsPerSecond: Double, transcript: String

        public init(row: Row) {
            id = row[UtteranceColumn.id]
            duration = row[UtteranceColumn.duration]
            charsPerSecond = row["cps"]
            transcript = StoreSnapshot.text(row[UtteranceColumn.transcript])
        }
    }

    /// Done utterances whose characters per second lie more than `beyond` from `center`: their number, and the
    /// `limit` farthest.
    public func charsPerSecondOutliers(center: Double, beyond: Double, limit: Int) throws -> (
        count: Int, farthest: [CharsPerSecondOutlier]
    ) {
        let outside = "\(Self.done) AND abs(\(Self.charsPerSecond) - ?1) > ?2"
        let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE \(outside)", arguments: [center, beyond]) ?? 0
        let farthest = try CharsPerSecondOutlier.fetchAll(
            db,
            sql: """
                SELECT id, duration, \(Self.charsPerSecond) AS cps, CAST(transcript AS BLOB) AS transcript FROM utterances
                WHERE \(outside) ORDER BY abs(\(Self.charsPerSecond) - ?1) DESC, id LIMIT ?3
                """, arguments: [center, beyond, limit])
        return (count, farthest)
    }

    public func doneWithoutSpeakerCount() throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE \(Self.done) AND speaker IS NULL") ?? 0
    }

    public struct SpeakerTotal: Sendable, FetchableRecord {
        public var speaker: String, utterances: Int, seconds: Double

        public init(row: Row) {
            speaker = row[UtteranceColumn.speaker]
            utterances = row["n"]
            seconds = row["seconds"]
        }
    }

    /// Each speaker's done utterances and seconds, most seconds first.
    public func forEachSpeaker(byDurationDescending body: (SpeakerTotal) throws -> Void) throws {
        let rows = try SpeakerTotal.fetchCursor(
            db,
            sql: """
                SELECT speaker, COUNT(*) AS n, SUM(duration) AS seconds FROM utterances
                WHERE \(Self.done) AND speaker IS NOT NULL GROUP BY speaker ORDER BY seconds DESC, speaker
                """)
        while let row = try rows.next() { try body(row) }
    }

    /// Done utterances per `language` manifest field (Lhotse supervisions, Emilia).
    public func doneLanguageCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT json_extract(fields, '$.language') AS language, COUNT(*) AS n FROM utterances
                WHERE \(Self.done) AND json_type(fields, '$.language') = 'text' GROUP BY language
                """)
        while let row = try rows.next() { counts[row["language"]] = row["n"] }
        return counts
    }

    public struct DoneText: Sendable, FetchableRecord {
        public var transcript: String, duration: Double, charsPerSecond: Double, codes: [Int32]

        public init(row: Row) {
            transcript = StoreSnapshot.text(row[UtteranceColumn.transcript])
            duration = row[UtteranceColumn.duration]
            charsPerSecond = row["cps"]
            codes = CodeBlob.decode(row[UtteranceColumn.codes])
        }
    }

    /// Done utterances in store order with their characters per second.
    public func forEachDoneText(_ body: (DoneText) throws -> Void) throws {
        let rows = try DoneText.fetchCursor(
            db,
            sql: """
                SELECT CAST(transcript AS BLOB) AS transcript, duration, \(Self.charsPerSecond) AS cps, codes FROM utterances
                WHERE \(Self.done) ORDER BY rowid
                """)
        while let row = try rows.next() { try body(row) }
    }

    public struct FailureCause: Sendable {
        /// A `FailureStage` raw value (`manifest` for a manifest line).
        public var stage: String, error: String
        /// The audio file, or the manifest line's source.
        public var file: String
    }

    /// Every failed utterance's cause, then every manifest problem's.
    public func forEachFailureCause(_ body: (FailureCause) throws -> Void) throws {
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT f.stage, f.error, u.audio_path FROM failures f JOIN utterances u ON u.id = f.id
                WHERE u.status = \(UtteranceStatus.failed.sql)
                UNION ALL SELECT 'manifest', error, source FROM manifest_problems
                """)
        while let row = try rows.next() { try body(FailureCause(stage: row[0], error: row[1], file: row[2])) }
    }

    /// Done utterances per speaker (`""` for none), by speaker.
    public func doneCountsBySpeaker() throws -> [(speaker: String, utterances: Int)] {
        try Row.fetchAll(
            db, sql: "SELECT COALESCE(speaker, '') AS s, COUNT(*) AS n FROM utterances WHERE \(Self.done) GROUP BY s ORDER BY s"
        ).map { ($0["s"], $0["n"]) }
    }

    /// The ids of a speaker's done utterances (`""`: those without one), in store order, until `body` says stop.
    public func forEachDoneID(speaker: String, _ body: (String) throws -> Bool) throws {
        let ids = try String.fetchCursor(
            db, sql: "SELECT id FROM utterances WHERE \(Self.done) AND COALESCE(speaker, '') = ? ORDER BY rowid", arguments: [speaker])
        while let id = try ids.next() { if try !body(id) { return } }
    }

    public struct Utterance: Sendable, FetchableRecord {
        public var id: String, text: String, speaker: String?, location: StoredLocation, codes: [Int32]

        public init(row: Row) {
            id = row[UtteranceColumn.id]
            text = StoreSnapshot.text(row[UtteranceColumn.transcript])
            speaker = row[UtteranceColumn.speaker]
            location = StoredLocation(row)
            codes = CodeBlob.decode(row[UtteranceColumn.codes])
        }
    }

    /// A done utterance by id, with where its audio is.
    public func doneUtterance(id: String) throws -> Utterance? {
        try Utterance.fetchOne(
            db,
            sql: """
                SELECT id, CAST(transcript AS BLOB) AS transcript, speaker, audio_path, audio_member, segment_start,
                    segment_duration, segment_channels, codes FROM utterances WHERE id = ? AND \(Self.done)
                """,
            arguments: [id])
    }

    private func forEach<Value: DatabaseValueConvertible & StatementColumnConvertible>(
        _ type: Value.Type, _ sql: String, _ body: (Value) throws -> Void, arguments: StatementArguments = []
    ) throws {
        let cursor = try Value.fetchCursor(db, sql: sql, arguments: arguments)
        while let value = try cursor.next() { try body(value) }
    }

    /// A transcript read as bytes: reading TEXT as a C string would cut it at an embedded NUL.
    static func text(_ bytes: Data?) -> String { String(decoding: bytes ?? Data(), as: UTF8.self) }
}
