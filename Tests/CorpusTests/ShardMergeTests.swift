import Corpus
import Foundation
import XCTest

/// Sharded runs merged equal the unsharded run, id for id and code for code.
final class ShardMergeTests: XCTestCase {
    func testThreeShardsMergedEqualOneRun() throws {
        let dir = TestEnv.temporaryDirectory("shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 30)
        let whole = dir.appendingPathComponent("whole.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", whole]).status, 0)
        var shards: [String] = []
        for i in 0..<3 {
            let store = dir.appendingPathComponent("shard\(i).db").path
            let result = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store, "--shard", "\(i)/3"])
            XCTAssertEqual(result.status, 0, result.stderr)
            shards.append(store)
        }
        let counts = try shards.map { try Store(path: $0, access: .read).status().total }
        XCTAssertEqual(counts.reduce(0, +), 30)
        XCTAssertTrue(counts.allSatisfy { $0 > 0 }, "\(counts)")
        let merged = dir.appendingPathComponent("merged.db").path
        let merge = try TestEnv.run(["merge"] + shards + ["--into", merged])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        let expected = try TestEnv.run(["dump", "--store", whole]).stdout.split(separator: "\n").sorted()
        XCTAssertEqual(try TestEnv.run(["dump", "--store", merged]).stdout.split(separator: "\n").sorted(), expected)
        // Rerunning the merge changes nothing.
        XCTAssertEqual(try TestEnv.run(["merge"] + shards + ["--into", merged]).status, 0)
        XCTAssertEqual(try TestEnv.run(["dump", "--store", merged]).stdout.split(separator: "\n").sorted(), expected)
        // Merging the unsharded store in too: identical duplicates merge silently.
        XCTAssertEqual(try TestEnv.run(["merge", whole, "--into", merged]).status, 0)
        XCTAssertEqual(try Store(path: merged, access: .read).status().total, 30)
    }

    func testConflictsAndOtherModelsAreRefused() throws {
        let dir = TestEnv.temporaryDirectory("merge-refusals")
        defer { try? FileManager.default.removeItem(at: dir) }
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 3)
        let a = dir.appendingPathComponent("a.db").path, b = dir.appendingPathComponent("b.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", a]).status, 0)
        // The same ids with another transcript.
        let changed = try String(contentsOfFile: manifest, encoding: .utf8).replacingOccurrences(
            of: "sentence number 1", with: "another sentence")
        try changed.write(toFile: manifest, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", b]).status, 0)
        let conflict = try TestEnv.run(["merge", a, b, "--into", dir.appendingPathComponent("m.db").path])
        XCTAssertNotEqual(conflict.status, 0)
        XCTAssertTrue(conflict.stderr.contains("utterance utt1 has other codes or another transcript"), conflict.stderr)

        let other = dir.appendingPathComponent("other.db").path
        let tinyB = TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures/models/tiny-b").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", tinyB, "--store", other]).status, 0)
        let refused = try TestEnv.run(["merge", a, other, "--into", dir.appendingPathComponent("n.db").path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("was made with model"), refused.stderr)
    }
}

/// The Slurm job runs `run` with every run option the user gave `slurm`.
final class SlurmScriptTests: XCTestCase {
    func testTheArrayJobPassesEveryRunOption() throws {
        let dir = TestEnv.temporaryDirectory("slurm-flags")
        defer { try? FileManager.default.removeItem(at: dir) }
        let given = [
            "--max-duration", "30.0", "--min-duration", "0.25", "--commit-interval", "5.0", "--retry-failed",
            "--manifest-format", "tsv", "--field", "text=sentence", "--field", "speaker=client_id", "--audio-root", "/data/audio",
            "--lhotse-text", "asr", "--text-column", "normalized",
        ]
        let result = try TestEnv.run(
            ["slurm", "--manifest", "/data/m.tsv", "--model", TestEnv.tinyModel, "--out", dir.path, "--tasks", "3"]
                + given)
        XCTAssertEqual(result.status, 0, result.stderr)
        let script = try String(contentsOf: dir.appendingPathComponent("tokenize.sbatch"), encoding: .utf8)
        // The exec line with its continuations, split into words (every value is single-quoted, without quotes inside).
        let command = script.components(separatedBy: "exec ")[1].replacingOccurrences(of: "\\\n", with: " ")
            .components(separatedBy: "\n")[0]
        let words = command.split(separator: " ").map { $0.replacingOccurrences(of: "'", with: "") }
        XCTAssertEqual(Array(words.drop { $0 != "--workers" }.dropFirst(2)), given)
        XCTAssertTrue(words.contains("/data/m.tsv") && words.contains("auto"), command)
    }
}
