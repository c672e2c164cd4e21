import Codec
import Corpus
import Foundation
import Store
import XCTest

/// Issue 16, items 2, 3, 5, 6, 8, 10 and 14: what a hostile test fed the tool.
final class HostileInputTests: XCTestCase {
    /// The same manifest in every format, written with LF, with CRLF and with a BOM + CRLF, reads the same.
    func testEveryManifestFormatAcceptsCRLFAndABOM() throws {
        let dir = TestEnv.temporaryDirectory("crlf")
        defer { try? FileManager.default.removeItem(at: dir) }
        let texts = ["FIRST LINE", "SECOND, WITH A COMMA", "THIRD"]
        func write(_ lines: [String], to path: String, style: String) throws {
            var text = lines.joined(separator: style == "lf" ? "\n" : "\r\n") + (style == "lf" ? "\n" : "\r\n")
            if style == "bom" { text = "\u{FEFF}" + text }
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        var results: [String: [[ManifestEntry]]] = [:]
        for style in ["lf", "crlf", "bom"] {
            let root = dir.appendingPathComponent(style).path
            try write(texts.enumerated().map { "1-2-000\($0.offset) \($0.element)" }, to: root + "/libri/1/2/1-2.trans.txt", style: style)
            try write(
                ["id\tpath\ttext"] + texts.enumerated().map { "u\($0.offset)\ta\($0.offset).wav\t\($0.element)" },
                to: root + "/m.tsv", style: style)
            try write(
                texts.enumerated().map {
                    "{\"audio_filepath\": \"a\($0.offset).wav\", \"text\": \"\($0.element)\", \"id\": \"u\($0.offset)\"}"
                },
                to: root + "/m.jsonl", style: style)
            try write(
                texts.enumerated().map { "LJ\($0.offset)|\($0.element)|\($0.element.lowercased())" }, to: root + "/lj/metadata.csv",
                style: style)
            for manifest in ["libri", "m.tsv", "m.jsonl", "lj"] {
                let read = try Manifest.read(root + "/" + manifest)
                XCTAssertEqual(read.problems, [], "\(style) \(manifest)")
                XCTAssertEqual(read.entries.map(\.text), texts, "\(style) \(manifest)")
                results[manifest, default: []].append(
                    read.entries.map {
                        var entry = $0
                        entry.location.path = entry.audioPath.replacingOccurrences(of: "/\(style)/", with: "/")
                        entry.source = ""
                        return entry
                    })
            }
        }
        for (manifest, versions) in results { XCTAssertEqual(Set(versions.map { "\($0)" }).count, 1, manifest) }
    }

    /// A line that is not UTF-8 is reported with its number and skipped; the rest is read. JSONL ids must be
    /// strings or integers, not booleans or empty.
    func testBadLinesAreSkippedOneByOne() throws {
        let dir = TestEnv.temporaryDirectory("utf8")
        defer { try? FileManager.default.removeItem(at: dir) }
        let tsv = dir.appendingPathComponent("m.tsv").path
        var bytes = Array("path\ttext\na.wav\tfine\nb.wav\tbad ".utf8) + [0xFF, 0xFE] + Array("\nc.wav\talso fine\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: tsv))
        var read = try Manifest.read(tsv)
        XCTAssertEqual(read.entries.map(\.text), ["fine", "also fine"])
        XCTAssertEqual(read.problems.map(\.description), ["\(tsv):3: not UTF-8 text"])

        let jsonl = dir.appendingPathComponent("m.jsonl").path
        bytes = Array(
            """
            {"audio_filepath": "a.wav", "text": "a", "id": true}
            {"audio_filepath": "b.wav", "text": "b", "id": ""}
            {"audio_filepath": "c.wav", "text": "c", "id": 7, "speaker": 12}
            {"audio_filepath": "d.wav", "text": "d", "speaker": false}

            """.utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: jsonl))
        read = try Manifest.read(jsonl)
        XCTAssertEqual(read.entries.map(\.id), ["7"])
        XCTAssertEqual(read.entries.first?.speaker, "12")
        XCTAssertEqual(
            read.problems.map(\.description),
            [
                "\(jsonl):1: `id` must be a non-empty string or an integer", "\(jsonl):2: `id` must be a non-empty string or an integer",
                "\(jsonl):4: `speaker` must be a non-empty string or an integer",
            ])
    }

    /// NaN or Inf samples are a recorded decode failure naming the file and the sample, never codes.
    func testNonFiniteAudioIsRefused() throws {
        let dir = TestEnv.temporaryDirectory("nan")
        defer { try? FileManager.default.removeItem(at: dir) }
        var speech = SyntheticSpeech.generate(seconds: 2)
        speech[16000] = .nan
        try AudioWriter.write(speech, sampleRate: 16000, to: dir.appendingPathComponent("nan.wav").path)
        speech[16000] = 0
        speech[100] = -.infinity
        try AudioWriter.write(speech, channels: 2, sampleRate: 16000, to: dir.appendingPathComponent("inf.wav").path)
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 1), sampleRate: 16000, to: dir.appendingPathComponent("good.wav").path)
        let fifo = dir.appendingPathComponent("fifo.wav").path
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        try "path\ttext\nnan.wav\tx\ninf.wav\ty\ngood.wav\tz\nfifo.wav\tw\n".write(
            to: dir.appendingPathComponent("m.tsv"), atomically: true, encoding: .utf8)
        let store = dir.appendingPathComponent("s.db").path
        let result = try TestEnv.run(["run", dir.appendingPathComponent("m.tsv").path, "--model", TestEnv.tinyModel, "--store", store])
        XCTAssertEqual(result.status, 0, result.stderr)
        let failures = TestEnv.jsonLines(try TestEnv.run(["failures", "--store", store]).stdout)
        let errors = Dictionary(uniqueKeysWithValues: failures.map { ($0["id"] as! String, $0["error"] as! String) })
        let base = dir.path
        XCTAssertEqual(errors["nan"], "\(base)/nan.wav: a non-finite sample (nan) at frame 16000 (1.000 s); such audio cannot be encoded")
        XCTAssertEqual(errors["inf"], "\(base)/inf.wav: a non-finite sample (-inf) at frame 50 (0.003 s); such audio cannot be encoded")
        XCTAssertEqual(errors["fifo"], "\(base)/fifo.wav: not a regular file (a FIFO)")
        XCTAssertEqual(try Store(path: store, access: .read).status().done, 1)
    }

    /// MP3 decodes (its length is an estimate, not a truncation test), and a duration limit holds without a
    /// reliable length: decoding stops as soon as the limit is passed.
    func testMP3DecodesAndLongStreamsStopEarly() throws {
        let dir = TestEnv.temporaryDirectory("mp3")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (i, seconds) in [0.3, 0.77, 1.0, 1.5, 2.25, 3.1, 4.0, 5.5, 6.01, 7.3, 8.0, 9.9, 12.0].enumerated() {
            let path = dir.appendingPathComponent("clip\(i).mp3").path
            for rate in [16000, 44100] {
                try AudioWriter.write(
                    SyntheticSpeech.generate(seconds: seconds, sampleRate: rate, seed: UInt64(i + 1)), sampleRate: rate,
                    to: path, container: .mp3)
                let audio = try AudioFile.read(path)
                XCTAssertEqual(audio.duration, seconds, accuracy: 0.08, "\(seconds) s at \(rate) Hz")
            }
        }
        let long = dir.appendingPathComponent("long.mp3").path
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 30), sampleRate: 16000, to: long, container: .mp3)
        XCTAssertThrowsError(try AudioFile.read(long, maxSeconds: 2)) { error in
            guard case let AudioError.tooLong(_, seconds, _, atLeast) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(atLeast)
            XCTAssertLessThan(seconds, 7, "decoding went on past the limit")
        }
        // A WAV's header length decides before anything is decoded.
        let wav = dir.appendingPathComponent("long.wav").path
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 5), sampleRate: 16000, to: wav)
        XCTAssertThrowsError(try AudioFile.read(wav, maxSeconds: 2)) { error in
            XCTAssertEqual("\(error)", "\(wav): too long: 5.0 s exceeds --max-duration 2 s")
        }
    }

    /// Crafted model folders fail with one line and exit 1, never a signal.
    func testCraftedModelFoldersAreRefusedWithOneLine() throws {
        let dir = TestEnv.temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = URL(fileURLWithPath: TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures/models/tiny-b").path)
        let clip = dir.appendingPathComponent("clip.wav").path
        try AudioWriter.write(SyntheticSpeech.generate(seconds: 1), sampleRate: 16000, to: clip)
        let weights = try Data(contentsOf: source.appendingPathComponent("model.safetensors"))
        let headerLength = weights.prefix(8).withUnsafeBytes { Int($0.loadUnaligned(as: UInt64.self)) }
        let header = try JSONSerialization.jsonObject(with: weights[8..<(8 + headerLength)]) as! [String: Any]
        // A tensor the encoder reads (`codes` loads only the encoder's weights).
        let first = header.keys.filter { $0.hasPrefix("acoustic_encoder.") }.sorted()[0]

        /// A copy of tiny-b with `edit` applied to its config and header, and the data section patched by `patch`.
        func variant(
            _ name: String, config edit: (inout [String: Any]) -> Void = { _ in },
            header headerEdit: (inout [String: Any]) -> Void = { _ in }, rawHeaderLength: UInt64? = nil,
            patch: (inout Data, Int) -> Void = { _, _ in }
        ) throws -> String {
            let folder = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                at: source.appendingPathComponent("preprocessor_config.json"),
                to: folder.appendingPathComponent("preprocessor_config.json"))
            var config =
                try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("config.json"))) as! [String: Any]
            edit(&config)
            try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("config.json"))
            var newHeader = header
            headerEdit(&newHeader)
            var headerData = try JSONSerialization.data(withJSONObject: newHeader)
            headerData += Data(repeating: 0x20, count: (8 - headerData.count % 8) % 8)
            var length = UInt64(headerData.count)
            var file = withUnsafeBytes(of: &length) { Data($0) }
            if let rawHeaderLength { file = withUnsafeBytes(of: rawHeaderLength) { Data($0) } }
            var body = Data(weights[(8 + headerLength)...])
            patch(&body, 0)
            file += headerData + body
            try file.write(to: folder.appendingPathComponent("model.safetensors"))
            return folder.path
        }
        func entry(_ h: [String: Any], _ key: String) -> [String: Any] { h[key] as! [String: Any] }
        let cases: [(String, String)] = [
            (
                try variant(
                    "negative-offsets",
                    header: { h in
                        var e = entry(h, first); e["data_offsets"] = [-4096, 0]; h[first] = e
                    }),
                "malformed checkpoint: tensor \(first) data range"
            ),
            (
                try variant(
                    "huge-offsets",
                    header: { h in
                        var e = entry(h, first); e["data_offsets"] = [0, Int.max]; h[first] = e
                    }),
                "malformed checkpoint: tensor \(first) data range"
            ),
            (
                try variant(
                    "negative-shape",
                    header: { h in
                        var e = entry(h, first); e["shape"] = [-1, -8]; h[first] = e
                    }),
                "malformed checkpoint: tensor \(first) data range"
            ),
            (
                try variant(
                    "overflowing-shape",
                    header: { h in
                        var e = entry(h, first); e["shape"] = [Int.max, 4]; h[first] = e
                    }),
                "malformed checkpoint: tensor \(first) data range"
            ),
            (try variant("header-length", rawHeaderLength: UInt64.max - 3), "malformed checkpoint: header length"),
            (try variant("zero-heads", config: { $0["num_attention_heads"] = 0 }), "bad config: num_attention_heads is 0"),
            (
                try variant(
                    "zero-semantic-heads",
                    config: { c in
                        var s = c["semantic_model_config"] as! [String: Any]; s["num_attention_heads"] = 0; c["semantic_model_config"] = s
                    }), "bad config: semantic num_attention_heads is 0"
            ),
            (
                try variant("overflowing-ratios", config: { $0["downsampling_ratios"] = [Int.max, Int.max, 2] }),
                "bad config: downsampling_ratios"
            ),
            (
                try variant("overflowing-levels", config: { $0["quantization_levels"] = Array(repeating: 65536, count: 8) }),
                "bad config: quantization_levels"
            ),
            (try variant("negative-hidden", config: { $0["hidden_size"] = -1024 }), "bad config: hidden_size is -1024"),
            (
                try variant(
                    "nan-weight",
                    patch: { body, _ in
                        let e = entry(header, first)
                        let offset = (e["data_offsets"] as! [Int])[0]
                        body[offset] = 0x00; body[offset + 1] = 0x7E  // F16 NaN
                    }), "tensor \(first) holds a non-finite value (NaN or Inf) at element 0"
            ),
        ]
        for (folder, expected) in cases {
            let result = try TestEnv.run(["codes", clip, "--model", folder])
            XCTAssertEqual(result.status, 1, "\(folder): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains(expected), "\(folder): \(result.stderr)")
            XCTAssertEqual(result.stderr.split(separator: "\n").count, 1, "\(folder): one line: \(result.stderr)")
        }
        // `run` and `report` fingerprint the folder first: the same checked header reader, not a trap.
        let store = dir.appendingPathComponent("crafted.db").path
        try Store(path: store).close()
        let manifest = dir.appendingPathComponent("one.tsv").path
        try "path\ttext\nclip.wav\thello\n".write(toFile: manifest, atomically: true, encoding: .utf8)
        let crafted = dir.appendingPathComponent("header-length").path
        for arguments in [
            ["run", manifest, "--model", crafted, "--store", store],
            ["report", "--store", store, "--model", crafted, "--samples", "1", "--out", dir.appendingPathComponent("r.html").path],
        ] {
            let result = try TestEnv.run(arguments)
            XCTAssertEqual(result.status, 1, "\(arguments[0]): \(result.stderr)")
            let lines = result.stderr.split(separator: "\n").filter { !$0.contains("OpenBLAS") }
            XCTAssertEqual(lines.count, 1, "\(arguments[0]): \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("malformed checkpoint: header length"), "\(arguments[0]): \(result.stderr)")
        }
    }
}
