import Corpus
import Foundation
import Store
import XCTest

/// Bad inputs are recorded with a message naming the file while the rest completes.
final class BadInputTests: XCTestCase {
    func testEveryBadInputIsRecordedAndTheRestIsDone() throws {
        let dir = TestEnv.temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        let speech = SyntheticSpeech.generate(seconds: 1.5)
        try AudioWriter.write(speech, sampleRate: 16000, to: path("good1.wav"))
        try AudioWriter.write(speech, sampleRate: 16000, to: path("good2.flac"), container: .flac)
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 3), sampleRate: 16000, to: path("whole.flac"), container: .flac)
        let flac = try Data(contentsOf: URL(fileURLWithPath: path("whole.flac")))
        try flac.prefix(flac.count / 2).write(to: URL(fileURLWithPath: path("truncated.flac")))
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 3), sampleRate: 16000, to: path("whole.wav"), sample: .pcm16)
        let wav = try Data(contentsOf: URL(fileURLWithPath: path("whole.wav")))
        try wav.prefix(wav.count / 3).write(to: URL(fileURLWithPath: path("truncated.wav")))
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 3), sampleRate: 16000, to: path("whole.ogg"), container: .ogg)
        let ogg = try Data(contentsOf: URL(fileURLWithPath: path("whole.ogg")))
        try ogg.prefix(ogg.count / 2).write(to: URL(fileURLWithPath: path("truncated.ogg")))
        XCTAssertTrue(FileManager.default.createFile(atPath: path("empty.flac"), contents: Data()))
        try "this is not audio\n".write(toFile: path("text.flac"), atomically: true, encoding: .utf8)
        try AudioWriter.write(Array(speech.prefix(80)), sampleRate: 16000, to: path("5ms.wav"))
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 4), sampleRate: 16000, to: path("long.wav"))
        let manifest = """
            id\tpath\ttext
            good1\tgood1.wav\tfine
            good2\tgood2.flac\tfine too
            missing\tmissing.wav\tnot there
            empty\tempty.flac\tzero bytes
            truncated\ttruncated.flac\tcut in half
            truncatedwav\ttruncated.wav\tcut to a third
            truncatedogg\ttruncated.ogg\tcut in half
            text\ttext.flac\tnot audio
            short\t5ms.wav\tfive milliseconds
            long\tlong.wav\ttoo long
            this line has no tabs

            """
        try manifest.write(toFile: path("bad.tsv"), atomically: true, encoding: .utf8)
        let store = path("bad.db")
        let result = try TestEnv.run(["run", path("bad.tsv"), "--model", TestEnv.tinyModel, "--store", store, "--max-duration", "3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("bad.tsv:12"), result.stderr)

        let status = try Store(path: store, access: .read).status()
        XCTAssertEqual(status.done, 2)
        XCTAssertEqual(status.failed, 8)
        XCTAssertEqual(status.pending, 0)
        let failures = TestEnv.jsonLines(try TestEnv.run(["failures", "--store", store]).stdout)
        var byID: [String: [String: Any]] = [:]
        for f in failures { byID[f["id"] as! String] = f }
        /// The failure of `id` has `stage`, names `file` and says `cause`, on one line.
        func check(_ id: String, stage: String, file: String, cause: String) {
            guard let f = byID[id] else { return XCTFail("\(id) not among the failures: \(failures)") }
            XCTAssertEqual(f["stage"] as? String, stage, id)
            let error = f["error"] as? String ?? ""
            XCTAssertTrue(error.hasPrefix(path(file)), "\(id): \(error)")
            XCTAssertTrue(error.contains(cause), "\(id): \(error)")
            XCTAssertFalse(error.contains("\n"), "\(id): one line")
        }
        check("missing", stage: "decode", file: "missing.wav", cause: "no such file")
        check("empty", stage: "decode", file: "empty.flac", cause: "empty")
        check("truncated", stage: "decode", file: "truncated.flac", cause: "truncated")
        check("truncatedwav", stage: "decode", file: "truncated.wav", cause: "truncated")
        check("truncatedogg", stage: "decode", file: "truncated.ogg", cause: "truncated")
        check("text", stage: "decode", file: "text.flac", cause: "not readable as audio")
        check("short", stage: "too_short", file: "5ms.wav", cause: "too short")
        check("long", stage: "too_long", file: "long.wav", cause: "exceeds --max-duration 3")
        check(path("bad.tsv") + ":12", stage: "manifest", file: "bad.tsv:12", cause: "fields")
    }

    /// A codes file for `decode`: codes are Int32 end to end, so a number beyond it is refused where it is read.
    func testCodesFilesAreReadAsCodesOrRefusedByPosition() throws {
        XCTAssertEqual(try CodesJSON.codes(from: Data(#"{"codes": [0, 65535, 7]}"#.utf8), source: "c.json"), [0, 65535, 7])
        for (json, message) in [
            (#"{"codes": [1, 5000000000]}"#, "c.json: code 5000000000 at position 1 is not a code"),
            (#"{"codes": "1 2"}"#, #"c.json: no "codes" array of integers"#),
            ("[1, 2]", "c.json: not a JSON object"),
        ] {
            XCTAssertThrowsError(try CodesJSON.codes(from: Data(json.utf8), source: "c.json")) { XCTAssertEqual("\($0)", message) }
        }
    }
}
