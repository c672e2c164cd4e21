import Foundation
import GRDB

/// Where an utterance is; stored as text in `utterances.status`.
public enum UtteranceStatus: String, Sendable, CaseIterable {
    case pending, done, failed
    /// As an SQL string literal, for queries that name a status.
    var sql: String { "'\(rawValue)'" }
}

/// The columns of `utterances`, in the order of `schema.sql` (`StoreSchemaTests` compares them): the names row
/// decoding reads and merge copies, written once.
public enum UtteranceColumn: String, CaseIterable, ColumnExpression, Sendable {
    case id, source, audioPath = "audio_path", audioMember = "audio_member", segmentStart = "segment_start"
    case segmentDuration = "segment_duration", segmentChannels = "segment_channels", transcript, speaker, fields, status
    case duration, sampleRate = "sample_rate", numFrames = "num_frames", codes, updatedAt = "updated_at"

    public var name: String { rawValue }

    /// Added after v1 (by v3): NULL when an older store is read without migrating it.
    static let addedAfterVersionOne: [UtteranceColumn] = [.audioMember, .segmentStart, .segmentDuration, .segmentChannels, .fields]

    /// All of them, comma-separated, for SQL that names every column.
    static var list: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Why an utterance failed (or a manifest line was skipped); stored as text in `failures.stage`.
public enum FailureStage: String, Sendable, CaseIterable {
    case decode, tooShort = "too_short", tooLong = "too_long", encode, manifest
}

extension Store {
    /// The store's migrations, in order. A shipped migration is never edited: a schema change is a new migration
    /// (with `schema.sql` at the repository root updated to the result, which `StoreSchemaTests` checks). GRDB's
    /// `grdb_migrations` table is the one record of which have run.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        // v1 as shipped: the first schema, plus two version records that v2 retires.
        migrator.registerMigration("v1") { db in
            try db.execute(sql: String(decoding: PackageResources.v1_sql, as: UTF8.self))
            try db.execute(sql: "PRAGMA user_version = 1")
            try db.execute(
                sql: "INSERT INTO store_info (key, value) VALUES ('schema_version', ?), ('created_at', ?)",
                arguments: ["1", ISO8601DateFormatter().string(from: Date())])
        }
        migrator.registerMigration("v2-one-version-record") { db in
            try db.execute(sql: "DELETE FROM store_info WHERE key = 'schema_version'")
            try db.execute(sql: "PRAGMA user_version = 0")
        }
        migrator.registerMigration("v3-audio-segments-and-fields") { db in
            // Renaming with the legacy rule leaves `failures`' reference naming `utterances`, the new table; the
            // migrator turns foreign keys off while it runs, so dropping the old table deletes no failure.
            try db.execute(sql: "PRAGMA legacy_alter_table = ON")
            defer { try? db.execute(sql: "PRAGMA legacy_alter_table = OFF") }
            try db.execute(sql: String(decoding: PackageResources.v3_sql, as: UTF8.self))
        }
        return migrator
    }
}
