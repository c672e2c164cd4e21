import Codec
import Corpus
import Foundation
import XCTest

final class ReportTests: XCTestCase {
    /// The `data-marks` of each chart, and the text of the page.
    func charts(_ html: String) -> [String: Int] {
        var result: [String: Int] = [:]
        let pattern = try! NSRegularExpression(pattern: #"<svg class="chart" id="([^"]+)" data-marks="([0-9]+)""#)
        for match in pattern.matches(in: html, range: NSRange(html.startIndex..., in: html)) {
            result[String(html[Range(match.range(at: 1), in: html)!])] = Int(html[Range(match.range(at: 2), in: html)!])
        }
        return result
    }

    func testChartsDrawTheFiguresOfStats() throws {
        let directory = TestEnv.temporaryDirectory("report")
        defer { try? FileManager.default.removeItem(at: directory) }
        // utt0003's transcript, an outlier, would be markup if the page did not escape it.
        let fixture = try StatsFixture(in: directory, count: 300)
        let tokenizer = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/tokenizers/small-llama3").path
        let arguments = ["--store", fixture.path, "--tokenizer", tokenizer, "--max-length", "600"]
        let statsRun = try TestEnv.run(["stats", "--json"] + arguments)
        XCTAssertEqual(statsRun.status, 0, statsRun.stderr)
        let stats = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(statsRun.stdout.utf8)) as? [String: Any])
        let out = directory.appendingPathComponent("report.html").path
        let reportRun = try TestEnv.run(["report", "--out", out] + arguments)
        XCTAssertEqual(reportRun.status, 0, reportRun.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)

        let marks = charts(html)
        XCTAssertEqual(Set(marks.keys), Set(ReportPage.chartIDs))
        let durationBins = ((stats["duration_histogram"] as? [String: Any])?["counts"] as? [Int] ?? []).filter { $0 > 0 }.count
        XCTAssertEqual(marks["duration-histogram"], durationBins)
        XCTAssertEqual(marks["speaker-hours"], ((stats["speakers"] as? [String: Any])?["top"] as? [Any])?.count)
        let cps = try XCTUnwrap(stats["chars_per_second"] as? [String: Any])
        let sample = try XCTUnwrap(cps["sample"] as? [[Double]]), outlierRows = try XCTUnwrap(cps["outlier_rows"] as? [[String: Any]])
        XCTAssertEqual(marks["chars-per-second"], sample.count + outlierRows.count)
        let lengths = try XCTUnwrap(stats["sequence_lengths"] as? [String: Any])
        XCTAssertEqual(marks["token-lengths"], ((lengths["histogram"] as? [String: Any])?["counts"] as? [Int])?.filter { $0 > 0 }.count)
        XCTAssertEqual(marks["codebook-rank-frequency"], ((stats["codebook"] as? [String: Any])?["rank_frequency"] as? [Any])?.count)
        XCTAssertTrue(html.contains("--max-length 600"))

        // The summary and the outlier table carry the same figures as the JSON.
        let book = try XCTUnwrap(stats["codebook"] as? [String: Any])
        XCTAssertTrue(html.contains("\(book["used"] as! Int) of 65536 codes used"))
        XCTAssertTrue(html.contains(String(format: "entropy %.2f bits", book["entropy_bits"] as! Double)))
        let duration = try XCTUnwrap(stats["duration"] as? [String: Any])
        XCTAssertTrue(html.contains(String(format: "median %.2f", duration["p50"] as! Double)))
        for row in outlierRows { XCTAssertTrue(html.contains("<td>\(row["id"] as! String)</td>"), "outlier \(row["id"]!) not listed") }
        XCTAssertTrue(outlierRows.contains { $0["id"] as? String == "utt0003" })
        XCTAssertFalse(html.contains("<script"), "a transcript became markup")
        XCTAssertTrue(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quoted&quot;"))
        XCTAssertTrue(html.contains("default-src 'none'"))
        XCTAssertTrue(html.contains("<td>decode</td><td>3</td>"), "failures table")
    }

    func testSamplesAreDecodedFromTheStoreAndCompared() throws {
        let directory = TestEnv.temporaryDirectory("report-samples")
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifest = try TestEnv.syntheticCorpus(in: directory, count: 6)
        let store = directory.appendingPathComponent("s.db").path
        XCTAssertEqual(try TestEnv.run(["run", manifest, "--model", TestEnv.tinyModel, "--store", store]).status, 0)
        let out = directory.appendingPathComponent("r.html").path
        let run = try TestEnv.run(["report", "--store", store, "--out", out, "--model", TestEnv.tinyModel, "--samples", "4"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(html.components(separatedBy: "<div class=\"sample\">").count - 1, 4)
        XCTAssertTrue(html.contains("Decoded by a model 32 wide, not the 1024-wide X-Codec2: a test model"), "the samples are noise")
        XCTAssertTrue(html.contains("Minutes per speaker") && !html.contains("Hours per speaker"), "a small corpus draws minutes")
        // Spread over speakers: the three speakers of the corpus all appear before one comes twice.
        let speakers = html.components(separatedBy: "<div class=\"sample\"><h3>").dropFirst().map {
            $0.components(separatedBy: "<p>")[1].prefix(4)
        }
        XCTAssertEqual(Set(speakers.prefix(3)).count, 3, "\(speakers)")
        let wavs = html.components(separatedBy: "src=\"data:audio/wav;base64,").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(wavs.count, 8)
        for wav in wavs {
            let data = try XCTUnwrap(Data(base64Encoded: wav))
            XCTAssertEqual(String(decoding: data.prefix(4), as: UTF8.self), "RIFF")
            XCTAssertGreaterThanOrEqual(data.count, 44 + 2 * 16000)
        }
        let pngs = html.components(separatedBy: "src=\"data:image/png;base64,").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertEqual(pngs.count, 8)
        for png in pngs { XCTAssertEqual(try XCTUnwrap(Data(base64Encoded: png)).prefix(4), Data([0x89, 0x50, 0x4E, 0x47])) }

        // A source that moved since the run: the decoded audio is still there, the source says why it is not.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".wav") {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        let moved = try TestEnv.run(["report", "--store", store, "--out", out, "--model", TestEnv.tinyModel, "--samples", "1"])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let movedHTML = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(movedHTML.components(separatedBy: "data:audio/wav").count - 1, 1)
        XCTAssertTrue(movedHTML.contains(".wav: no such file"), "the source's problem is shown")

        // Another model's decoding would be noise: refused, naming the store's model.
        let other = TestEnv.repo.appendingPathComponent("Tests/CodecTests/Fixtures/models/tiny-b").path
        let wrong = try TestEnv.run(["report", "--store", store, "--out", out, "--model", other, "--samples", "1"])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("was made with model"), wrong.stderr)
        let noModel = try TestEnv.run(["report", "--store", store, "--out", out, "--samples", "1"])
        XCTAssertNotEqual(noModel.status, 0)
        XCTAssertTrue(noModel.stderr.contains("--samples needs --model"), noModel.stderr)
    }

    func testLogSpectralDistance() throws {
        let model = try Xcodec2Model(directory: URL(fileURLWithPath: TestEnv.tinyModel), parts: .encoder)
        let speech = SyntheticSpeech.generate(seconds: 1.5, seed: 3)
        let same = ReportSample(
            id: "a", speaker: nil, transcript: "", source: speech, decoded: speech, sampleRate: 16000, extractor: model.featureExtractor)
        XCTAssertEqual(same.logSpectralDistance, 0)
        // Half the amplitude of white noise (every band far above the floor) is 6.02 dB less in every band.
        var noise = SplitMix64(seed: 1)
        let white = (0..<24000).map { _ in Float(Double(noise.next() >> 11) / Double(1 << 53) - 0.5) * 0.5 }
        let half = ReportSample(
            id: "a", speaker: nil, transcript: "", source: white, decoded: white.map { $0 / 2 }, sampleRate: 16000,
            extractor: model.featureExtractor)
        XCTAssertEqual(half.logSpectralDistance, 20 * log10(2.0), accuracy: 1e-3)
        let different = ReportSample(
            id: "a", speaker: nil, transcript: "", source: speech, decoded: Array(white.prefix(speech.count)), sampleRate: 16000,
            extractor: model.featureExtractor)
        XCTAssertGreaterThan(different.logSpectralDistance, 5)
    }
}
