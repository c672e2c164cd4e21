import Corpus
import Foundation
import GRDB
import Store
import XCTest

/// The migrations and the design card (`schema.sql` at the repository root) agree, the shipped migrations are
/// unchanged, and a store made by an earlier version is brought up to date.
final class StoreSchemaTests: XCTestCase {
    /// Tables and indexes as SQLite records them, without GRDB's own.
    static func schema(_ db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb%' AND name NOT LIKE 'sqlite%' ORDER BY name
                """)
    }

    func testMigrationsGiveTheSchemaOfTheDesignCard() throws {
        let dir = TestEnv.temporaryDirectory("schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.db").path
        try Store(path: path).close()
        let migrated = try DatabaseQueue(path: path)
        let card = try DatabaseQueue()
        try card.write { try $0.execute(sql: String(contentsOf: TestEnv.repo.appendingPathComponent("schema.sql"), encoding: .utf8)) }
        XCTAssertEqual(try migrated.read(Self.schema), try card.read(Self.schema))
        // The Store target names the columns once, in the card's order.
        XCTAssertEqual(
            try card.read { try String.fetchAll($0, sql: "SELECT name FROM pragma_table_info('utterances')") },
            UtteranceColumn.allCases.map(\.rawValue))
        // One version record: GRDB's table; the two records of v1 are retired.
        try migrated.read { db in
            XCTAssertEqual(
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY rowid"),
                ["v1", "v2-one-version-record", "v3-audio-segments-and-fields"])
            XCTAssertEqual(try Int.fetchOne(db, sql: "PRAGMA user_version"), 0)
            XCTAssertNil(try String.fetchOne(db, sql: "SELECT value FROM store_info WHERE key = 'schema_version'"))
        }
    }

    /// Shipped migrations are frozen: a change to one fails here (add a migration instead).
    func testShippedMigrationsAreUnchanged() throws {
        let shipped = [
            "v1.sql": "47f2d4a2057c8282f3fce5cb7ab4f399f88bcab0d6fdaeafe582f0f125f5d66a",
            "v3.sql": "f4b022275a428ecc9980a4acbfc66dec191a30a312126e902fee5f9eefa39cb9",
        ]
        for (file, expected) in shipped {
            let sha = Process()
            sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            sha.arguments = [TestEnv.repo.appendingPathComponent("Sources/Store/Migrations/\(file)").path]
            let out = Pipe()
            sha.standardOutput = out
            try sha.run()
            sha.waitUntilExit()
            let digest = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
            XCTAssertEqual(String(digest), expected, file)
        }
    }

    /// A store written by a version that had only v1 is migrated on the next write open; its rows stay.
    func testAVersionOneStoreIsBroughtUpToDate() throws {
        let dir = TestEnv.temporaryDirectory("schema-v1")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("old.db").path
        let v1 = try String(contentsOf: TestEnv.repo.appendingPathComponent("Sources/Store/Migrations/v1.sql"), encoding: .utf8)
        try DatabaseQueue(path: path).write { db in
            try db.execute(sql: v1)
            try db.execute(sql: "PRAGMA user_version = 1")
            try db.execute(sql: "INSERT INTO store_info (key, value) VALUES ('schema_version', '1'), ('model_id', 'm')")
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('v1')")
            try db.execute(sql: "INSERT INTO utterances (id, source, audio_path, transcript) VALUES ('u1', 'm.tsv:2', '/a.wav', 'hello')")
            try db.execute(
                sql:
                    "INSERT INTO utterances (id, source, audio_path, transcript, status) VALUES ('u0', 'm.tsv:3', '/b.wav', 'x', 'failed')"
            )
            try db.execute(sql: "INSERT INTO failures (id, stage, error) VALUES ('u0', 'decode', '/b.wav: empty')")
        }
        // Read-only, it is not migrated, yet reads as if it were (the later columns as NULL).
        XCTAssertEqual(try Store(path: path, access: .read).status().total, 2)
        var failures: [String] = []
        try Store(path: path, access: .read).forEachFailure { failures.append($0.id) }
        XCTAssertEqual(failures, ["u0"])
        let store = try Store(path: path)
        XCTAssertEqual(try store.status().total, 2)
        // The rebuild of v3 keeps store order and every failure (foreign keys are off while it runs).
        failures = []
        try store.forEachFailure { failures.append($0.id) }
        XCTAssertEqual(failures, ["u0"])
        XCTAssertEqual(try store.pending(retryFailed: true).map(\.id), ["u1", "u0"])
        XCTAssertEqual(try store.info(.modelID), "m")
        try store.close()
        // v2 retired the version record; every key left is one `StoreInfoKey` names.
        let keys = try DatabaseQueue(path: path).read { try String.fetchAll($0, sql: "SELECT key FROM store_info") }
        XCTAssertFalse(keys.contains("schema_version"))
        XCTAssertTrue(Set(keys).isSubset(of: StoreInfoKey.allCases.map(\.rawValue)), "\(keys)")
    }

    /// Every named query of the Store target runs, and counts what it should, on a store of today's schema and on a
    /// v1 store opened read-only (where the later columns are NULLs): the SQL lives in one target, and this runs it.
    func testEveryNamedQueryRunsOnTheCurrentSchemaAndOnAVersionOneStore() throws {
        let dir = TestEnv.temporaryDirectory("schema-queries")
        defer { try? FileManager.default.removeItem(at: dir) }
        let codes: [Int32] = [0, 7, 65535, 7]
        let current = dir.appendingPathComponent("current.db").path
        do {
            let store = try Store(path: current)
            try store.ingest(
                [
                    ManifestEntry(id: "a", source: "m.tsv:2", audioPath: "/a.wav", text: "hello there", speaker: "s1"),
                    ManifestEntry(id: "b", source: "m.tsv:3", audioPath: "/b.wav", text: "x"),
                ], problems: [ManifestProblem(source: "m.tsv:4", reason: "2 fields")])
            try store.commit([
                UtteranceResult(id: "a", outcome: .done(codes: codes, duration: 2, sampleRate: 16000)),
                UtteranceResult(id: "b", outcome: .failed(stage: .decode, error: "/b.wav: empty", duration: nil, sampleRate: nil)),
            ])
            try store.close()
        }
        let old = dir.appendingPathComponent("old.db").path
        let v1 = try String(contentsOf: TestEnv.repo.appendingPathComponent("Sources/Store/Migrations/v1.sql"), encoding: .utf8)
        try DatabaseQueue(path: old).write { db in
            try db.execute(sql: v1)
            try db.execute(
                sql: """
                    INSERT INTO utterances (id, source, audio_path, transcript, speaker, status, duration, num_frames, codes)
                    VALUES ('a', 'm.tsv:2', '/a.wav', 'hello there', 's1', 'done', 2, 4, ?)
                    """, arguments: [CodeBlob.encode(codes)])
            try db.execute(
                sql: "INSERT INTO utterances (id, source, audio_path, transcript, status) VALUES ('b', 'm.tsv:3', '/b.wav', 'x', 'failed')"
            )
            try db.execute(sql: "INSERT INTO failures (id, stage, error) VALUES ('b', 'decode', '/b.wav: empty')")
            try db.execute(sql: "INSERT INTO manifest_problems (source, error) VALUES ('m.tsv:4', '2 fields')")
        }
        for path in [current, old] {
            let store = try Store(path: path, access: .read)
            let name = URL(fileURLWithPath: path).lastPathComponent
            XCTAssertEqual(try store.codes(for: "a"), codes, name)
            XCTAssertEqual(try store.pendingRows(retryFailed: true).map(\.id), ["b"], name)
            var done: [String] = [], failed: [String] = []
            try store.forEachDone { done.append($0.id) }
            try store.forEachFailure { failed.append($0.id) }
            XCTAssertEqual(done, ["a"], name)
            XCTAssertEqual(failed, ["b", "m.tsv:4"], name)
            try store.read { snapshot in
                XCTAssertEqual(try snapshot.statusShares().count, 2, name)
                XCTAssertEqual(try snapshot.manifestProblemCount(), 1, name)
                XCTAssertEqual(try snapshot.longestDoneDuration(), 2, name)
                XCTAssertEqual(try snapshot.doneWithoutSpeakerCount(), 0, name)
                XCTAssertEqual(try snapshot.doneLanguageCounts(), [:], name)
                XCTAssertEqual(try snapshot.doneCountsBySpeaker().map(\.speaker), ["s1"], name)
                XCTAssertEqual(try snapshot.doneUtterance(id: "a")?.location.path, "/a.wav", name)
                XCTAssertNil(try snapshot.doneUtterance(id: "b"), name)
                var cps: [Double] = [], causes: [String] = []
                try snapshot.forEachDoneCharsPerSecond { cps.append($0) }
                try snapshot.forEachFailureCause { causes.append($0.stage) }
                XCTAssertEqual(cps, [5.5], name)
                XCTAssertEqual(causes, ["decode", "manifest"], name)
                XCTAssertEqual(try snapshot.charsPerSecondOutliers(center: 1, beyond: 4, limit: 5).count, 1, name)
                var filters = ExportFilters()
                (filters.minDuration, filters.speakers, filters.languages) = (1, ["s1"], ["en"])
                let query = try snapshot.exportQuery(filters: filters)
                XCTAssertEqual(query.doneRows, 1, name)
                XCTAssertEqual(query.filterCounts.map(\.removed), [0, 0, 1], name)
            }
            let stats = try CorpusStats.compute(store: store)
            XCTAssertEqual(stats.done.utterances, 1, name)
            XCTAssertEqual(try store.sampleUtterances(count: 2, seed: 1).map(\.codes), [codes], name)
        }
    }
}
