import Corpus
import Foundation
import Store
import XCTest

/// `export` against rows the reference logic (LLaSA_training's get_memmap_from_token.py) made from the same
/// codes and transcripts: Tests/CorpusTests/Fixtures/tokenizers/expected-export-*.npy.
final class ExportTests: XCTestCase {
    struct Utterance: Decodable { var id: String; var text: String; var codes: [Int32] }

    static let utterances: [Utterance] = {
        let data = try! Data(contentsOf: TokenizerTests.fixtures.appendingPathComponent("export-utterances.jsonl"))
        return data.split(separator: UInt8(ascii: "\n")).map { try! JSONDecoder().decode(Utterance.self, from: Data($0)) }
    }()

    /// A store holding the fixture utterances as done, plus one failed and one pending that must not be exported.
    static func makeStore(in directory: URL) throws -> String {
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = try Store(path: path)
        var entries = utterances.map { ManifestEntry(id: $0.id, source: "fixture", audioPath: $0.id + ".wav", text: $0.text) }
        entries += [
            ManifestEntry(id: "broken", source: "fixture", audioPath: "broken.wav", text: "never encoded"),
            ManifestEntry(id: "waiting", source: "fixture", audioPath: "waiting.wav", text: "not yet"),
        ]
        try store.ingest(entries, problems: [])
        var results = utterances.map {
            UtteranceResult(id: $0.id, outcome: .done(codes: $0.codes, duration: Double($0.codes.count) / 50, sampleRate: 16000))
        }
        results.append(
            UtteranceResult(id: "broken", outcome: .failed(stage: .decode, error: "broken.wav: not audio", duration: nil, sampleRate: nil))
        )
        try store.commit(results)
        return path
    }

    /// An int32 or int64 `.npy`: (shape, values as Int64).
    static func readNpy(_ url: URL) throws -> (shape: [Int], values: [Int64]) {
        let data = try Data(contentsOf: url)
        XCTAssertEqual(Array(data.prefix(8)), [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "npy header is padded to 64 bytes")
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        let shapeText = header.components(separatedBy: "'shape': (")[1].components(separatedBy: ")")[0]
        let shape = shapeText.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = data[(10 + headerLength)...]
        let values: [Int64] = body.withUnsafeBytes { raw in
            if header.contains("'<i8'") { return raw.bindMemory(to: Int64.self).map { $0 } }
            XCTAssertTrue(header.contains("'<i4'"), header)
            return raw.bindMemory(to: Int32.self).map { Int64($0) }
        }
        return (shape, values)
    }

    static func rows(_ values: [Int64], width: Int) -> [[Int64]] {
        stride(from: 0, to: values.count, by: width).map { Array(values[$0..<($0 + width)]) }
    }

    static func int32s(_ url: URL) throws -> [Int64] {
        try Data(contentsOf: url).withUnsafeBytes { $0.bindMemory(to: Int32.self).map { Int64($0) } }
    }

    func checkLlasaExport(tokenizer name: String) throws {
        let directory = TestEnv.temporaryDirectory("export-\(name)")
        let store = try Self.makeStore(in: directory)
        let out = directory.appendingPathComponent("out")
        let result = try TestEnv.run([
            "export", "--overflow", "truncate", "--store", store, "--tokenizer", try TokenizerTests.tokenizerFolder(name),
            "--format", "llasa", "--out", out.path, "--seed", "3",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("train 13, val 1"), result.stdout)
        XCTAssertTrue(result.stdout.contains("truncated   3 rows"), result.stdout)

        let expected = try Self.readNpy(TokenizerTests.fixtures.appendingPathComponent("expected-export-\(name).npy"))
        XCTAssertEqual(expected.shape, [Self.utterances.count, 2048])
        var ours: [[Int64]] = []
        for (split, count) in [("train", 13), ("val", 1)] {
            let shape = try Self.readNpy(out.appendingPathComponent("\(split)_input_ids_shape.npy"))
            XCTAssertEqual(shape.shape, [2])
            XCTAssertEqual(shape.values, [Int64(count), 2048])
            let values = try Self.int32s(out.appendingPathComponent("\(split)_input_ids.memmap"))
            XCTAssertEqual(values.count, count * 2048)
            ours += Self.rows(values, width: 2048)
        }
        let reference = Self.rows(expected.values, width: 2048)
        XCTAssertEqual(
            ours.sorted { $0.lexicographicallyPrecedes($1) }, reference.sorted { $0.lexicographicallyPrecedes($1) },
            "export rows differ from the reference logic's")
        XCTAssertNotEqual(ours, reference, "rows are shuffled")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".partial") }
        XCTAssertEqual(leftovers, [])
    }

    func testLlasaExportMatchesReferenceWithPlainLlama3Tokenizer() throws { try checkLlasaExport(tokenizer: "small-llama3") }
    func testLlasaExportMatchesReferenceWithLlasaTokenizer() throws { try checkLlasaExport(tokenizer: "small-llasa") }

    /// jsonl and megatron hold the reference rows unpadded, and every format puts the same utterances in val.
    func testJSONLAndMegatronAgreeWithReferenceAndSplit() throws {
        let directory = TestEnv.temporaryDirectory("export-formats")
        let store = try Self.makeStore(in: directory)
        let tokenizer = TokenizerTests.fixtures.appendingPathComponent("small-llama3").path
        var outputs: [String: URL] = [:]
        for format in ["llasa", "jsonl", "megatron"] {
            let out = directory.appendingPathComponent(format)
            let result = try TestEnv.run([
                "export", "--overflow", "truncate", "--store", store, "--tokenizer", tokenizer, "--format", format, "--out", out.path,
                "--val-size", "4", "--seed", "11",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            outputs[format] = out
        }
        let expected = try Self.readNpy(TokenizerTests.fixtures.appendingPathComponent("expected-export-small-llama3.npy"))
        let reference = Self.rows(expected.values, width: 2048)
        let pad = Int64(1509)
        var jsonlSplits: [String: [[Int64]]] = [:]
        for split in ["train", "val"] {
            let lines = TestEnv.jsonLines(
                try String(contentsOf: outputs["jsonl"]!.appendingPathComponent("\(split).jsonl"), encoding: .utf8))
            var documents: [[Int64]] = []
            for line in lines {
                let id = try XCTUnwrap(line["id"] as? String)
                let ids = try XCTUnwrap(line["input_ids"] as? [Int]).map(Int64.init)
                let index = try XCTUnwrap(Self.utterances.firstIndex { $0.id == id })
                XCTAssertEqual(ids + Array(repeating: pad, count: 2048 - ids.count), reference[index], id)
                XCTAssertEqual(line["speech_tokens"] as? Int, Self.utterances[index].codes.count)
                XCTAssertEqual(line["truncated"] as? Bool, ids.count == 2048 && reference[index].last != pad)
                documents.append(ids)
            }
            jsonlSplits[split] = documents
            XCTAssertEqual(documents.count, split == "val" ? 4 : 10)

            // Megatron: MMIDIDX header, version 1, int32, one sequence per document, same documents in the same order.
            let index = try Data(contentsOf: outputs["megatron"]!.appendingPathComponent("\(split).idx"))
            XCTAssertEqual(Array(index.prefix(9)), Array("MMIDIDX".utf8) + [0, 0])
            func u64(_ offset: Int) -> Int { index[offset..<(offset + 8)].withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) } }
            XCTAssertEqual(u64(9), 1)
            XCTAssertEqual(index[17], 4)
            let sequences = u64(18), docs = u64(26)
            XCTAssertEqual(sequences, documents.count)
            XCTAssertEqual(docs, documents.count + 1)
            let lengths = index[34..<(34 + 4 * sequences)].withUnsafeBytes { $0.bindMemory(to: Int32.self).map(Int.init) }
            XCTAssertEqual(lengths, documents.map(\.count))
            let pointers = index[(34 + 4 * sequences)...].prefix(8 * sequences).withUnsafeBytes {
                $0.bindMemory(to: Int64.self).map(Int.init)
            }
            XCTAssertEqual(pointers, documents.indices.map { i in documents[..<i].reduce(0) { $0 + 4 * $1.count } })
            XCTAssertEqual(index.count, 34 + 12 * sequences + 8 * docs)
            let bin = try Self.int32s(outputs["megatron"]!.appendingPathComponent("\(split).bin"))
            XCTAssertEqual(bin, Array(documents.joined()))

            let llasa = Self.rows(try Self.int32s(outputs["llasa"]!.appendingPathComponent("\(split)_input_ids.memmap")), width: 2048)
            let padded = documents.map { $0 + Array(repeating: pad, count: 2048 - $0.count) }
            XCTAssertEqual(llasa.sorted { $0.lexicographicallyPrecedes($1) }, padded.sorted { $0.lexicographicallyPrecedes($1) })
        }
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: outputs["llasa"]!.appendingPathComponent("export_info.json")))
            as? [String: Any]
        let vocabulary = try XCTUnwrap(info?["vocabulary"] as? [String: Any])
        XCTAssertEqual(vocabulary["speech_base"] as? Int, 1764)
        XCTAssertEqual(vocabulary["pad_id"] as? Int, 1509)
        XCTAssertEqual((info?["rows"] as? [String: Int])?["val"], 4)
    }

    func testSameSeedSameFilesOtherSeedOtherOrder() throws {
        let directory = TestEnv.temporaryDirectory("export-seed")
        let store = try Self.makeStore(in: directory)
        let tokenizer = TokenizerTests.fixtures.appendingPathComponent("small-llama3").path
        var memmaps: [Data] = []
        // The staging folder of an earlier, killed export to the same folder is cleared.
        let staging = directory.appendingPathComponent("a.export-partial")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for leftover in [".tokenize-corpus-export", "val_input_ids.memmap", "train.bin", "val.lengths"] {
            XCTAssertTrue(FileManager.default.createFile(atPath: staging.appendingPathComponent(leftover).path, contents: Data([1])))
        }
        for (name, seed) in [("a", "5"), ("b", "5"), ("c", "6")] {
            let out = directory.appendingPathComponent(name)
            let result = try TestEnv.run([
                "export", "--overflow", "truncate", "--store", store, "--tokenizer", tokenizer, "--format", "llasa", "--out", out.path,
                "--seed", seed, "--max-length", "64", "--pad-id", "7", "--val-size", "0",
            ])
            XCTAssertEqual(result.status, 0, result.stderr)
            memmaps.append(try Data(contentsOf: out.appendingPathComponent("train_input_ids.memmap")))
        }
        XCTAssertEqual(memmaps[0].count, 14 * 64 * 4)
        let written = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("a").path).sorted()
        XCTAssertEqual(
            written, ["README.md", "export_info.json", "train_input_ids.memmap", "train_input_ids_shape.npy"],
            "no val files for --val-size 0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: staging.path))
        XCTAssertEqual(memmaps[0], memmaps[1])
        XCTAssertNotEqual(memmaps[0], memmaps[2])
    }

    func testClearErrors() throws {
        let directory = TestEnv.temporaryDirectory("export-errors")
        let store = try Self.makeStore(in: directory)
        let gpt2 = TokenizerTests.fixtures.appendingPathComponent("small-gpt2").path
        var result = try TestEnv.run([
            "export", "--overflow", "truncate", "--store", store, "--tokenizer", gpt2, "--format", "llasa", "--out",
            directory.appendingPathComponent("o").path,
        ])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("no EOS token known") && result.stderr.contains("--pad-id"), result.stderr)
        result = try TestEnv.run([
            "export", "--overflow", "truncate", "--store", store, "--tokenizer", directory.appendingPathComponent("nothing").path,
            "--format", "jsonl",
            "--out", directory.appendingPathComponent("o").path,
        ])
        XCTAssertTrue(result.stderr.contains("no such tokenizer"), result.stderr)
        result = try TestEnv.run([
            "export", "--overflow", "truncate", "--store", store, "--tokenizer", gpt2, "--pad-id", "0", "--format", "jsonl", "--val-size",
            "99",
            "--out", directory.appendingPathComponent("o").path,
        ])
        XCTAssertTrue(result.stderr.contains("--val-size 99 is outside 0...13"), result.stderr)
    }

    /// A --max-length the transcript alone fills leaves rows LLaSA_training cannot use: counted and warned about.
    func testRowsWithoutSpeechAreReported() throws {
        let directory = TestEnv.temporaryDirectory("export-short")
        let store = try Self.makeStore(in: directory)
        let out = directory.appendingPathComponent("out")
        let result = try TestEnv.run([
            "export", "--overflow", "truncate", "--store", store, "--tokenizer",
            TokenizerTests.fixtures.appendingPathComponent("small-llama3").path,
            "--format", "jsonl", "--out", out.path, "--max-length", "8",
        ])
        XCTAssertEqual(result.status, 0, result.stderr)
        let info =
            try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("export_info.json"))) as! [String: Any]
        var expectedWithoutSpeech = 0
        var lines: [[String: Any]] = []
        for split in ["train", "val"] {
            lines += TestEnv.jsonLines(try String(contentsOf: out.appendingPathComponent("\(split).jsonl"), encoding: .utf8))
        }
        for line in lines {
            let ids = line["input_ids"] as! [Int]
            XCTAssertLessThanOrEqual(ids.count, 8)
            if !ids.contains(1760) { expectedWithoutSpeech += 1 }  // <|SPEECH_GENERATION_START|>
        }
        XCTAssertEqual(lines.count, 14)
        XCTAssertGreaterThan(expectedWithoutSpeech, 0)
        XCTAssertEqual(info["rows_without_speech"] as? Int, expectedWithoutSpeech)
        XCTAssertTrue(result.stdout.contains("warning     \(expectedWithoutSpeech) rows hold no speech"), result.stdout)
    }
}
