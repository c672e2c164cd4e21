import Corpus
import Foundation
import XCTest

/// Other field names (`--field`), extra fields kept per utterance, Emilia's JSONL, LJSpeech's two columns.
final class FieldMapTests: XCTestCase {
    func testFieldsAreMappedAndTheRestKept() throws {
        let dir = TestEnv.temporaryDirectory("fields")
        defer { try? FileManager.default.removeItem(at: dir) }
        let jsonl = dir.appendingPathComponent("common.jsonl").path
        try """
        {"path": "clips/a.mp3", "sentence": "Hello there.", "client_id": "c1", "up_votes": 2, "accent": "scottish"}
        {"path": "clips/b.mp3", "sentence": 42, "client_id": "c2"}

        """.write(toFile: jsonl, atomically: true, encoding: .utf8)
        // Common Voice's names: `sentence` is a default text name, `client_id` needs mapping.
        var options = ManifestOptions()
        options.fields = try FieldMap.parse(["speaker=client_id"])
        let (entries, problems) = try Manifest.readAll([jsonl], options: options)
        XCTAssertEqual(entries.count, 1)
        XCTAssertEqual(entries[0].id, "clips/a")
        XCTAssertEqual(entries[0].audioPath, dir.path + "/clips/a.mp3")
        XCTAssertEqual(entries[0].text, "Hello there.")
        XCTAssertEqual(entries[0].speaker, "c1")
        XCTAssertEqual(entries[0].fields, #"{"accent":"scottish","up_votes":2}"#)
        XCTAssertEqual(problems.map(\.source), ["\(jsonl):2"])
        XCTAssertTrue(problems[0].reason.hasPrefix("no transcript string"))
        XCTAssertThrowsError(try FieldMap.parse(["voice=spk"]))

        // TSV: numbers in extra columns are kept as numbers, so that filters compare them as numbers; codes stay text.
        let tsv = dir.appendingPathComponent("m.tsv").path
        try "wav\ttranscript\tsnr\tgroup\nx.wav\thi\t17.5\t007\n".write(toFile: tsv, atomically: true, encoding: .utf8)
        let row = try Manifest.read(tsv).entries[0]
        XCTAssertEqual(row.text, "hi")
        XCTAssertEqual(row.fields, #"{"group":"007","snr":17.5}"#)
        let noText = dir.appendingPathComponent("n.tsv").path
        try "path\tcaption\nx.wav\thi\n".write(toFile: noText, atomically: true, encoding: .utf8)
        let read = try Manifest.read(noText)
        XCTAssertEqual(read.entries.count, 0)
        XCTAssertTrue(read.problems[0].reason.hasPrefix("the header names no text column"), read.problems[0].reason)
    }

    /// Emilia's JSONL and shard read out of the box; the extra fields reach `dump`; LJSpeech reads the raw column
    /// unless told otherwise.
    func testSampleCorporaOutOfTheBox() throws {
        let dir = TestEnv.temporaryDirectory("emilia")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sample = TestEnv.repo.appendingPathComponent("manifests/sample").path
        let store = dir.appendingPathComponent("s.db").path
        let run = try TestEnv.run(
            ["run", sample + "/emilia/EN_B00001.jsonl", sample + "/emilia/EN_B00000.tar", "--model", TestEnv.tinyModel, "--store", store])
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = TestEnv.jsonLines(try TestEnv.run(["dump", "--store", store]).stdout)
        XCTAssertEqual(rows.count, 6)
        for row in rows {
            let fields = row["fields"] as? [String: Any]
            XCTAssertEqual(fields?["language"] as? String, "en")
            XCTAssertNotNil(fields?["dnsmos"] as? Double)
            XCTAssertTrue((row["speaker"] as? String)?.hasPrefix("EN_B0000") ?? false)
        }
        let raw = try Manifest.read(sample + "/LJSpeech").entries.map(\.text)
        var options = ManifestOptions()
        options.ljspeechText = .normalized
        let lines = try String(contentsOfFile: sample + "/LJSpeech/metadata.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(raw, lines.map { String($0.split(separator: "|")[1]) })
        XCTAssertEqual(
            try Manifest.readAll([sample + "/LJSpeech"], options: options).entries.map(\.text),
            lines.map { String($0.split(separator: "|")[2]) })
    }
}
