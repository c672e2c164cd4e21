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

/// The keys of `store_info` (schema.sql) a store keeps after its migrations: one place names them. (`schema_version`
/// and `created_at` are written by the frozen migrations only.)
public enum StoreInfoKey: String, CaseIterable, Sendable {
    case createdAt = "created_at"
    case modelID = "model_id"
    case modelFingerprint = "model_fingerprint"
    case modelRevision = "model_revision"
    case modelLayout = "model_layout"
}

/// The resumable SQLite store (GRDB, WAL). Every result is committed in a transaction together with its
/// status, so a killed process loses at most the uncommitted batch and never leaves a half-written row.
public final class Store: Sendable {
    public let path: String
    /// A pool (WAL, concurrent reads) for writing; one read-only connection for reading. Private: every statement
    /// on the store is a method of this target, so a schema change touches this target alone.
    private let pool: any DatabaseWriter

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
            let missing = UtteranceColumn.addedAfterVersionOne.map(\.rawValue).filter { !present.contains($0) }
            guard !missing.isEmpty else { return }
            let nulls = missing.map { "NULL AS \($0)" }.joined(separator: ", ")
            try db.execute(sql: "CREATE TEMP VIEW utterances AS SELECT *, \(nulls) FROM main.utterances")
        }
    }

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
        try write { db in
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

    /// One read transaction: the queries of `body`'s snapshot all see the same rows.
    public func read<T>(_ body: (StoreSnapshot) throws -> T) throws -> T {
        try pool.read { db in try body(StoreSnapshot(db: db, path: path)) }
    }

    /// One write transaction: every write but `merge`'s ATTACH goes through here.
    func write<T>(_ body: (Database) throws -> T) throws -> T { try pool.write(body) }

    /// Outside a transaction, for statements SQLite refuses inside one (ATTACH).
    func writeWithoutTransaction<T>(_ body: (Database) throws -> T) throws -> T { try pool.writeWithoutTransaction(body) }

    /// A `store_info` value, in a transaction the caller holds.
    static func info(_ db: Database, _ key: StoreInfoKey) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM store_info WHERE key = ?", arguments: [key.rawValue])
    }

    public func status() throws -> StoreStatus {
        try read { snapshot in
            var status = StoreStatus()
            for share in try snapshot.statusShares() {
                switch share.status {
                case .done:
                    status.done = share.utterances
                    status.audioSecondsDone = share.seconds
                    status.frames = share.frames
                case .failed: status.failed = share.utterances
                case .pending, nil: status.pending = share.utterances
                }
            }
            status.total = status.done + status.failed + status.pending
            status.manifestProblems = try snapshot.manifestProblemCount()
            status.model = try snapshot.info(.modelID)
            status.modelFingerprint = try snapshot.info(.modelFingerprint)
            status.modelRevision = try snapshot.info(.modelRevision)
            status.modelLayout = try snapshot.info(.modelLayout)
            return status
        }
    }
}
