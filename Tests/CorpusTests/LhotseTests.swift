import Corpus
import Foundation
import XCTest

/// Lhotse cuts: the samples Lhotse reads, the codes of each segment cut out alone, and how cuts become entries.
final class LhotseTests: XCTestCase {
    static let fixtures = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/lhotse")

    static func fixture() throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("segments.json"))) as! [String: Any]
    }

    func testSegmentsAreTheSamplesLhotseReads() throws {
        let segments = try Self.fixture()["segments"] as! [[String: Any]]
        XCTAssertEqual(segments.count, 60)
        for s in segments {
            let rate = s["rate"] as! Int, start = s["start"] as! Double, duration = s["duration"] as! Double
            let (offset, count) = AudioSegment(start: start, duration: duration).frames(rate: rate)
            XCTAssertEqual(offset, s["offset"] as! Int, "start \(start) at \(rate) Hz")
            XCTAssertEqual(count, s["count"] as! Int, "duration \(duration) at \(rate) Hz")
        }
    }

    func testACutPastTheEndIsPaddedAsLhotsePadsIt() throws {
        let overrun = try Self.fixture()["overrun"] as! [String: Any]
        let file = try SoundFile(path: Self.fixtures.appendingPathComponent("overrun.wav").path)
        let audio = try file.read(segment: AudioSegment(start: 0.3, duration: 0.4), targetRate: 8000)
        XCTAssertEqual(audio.samples, (overrun["samples"] as! [Double]).map { Float($0) })
        // Past the half-second Lhotse tolerates: an error naming the file and both ends.
        XCTAssertThrowsError(try file.read(segment: AudioSegment(start: 0.3, duration: 0.9), targetRate: 8000)) { error in
            XCTAssertTrue(
                "\(error)".contains("overrun.wav: the segment ends at 1.200 s, after the recording's end at 0.500 s"), "\(error)")
        }
    }

    /// Two long recordings (24 kHz mono; 16 kHz stereo with the speech on channel 1), cuts of awkward bounds
    /// over both, interleaved: each cut's codes equal those of its samples cut out with sox and encoded alone, and
    /// each recording is opened once.
    func testCutsGiveTheCodesOfTheirSegmentsCutOutWithSox() throws {
        let dir = TestEnv.temporaryDirectory("lhotse")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sample = TestEnv.repo.appendingPathComponent("manifests/sample/lhotse/recording.flac").path
        let mono = dir.appendingPathComponent("a 24k.flac").path, stereo = dir.appendingPathComponent("b-stereo.flac").path
        try TestEnv.shell("sox -D '\(sample)' -r 24000 '\(mono)'")
        try TestEnv.shell(
            "sox -D '\(sample)' \(dir.path)/reversed.wav reverse && sox -D -M \(dir.path)/reversed.wav '\(sample)' '\(stereo)'")
        let spans: [(Double, Double)] = [(0.123457, 2.5), (3.68331, 2.51263), (6.19595, 3.2), (9.0000001, 1.73), (14.3, 2.9)]
        var lines: [String] = [], tsv = "id\tpath\ttext\n"
        for (i, (start, duration)) in spans.enumerated() {
            for (name, path, rate, channel) in [("a", mono, 24000, 0), ("b", stereo, 16000, 1)] {
                let id = "\(name)\(i)"
                let channels = name == "a" ? [0] : [0, 1]
                let cut: [String: Any] = [
                    "id": id, "start": start, "duration": duration, "channel": channel, "type": "MonoCut",
                    "supervisions": [
                        ["id": id, "recording_id": name, "start": 0, "duration": duration, "speaker": name, "text": "cut \(i)"]
                    ],
                    "recording": [
                        "id": name, "sampling_rate": rate, "num_samples": 0, "duration": 21.0,
                        "sources": [["type": "file", "channels": channels, "source": (path as NSString).lastPathComponent]],
                    ],
                ]
                lines.append(String(decoding: try JSONSerialization.data(withJSONObject: cut), as: UTF8.self))
                let (offset, count) = AudioSegment(start: start, duration: duration).frames(rate: rate)
                let piece = dir.appendingPathComponent("\(id).wav").path
                try TestEnv.shell("sox -D '\(path)' '\(piece)' trim \(offset)s \(count)s remix \(channel + 1)")
                tsv += "\(id)\t\(id).wav\tcut \(i)\n"
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("cuts.jsonl"), atomically: true, encoding: .utf8)
        try TestEnv.shell("gzip -n '\(dir.path)/cuts.jsonl'")
        try tsv.write(to: dir.appendingPathComponent("pieces.tsv"), atomically: true, encoding: .utf8)

        let cutsStore = dir.appendingPathComponent("cuts.db").path, piecesStore = dir.appendingPathComponent("pieces.db").path
        let trace = dir.appendingPathComponent("trace").path
        let run = try TestEnv.run(
            [
                "-f", "-e", "trace=openat", "-o", trace, TestEnv.binary, "run", dir.path + "/cuts.jsonl.gz", "--model", TestEnv.tinyModel,
                "--store", cutsStore,
            ], executable: "/usr/bin/strace")
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertEqual(try TestEnv.run(["run", dir.path + "/pieces.tsv", "--model", TestEnv.tinyModel, "--store", piecesStore]).status, 0)
        let cuts = try TestEnv.codesByID(store: cutsStore), pieces = try TestEnv.codesByID(store: piecesStore)
        XCTAssertEqual(cuts.count, 10)
        for (id, codes) in pieces { XCTAssertEqual(cuts[id], codes, id) }
        // Opens of each recording (the O_RDONLY ones: libsndfile's own, not the `stat`s).
        let opens = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("O_RDONLY") }
        XCTAssertEqual(opens.filter { $0.contains("a 24k.flac") }.count, 1)
        XCTAssertEqual(opens.filter { $0.contains("b-stereo.flac") }.count, 1)
    }

    func testCutsBecomeEntriesAndOtherKindsAreRefused() throws {
        let dir = TestEnv.temporaryDirectory("lhotse-entries")
        defer { try? FileManager.default.removeItem(at: dir) }
        func cut(_ id: String, _ extra: [String: Any] = [:], supervisions: [[String: Any]]? = nil) -> [String: Any] {
            var cut: [String: Any] = [
                "id": id, "start": 1.5, "duration": 2.0, "channel": 0, "type": "MonoCut",
                "supervisions": supervisions ?? [
                    [
                        "id": id, "recording_id": "r", "start": 0, "duration": 2.0, "speaker": "s1", "language": "English",
                        "custom": ["texts": ["Book text, with punctuation.", "BOOK TEXT WITH PUNCTUATION"], "begin_byte": 10],
                    ]
                ],
                "recording": [
                    "id": "r", "sampling_rate": 16000,
                    "sources": [["type": "file", "channels": [0], "source": "download/librilight/r.flac"]],
                ],
            ]
            cut.merge(extra) { $1 }
            return cut
        }
        let cuts = [
            cut("libriheavy"),
            cut("mixed", ["type": "MixedCut"]),
            cut("silent", supervisions: []),
            cut(
                "two",
                supervisions: [
                    ["id": "x2", "start": 1.0, "duration": 1, "speaker": "s1", "text": "second."],
                    ["id": "x1", "start": 0.0, "duration": 1, "speaker": "s1", "text": "First,"],
                ]),
            cut(
                "dialogue",
                supervisions: [
                    ["id": "y1", "start": 0, "duration": 1, "speaker": "s1", "text": "a"],
                    ["id": "y2", "start": 1, "duration": 1, "speaker": "s2", "text": "b"],
                ]),
            cut(
                "url",
                [
                    "recording": [
                        "id": "u", "sampling_rate": 16000, "sources": [["type": "url", "channels": [0], "source": "https://x/y.flac"]],
                    ]
                ]),
        ]
        let path = dir.appendingPathComponent("cuts.jsonl").path
        try cuts.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }.joined(separator: "\r\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try Manifest.detect(path), .lhotse)
        let (entries, problems) = try Manifest.read(path)
        XCTAssertEqual(entries.map(\.id), ["libriheavy", "two"])
        XCTAssertEqual(entries[0].text, "Book text, with punctuation.")
        XCTAssertEqual(entries[0].speaker, "s1")
        XCTAssertEqual(entries[0].location.path, dir.path + "/download/librilight/r.flac")
        XCTAssertEqual(entries[0].location.segment, AudioSegment(start: 1.5, duration: 2.0))
        XCTAssertEqual(entries[0].fields, #"{"begin_byte":10,"language":"English"}"#)
        XCTAssertEqual(entries[1].text, "First, second.")
        XCTAssertEqual(problems.map(\.source), [2, 3, 5, 6].map { "\(path):\($0)" })
        XCTAssertTrue(problems[0].reason.contains("MixedCut"))
        XCTAssertTrue(problems[1].reason.contains("no supervision"))
        XCTAssertTrue(problems[2].reason.contains("2 speakers"))
        XCTAssertTrue(problems[3].reason.contains("`url`"))

        var options = ManifestOptions()
        options.lhotseText = .asr
        options.audioRoot = "/corpora/libriheavy"
        let asr = try Manifest.readAll([path], options: options).entries[0]
        XCTAssertEqual(asr.text, "BOOK TEXT WITH PUNCTUATION")
        XCTAssertEqual(asr.location.path, "/corpora/libriheavy/download/librilight/r.flac")

        // Another Lhotse manifest kind: one line, naming it.
        let recordings = dir.appendingPathComponent("recordings.jsonl").path
        try #"{"id": "r", "sources": [], "sampling_rate": 16000, "num_samples": 1, "duration": 1.0}"#.write(
            toFile: recordings, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try Manifest.read(recordings)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(recordings): a Lhotse RecordingSet manifest, not cuts: pass the cuts (cuts*.jsonl.gz), which hold recordings and supervisions"
            )
        }
    }
}
