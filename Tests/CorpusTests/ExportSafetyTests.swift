import Corpus
import Foundation
import Store
import XCTest

/// Issue 16, items 7, 11, 12, 13 and 14: `export` refuses what it cannot do well, touches only its own files,
/// and publishes a whole export or nothing.
final class ExportSafetyTests: XCTestCase {
    let tokenizer = TokenizerTests.fixtures.appendingPathComponent("small-llama3").path

    func export(_ store: String, _ out: String, _ extra: [String] = [], format: String = "llasa") throws -> TestEnv.Result {
        try TestEnv.run(
            ["export", "--overflow", "truncate", "--store", store, "--tokenizer", tokenizer, "--format", format, "--out", out] + extra)
    }

    func testOutOfRangeLengthsAndPadIdsAreRefused() throws {
        let dir = TestEnv.temporaryDirectory("export-bounds")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ExportTests.makeStore(in: dir)
        let out = dir.appendingPathComponent("out").path
        for (flags, message) in [
            (["--max-length", "9223372036854775807"], "--max-length 9223372036854775807 is outside 1...131072"),
            (["--max-length", "2147483648"], "--max-length 2147483648 is outside 1...131072"),
            (["--max-length", "100000000"], "--max-length 100000000 is outside 1...131072"),
            (["--max-length", "0"], "--max-length 0 is outside 1...131072"),
            (["--pad-id=-7"], "--pad-id -7 is not an id of the tokenizer"),
            (["--pad-id", "99999999"], "--pad-id 99999999 is not an id of the tokenizer"),
        ] {
            let result = try export(store, out, flags)
            XCTAssertNotEqual(result.status, 0, "\(flags)")
            XCTAssertTrue(result.stderr.contains(message), "\(flags): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, result.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out), "\(flags) wrote files")
        }
        let file = dir.appendingPathComponent("a-file").path
        try "x".write(toFile: file, atomically: true, encoding: .utf8)
        let onFile = try export(store, file)
        XCTAssertEqual(onFile.status, 1)
        XCTAssertEqual(onFile.stderr, "Error: \(file): exists and is not a folder; --out names the folder to write\n")
    }

    /// Files an export did not write are never deleted: such a folder is refused, and with --force the export
    /// goes beside them. A previous export is replaced whole (no split of another format left behind).
    func testOnlyItsOwnFilesAreTouched() throws {
        let dir = TestEnv.temporaryDirectory("export-foreign")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ExportTests.makeStore(in: dir)
        let out = dir.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try "mine".write(to: out.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
        try "hand-made".write(to: out.appendingPathComponent("val.bin"), atomically: true, encoding: .utf8)
        let refused = try export(store, out.path)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("holds files an export did not write (notes.txt)"), refused.stderr)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)), ["notes.txt", "val.bin"])

        let forced = try export(store, out.path, ["--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        let files = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        XCTAssertEqual(
            files,
            [
                "notes.txt", "val.bin", "export_info.json", "README.md", "train_input_ids.memmap", "train_input_ids_shape.npy",
                "val_input_ids.memmap", "val_input_ids_shape.npy",
            ])
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("val.bin"), encoding: .utf8), "hand-made")

        // A folder written by an export is replaced whole by the next one.
        let clean = dir.appendingPathComponent("clean").path
        XCTAssertEqual(try export(store, clean, format: "megatron").status, 0)
        XCTAssertEqual(try export(store, clean, format: "jsonl").status, 0)
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: clean)), ["train.jsonl", "val.jsonl", "export_info.json", "README.md"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: clean + ".export-partial"))

        // What a kill while the staging folder is being made can leave: an empty staging folder, or the half-made one
        // holding only its marker. Both are taken as the export's own; a staging folder with other files is not.
        let fm = FileManager.default
        try fm.createDirectory(atPath: clean + ".export-partial", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: clean + ".export-partial.new", withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: clean + ".export-partial.new/.tokenize-corpus-export", contents: Data()))
        let resumed = try export(store, clean, format: "jsonl")
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertFalse(fm.fileExists(atPath: clean + ".export-partial") || fm.fileExists(atPath: clean + ".export-partial.new"))
        try fm.createDirectory(atPath: clean + ".export-partial", withIntermediateDirectories: true)
        try "x".write(toFile: clean + ".export-partial/keep.txt", atomically: true, encoding: .utf8)
        let foreign = try export(store, clean, format: "jsonl")
        XCTAssertEqual(foreign.status, 1)
        XCTAssertTrue(foreign.stderr.contains("exists and was not made by an export"), foreign.stderr)
        XCTAssertTrue(fm.fileExists(atPath: clean + ".export-partial/keep.txt"))
    }

    /// export_info.json lists the utterance ids of each split, in row order.
    func testExportInfoListsTheIdsInRowOrder() throws {
        let dir = TestEnv.temporaryDirectory("export-ids")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ExportTests.makeStore(in: dir)
        for format in ["llasa", "jsonl"] {
            let out = dir.appendingPathComponent(format)
            XCTAssertEqual(try export(store, out.path, format: format).status, 0)
            let info =
                try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("export_info.json"))) as! [String: Any]
            let ids = info["ids"] as! [String: [String]]
            XCTAssertEqual(Set(ids["train"]! + ids["val"]!), Set(ExportTests.utterances.map(\.id)))
            if format == "jsonl" {
                let lines = TestEnv.jsonLines(try String(contentsOf: out.appendingPathComponent("train.jsonl"), encoding: .utf8))
                XCTAssertEqual(lines.map { $0["id"] as! String }, ids["train"]!)
            } else {
                // Row r of the memmap holds utterance ids["train"][r]: its first codes show in the row.
                let base = Int64((info["vocabulary"] as! [String: Any])["speech_base"] as! Int)
                let rows = ExportTests.rows(try ExportTests.int32s(out.appendingPathComponent("train_input_ids.memmap")), width: 2048)
                let codes = Dictionary(uniqueKeysWithValues: ExportTests.utterances.map { ($0.id, $0.codes) })
                XCTAssertEqual(rows.count, ids["train"]!.count)
                for (row, id) in zip(rows, ids["train"]!) {
                    let speech = row.filter { $0 >= base && $0 < base + 65536 }
                    XCTAssertEqual(Array(speech.prefix(3)), codes[id]!.prefix(3).map { Int64($0) + base }, id)
                }
            }
        }
    }

    /// kill -9 at random moments of an export over a previous one: --out always holds one complete export.
    func testAKilledExportLeavesTheWholePreviousOrTheWholeNewExport() throws {
        let dir = TestEnv.temporaryDirectory("export-kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let storePath = dir.appendingPathComponent("big.db").path
        do {
            let store = try Store(path: storePath)
            let count = 6000
            try store.ingest(
                (0..<count).map { ManifestEntry(id: "u\($0)", source: "t", audioPath: "/x/\($0).wav", text: "utterance \($0)") },
                problems: [])
            var generator = SplitMix64(seed: 7)
            try store.commit(
                (0..<count).map { i in
                    let codes = (0..<(200 + i % 700)).map { _ in Int32(generator.next() % 65536) }
                    return UtteranceResult(
                        id: "u\(i)", outcome: .done(codes: codes, duration: Double(codes.count) / 50, sampleRate: 16000))
                })
            try store.close()
        }
        let out = dir.appendingPathComponent("out").path
        XCTAssertEqual(try export(storePath, out, ["--seed", "1"]).status, 0)
        func seedOfCompleteExport() throws -> Int {
            let info =
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/export_info.json"))) as! [String: Any]
            for name in info["files"] as! [String] { XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/" + name), name) }
            let rows = (info["rows"] as! [String: Int])["train"]!
            let size = try FileManager.default.attributesOfItem(atPath: out + "/train_input_ids.memmap")[.size] as! Int
            XCTAssertEqual(size, rows * 2048 * 4)
            return info["seed"] as! Int
        }
        var seeds: Set<Int> = []
        var generator = SplitMix64(seed: 3)
        for attempt in 0..<8 {
            let process = try TestEnv.start(
                [
                    "export", "--overflow", "truncate", "--store", storePath, "--tokenizer", tokenizer, "--format", "llasa", "--out", out,
                    "--seed", "\(attempt + 2)",
                ], quiet: true)
            usleep(useconds_t(generator.next() % 1_500_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            seeds.insert(try seedOfCompleteExport())
        }
        XCTAssertGreaterThan(seeds.count, 0)
        let last = try export(storePath, out, ["--seed", "99"])
        XCTAssertEqual(last.status, 0, last.stderr)
        XCTAssertEqual(try seedOfCompleteExport(), 99)
    }

    /// A kill at each step of publishing (where one `kill -9` in 25 or 80 landed): the next export recognises what was
    /// left, runs, and `--out` holds it, with no staging folder and no marker left (third hostile round, item 9).
    func testAnExportKilledWhilePublishingIsFollowedByAWholeOne() throws {
        let dir = TestEnv.temporaryDirectory("export-publish")
        let (_, store) = try TestEnv.encodedCorpus(in: dir, count: 4)
        for (index, point) in ["publish", "exchanged", "published"].enumerated() {
            let out = dir.appendingPathComponent("out\(index)").path
            for existing in [false, true] {
                if existing { XCTAssertEqual(try export(store, out, ["--seed", "1"]).status, 0) }
                var environment = ProcessInfo.processInfo.environment
                environment["TOKENIZE_CORPUS_EXPORT_CRASH"] = point
                let killed = try TestEnv.run(
                    [
                        "export", "--overflow", "truncate", "--store", store, "--tokenizer", tokenizer, "--format", "llasa", "--out", out,
                        "--seed", "2",
                    ],
                    environment: environment)
                if point != "exchanged" || existing { XCTAssertEqual(killed.status, SIGKILL, "\(point): it was not killed there") }
                let next = try export(store, out, ["--seed", "3"])
                XCTAssertEqual(next.status, 0, "\(point), over an export: \(existing): \(next.stderr)")
                let info =
                    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/export_info.json")))
                    as! [String: Any]
                XCTAssertEqual(info["seed"] as? Int, 3)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out + ".export-partial"), point)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out + "/.tokenize-corpus-export"), point)
                try FileManager.default.removeItem(atPath: out)
            }
        }
    }

    /// An export whose train split ends up empty exits 1 saying what removed the rows, and writes nothing; an empty
    /// val split is a warning. The dataset card names no data_files patterns, on which `datasets` would key its cache
    /// (a re-export into the same folder then loaded the previous rows; scripts/reference/check_exports.py loads one).
    func testAnEmptyTrainSplitIsAnErrorAndTheCardHasNoPatterns() throws {
        let dir = TestEnv.temporaryDirectory("export-empty")
        let (_, store) = try TestEnv.encodedCorpus(in: dir, count: 4)
        let out = dir.appendingPathComponent("out").path
        let empty = try TestEnv.run(
            [
                "export", "--store", store, "--tokenizer", tokenizer, "--format", "llasa", "--out", out, "--max-length", "40",
                "--val-size", "1",
            ])
        XCTAssertEqual(empty.status, 1)
        XCTAssertEqual(
            empty.stderr,
            "Error: no rows left for the train split, so nothing is written: 4 done utterance(s) in the store; 4 by --overflow "
                + "drop (longer than --max-length 40)\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let filtered = try TestEnv.run(
            ["export", "--store", store, "--tokenizer", tokenizer, "--format", "jsonl", "--out", out, "--speakers", "nobody"])
        XCTAssertEqual(filtered.status, 1)
        XCTAssertTrue(filtered.stderr.contains("the filters leave no utterance to export"), filtered.stderr)

        let noVal = try TestEnv.run([
            "export", "--store", store, "--tokenizer", tokenizer, "--format", "jsonl", "--out", out, "--val-size", "0",
        ])
        XCTAssertEqual(noVal.status, 0, noVal.stderr)
        XCTAssertTrue(noVal.stdout.contains("warning     the val split is empty"), noVal.stdout)
        let card = try String(contentsOfFile: out + "/README.md", encoding: .utf8)
        XCTAssertFalse(card.contains("configs:") || card.contains("data_files"), card)
        XCTAssertTrue(card.contains("dataset_info:\n  features:\n  - name: id\n"), card)
        XCTAssertTrue(card.contains("they need transformers < 5"), card)

        // A half-finished corpus says so: pending and failed utterances in the summary, export_info.json and the card.
        let more = dir.appendingPathComponent("more.tsv").path
        try "id\tpath\ttext\nlater1\tx1.wav\tone\nlater2\tx2.wav\ttwo\n".write(toFile: more, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TestEnv.run(["ingest", more, "--store", store]).status, 0)
        let half = try TestEnv.run(["export", "--store", store, "--tokenizer", tokenizer, "--format", "jsonl", "--out", out])
        XCTAssertEqual(half.status, 0, half.stderr)
        XCTAssertTrue(
            half.stdout.contains("warning     the store also holds 2 pending and 0 failed utterances, which are not in this export"),
            half.stdout)
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/export_info.json"))) as! [String: Any]
        XCTAssertEqual(info["pending_rows"] as? Int, 2)
        XCTAssertTrue(
            try String(contentsOfFile: out + "/README.md", encoding: .utf8).contains(
                "| not encoded yet (pending) in the store, not exported | 2 |"))
    }
}
