import Foundation
import GRDB

/// An utterance to encode.
public struct PendingRow: Sendable {
    public var id: String
    public var location: StoredLocation
}

extension Store {
    /// Utterances to encode, grouped by file (a recording's cuts, a shard's members, together, in time and member
    /// order) so a reader opens each file once; with `retryFailed`, failed ones too. `wanted`: only the ids for
    /// which it holds (the ones this run's manifests name).
    public func pendingRows(retryFailed: Bool, wanted: ((String) -> Bool)? = nil) throws -> [PendingRow] {
        try pendingRows(retryFailed: retryFailed, wanted: wanted) { $0 }
    }

    /// The same, each row made into the caller's own type as it is read: a pending list can be millions of cuts,
    /// held once.
    public func pendingRows<Utterance>(
        retryFailed: Bool, wanted: ((String) -> Bool)? = nil, as make: (PendingRow) -> Utterance
    ) throws -> [Utterance] {
        try read { snapshot in
            let db = snapshot.db
            let statuses = (retryFailed ? [UtteranceStatus.pending, .failed] : [.pending]).map(\.sql).joined(separator: ", ")
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, audio_path, audio_member, segment_start, segment_duration, segment_channels FROM utterances
                    WHERE status IN (\(statuses)) ORDER BY audio_path, segment_start, rowid
                    """)
            var result: [Utterance] = []
            var path = ""
            while let row = try rows.next() {
                let id: String = row[UtteranceColumn.id]
                if let wanted, !wanted(id) { continue }
                let rowPath: String = row[UtteranceColumn.audioPath]
                if rowPath != path { path = rowPath }  // one string per file, not per cut
                result.append(make(PendingRow(id: id, location: StoredLocation(row, path: path))))
            }
            return result
        }
    }

    /// The codes of a done utterance; nil when `id` is unknown or not done.
    public func codes(for id: String) throws -> [Int32]? {
        try read { snapshot in
            try Data.fetchOne(
                snapshot.db, sql: "SELECT codes FROM utterances WHERE id = ? AND status = \(UtteranceStatus.done.sql)", arguments: [id]
            ).map(CodeBlob.decode)
        }
    }

    public struct DoneRow: FetchableRecord {
        public var id: String, text: String, speaker: String?, duration: Double, codes: [Int32]
        /// The manifest's other fields, a JSON object; nil when none.
        public var fields: String? = nil

        public init(row: Row) {
            id = row[UtteranceColumn.id]
            text = StoreSnapshot.text(row[UtteranceColumn.transcript])
            speaker = row[UtteranceColumn.speaker]
            duration = row[UtteranceColumn.duration]
            codes = CodeBlob.decode(row[UtteranceColumn.codes])
            fields = row[UtteranceColumn.fields]
        }
    }

    /// Done utterances in store order, streamed. `counted` gets their number first, from the same snapshot.
    public func forEachDone(counted: (Int) throws -> Void = { _ in }, _ body: (DoneRow) throws -> Void) throws {
        try read { snapshot in
            let db = snapshot.db
            try counted(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE status = \(UtteranceStatus.done.sql)") ?? 0)
            // The transcript as bytes: reading TEXT as a C string would cut it at an embedded NUL.
            let rows = try DoneRow.fetchCursor(
                db,
                sql: """
                    SELECT id, CAST(transcript AS BLOB) AS transcript, speaker, duration, codes, fields FROM utterances
                    WHERE status = \(UtteranceStatus.done.sql) ORDER BY rowid
                    """)
            while let row = try rows.next() { try body(row) }
        }
    }

    public struct FailureRow {
        public var id: String, path: String, stage: FailureStage, error: String, attempts: Int
    }

    /// Failed utterances, then manifest lines that could not be read (id = the line's source).
    public func forEachFailure(_ body: (FailureRow) throws -> Void) throws {
        try read { snapshot in
            let db = snapshot.db
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT f.id, u.audio_path, f.stage, f.error, f.attempts FROM failures f JOIN utterances u ON u.id = f.id
                    WHERE u.status = \(UtteranceStatus.failed.sql) ORDER BY u.rowid
                    """)
            while let row = try rows.next() {
                // A stage this version does not know reads as `decode` rather than stopping the listing.
                let stage = FailureStage(rawValue: row["stage"]) ?? .decode
                try body(FailureRow(id: row["id"], path: row["audio_path"], stage: stage, error: row["error"], attempts: row["attempts"]))
            }
            let problems = try Row.fetchCursor(db, sql: "SELECT source, error FROM manifest_problems ORDER BY source")
            while let row = try problems.next() {
                let source: String = row["source"]
                try body(
                    FailureRow(id: source, path: source, stage: .manifest, error: "\(source): \(row["error"] as String)", attempts: 1))
            }
        }
    }
}
