import Foundation
import XCTest

/// What a new user meets first: `--version` and help texts that say what the commands do.
final class FirstContactTests: XCTestCase {
    func testVersionSaysTheVersionTheCommitAndTheBLASCore() throws {
        let result = try TestEnv.run(["--version"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, result.stdout)
        XCTAssertNotNil(
            lines[0].range(of: #"^tokenize-corpus \d+\.\d+\.\d+, commit [0-9a-f]{12}$"#, options: .regularExpression), lines[0])
        XCTAssertTrue(lines[1].contains("; OpenBLAS ") && lines[1].contains(", core "), lines[1])
    }

    /// Help texts say what the commands do, without saying it twice.
    func testHelpTextsAgreeWithTheBehaviour() throws {
        // Wrapped lines joined, so that phrases are found whatever the terminal width.
        func help(_ command: String) throws -> String {
            try TestEnv.run([command, "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        }
        let export = try help("export")
        XCTAssertTrue(export.contains("longer rows are left out or cut (--overflow)"), export)
        XCTAssertFalse(export.contains("longer sequences are cut"), export)
        XCTAssertFalse(export.contains("llasa, jsonl, megatron or parquet. (values"), export)
        let bench = try help("bench")
        XCTAssertFalse(bench.contains("(default: every core). (default:"), bench)
        let run = try help("run")
        XCTAssertTrue(run.contains("--shard <i/N|auto>"), run)
        XCTAssertFalse(run.contains("lhotse or tar (default"), run)
    }

    /// A small corpus whose first result is a failure shows seconds, not "0.00 h", and no RTF of 0.
    func testSmallCorporaShowSecondsAndNoSpeedBeforeAnyAudio() throws {
        let dir = TestEnv.temporaryDirectory("small-corpus")
        let manifest = dir.appendingPathComponent("m.tsv").path
        try "path\ttext\nmissing.wav\thello\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("s.db").path
        let run = try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertTrue(run.stderr.contains("1/1 utterances (1 failed), 0.0 s audio, RTF - (no audio encoded yet)"), run.stderr)
        XCTAssertTrue(run.stderr.contains(": 0 done (0.0 s, 0 frames), 1 failed"), run.stderr)
        XCTAssertTrue(try TestEnv.run(["status", "--store", store]).stdout.contains("done      0  (0.0 s, 0 frames)"))
    }

    /// `run`, `ingest` and `slurm` take manifests either way: as arguments or with `--manifest`.
    func testManifestsAreTakenAsArgumentsOrWithTheOption() throws {
        let dir = TestEnv.temporaryDirectory("manifest-forms")
        let manifest = try TestEnv.syntheticCorpus(in: dir, count: 2)
        let named = try TestEnv.run(
            ["run", "--manifest", manifest, "--model", TestEnv.tinyModel, "--store", dir.appendingPathComponent("a.db").path])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertEqual(try TestEnv.run(["ingest", "--manifest", manifest, "--store", dir.appendingPathComponent("b.db").path]).status, 0)
        let out = dir.appendingPathComponent("job")
        let slurm = try TestEnv.run(["slurm", manifest, "--model", TestEnv.tinyModel, "--out", out.path, "--tasks", "2"])
        XCTAssertEqual(slurm.status, 0, slurm.stderr)
        let script = try String(contentsOf: out.appendingPathComponent("tokenize.sbatch"), encoding: .utf8)
        XCTAssertTrue(script.contains(" run '\(manifest)' --model "), script)
        let none = try TestEnv.run(["run", "--model", TestEnv.tinyModel, "--store", dir.appendingPathComponent("c.db").path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.stderr.hasPrefix("Error: name at least one manifest (as an argument or with --manifest)"), none.stderr)
    }

    /// A typo in a required flag names the unknown option, not only the missing one.
    func testATypoInARequiredFlagIsNamed() throws {
        let dir = TestEnv.temporaryDirectory("typo")
        let typo = try TestEnv.run([
            "run", "--modle", TestEnv.tinyModel, "--store", dir.appendingPathComponent("s.db").path, "manifests/sample/LibriSpeech",
        ])
        XCTAssertEqual(typo.status, 64)
        XCTAssertTrue(typo.stderr.hasPrefix("Error: Unknown option '--modle'. Did you mean '--model'?"), typo.stderr)
        let value = try TestEnv.run(["export", "--store=x", "--tokenizr", "t", "--format", "llasa", "--out", "o"])
        XCTAssertTrue(value.stderr.hasPrefix("Error: Unknown option '--tokenizr'. Did you mean '--tokenizer'?"), value.stderr)
        // Known options, and arguments after `--`, pass through to the parser.
        let fine = try TestEnv.run(["status", "--store", dir.appendingPathComponent("none.db").path])
        XCTAssertFalse(fine.stderr.contains("Unknown option"), fine.stderr)
    }
}
