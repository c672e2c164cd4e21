import Foundation
import GRDB

public enum StoreError: Error, CustomStringConvertible {
    case modelMismatch(store: String, storedID: String, storedFingerprint: String, id: String, fingerprint: String)
    case notAStore(String, String)
    case missing(String)
    case mergeConflict(id: String, source: String)
    case locked(String, String)

    public var description: String {
        switch self {
        case let .modelMismatch(store, storedID, storedFingerprint, id, fingerprint):
            return
                "\(store) was made with model \(storedID) (fingerprint \(storedFingerprint)); this run "
                + "uses \(id) (fingerprint \(fingerprint)). Use the same model or a new --store"
        case let .notAStore(path, why): return "\(path): not a tokenize-corpus store: \(why)"
        case let .missing(path): return "\(path): no such store"
        case let .locked(path, holder):
            return "\(path): another process is writing to this store (\(holder)); wait for it to finish or use another --store"
        case let .mergeConflict(id, source):
            return "\(source): utterance \(id) has other codes or another transcript than the store merged into; not merged"
        }
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

/// An utterance still to encode.
public struct PendingUtterance: Sendable {
    public var id: String
    public var location: AudioLocation
    public var audioPath: String { location.path }
}

public struct StoreStatus: Sendable, Codable {
    public var total = 0, done = 0, failed = 0, pending = 0
    public var audioSecondsDone = 0.0
    public var frames = 0
    public var manifestProblems = 0
    public var model: String?
    public var modelFingerprint: String?
    /// The Hub snapshot and the checkpoint layout, recorded since stores name them (nil in older stores).
    public var modelRevision: String?
    public var modelLayout: String?

    enum CodingKeys: String, CodingKey {
        case total, done, failed, pending, frames, model
        case audioSecondsDone = "audio_seconds_done", manifestProblems = "manifest_problems"
        case modelFingerprint = "model_fingerprint", modelRevision = "model_revision", modelLayout = "model_layout"
    }
}

/// The resumable SQLite store (GRDB, WAL). Every result is committed in a transaction together with its
/// status, so a killed process loses at most the uncommitted batch and never leaves a half-written row.
public final class Store: @unchecked Sendable {
    public let path: String
    /// A pool (WAL, concurrent reads) for writing; one read-only connection for reading.
    let pool: any DatabaseWriter

    /// How a command uses a store.
    public enum Access: Sendable {
        /// Created if missing, migrated, and locked against a second writer for the life of this object.
        case write
        /// An existing store, opened read-only: nothing is created or changed, and a read-only file or folder works.
        case read
    }

    private let lock: StoreLock?

    public init(path: String, access: Access = .write) throws {
        self.path = path
        let exists = FileManager.default.fileExists(atPath: path)
        if access == .read && !exists { throw StoreError.missing(path) }
        // Look before opening for writing: opening alone would switch a foreign database to WAL.
        if exists { try Self.checkIsStore(path) }
        do {
            switch access {
            case .read:
                lock = nil
                pool = try Self.openReadOnly(path)
            case .write:
                lock = try StoreLock(storePath: path)
                var configuration = Configuration()
                configuration.busyMode = .timeout(30)
                configuration.prepareDatabase { db in
                    // WAL + NORMAL: a crash of the process loses nothing committed; only a power cut may lose
                    // the last transactions, never consistency.
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                }
                pool = try DatabasePool(path: path, configuration: configuration)
                try Self.migrator.migrate(pool)
            }
        } catch let error as DatabaseError {
            throw StoreError.notAStore(path, error.message ?? "\(error)")
        }
    }

    /// Refuses, without changing it, a file that is not a store: not SQLite, or SQLite without `store_info`.
    static func checkIsStore(_ path: String) throws {
        var size = stat()
        guard stat(path, &size) == 0 else { throw StoreError.notAStore(path, "cannot stat") }
        guard size.st_mode & S_IFMT == S_IFREG else { throw StoreError.notAStore(path, "not a regular file") }
        if size.st_size == 0 { return }  // an empty file: a store not yet written
        do {
            let tables = try openReadOnly(path).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if !tables.isEmpty && !tables.contains("store_info") {
                throw StoreError.notAStore(path, "an SQLite database with other tables (\(tables.prefix(3).joined(separator: ", ")))")
            }
        } catch let error as DatabaseError {
            throw StoreError.notAStore(path, error.message ?? "\(error)")
        }
    }

    /// A read-only connection. SQLite cannot read a WAL database without its `-shm` file, which it cannot create
    /// in a read-only folder; when no `-wal` exists either (no run is writing: a writer needs the folder too),
    /// the file is opened as immutable instead.
    static func openReadOnly(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(30)
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master") }
            try addMissingColumns(queue)
            return queue
        } catch let error as DatabaseError where [.SQLITE_READONLY, .SQLITE_CANTOPEN].contains(error.resultCode) {
            guard !FileManager.default.fileExists(atPath: path + "-wal") else { throw error }
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.absoluteString  // file:///..., percent-encoded
            let queue = try DatabaseQueue(path: absolute + "?immutable=1", configuration: configuration)
            try addMissingColumns(queue)
            return queue
        }
    }

    /// The columns later migrations add, as NULLs, for reading a store an older version wrote (read-only opening
    /// does not migrate): a temporary view of the same name is found before the table.
    static func addMissingColumns(_ queue: DatabaseQueue) throws {
        try queue.inDatabase { db in
            let present = Set(try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('utterances', 'main')"))
            guard !present.isEmpty else { return }
            let missing = Self.laterColumns.filter { !present.contains($0) }
            guard !missing.isEmpty else { return }
            let nulls = missing.map { "NULL AS \($0)" }.joined(separator: ", ")
            try db.execute(sql: "CREATE TEMP VIEW utterances AS SELECT *, \(nulls) FROM main.utterances")
        }
    }

    /// The `utterances` columns added after v1 (migration v3).
    static let laterColumns = ["audio_member", "segment_start", "segment_duration", "segment_channels", "fields"]

    /// Closes the database on the calling thread, not during process exit. A writer then folds the WAL into the
    /// database: the pool's last connection is a read-only reader, which cannot, and a store that is one file
    /// when no run is active survives being copied without its `-wal`.
    public func close() throws {
        try pool.close()
        if lock != nil { try DatabaseQueue(path: path).close() }
        lock?.release()
    }

    /// Records the model on first use; afterwards refuses any other fingerprint. The revision and layout are recorded
    /// when known and not yet recorded (a store made before they were). `formerFingerprint`, the same folder's
    /// fingerprint as earlier versions computed it, is accepted and replaced.
    public func bindModel(
        id: String, fingerprint: String, revision: String? = nil, layout: String? = nil, formerFingerprint: String? = nil
    ) throws {
        try pool.write { db in
            switch try Self.checkModel(db, path: path, id: id, fingerprint: fingerprint, former: formerFingerprint) {
            case .none:
                try db.execute(
                    sql: "INSERT INTO store_info (key, value) VALUES (?, ?), (?, ?)",
                    arguments: [StoreInfoKey.modelID.rawValue, id, StoreInfoKey.modelFingerprint.rawValue, fingerprint])
            case .former:
                try db.execute(
                    sql: "UPDATE store_info SET value = ? WHERE key = ?", arguments: [fingerprint, StoreInfoKey.modelFingerprint.rawValue])
            case .same: break
            }
            for (key, value) in [(StoreInfoKey.modelRevision, revision), (.modelLayout, layout)] {
                guard let value else { continue }
                try db.execute(sql: "INSERT OR IGNORE INTO store_info (key, value) VALUES (?, ?)", arguments: [key.rawValue, value])
            }
        }
    }

    /// Records `model` as `bindModel` does.
    public func bindModel(_ model: ModelProvenance) throws {
        try bindModel(
            id: model.id, fingerprint: model.fingerprint, revision: model.revision, layout: model.layout,
            formerFingerprint: model.formerFingerprint)
    }

    /// Refuses a model other than the store's own (for reading its codes back); a store without a model accepts any.
    public func requireModel(id: String, fingerprint: String, formerFingerprint: String? = nil) throws {
        try pool.read { db in _ = try Self.checkModel(db, path: path, id: id, fingerprint: fingerprint, former: formerFingerprint) }
    }

    private enum BoundModel { case none, same, former }

    /// Whether the store has a model and it is this one (under its current or former fingerprint); throws when it has
    /// another.
    private static func checkModel(_ db: Database, path: String, id: String, fingerprint: String, former: String?) throws -> BoundModel {
        guard let storedFingerprint = try info(db, .modelFingerprint) else { return .none }
        if storedFingerprint == fingerprint { return .same }
        if storedFingerprint == former { return .former }
        throw StoreError.modelMismatch(
            store: path, storedID: try info(db, .modelID) ?? "?", storedFingerprint: storedFingerprint, id: id, fingerprint: fingerprint)
    }

    public func info(_ key: StoreInfoKey) throws -> String? { try pool.read { db in try Self.info(db, key) } }

    /// A `store_info` value, in a transaction the caller holds.
    static func info(_ db: Database, _ key: StoreInfoKey) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM store_info WHERE key = ?", arguments: [key.rawValue])
    }

    public struct IngestCounts: Sendable {
        /// Ids new to the store.
        public var added = 0
        /// Known ids whose transcript, speaker, fields or audio path the manifests changed: updated, codes kept.
        public var updated = 0
        /// Known ids whose segment or channels changed: that is other audio, so they are to encode again.
        public var resegmented = 0

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
    public func ingest(_ entries: [ManifestEntry], problems: [ManifestProblem]) throws -> IngestCounts {
        try pool.write { db in
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
            for entry in entries {
                let where_ = entry.location
                try insert.execute(arguments: [
                    entry.id, entry.source, where_.path, where_.member, where_.segment?.start, where_.segment?.duration,
                    where_.channelsText, entry.text, entry.speaker, entry.fields,
                ])
                if db.changesCount == 1 { counts.added += 1; continue }
                try resegment.execute(arguments: [where_.segment?.start, where_.segment?.duration, where_.channelsText, entry.id])
                counts.resegmented += db.changesCount
                try update.execute(arguments: [where_.path, where_.member, entry.text, entry.speaker, entry.fields, entry.id])
                counts.updated += db.changesCount
            }
            let problem = try db.makeStatement(sql: "INSERT OR REPLACE INTO manifest_problems (source, error) VALUES (?, ?)")
            for p in problems { try problem.execute(arguments: [p.source, p.reason]) }
            return counts
        }
    }

    /// Utterances to encode, grouped by file (a recording's cuts, a shard's members, together, in time and member
    /// order) so a reader opens each file once; with `retryFailed`, failed ones too. `wanted`: only ids with these
    /// hashes (`Shard.hash`), the ones this run's manifests name.
    public func pending(retryFailed: Bool, wanted: Set<UInt64>? = nil) throws -> [PendingUtterance] {
        try pool.read { db in
            let statuses = (retryFailed ? [UtteranceStatus.pending, .failed] : [.pending]).map(\.sql).joined(separator: ", ")
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, audio_path, audio_member, segment_start, segment_duration, segment_channels FROM utterances
                    WHERE status IN (\(statuses)) ORDER BY audio_path, segment_start, rowid
                    """)
            var result: [PendingUtterance] = []
            var path = ""
            while let row = try rows.next() {
                let id: String = row["id"]
                if let wanted, !wanted.contains(Shard.hash(id)) { continue }
                let rowPath: String = row["audio_path"]
                if rowPath != path { path = rowPath }  // one string per file, not per cut
                result.append(PendingUtterance(id: id, location: Self.location(row, path: path)))
            }
            return result
        }
    }

    /// The audio location of a row with the `audio_*` and `segment_*` columns.
    static func location(_ row: Row, path: String? = nil) -> AudioLocation {
        let start: Double? = row["segment_start"], duration: Double? = row["segment_duration"]
        return AudioLocation(
            path: path ?? row["audio_path"], member: row["audio_member"],
            segment: start.flatMap { s in duration.map { AudioSegment(start: s, duration: $0) } },
            channels: AudioLocation.channels(fromText: row["segment_channels"]))
    }

    /// Commits a batch of results in one transaction.
    public func commit(_ results: [UtteranceResult]) throws {
        guard !results.isEmpty else { return }
        let now = Date().timeIntervalSince1970
        try pool.write { db in
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

    public func status() throws -> StoreStatus {
        try pool.read { db in
            var status = StoreStatus()
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM utterances GROUP BY status") {
                let n: Int = row["n"]
                switch UtteranceStatus(rawValue: row["status"]) {
                case .done: status.done = n
                case .failed: status.failed = n
                case .pending, nil: status.pending = n
                }
            }
            status.total = status.done + status.failed + status.pending
            let sums = try Row.fetchOne(
                db,
                sql:
                    "SELECT COALESCE(SUM(duration), 0) AS d, COALESCE(SUM(num_frames), 0) AS f FROM "
                    + "utterances WHERE status = \(UtteranceStatus.done.sql)"
            )!
            status.audioSecondsDone = sums["d"]
            status.frames = sums["f"]
            status.manifestProblems = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM manifest_problems") ?? 0
            status.model = try Self.info(db, .modelID)
            status.modelFingerprint = try Self.info(db, .modelFingerprint)
            status.modelRevision = try Self.info(db, .modelRevision)
            status.modelLayout = try Self.info(db, .modelLayout)
            return status
        }
    }

    /// The codes of a done utterance; nil when `id` is unknown or not done.
    public func codes(for id: String) throws -> [Int32]? {
        try pool.read { db in
            try Data.fetchOne(
                db, sql: "SELECT codes FROM utterances WHERE id = ? AND status = \(UtteranceStatus.done.sql)", arguments: [id]
            ).map(CodeBlob.decode)
        }
    }

    public struct DoneRow {
        public var id: String, text: String, speaker: String?, duration: Double, codes: [Int32]
        /// The manifest's other fields, a JSON object; nil when none.
        public var fields: String? = nil
    }

    /// Done utterances in store order, streamed. `counted` gets their number first, from the same snapshot.
    public func forEachDone(counted: (Int) throws -> Void = { _ in }, _ body: (DoneRow) throws -> Void) throws {
        try pool.read { db in
            try counted(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE status = \(UtteranceStatus.done.sql)") ?? 0)
            // The transcript as bytes: reading TEXT as a C string would cut it at an embedded NUL.
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, CAST(transcript AS BLOB) AS transcript, speaker, duration, codes, fields FROM utterances
                    WHERE status = \(UtteranceStatus.done.sql) ORDER BY rowid
                    """)
            while let row = try rows.next() {
                let blob: Data = row["codes"], transcript: Data = row["transcript"] ?? Data()
                try body(
                    DoneRow(
                        id: row["id"], text: String(decoding: transcript, as: UTF8.self), speaker: row["speaker"],
                        duration: row["duration"], codes: CodeBlob.decode(blob), fields: row["fields"]))
            }
        }
    }

    public struct FailureRow {
        public var id: String, path: String, stage: FailureStage, error: String, attempts: Int
    }

    /// Failed utterances, then manifest lines that could not be read (id = the line's source).
    public func forEachFailure(_ body: (FailureRow) throws -> Void) throws {
        try pool.read { db in
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

/// Codes as a BLOB of little-endian uint16 (the codebook has 65536 entries).
/// The keys of `store_info` (schema.sql) a store keeps after its migrations: one place names them. (`schema_version`
/// and `created_at` are written by the frozen migrations only.)
public enum StoreInfoKey: String, CaseIterable, Sendable {
    case createdAt = "created_at"
    case modelID = "model_id"
    case modelFingerprint = "model_fingerprint"
    case modelRevision = "model_revision"
    case modelLayout = "model_layout"
}

public enum CodeBlob {
    public static func encode(_ codes: [Int32]) -> Data {
        var data = Data(count: codes.count * 2)
        data.withUnsafeMutableBytes { raw in
            for (i, code) in codes.enumerated() {
                raw.storeBytes(of: UInt16(truncatingIfNeeded: code).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        }
        return data
    }

    public static func decode(_ data: Data) -> [Int32] {
        data.withUnsafeBytes { raw in
            (0..<(data.count / 2)).map { Int32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
        }
    }
}
