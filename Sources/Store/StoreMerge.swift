import Foundation
import GRDB

extension Store {
    /// Attaches a store read-only as `source`: on a read-only mount (no `-shm` can be made) as an immutable file,
    /// as `Store(access: .read)` opens it.
    static func attach(_ path: String, _ db: Database) throws {
        let uri = URL(fileURLWithPath: path).standardizedFileURL.absoluteString
        do {
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [uri + "?mode=ro"])
            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM source.sqlite_master")
        } catch let error as DatabaseError where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) {
            try? db.execute(sql: "DETACH DATABASE source")
            guard !FileManager.default.fileExists(atPath: path + "-wal") else { throw error }
            try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [uri + "?immutable=1"])
        }
    }

    public struct MergeCounts: Sendable {
        public var added = 0, completed = 0, unchanged = 0
    }

    /// Merges `source` (a store made with the same model) into this one, in one transaction: new ids are
    /// added, a done result replaces a pending or failed row, identical rows are left alone; a done row whose
    /// codes or transcript differ from a done row here is a conflict and merges nothing. Safe to rerun.
    public func merge(from source: Store) throws -> MergeCounts {
        guard let fingerprint = try source.info(.modelFingerprint) else { return MergeCounts() }
        try bindModel(
            id: try source.info(.modelID) ?? "?", fingerprint: fingerprint, revision: try source.info(.modelRevision),
            layout: try source.info(.modelLayout))
        return try writeWithoutTransaction { db in
            try Self.attach(source.path, db)
            defer { try? db.execute(sql: "DETACH DATABASE source") }
            var counts = MergeCounts()
            try db.inTransaction {
                if let conflict = try String.fetchOne(
                    db,
                    sql: """
                        SELECT s.id FROM source.utterances s JOIN main.utterances m ON m.id = s.id
                        WHERE s.status = \(UtteranceStatus.done.sql) AND m.status =
                            \(UtteranceStatus.done.sql) AND (s.codes != m.codes OR s.transcript != m.transcript) LIMIT 1
                        """)
                {
                    throw StoreError.mergeConflict(id: conflict, source: source.path)
                }
                // A store from an older version lacks the later columns: NULL for them.
                let present = Set(try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('utterances', 'source')"))
                let selected = UtteranceColumn.allCases.map { present.contains($0.rawValue) ? $0.rawValue : "NULL" }.joined(
                    separator: ", ")
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO main.utterances (\(UtteranceColumn.list)) SELECT \(selected) FROM source.utterances
                        ORDER BY rowid
                        """)
                counts.added = db.changesCount
                try db.execute(
                    sql: """
                        UPDATE main.utterances AS m SET status = \(UtteranceStatus.done.sql), codes =
                            s.codes, num_frames = s.num_frames, duration = s.duration,
                            sample_rate = s.sample_rate, updated_at = s.updated_at
                        FROM source.utterances AS s WHERE s.id = m.id AND s.status =
                            \(UtteranceStatus.done.sql) AND m.status != \(UtteranceStatus.done.sql)
                        """)
                counts.completed = db.changesCount
                try db.execute(
                    sql:
                        "DELETE FROM main.failures WHERE id IN (SELECT id FROM main.utterances WHERE status = \(UtteranceStatus.done.sql))"
                )
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO main.failures (id, stage, error, attempts)
                        SELECT f.id, f.stage, f.error, f.attempts FROM source.failures f JOIN main.utterances
                            m ON m.id = f.id AND m.status = \(UtteranceStatus.failed.sql)
                        """)
                try db.execute(
                    sql: "INSERT OR IGNORE INTO main.manifest_problems (source, error) SELECT source, error FROM source.manifest_problems")
                counts.unchanged =
                    (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM source.utterances") ?? 0) - counts.added - counts.completed
                return .commit
            }
            return counts
        }
    }
}
