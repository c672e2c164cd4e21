import Corpus
import Foundation
import Store
import Tokenizer
import XCTest

/// A store with known rows: skewed speakers, a chars/s spread with planted outliers, a skewed codebook, failures
/// with the same cause in different files, pending rows and a skipped manifest line.
struct StatsFixture {
    struct Row {
        var id: String, text: String, speaker: String?, duration: Double, codes: [Int32]
    }
    var rows: [Row] = []
    var plantedOutliers: Set<String> = []
    let path: String

    init(in directory: URL, count: Int = 400) throws {
        path = directory.appendingPathComponent("fixture.db").path
        var generator = SplitMix64(seed: 7)
        func uniform() -> Double { Double(generator.next() >> 11) / Double(1 << 53) }
        let words = ["the", "quick", "brown", "fox", "café", "naïve", "jumps", "over", "lazy", "dogs", "Ünïcödé", "and"]
        for i in 0..<count {
            // Speaker k has weight 1/(k+1): spk0 dominates. Every tenth row has no speaker.
            let speaker: String? = i % 10 == 9 ? nil : "spk\(Int(uniform() * uniform() * 7))"
            let duration = (1 + uniform() * 19 * 1000).rounded() / 1000
            let targetChars = Int(duration * (14 + uniform() * 2))
            var text = ""
            while text.unicodeScalars.count < targetChars {
                text += (text.isEmpty ? "" : " ") + words[Int(uniform() * Double(words.count))]
            }
            // Codes drawn from a skewed distribution over a few thousand entries.
            let frames = Int(duration * 50)
            let codes = (0..<frames).map { _ in Int32(Int(pow(uniform(), 3) * 4000) * 13 % 65536) }
            rows.append(Row(id: String(format: "utt%04d", i), text: text, speaker: speaker, duration: duration, codes: codes))
        }
        // Transcripts that cannot belong to their audio: far too long, far too short.
        rows[3].text = "<script>alert(1)</script> & \"quoted\" " + String(repeating: "many words spoken impossibly fast ", count: 12)
        rows[3].duration = 2.0
        rows[17].text = "hi"
        rows[17].duration = 14.0
        rows[42].text = String(repeating: "x", count: 200)
        rows[42].duration = 3.5
        plantedOutliers = ["utt0003", "utt0017", "utt0042"]
        for i in [3, 17, 42] { rows[i].codes = Array(rows[i].codes.prefix(Int(rows[i].duration * 50))) }
        while rows[3].codes.count < 100 { rows[3].codes.append(1) }

        let store = try Store(path: path)
        try store.bindModel(id: "fixture-model", fingerprint: "0")
        var entries = rows.map {
            ManifestEntry(id: $0.id, source: "m.tsv:\($0.id)", audioPath: "/corpus/\($0.id).wav", text: $0.text, speaker: $0.speaker)
        }
        for i in 0..<5 {
            entries.append(ManifestEntry(id: "failed\(i)", source: "m.tsv:f\(i)", audioPath: "/corpus/bad\(i).wav", text: "x"))
        }
        for i in 0..<3 {
            entries.append(ManifestEntry(id: "pending\(i)", source: "m.tsv:p\(i)", audioPath: "/corpus/p\(i).wav", text: "x"))
        }
        _ = try store.ingest(entries, problems: [ManifestProblem(source: "m.tsv:999", reason: "2 fields, need 3")])
        var results = rows.map { UtteranceResult(id: $0.id, outcome: .done(codes: $0.codes, duration: $0.duration, sampleRate: 16000)) }
        for i in 0..<3 {
            results.append(
                UtteranceResult(
                    id: "failed\(i)",
                    outcome: .failed(
                        stage: .decode, error: "/corpus/bad\(i).wav: a non-finite sample (nan) at frame \(100 * i)", duration: nil,
                        sampleRate: nil)))
        }
        for i in 3..<5 {
            results.append(
                UtteranceResult(
                    id: "failed\(i)",
                    outcome: .failed(
                        stage: .tooLong, error: "/corpus/bad\(i).wav: 7\(i).0 s, over --max-duration 60 s", duration: 70, sampleRate: 16000
                    )))
        }
        try store.commit(results)
        try store.close()
    }
}

/// numpy.percentile's default: linear interpolation between the ranks around (n - 1) p.
func numpyPercentile(_ sorted: [Double], _ p: Double) -> Double {
    let h = Double(sorted.count - 1) * p / 100
    let lo = Int(h.rounded(.down)), hi = min(sorted.count - 1, lo + 1)
    return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
}

final class StatsTests: XCTestCase {
    func stats(_ fixture: StatsFixture, _ extra: [String] = []) throws -> [String: Any] {
        let result = try TestEnv.run(["stats", "--store", fixture.path, "--json"] + extra)
        XCTAssertEqual(result.status, 0, result.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    func checkDistribution(_ json: Any?, _ values: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
        guard let d = json as? [String: Any] else { return XCTFail("no distribution", file: file, line: line) }
        let sorted = values.sorted()
        XCTAssertEqual(d["count"] as? Int, values.count, file: file, line: line)
        XCTAssertEqual(
            d["mean"] as? Double ?? .nan, values.reduce(0, +) / Double(values.count), accuracy: accuracy, file: file, line: line)
        for p in [0.0, 1, 5, 25, 50, 75, 95, 99, 100] {
            XCTAssertEqual(
                d["p\(Int(p))"] as? Double ?? .nan, numpyPercentile(sorted, p), accuracy: accuracy, "p\(Int(p))", file: file, line: line)
        }
    }

    func testFiguresAgainstAnIndependentComputation() throws {
        let directory = TestEnv.temporaryDirectory("stats")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StatsFixture(in: directory)
        let tokenizerPath = TestEnv.repo.appendingPathComponent("Tests/CorpusTests/Fixtures/tokenizers/small-llama3").path
        let json = try stats(fixture, ["--tokenizer", tokenizerPath, "--max-length", "600"])
        let rows = fixture.rows

        let done = try XCTUnwrap(json["done"] as? [String: Any])
        XCTAssertEqual(done["utterances"] as? Int, rows.count)
        XCTAssertEqual(done["hours"] as? Double ?? 0, rows.map(\.duration).reduce(0, +) / 3600, accuracy: 1e-9)
        XCTAssertEqual((json["failed"] as? [String: Any])?["utterances"] as? Int, 5)
        XCTAssertEqual((json["pending"] as? [String: Any])?["utterances"] as? Int, 3)
        XCTAssertEqual(json["manifest_problems"] as? Int, 1)
        checkDistribution(json["duration"], rows.map(\.duration), accuracy: 1e-9)

        // Speakers: hours per speaker, most first, and the largest one's share.
        var hours: [String: Double] = [:]
        for row in rows { if let s = row.speaker { hours[s, default: 0] += row.duration / 3600 } }
        let ranked = hours.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        let speakers = try XCTUnwrap(json["speakers"] as? [String: Any])
        XCTAssertEqual(speakers["count"] as? Int, hours.count)
        XCTAssertEqual(speakers["utterances_without_speaker"] as? Int, rows.filter { $0.speaker == nil }.count)
        let top = try XCTUnwrap(speakers["top"] as? [[String: Any]])
        XCTAssertEqual(top.map { $0["speaker"] as? String }, ranked.map(\.key))
        for (entry, expected) in zip(top, ranked) { XCTAssertEqual(entry["hours"] as? Double ?? 0, expected.value, accuracy: 1e-9) }
        let doneHours = rows.map(\.duration).reduce(0, +) / 3600
        XCTAssertEqual(speakers["largest_share"] as? Double ?? 0, ranked[0].value / doneHours, accuracy: 1e-9)

        // Chars/s: code points over seconds; outliers by the median absolute deviation; the planted ones are found.
        let cps = rows.map { Double($0.text.unicodeScalars.count) / $0.duration }
        let cpsJSON = try XCTUnwrap(json["chars_per_second"] as? [String: Any])
        checkDistribution(cpsJSON["distribution"], cps, accuracy: 1e-9)
        let median = numpyPercentile(cps.sorted(), 50)
        let sd = 1.4826 * numpyPercentile(cps.map { abs($0 - median) }.sorted(), 50)
        XCTAssertEqual(cpsJSON["robust_sd"] as? Double ?? 0, sd, accuracy: 1e-9)
        let expectedOutliers = Set(zip(rows, cps).filter { abs($0.1 - median) > 3.5 * sd }.map(\.0.id))
        XCTAssertTrue(fixture.plantedOutliers.isSubset(of: expectedOutliers))
        let outlierRows = try XCTUnwrap(cpsJSON["outlier_rows"] as? [[String: Any]])
        XCTAssertEqual(cpsJSON["outliers"] as? Int, expectedOutliers.count)
        XCTAssertEqual(Set(outlierRows.compactMap { $0["id"] as? String }), expectedOutliers)
        let farthest = zip(rows, cps).max { abs($0.1 - median) < abs($1.1 - median) }!.0.id
        XCTAssertEqual(outlierRows.first?["id"] as? String, farthest, "farthest from the median first")
        XCTAssertEqual((cpsJSON["sample"] as? [[Double]])?.count, rows.count)

        // Sequence lengths: transcript tokens + the four task tokens + one per code.
        let tokenizer = try TextTokenizer.load(tokenizerPath)
        let lengths = rows.map { Double(tokenizer.encode($0.text).count + 4 + $0.codes.count) }
        let sequences = try XCTUnwrap(json["sequence_lengths"] as? [String: Any])
        checkDistribution(sequences["distribution"], lengths, accuracy: 1e-9)
        XCTAssertEqual(sequences["over_max_length"] as? Int, lengths.filter { $0 > 600 }.count)
        XCTAssertGreaterThan(sequences["over_max_length"] as? Int ?? 0, 0)

        // Codebook: distinct codes, unigram entropy, share of the 100 most frequent.
        var counts: [Int32: Int] = [:]
        for row in rows { for code in row.codes { counts[code, default: 0] += 1 } }
        let total = Double(counts.values.reduce(0, +))
        let entropy = -counts.values.map { Double($0) / total }.map { $0 * log2($0) }.reduce(0, +)
        let book = try XCTUnwrap(json["codebook"] as? [String: Any])
        XCTAssertEqual(book["used"] as? Int, counts.count)
        XCTAssertEqual(book["codes"] as? Int, Int(total))
        XCTAssertEqual(book["entropy_bits"] as? Double ?? 0, entropy, accuracy: 1e-9)
        XCTAssertEqual(book["perplexity"] as? Double ?? 0, pow(2, entropy), accuracy: 1e-6)
        XCTAssertEqual(
            book["top100_share"] as? Double ?? 0, Double(counts.values.sorted(by: >).prefix(100).reduce(0, +)) / total, accuracy: 1e-12)

        // Failures by stage, the same cause in three files counted as one reason.
        let failures = try XCTUnwrap(json["failures"] as? [[String: Any]])
        XCTAssertEqual(failures.map { $0["stage"] as? String }, ["decode", "too_long", "manifest"])
        let decodeReasons = try XCTUnwrap(failures[0]["reasons"] as? [[String: Any]])
        XCTAssertEqual(decodeReasons.count, 1)
        XCTAssertEqual(decodeReasons[0]["reason"] as? String, "a non-finite sample (nan) at frame N")
        XCTAssertEqual(decodeReasons[0]["count"] as? Int, 3)
    }

    func testTextTableAndOptions() throws {
        let directory = TestEnv.temporaryDirectory("stats-text")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fixture = try StatsFixture(in: directory, count: 50)
        let text = try TestEnv.run(["stats", "--store", fixture.path])
        XCTAssertEqual(text.status, 0, text.stderr)
        for label in ["utterances", "duration s", "speakers", "chars/s", "codebook", "failures"] {
            XCTAssertTrue(text.stdout.contains("\n\(label) "), "no \(label) line in\n\(text.stdout)")
        }
        XCTAssertFalse(text.stdout.contains("tokens "), "sequence lengths need a tokenizer")
        // A tighter k finds more outliers; the same seed gives the same sample.
        let loose = try stats(fixture), tight = try stats(fixture, ["--k", "1"])
        let outliers = { (json: [String: Any]) in (json["chars_per_second"] as? [String: Any])?["outliers"] as? Int ?? -1 }
        XCTAssertGreaterThan(outliers(tight), outliers(loose))
        XCTAssertEqual(
            try TestEnv.run(["stats", "--store", fixture.path, "--json"]).stdout,
            try TestEnv.run(["stats", "--store", fixture.path, "--json"]).stdout)
        let missing = try TestEnv.run(["stats", "--store", directory.appendingPathComponent("none.db").path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("none.db: no such store"), missing.stderr)
    }
}
