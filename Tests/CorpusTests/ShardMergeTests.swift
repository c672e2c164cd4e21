import Corpus
import Foundation
import Store
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
        // A refused or failed merge leaves no new store behind (item 8 of the third hostile round).
        for name in ["m.db", "n.db"] {
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(name) }
            XCTAssertEqual(leftovers, [], "a failed merge left \(leftovers)")
        }
    }

    /// The target among the sources (a rerun over a glob that matches it) is skipped by name; a store without a model
    /// merges nothing and says so; nothing merged from any source is an error.
    func testTheTargetAndStoresWithoutAModelAreSkippedByName() throws {
        let dir = TestEnv.temporaryDirectory("merge-skips")
        let (manifest, task) = try TestEnv.encodedCorpus(in: dir, count: 2, store: "task-0.db")
        let all = dir.appendingPathComponent("task-all.db").path
        XCTAssertEqual(try TestEnv.run(["merge", task, "--into", all]).status, 0)
        let rerun = try TestEnv.run(["merge", task, all, "--into", dir.path + "/./task-all.db"])
        XCTAssertEqual(rerun.status, 0, rerun.stderr)
        XCTAssertTrue(rerun.stderr.contains("\(all): the target itself; skipped"), rerun.stderr)
        XCTAssertEqual(try Store(path: all, access: .read).status().done, 2)

        let ingested = dir.appendingPathComponent("ingested.db").path
        XCTAssertEqual(try TestEnv.run(["ingest", manifest, "--store", ingested]).status, 0)
        let empty = dir.appendingPathComponent("from-ingest.db").path
        let nothing = try TestEnv.run(["merge", ingested, "--into", empty])
        XCTAssertEqual(nothing.status, 1, nothing.stderr)
        XCTAssertTrue(nothing.stderr.contains("\(ingested): no model and no encoded rows (a store made by ingest?); skipped"))
        XCTAssertTrue(nothing.stderr.contains("nothing merged into \(empty): no source holds encoded rows"), nothing.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty))
        let itself = try TestEnv.run(["merge", all, "--into", all])
        XCTAssertEqual(itself.status, 1, itself.stderr)
        XCTAssertEqual(try Store(path: all, access: .read).status().done, 2, "the target is untouched")
    }

    /// A source on a read-only mount merges as `status` reads it (needs root for the bind mount).
    func testASourceOnAReadOnlyMountMerges() throws {
        let dir = TestEnv.temporaryDirectory("merge-readonly")
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 2)
        let source = dir.appendingPathComponent("src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        let store = source.appendingPathComponent("task.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0)
        try? FileManager.default.removeItem(atPath: store + ".lock")
        let mounted = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: mounted, withIntermediateDirectories: true)
        do {
            try TestEnv.shell("mount --bind '\(source.path)' '\(mounted.path)' && mount -o remount,ro,bind '\(mounted.path)'")
        } catch {
            throw XCTSkip("no read-only bind mount here (needs root): \(error)")
        }
        defer { try? TestEnv.shell("umount '\(mounted.path)'") }
        let readOnly = mounted.appendingPathComponent("task.db").path
        XCTAssertEqual(try TestEnv.run(["status", "--store", readOnly]).status, 0)
        let target = dir.appendingPathComponent("merged.db").path
        let merge = try TestEnv.run(["merge", readOnly, "--into", target])
        XCTAssertEqual(merge.status, 0, merge.stderr)
        XCTAssertEqual(try TestEnv.run(["dump", "--store", target]).stdout, try TestEnv.run(["dump", "--store", store]).stdout)
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

    /// Paths in #SBATCH directives are quoted (`%` doubled), and a control character is refused before any script is
    /// written (item 6 of the third hostile round).
    func testPathsInDirectivesAreQuotedAndControlCharactersRefused() throws {
        let dir = TestEnv.temporaryDirectory("slurm-quoting").appendingPathComponent("my 100% job")
        let result = try TestEnv.run([
            "slurm", "--manifest", "/data/m.tsv", "--model", TestEnv.tinyModel, "--out", dir.path, "--tasks", "2",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let array = try String(contentsOf: dir.appendingPathComponent("tokenize.sbatch"), encoding: .utf8)
        let escaped = dir.path.replacingOccurrences(of: "%", with: "%%")
        XCTAssertTrue(array.contains("#SBATCH --output=\"\(escaped)/logs/task-%a.log\"\n"), array)
        let merge = try String(contentsOf: dir.appendingPathComponent("merge.sbatch"), encoding: .utf8)
        XCTAssertTrue(merge.contains("#SBATCH --output=\"\(escaped)/logs/merge.log\"\n"), merge)

        let injected = TestEnv.temporaryDirectory("slurm-injection").path + "/out\nrm -rf ~"
        let refused = try TestEnv.run([
            "slurm", "--manifest", "/data/m.tsv", "--model", TestEnv.tinyModel, "--out", injected, "--tasks", "2",
        ])
        XCTAssertEqual(refused.status, 1)
        XCTAssertEqual(
            refused.stderr, "Error: --out \(injected.debugDescription) holds a control character; it cannot go into a job script\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: injected))
    }
}
