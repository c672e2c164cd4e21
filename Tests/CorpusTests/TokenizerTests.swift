import Corpus
import Foundation
import Tokenizer
import XCTest

/// Ids against Hugging Face `tokenizers` on the stress set (fixtures: scripts/reference/make_tokenizer_fixtures.py).
final class TokenizerTests: XCTestCase {
    static let fixtures = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/tokenizers")

    /// A fixture tokenizer folder; the Llasa one is stored gzipped and unpacked to a temporary folder.
    static func tokenizerFolder(_ name: String) throws -> String {
        let folder = fixtures.appendingPathComponent(name)
        let gzipped = folder.appendingPathComponent("tokenizer.json.gz")
        guard FileManager.default.fileExists(atPath: gzipped.path) else { return folder.path }
        let unpacked = TestEnv.temporaryDirectory(name)
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent("tokenizer_config.json"),
            to: unpacked.appendingPathComponent("tokenizer_config.json"))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gunzip.arguments = ["-c", "gzip -dc '\(gzipped.path)' > '\(unpacked.appendingPathComponent("tokenizer.json").path)'"]
        try gunzip.run()
        gunzip.waitUntilExit()
        XCTAssertEqual(gunzip.terminationStatus, 0)
        return unpacked.path
    }

    static let texts: [String] = try! JSONDecoder().decode(
        [String].self, from: Data(contentsOf: fixtures.appendingPathComponent("stress-texts.json")))
    static let expected: [String: [[Int32]]] = try! JSONDecoder().decode(
        [String: [[Int32]]].self,
        from: Data(contentsOf: fixtures.appendingPathComponent("expected-ids.json")))

    func checkStressSet(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let tokenizer = try TextTokenizer.load(Self.tokenizerFolder(name))
        let expected = try XCTUnwrap(Self.expected[name])
        XCTAssertEqual(expected.count, Self.texts.count)
        var mismatches = 0
        for (text, ids) in zip(Self.texts, expected) {
            let ours = tokenizer.encode(text)
            if ours != ids {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(name): \(text.debugDescription): \(ours) != \(ids)", file: file, line: line) }
            }
        }
        XCTAssertEqual(mismatches, 0, "\(name): \(mismatches) of \(Self.texts.count) texts differ", file: file, line: line)
    }

    func testLlama3LayoutMatchesTokenizers() throws { try checkStressSet("small-llama3") }
    func testTiktokenFileMatchesConvertedTokenizer() throws { try checkStressSet("small-llama3-tiktoken") }
    func testLlasaTokenizerWithStringMergesMatches() throws { try checkStressSet("small-llasa") }
    func testGPT2LayoutMatchesTokenizers() throws { try checkStressSet("small-gpt2") }
    func testRemovedAndInvertedSplitsMatchTokenizers() throws { try checkStressSet("small-split-removed") }

    /// `text-tokens` over the whole stress set as JSON string lines, and over raw lines.
    func testTextTokensCommand() throws {
        let folder = Self.fixtures.appendingPathComponent("small-llama3").path
        let input = try Self.texts.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
        var result = try TestEnv.run(["text-tokens", "--tokenizer", folder, "--json-strings"], stdin: input)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map { try! JSONDecoder().decode([Int32].self, from: Data($0.utf8)) }
        XCTAssertEqual(lines, Self.expected["small-llama3"])

        let plain = Self.texts.enumerated().filter { !$0.element.contains { $0.isNewline } && !$0.element.isEmpty }
        result = try TestEnv.run(["text-tokens", "--tokenizer", folder], stdin: plain.map(\.element).joined(separator: "\n") + "\n")
        XCTAssertEqual(result.status, 0, result.stderr)
        let rawLines = result.stdout.split(separator: "\n").map { try! JSONDecoder().decode([Int32].self, from: Data($0.utf8)) }
        XCTAssertEqual(rawLines, plain.map { Self.expected["small-llama3"]![$0.offset] })

        result = try TestEnv.run(["text-tokens", "--tokenizer", folder, "--json-strings"], stdin: "\"ok\"\nnot json\n")
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("stdin:2: not a JSON string literal"), result.stderr)
    }

    func testEOSFromConfigOrLlama3Default() throws {
        XCTAssertEqual(try TextTokenizer.load(Self.fixtures.appendingPathComponent("small-llama3").path).eosId, 1509)
        XCTAssertEqual(try TextTokenizer.load(Self.tokenizerFolder("small-llasa")).eosToken, "<|eot_id|>")
        XCTAssertEqual(try TextTokenizer.load(Self.fixtures.appendingPathComponent("small-llama3-tiktoken").path).eosId, 1509)
        XCTAssertNil(try TextTokenizer.load(Self.fixtures.appendingPathComponent("small-gpt2").path).eosId)
    }

    /// Files we cannot tokenise like `tokenizers` are refused with one line naming the file and the reason.
    func testUnsupportedOrBrokenFilesAreRefused() throws {
        let directory = TestEnv.temporaryDirectory("tokenizer-errors")
        func refused(_ name: String, _ contents: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
            let path = directory.appendingPathComponent(name).path
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(contents.utf8)))
            XCTAssertThrowsError(try TextTokenizer.load(path), file: file, line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(path) && message.contains(reason), message, file: file, line: line)
                XCTAssertFalse(message.contains("\n"), message, file: file, line: line)
            }
        }
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtures.appendingPathComponent("small-llama3/tokenizer.json")))
            as! [String: Any]
        json["normalizer"] = ["type": "NFC"]
        refused(
            "nfc.json", String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self),
            "normalizer NFC is not supported"
        )
        json["normalizer"] = NSNull()
        json["pre_tokenizer"] = ["type": "Whitespace"]
        refused(
            "ws.json", String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self),
            "pre-tokenizer Whitespace is not supported")
        var model = json["model"] as! [String: Any]
        model["type"] = "WordPiece"
        json["model"] = model
        refused("wp.json", String(decoding: try JSONSerialization.data(withJSONObject: json), as: UTF8.self), "model type WordPiece")
        refused("empty.json", "", "not a byte-level BPE tokenizer.json")
        refused("bad.model", "IQ== 0\nnot base64!! x\n", "bad.model:2: not a tiktoken line")
        XCTAssertThrowsError(try TextTokenizer.load(directory.appendingPathComponent("missing").path)) {
            XCTAssertTrue("\($0)".contains("no such tokenizer file or folder"))
        }
        XCTAssertThrowsError(try TextTokenizer.load(TestEnv.temporaryDirectory("empty-folder").path)) {
            XCTAssertTrue("\($0)".contains("holds neither tokenizer.json nor tokenizer.model"))
        }
    }

    /// The hand-written JSON string escaping (JSONL export, dump) writes what JSONEncoder writes.
    func testQuotedStringsMatchJSONEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        for text in Self.texts + ["a/b\\c\"d", "\u{7f}\u{1f}\u{0}\u{2028}"] {
            XCTAssertEqual(CodesJSON.quoted(text), String(decoding: try encoder.encode(text), as: UTF8.self), text.debugDescription)
        }
    }
}
