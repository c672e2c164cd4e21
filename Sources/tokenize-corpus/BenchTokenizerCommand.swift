import ArgumentParser
import Corpus
import Foundation
import Tokenizer

struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenizer",
        abstract: "Time the text tokenizer on the lines of a file, one thread (median of the runs).",
        discussion: """
            Each line is encoded on its own, as the export encodes transcripts. The first run fills the word cache \
            and is not timed. scripts/compare_tokenizer_speed.sh runs Hugging Face tokenizers on the same file.
            """)

    @OptionGroup var tokenizer: TokenizerOption
    @Option(help: "UTF-8 text; every line is one text.") var text: String
    @Option(help: "Timed runs after one warm-up.") var runs = 5
    @Flag(help: "Print one JSON object.") var json = false

    struct Report: Encodable {
        let lines: Int, bytes: Int, tokens: Int, runs: Int
        let loadSeconds: Double, medianSeconds: Double, megabytesPerSecond: Double, tokensPerSecond: Double
        enum CodingKeys: String, CodingKey {
            case lines, bytes, tokens, runs
            case loadSeconds = "load_seconds", medianSeconds = "median_seconds"
            case megabytesPerSecond = "megabytes_per_second", tokensPerSecond = "tokens_per_second"
        }
    }

    func run() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard let data = FileManager.default.contents(atPath: text) else { throw ValidationError("\(text): cannot read") }
        let lines = TextLines.split(data).map { $0 ?? "" }
        let (tokenizer, loadSeconds) = try measureSeconds { try self.tokenizer.load() }
        var ids: [Int32] = [], tokens = 0, times: [Double] = []
        for run in 0...runs {
            tokens = 0
            let seconds = measureSeconds {
                for line in lines {
                    ids.removeAll(keepingCapacity: true)
                    tokenizer.encode(line, into: &ids)
                    tokens += ids.count
                }
            }.1
            if run > 0 { times.append(seconds) }  // run 0 fills the word cache
        }
        let middle = median(times)
        let report = Report(
            lines: lines.count, bytes: data.count, tokens: tokens, runs: runs, loadSeconds: loadSeconds, medianSeconds: middle,
            megabytesPerSecond: Double(data.count) / middle / 1e6, tokensPerSecond: Double(tokens) / middle)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(
                "\(lines.count) lines, \(data.count) bytes, \(tokens) tokens; tokenizer loaded in \(String(format: "%.2f", loadSeconds)) s"
            )
            print(
                String(
                    format: "median %.3f s over %d runs: %.2f MB/s, %.0f tokens/s", middle, runs, report.megabytesPerSecond,
                    report.tokensPerSecond))
        }
    }
}
