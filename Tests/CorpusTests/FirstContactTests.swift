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
}
