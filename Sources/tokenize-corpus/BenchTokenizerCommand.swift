import ArgumentParser
import Corpus
import Foundation

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
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let loadStart = DispatchTime.now()
        let tokenizer = try self.tokenizer.load()
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart.uptimeNanoseconds) / 1e9
        var ids: [Int32] = [], tokens = 0, times: [Double] = []
        for run in 0...runs {
            tokens = 0
            let start = DispatchTime.now()
            for line in lines {
                ids.removeAll(keepingCapacity: true)
                tokenizer.encode(line, into: &ids)
                tokens += ids.count
            }
            if run > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9) }
        }
        let median = times.sorted()[times.count / 2]
        let report = Report(lines: lines.count, bytes: data.count, tokens: tokens, runs: runs, loadSeconds: loadSeconds, medianSeconds: median,
                            megabytesPerSecond: Double(data.count) / median / 1e6, tokensPerSecond: Double(tokens) / median)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print("\(lines.count) lines, \(data.count) bytes, \(tokens) tokens; tokenizer loaded in \(String(format: "%.2f", loadSeconds)) s")
            print(String(format: "median %.3f s over %d runs: %.2f MB/s, %.0f tokens/s", median, runs, report.megabytesPerSecond, report.tokensPerSecond))
        }
    }
}
