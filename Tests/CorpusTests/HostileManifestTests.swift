import Corpus
import Foundation
import Store
import XCTest

/// Manifest attacks of the third hostile round: each is one problem naming the line and the cause, and the rest of
/// the manifest is read.
final class HostileManifestTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = TestEnv.temporaryDirectory("hostile-manifest") }

    func write(_ name: String, _ text: String) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A MonoCut line over a 16 kHz mono recording, with `extra` merged into the cut.
    func cut(_ id: String, start: Any = 0.5, duration: Any = 1.0, extra: [String: Any] = [:]) throws -> String {
        var cut: [String: Any] = [
            "id": id, "type": "MonoCut", "start": start, "duration": duration, "channel": 0,
            "recording": [
                "id": "rec", "sampling_rate": 16000, "num_samples": 1_600_000, "duration": 100.0, "channel_ids": [0, 1],
                "sources": [["type": "file", "channels": [0, 1], "source": "rec.wav"]],
            ],
            "supervisions": [["id": "\(id)-s", "recording_id": "rec", "start": 0.0, "duration": 1.0, "text": "words of \(id)"]],
        ]
        cut.merge(extra) { $1 }
        return String(decoding: try JSONSerialization.data(withJSONObject: cut, options: [.sortedKeys]), as: UTF8.self)
    }

    /// Item 1: a start or duration past any recording is a problem, not a trap in the sample arithmetic.
    func testCutsPastAnyRecordingAreProblems() throws {
        let path = try write(
            "cuts.jsonl",
            [try cut("huge-start", start: 5.8e14), try cut("huge-duration", duration: 1e300), try cut("ok")].joined(separator: "\n") + "\n"
        )
        let (entries, problems) = try Manifest.read(path)
        XCTAssertEqual(entries.map(\.id), ["ok"])
        XCTAssertEqual(problems.map(\.source), ["\(path):1", "\(path):2"])
        XCTAssertTrue(problems.allSatisfy { $0.reason.contains("past the 10000000 s (115 days) a recording may last") }, "\(problems)")
    }

    /// Item 12: a channel that is not a whole channel number is refused, never read as channel 0.
    func testAChannelThatIsNotANumberIsRefused() throws {
        let lines = try [("string", "1" as Any), ("fraction", 1.5), ("huge", 1e20), ("boolean", true), ("list", [0, "1"])].map {
            try cut($0.0, extra: ["channel": $0.1])
        }
        let path = try write(
            "cuts.jsonl",
            (lines + [try cut("one", extra: ["channel": 1]), try cut("both", extra: ["channel": [0, 1]])])
                .joined(separator: "\n"))
        let (entries, problems) = try Manifest.read(path)
        XCTAssertEqual(entries.map(\.id), ["one", "both"])
        XCTAssertEqual(entries.map(\.location.channels), [[1], [0, 1]])
        XCTAssertEqual(
            problems.map(\.reason),
            ["\"1\"", "1.5", "1e+20", "true", "[0,\"1\"]"].map { "`channel` must be a channel number or a list of them, not \($0)" })
    }

    /// Item 5: one broken first line does not make a cuts file NeMo JSONL; lines of two kinds are named.
    func testFormatDetectionUsesTheFirstParseableLines() throws {
        let cuts = try write("cuts.jsonl", "{\"id\": \"broken\n" + [try cut("a"), try cut("b")].joined(separator: "\n") + "\n")
        XCTAssertEqual(try Manifest.detect(cuts), .lhotse)
        let (entries, problems) = try Manifest.read(cuts)
        XCTAssertEqual(entries.map(\.id), ["a", "b"])
        XCTAssertEqual(problems.map(\.description), ["\(cuts):1: not a JSON object"])

        let mixed = try write("mixed.jsonl", try cut("a") + "\n{\"audio_filepath\": \"x.wav\", \"text\": \"nemo\"}\n")
        XCTAssertThrowsError(try Manifest.detect(mixed)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(mixed): line 1 is a Lhotse MonoCut line but line 2 is a JSON line that is not Lhotse; name the format with --manifest-format"
            )
        }
    }

    /// Item 4: a line or field too large for the store is one problem; the lines around it are kept.
    func testOversizedLinesAndFieldsAreProblems() throws {
        let huge = String(repeating: "a", count: 17 << 20)
        let long = String(repeating: "b", count: (1 << 20) + 1)
        let path = try write(
            "big.jsonl",
            "{\"audio_filepath\": \"a.wav\", \"text\": \"first\"}\n{\"audio_filepath\": \"b.wav\", \"text\": \"\(huge)\"}\n"
                + "{\"audio_filepath\": \"c.wav\", \"text\": \"\(long)\"}\n{\"audio_filepath\": \"d.wav\", \"text\": \"last\"}")
        let (entries, problems) = try Manifest.read(path)
        XCTAssertEqual(entries.map(\.id), ["a", "d"])
        XCTAssertEqual(
            problems.map(\.description),
            [
                "\(path):2: a line of \("{\"audio_filepath\": \"b.wav\", \"text\": \"\(huge)\"}".utf8.count) bytes, over the 16 MiB a manifest line may have",
                "\(path):3: the transcript has \(long.utf8.count) bytes, over the 1 MiB a field may have",
            ])
    }

    /// Item 10 and the one rule for transcripts: a NUL in the speaker, and an empty transcript, in every format.
    func testNulInTheSpeakerAndEmptyTranscriptsAreProblemsEverywhere() throws {
        let jsonl = try write(
            "m.jsonl",
            "{\"audio_filepath\": \"a.wav\", \"text\": \"ok\", \"speaker\": \"a\\u0000b\"}\n"
                + "{\"audio_filepath\": \"b.wav\", \"text\": \"  \"}\n{\"audio_filepath\": \"c.wav\", \"text\": \"kept\"}\n")
        let (entries, problems) = try Manifest.read(jsonl)
        XCTAssertEqual(entries.map(\.id), ["c"])
        XCTAssertEqual(
            problems.map(\.description), ["\(jsonl):1: contains a NUL character (in the speaker)", "\(jsonl):2: empty transcript"])
        let tsv = try write("m.tsv", "path\ttext\tspeaker\na.wav\tok\ta\u{0}b\nc.wav\tkept\tspk\n")
        let fromTSV = try Manifest.read(tsv)
        XCTAssertEqual(fromTSV.entries.map(\.id), ["c"])
        XCTAssertEqual(fromTSV.problems.map(\.reason), ["contains a NUL character (in the speaker)"])
    }

    /// Item 11 and item 4 for tar shards: a `.txt` member that is not UTF-8, or too large, is a problem of its key.
    func testTarTextMembersThatAreNotUTF8OrTooLargeAreProblems() throws {
        let members = dir.appendingPathComponent("members")
        try FileManager.default.createDirectory(at: members, withIntermediateDirectories: true)
        for key in ["bad", "big", "good"] { try Data([0x52, 0x49, 0x46, 0x46]).write(to: members.appendingPathComponent("\(key).wav")) }
        try Data([0x68, 0xFF, 0xFE, 0x69]).write(to: members.appendingPathComponent("bad.txt"))
        try Data(repeating: 0x61, count: (16 << 20) + 1).write(to: members.appendingPathComponent("big.txt"))
        try Data("a good transcript\n".utf8).write(to: members.appendingPathComponent("good.txt"))
        let shard = dir.appendingPathComponent("shard.tar").path
        try TestEnv.shell("cd '\(members.path)' && tar cf '\(shard)' bad.wav bad.txt big.wav big.txt good.wav good.txt")
        let (entries, problems) = try Manifest.read(shard)
        XCTAssertEqual(entries.map(\.id), ["good"])
        XCTAssertEqual(
            problems.map(\.description),
            [
                "\(shard):bad: bad.txt is not UTF-8 text",
                "\(shard):big: big.txt has \((16 << 20) + 1) bytes, over the 16 MiB a .json or .txt member may have",
            ])
    }

    /// Item 13: a cut past the end of an MP3 gives the real length, or says it is not known before decoding.
    func testACutPastTheEndOfAnMP3SaysWhereTheRecordingEnds() throws {
        let wav = dir.appendingPathComponent("two.wav").path, mp3 = dir.appendingPathComponent("two.mp3").path
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 2), sampleRate: 16000, to: wav, sample: .pcm16)
        try TestEnv.shell("sox '\(wav)' '\(mp3)'")
        XCTAssertThrowsError(try AudioFile.read(AudioLocation(path: mp3, segment: AudioSegment(start: 5, duration: 1)))) { error in
            XCTAssertEqual(
                "\(error)",
                "\(mp3): the segment ends at 6.000 s, after the recording's end (an MP3, whose length is not known before "
                    + "decoding it, ends before the segment starts)")
        }
        XCTAssertThrowsError(try AudioFile.read(AudioLocation(path: mp3, segment: AudioSegment(start: 1, duration: 2)))) { error in
            let decoded = try? AudioFile.read(mp3)
            let length = String(format: "%.3f", Double(decoded?.samples.count ?? 0) / 16000)
            XCTAssertEqual("\(error)", "\(mp3): the segment ends at 3.000 s, after the recording's end at \(length) s")
            XCTAssertNotEqual(length, "0.000")
        }
    }

    /// Item 3: a tar member larger than any audio within --max-duration is refused before it is read into memory (a
    /// 300 MB sparse WAV in a 300 KB .tar.gz), and the shard's other members are encoded.
    func testAHugeTarMemberIsRefusedUnread() throws {
        let members = dir.appendingPathComponent("members")
        try FileManager.default.createDirectory(at: members, withIntermediateDirectories: true)
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 1), sampleRate: 16000, to: members.appendingPathComponent("ok.wav").path)
        let bytes = 300 << 20
        var header = Data("RIFF".utf8)
        func le32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { header.append(contentsOf: $0) } }
        func le16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { header.append(contentsOf: $0) } }
        le32(36 + bytes)
        header += Data("WAVEfmt ".utf8)
        le32(16); le16(1); le16(1); le32(16000); le32(32000); le16(2); le16(16)
        header += Data("data".utf8)
        le32(bytes)
        let big = members.appendingPathComponent("big.wav").path
        try header.write(to: URL(fileURLWithPath: big))
        XCTAssertEqual(truncate(big, off_t(header.count + bytes)), 0)
        // `codes` takes the same limit, from the header (it held a 17 h WAV whole before).
        let codes = try TestEnv.run(["codes", big, "--model", TestEnv.tinyModel])
        XCTAssertEqual(codes.status, 1)
        XCTAssertEqual(codes.stderr, "Error: \(big): too long: 9830.4 s exceeds --max-duration 60 s\n")
        for key in ["ok", "big"] { try Data("the \(key) one\n".utf8).write(to: members.appendingPathComponent("\(key).txt")) }
        let shard = dir.appendingPathComponent("shard.tar.gz").path
        try TestEnv.shell("cd '\(members.path)' && tar czf '\(shard)' big.wav big.txt ok.wav ok.txt")
        let store = dir.appendingPathComponent("s.db").path
        // The child's peak RSS, from its parent's rusage: python3 runs it.
        let measured = try TestEnv.run(
            [
                "-c",
                "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]).returncode; "
                    + "print(r, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)",
                TestEnv.binary, "run", shard, "--model", TestEnv.tinyModel, "--store", store, "--max-duration", "2", "--workers", "1",
            ], executable: "/usr/bin/python3")
        let words = measured.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(words.first, 0, measured.stderr)
        XCTAssertLessThan(words.last ?? .max, 200_000, "peak RSS \(words.last ?? 0) KiB: the member was held in memory")
        let failures = try TestEnv.run(["failures", "--store", store]).stdout
        XCTAssertTrue(failures.contains("\(shard):big.wav: too long: more than"), failures)
        XCTAssertEqual(try Store(path: store, access: .read).status().done, 1)
    }

    /// A cut-off `.jsonl.gz` keeps the lines before the cut and records it, as a cut-off tar shard does.
    func testACutOffCompressedManifestKeepsWhatCameBefore() throws {
        // Large and varied enough that the cut falls many compressed blocks in (libarchive loses the block it is cut in).
        var generator = SplitMix64(seed: 5)
        let lines = (0..<100_000).map {
            "{\"audio_filepath\": \"a\($0).wav\", \"text\": \"utterance \($0) \(String(generator.next(), radix: 16))\"}"
        }
        let plain = try write("m.jsonl", lines.joined(separator: "\n") + "\n")
        try TestEnv.shell("gzip -k '\(plain)'")
        let data = try Data(contentsOf: URL(fileURLWithPath: plain + ".gz"))
        let cut = dir.appendingPathComponent("cut.jsonl.gz").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: cut))
        let (entries, problems) = try Manifest.read(cut)
        XCTAssertGreaterThan(entries.count, 100)
        XCTAssertLessThan(entries.count, 100_000)
        XCTAssertEqual(entries.map(\.id), (0..<entries.count).map { "a\($0)" })
        XCTAssertEqual(problems.count, 1)
        XCTAssertEqual(problems.first?.source, "\(cut):\(entries.count + 1)")
        XCTAssertTrue(problems.first?.reason.hasPrefix("damaged or cut off here (") ?? false, "\(problems)")
    }
}
