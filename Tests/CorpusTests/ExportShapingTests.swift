import Corpus
import Foundation
import Store
import Tokenizer
import XCTest

/// Export filters (each against planted rows), the overflow policy and same-speaker prompts.
final class ExportShapingTests: XCTestCase {
    struct Planted {
        var id: String, speaker: String?, seconds: Double, text: String, fields: String?
    }

    /// Speakers A (five utterances), B (one), C (three) and one without a speaker; languages and dnsmos as manifest
    /// fields; one transcript far too fast to be read in its time; one row too long for --max-length 600.
    static let planted: [Planted] = [
        Planted(id: "a1", speaker: "A", seconds: 2, text: "one two.", fields: #"{"dnsmos":3.1,"language":"en"}"#),
        Planted(id: "a2", speaker: "A", seconds: 4, text: "three four five.", fields: #"{"dnsmos":3.6,"language":"en"}"#),
        Planted(id: "a3", speaker: "A", seconds: 5, text: "six seven eight.", fields: #"{"dnsmos":2.4,"language":"en"}"#),
        Planted(id: "a4", speaker: "A", seconds: 8, text: "nine ten eleven twelve.", fields: #"{"dnsmos":3.9,"language":"en"}"#),
        Planted(id: "a5", speaker: "A", seconds: 14, text: "a long one, and it goes on.", fields: #"{"dnsmos":3.3,"language":"en"}"#),
        Planted(id: "b1", speaker: "B", seconds: 5, text: "bonjour.", fields: #"{"dnsmos":3.5,"language":"fr"}"#),
        Planted(id: "c1", speaker: "C", seconds: 3.5, text: "c one.", fields: #"{"language":"en"}"#),
        Planted(id: "c2", speaker: "C", seconds: 6, text: "c two, with " + String(repeating: "very many words ", count: 12), fields: nil),
        Planted(id: "c3", speaker: "C", seconds: 9, text: "c three.", fields: #"{"language":"en"}"#),
        Planted(id: "n1", speaker: nil, seconds: 3, text: "no speaker.", fields: nil),
    ]

    static func makeStore(_ dir: URL) throws -> String {
        let path = dir.appendingPathComponent("s.db").path
        let store = try Store(path: path)
        try store.ingest(
            planted.map {
                ManifestEntry(
                    id: $0.id, source: "m:\($0.id)", audioPath: "/x/\($0.id).wav", text: $0.text, speaker: $0.speaker, fields: $0.fields)
            }, problems: [])
        var generator = SplitMix64(seed: 3)
        try store.commit(
            planted.map { row in
                let codes = (0..<Int(row.seconds * 50)).map { _ in Int32(generator.next() % 65536) }
                return UtteranceResult(id: row.id, outcome: .done(codes: codes, duration: row.seconds, sampleRate: 16000))
            })
        try store.close()
        return path
    }

    static func export(_ store: String, _ out: String, _ extra: [String]) throws -> (
        info: [String: Any], rows: [[String: Any]], stdout: String
    ) {
        let tokenizer = try TokenizerTests.tokenizerFolder("small-llama3")
        let result = try TestEnv.run(["export", "--store", store, "--tokenizer", tokenizer, "--format", "jsonl", "--out", out] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/export_info.json"))) as! [String: Any]
        var rows: [[String: Any]] = []
        for split in ["train", "val"] where FileManager.default.fileExists(atPath: "\(out)/\(split).jsonl") {
            rows += TestEnv.jsonLines(try String(contentsOfFile: "\(out)/\(split).jsonl", encoding: .utf8)).map {
                var row = $0
                row["split"] = split
                return row
            }
        }
        return (info, rows, result.stdout)
    }

    func testEachFilterRemovesItsPlantedRowsAndIsCountedInOrder() throws {
        let dir = TestEnv.temporaryDirectory("filters")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Self.makeStore(dir)
        try "\u{FEFF}C\r\nB\n".write(toFile: dir.path + "/drop.txt", atomically: true, encoding: .utf8)
        func ids(_ extra: [String]) throws -> (Set<String>, [[String: Any]]) {
            let out = dir.appendingPathComponent(UUID().uuidString).path
            let (info, rows, _) = try Self.export(store, out, extra + ["--val-size", "0", "--max-length", "4096"])
            return (Set(rows.map { $0["id"] as! String }), info["filters"] as! [[String: Any]])
        }
        let all = Set(Self.planted.map(\.id))
        XCTAssertEqual(try ids([]).0, all)
        XCTAssertEqual(try ids(["--min-duration", "3.5"]).0, all.subtracting(["a1", "n1"]))
        XCTAssertEqual(try ids(["--max-duration", "9"]).0, all.subtracting(["a5"]))
        XCTAssertEqual(try ids(["--speakers", "A,B"]).0, ["a1", "a2", "a3", "a4", "a5", "b1"])
        XCTAssertEqual(try ids(["--exclude-speakers", "@" + dir.path + "/drop.txt"]).0, ["a1", "a2", "a3", "a4", "a5", "n1"])
        XCTAssertEqual(try ids(["--languages", "fr"]).0, ["b1"])
        // c2 reads some 200 characters in 6 s; the rest are under 10 per second.
        XCTAssertEqual(try ids(["--max-chars-per-second", "20"]).0, all.subtracting(["c2"]))
        XCTAssertEqual(try ids(["--min-chars-per-second", "20"]).0, ["c2"])
        XCTAssertEqual(try ids(["--where", "dnsmos >= 3.5"]).0, ["a2", "a4", "b1"])
        XCTAssertEqual(try ids(["--where", "text LIKE '%.' AND speaker IS NOT NULL"]).0, all.subtracting(["c2", "n1"]))

        // In order, each counted once.
        let (kept, counts) = try ids(["--min-duration", "3", "--exclude-speakers", "B", "--where", "dnsmos > 3.2"])
        XCTAssertEqual(kept, ["a2", "a4", "a5"])
        XCTAssertEqual(counts.map { $0["removed"] as! Int }, [1, 1, 5])
        XCTAssertEqual(
            counts.map { ($0["filter"] as! String).split(separator: " ").first! }, ["--min-duration", "--exclude-speakers", "--where"])

        let bad = try TestEnv.run([
            "export", "--store", store, "--tokenizer", try TokenizerTests.tokenizerFolder("small-llama3"), "--format", "jsonl",
            "--out", dir.path + "/bad", "--where", "loudness > 3",
        ])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.contains("--where loudness > 3: no such column: loudness"), bad.stderr)
    }

    /// drop leaves out and counts the rows over --max-length; truncate cuts them (LLaSA_training's behaviour).
    func testOverflowDropAndTruncate() throws {
        let dir = TestEnv.temporaryDirectory("overflow")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Self.makeStore(dir)
        // 600 ids hold 596 codes with the task tokens: a5 (700 codes) is over whatever its text.
        let dropped = try Self.export(store, dir.path + "/drop", ["--max-length", "600", "--val-size", "2"])
        XCTAssertEqual(dropped.info["dropped_rows"] as? Int, 1)
        XCTAssertEqual(Set(dropped.rows.map { $0["id"] as! String }), Set(Self.planted.map(\.id)).subtracting(["a5"]))
        XCTAssertTrue(dropped.rows.allSatisfy { ($0["input_ids"] as! [Int]).count <= 600 && !($0["truncated"] as! Bool) })
        XCTAssertTrue(dropped.stdout.contains("dropped     1 rows longer than 600"), dropped.stdout)
        let rows = dropped.info["rows"] as! [String: Int]
        XCTAssertEqual(rows["train"]! + rows["val"]!, 9)

        let cut = try Self.export(store, dir.path + "/cut", ["--max-length", "600", "--val-size", "2", "--overflow", "truncate"])
        let a5 = cut.rows.first { $0["id"] as? String == "a5" }!
        XCTAssertEqual((a5["input_ids"] as! [Int]).count, 600)
        XCTAssertEqual(a5["truncated"] as? Bool, true)
        XCTAssertEqual(cut.info["dropped_rows"] as? Int, 0)
        // Without drops the split is the same as before the flag existed: the same val rows for the same seed.
        let full = try Self.export(store, dir.path + "/full", ["--max-length", "4096", "--val-size", "2"])
        XCTAssertEqual((cut.info["ids"] as! [String: [String]])["val"]!, (full.info["ids"] as! [String: [String]])["val"]!)
    }

    /// Each prompt is another utterance of the same speaker, 3-10 s, from the row's own split; rows are laid out as
    /// the model cards' speech-prompt example; the same seed gives the same prompts.
    func testSameSpeakerPrompts() throws {
        let dir = TestEnv.temporaryDirectory("prompts")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try Self.makeStore(dir)
        let (info, rows, stdout) = try Self.export(
            store, dir.path + "/p", ["--prompt", "same-speaker", "--val-size", "3", "--max-length", "8192"])
        let byID = Dictionary(uniqueKeysWithValues: Self.planted.map { ($0.id, $0) })
        let split = Dictionary(uniqueKeysWithValues: rows.map { ($0["id"] as! String, $0["split"] as! String) })
        var withPrompt = 0
        for row in rows {
            let id = row["id"] as! String
            guard let prompt = row["prompt_id"] as? String else { continue }
            withPrompt += 1
            XCTAssertNotEqual(prompt, id)
            XCTAssertEqual(byID[prompt]!.speaker, byID[id]!.speaker, id)
            XCTAssertTrue((3...10).contains(byID[prompt]!.seconds), prompt)
            XCTAssertEqual(split[prompt], split[id], "\(id)'s prompt \(prompt) crosses the split")
        }
        XCTAssertGreaterThan(withPrompt, 0)
        XCTAssertNil(rows.first { $0["id"] as? String == "b1" }!["prompt_id"], "B has one utterance")
        XCTAssertNil(rows.first { $0["id"] as? String == "n1" }!["prompt_id"], "no speaker")
        XCTAssertEqual(info["rows_with_prompt"] as? Int, withPrompt)
        XCTAssertEqual(info["rows_without_prompt"] as? Int, rows.count - withPrompt)
        XCTAssertTrue(stdout.contains("prompts     \(withPrompt) rows with one"), stdout)

        // The layout: prompt transcript + " " + target transcript, prompt codes then target codes.
        let tokenizer = try TextTokenizer.load(try TokenizerTests.tokenizerFolder("small-llama3"))
        let vocabulary = info["vocabulary"] as! [String: Any]
        let task = vocabulary["task_token_ids"] as! [String: Int], base = vocabulary["speech_base"] as! Int
        for name in task.keys { _ = tokenizer.id(of: name) }
        tokenizer.addTokens(task.map { ($0.key, Int32($0.value)) })
        let codes = Dictionary(uniqueKeysWithValues: try TestEnv.codesByID(store: store).map { ($0.key, $0.value) })
        for row in rows {
            let id = row["id"] as! String
            let prompt = row["prompt_id"] as? String
            let text = prompt.map { byID[$0]!.text + " " + byID[id]!.text } ?? byID[id]!.text
            let speech = (prompt.map { codes[$0]! } ?? []) + codes[id]!
            let expected =
                [task["<|TEXT_UNDERSTANDING_START|>"]!] + tokenizer.encode(text).map(Int.init) + [
                    task["<|TEXT_UNDERSTANDING_END|>"]!, task["<|SPEECH_GENERATION_START|>"]!,
                ] + speech.map { $0 + base } + [task["<|SPEECH_GENERATION_END|>"]!]
            XCTAssertEqual(row["input_ids"] as! [Int], expected, id)
        }
        let again = try Self.export(store, dir.path + "/q", ["--prompt", "same-speaker", "--val-size", "3", "--max-length", "8192"])
        XCTAssertEqual(again.rows.map { $0["prompt_id"] as? String }, rows.map { $0["prompt_id"] as? String })
    }
}

/// The Parquet writer against files pyarrow has read: the planted store exported as parquet must give the very
/// bytes of `Fixtures/parquet/` (scripts/reference/check_parquet_fixture.py checks them with pyarrow and
/// `datasets` against the jsonl export beside them, and rewrites them with TOKENIZE_CORPUS_WRITE_PARQUET_FIXTURE=1).
final class ParquetFixtureTests: XCTestCase {
    static let fixtures = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/parquet")

    func testParquetPartsAreTheBytesPyarrowChecked() throws {
        let dir = TestEnv.temporaryDirectory("parquet")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ExportShapingTests.makeStore(dir)
        let tokenizer = try TokenizerTests.tokenizerFolder("small-llama3")
        for format in ["parquet", "jsonl"] {
            let run = try TestEnv.run([
                "export", "--store", store, "--tokenizer", tokenizer, "--format", format, "--out", "\(dir.path)/\(format)", "--val-size",
                "3",
                "--max-length", "1500", "--prompt", "same-speaker",
            ])
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let names = ["train-00000.parquet", "val-00000.parquet", "train.jsonl", "val.jsonl"]
        if ProcessInfo.processInfo.environment["TOKENIZE_CORPUS_WRITE_PARQUET_FIXTURE"] == "1" {
            try? FileManager.default.createDirectory(at: Self.fixtures, withIntermediateDirectories: true)
            for name in names {
                let from = "\(dir.path)/\(name.hasSuffix(".parquet") ? "parquet" : "jsonl")/\(name)"
                try? FileManager.default.removeItem(at: Self.fixtures.appendingPathComponent(name))
                try FileManager.default.copyItem(atPath: from, toPath: Self.fixtures.appendingPathComponent(name).path)
            }
        }
        for name in names {
            let ours = try Data(
                contentsOf: URL(fileURLWithPath: "\(dir.path)/\(name.hasSuffix(".parquet") ? "parquet" : "jsonl")/\(name)"))
            XCTAssertEqual(ours, try Data(contentsOf: Self.fixtures.appendingPathComponent(name)), name)
        }
    }
}
