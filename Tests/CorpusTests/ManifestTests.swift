import Corpus
import Foundation
import XCTest

final class ManifestTests: XCTestCase {
    let sample = TestEnv.repo.appendingPathComponent("manifests/sample").path

    func testSampleManifestsInEveryFormat() throws {
        let libri = try Manifest.read(sample + "/LibriSpeech")
        XCTAssertEqual(libri.entries.count, 6)
        XCTAssertEqual(libri.entries.first?.id, "1001-2001-0000")
        XCTAssertEqual(libri.entries.first?.speaker, "1001")
        XCTAssertEqual(libri.entries.first?.text, "THE BIRCH CANOE SLID ON THE SMOOTH PLANKS")
        XCTAssertTrue(FileManager.default.fileExists(atPath: libri.entries[0].audioPath))
        XCTAssertTrue(libri.entries[0].source.hasSuffix("1001-2001.trans.txt:1"))

        let tsv = try Manifest.read(sample + "/sample.tsv")
        XCTAssertEqual(tsv.entries.count, 6)
        XCTAssertTrue(
            tsv.entries.allSatisfy { FileManager.default.fileExists(atPath: $0.audioPath) }, "relative paths resolve against the manifest")
        let jsonl = try Manifest.read(sample + "/sample.jsonl")
        XCTAssertEqual(jsonl.entries.map(\.text), tsv.entries.map(\.text))
        let lj = try Manifest.read(sample + "/LJSpeech")
        XCTAssertEqual(lj.entries.count, 3)
        XCTAssertEqual(try Manifest.detect(sample + "/LJSpeech"), .ljspeech)
        XCTAssertTrue(libri.problems.isEmpty && tsv.problems.isEmpty && jsonl.problems.isEmpty && lj.problems.isEmpty)
    }

    func testDuplicateIdsNameBothSources() throws {
        let dir = TestEnv.temporaryDirectory("dup")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.jsonl").path, b = dir.appendingPathComponent("b.jsonl").path
        try "{\"audio_filepath\": \"x.wav\", \"text\": \"hi\", \"id\": \"u1\"}\n".write(toFile: a, atomically: true, encoding: .utf8)
        try "{\"audio_filepath\": \"y.wav\", \"text\": \"ho\"}\n{\"audio_filepath\": \"z.wav\", \"text\": \"ha\", \"id\": \"u1\"}\n"
            .write(toFile: b, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Manifest.readAll([a, b])) { error in
            XCTAssertEqual("\(error)", "utterance id u1 appears twice: \(a):1 and \(b):2")
        }
    }

    func testMalformedLinesAreReportedWithFileAndLine() throws {
        let dir = TestEnv.temporaryDirectory("bad-manifest")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.jsonl").path
        try
            ("{\"audio_filepath\": \"a.wav\", \"text\": \"ok\"}\nnot json\n{\"text\": \"no audio\"}\n"
            + "{\"audio_filepath\": \"b.wav\", \"text\": \"nul\\u0000inside\"}\n").write(toFile: path, atomically: true, encoding: .utf8)
        let (entries, problems) = try Manifest.read(path)
        XCTAssertEqual(entries.map(\.id), ["a"])
        XCTAssertEqual(
            problems.map(\.description),
            [
                "\(path):2: not a JSON object",
                "\(path):3: no audio path (`audio_filepath`, `path`, `wav`, `audio`, `file` or `file_name`; --field audio=NAME names another)",
                "\(path):4: contains a NUL character (in the transcript)",
            ])
    }

    /// A folder of audio files is no manifest: `run` exits 1 saying what it looks for, instead of 0 with an empty store.
    func testAFolderWithoutAManifestIsAnError() throws {
        let dir = TestEnv.temporaryDirectory("no-manifest")
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 1), sampleRate: 16000, to: dir.appendingPathComponent("a.wav").path)
        XCTAssertThrowsError(try Manifest.read(dir.path)) { error in
            XCTAssertTrue("\(error)".hasPrefix("\(dir.path): no manifest in this folder: looked for LibriSpeech"), "\(error)")
        }
        let run = try TestEnv.run(["run", dir.path, "--model", TestEnv.tinyModel, "--store", dir.appendingPathComponent("s.db").path])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("Error: \(dir.path): no manifest in this folder"), run.stderr)
    }

    func testShardsPartitionIdsStably() throws {
        let ids = (0..<1000).map { "utt-\($0)" }
        var seen = Set<String>()
        for i in 0..<3 {
            let shard = try Shard.parse("\(i)/3")
            for id in ids where shard.contains(id) { XCTAssertTrue(seen.insert(id).inserted) }
        }
        XCTAssertEqual(seen.count, 1000)
        XCTAssertEqual(
            try Shard.parse(
                "auto", environment: ["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "4"]),
            Shard(index: 1, count: 3))
        XCTAssertThrowsError(try Shard.parse("auto", environment: [:]))
        XCTAssertThrowsError(try Shard.parse("3/3"))
    }
}
