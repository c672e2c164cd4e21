import Corpus
import Foundation
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
        try FileManager.default.copyItem(at: folder.appendingPathComponent("tokenizer_config.json"),
                                         to: unpacked.appendingPathComponent("tokenizer_config.json"))
        let gunzip = Process()
        gunzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gunzip.arguments = ["-c", "gzip -dc '\(gzipped.path)' > '\(unpacked.appendingPathComponent("tokenizer.json").path)'"]
        try gunzip.run()
        gunzip.waitUntilExit()
        XCTAssertEqual(gunzip.terminationStatus, 0)
        return unpacked.path
    }

    static let texts: [String] = try! JSONDecoder().decode([String].self, from: Data(contentsOf: fixtures.appendingPathComponent("stress-texts.json")))
    static let expected: [String: [[Int32]]] = try! JSONDecoder().decode([String: [[Int32]]].self,
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
}
