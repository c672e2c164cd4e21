import ArgumentParser
import Corpus
import Foundation
import Store
import Tokenizer

/// The options `stats` and `report` share: the same figures for the same options.
struct StatsOptions: ParsableArguments {
    @Option(help: "The store.") var store: String
    @Option(help: "tokenizer.json, tokenizer.model, a folder or a Hub id: adds the sequence lengths in tokens.")
    var tokenizer: String?
    @Option(help: "Sequence length of the export: rows longer than it are counted.") var maxLength = 2048
    @Option(help: "Chars/s outliers lie beyond median +- k robust standard deviations.") var k = 3.5
    @Option(help: "Seed of the scatter sample (and of the report's audio samples).") var seed: UInt64 = 0

    func validate() throws {
        guard (1...ExportOptions.maxLengthLimit).contains(maxLength) else {
            throw ValidationError("--max-length \(maxLength) is outside 1...\(ExportOptions.maxLengthLimit)")
        }
        guard k > 0 && k.isFinite else { throw ValidationError("--k must be a positive number") }
    }

    func compute(store opened: Store) throws -> CorpusStats {
        var options = CorpusStats.Options()
        options.tokenizer = try tokenizer.map(TokenizerOption.load)
        options.maxLength = maxLength
        options.k = k
        options.seed = seed
        return try CorpusStats.compute(store: opened, options: options)
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "What a store holds: hours, durations, speakers, chars/s outliers, sequence lengths, codebook use, failures.",
        discussion: """
            Percentiles interpolate linearly between ranks (numpy's default). Chars/s counts Unicode code points of the \
            transcript per second of audio; an outlier lies beyond median +- k x 1.4826 x the median absolute deviation. \
            Streamed over one read of the store: memory does not grow with the number of utterances.
            """)

    @OptionGroup var options: StatsOptions
    @Flag(help: "One JSON object (the figures `report` draws).") var json = false

    func run() throws {
        let store = try Store(path: options.store, access: .read)
        let stats = try options.compute(store: store)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(stats), as: UTF8.self))
        } else {
            print(StatsTable.text(stats), terminator: "")
        }
    }
}

/// The text form of `stats`: one labelled line per figure.
enum StatsTable {
    static func text(_ stats: CorpusStats) -> String {
        var lines: [(String, String)] = []
        func add(_ label: String, _ value: String) { lines.append((label, value)) }
        add("store", "\(stats.store) (model \(stats.model ?? "-"))")
        add(
            "utterances",
            "done \(stats.done.utterances) (\(hours(stats.done.hours))), failed \(stats.failed.utterances), "
                + "pending \(stats.pending.utterances), skipped manifest lines \(stats.manifestProblems)")
        if let duration = stats.duration { add("duration s", percentiles(duration, digits: 2)) }
        let speakers = stats.speakers
        add(
            "speakers",
            "\(speakers.count) (largest \(percent(speakers.largestShare)) of the hours; \(speakers.utterancesWithoutSpeaker) "
                + "utterances without one)")
        if !speakers.top.isEmpty {
            add("  top", speakers.top.prefix(5).map { "\($0.speaker) \(hours($0.hours))" }.joined(separator: ", "))
        }
        add("languages", stats.languages.map { $0.map { "\($0.key) \($0.value)" }.sorted().joined(separator: ", ") } ?? "not recorded")
        if let cps = stats.charsPerSecond {
            add("chars/s", percentiles(cps.distribution, digits: 1))
            add(
                "  outliers",
                "\(cps.outliers) outside \(fixed(cps.low, 1))...\(fixed(cps.high, 1)) (median +- \(fixed(cps.k, 1)) x robust sd "
                    + "\(fixed(cps.robustSD, 2)))")
            for row in cps.outlierRows.prefix(5) {
                add("", "\(row.id)  \(fixed(row.duration, 2)) s  \(fixed(row.charsPerSecond, 1)) chars/s  \(excerpt(row.transcript))")
            }
        }
        if let lengths = stats.sequenceLengths {
            add("tokens", percentiles(lengths.distribution, digits: 0))
            add(
                "  cut",
                "\(lengths.overMaxLength) rows over --max-length \(lengths.maxLength) (text \(lengths.textTokens), "
                    + "speech \(lengths.speechTokens) tokens)")
        }
        let book = stats.codebook
        add(
            "codebook",
            "\(book.used) of \(book.size) codes used; entropy \(fixed(book.entropyBits, 2)) bits (perplexity "
                + "\(fixed(book.perplexity, 0))); top 100 codes \(percent(book.top100Share)) of \(book.codes)")
        if stats.failures.isEmpty { add("failures", "none") }
        for group in stats.failures {
            add("failures", "\(group.stage) \(group.count)")
            for reason in group.reasons.prefix(3) { add("", "\(reason.count) x \(excerpt(reason.reason))") }
        }
        let width = lines.map(\.0.count).max()! + 2
        return lines.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 + "\n" }.joined()
    }

    static func percentiles(_ d: CorpusStats.Distribution, digits: Int) -> String {
        StatsFormat.distribution(d, digits: digits, names: ["min", "p1", "p5", "p25", "p50", "p75", "p95", "p99", "max"], separator: "  ")
    }

    static func fixed(_ value: Double, _ digits: Int) -> String { StatsFormat.fixed(value, digits) }
    static func percent(_ share: Double) -> String { StatsFormat.percent(share) }
    static func hours(_ h: Double) -> String { StatsFormat.hours(h) }
    static func excerpt(_ text: String) -> String { text.count > 60 ? "\"\(text.prefix(57))...\"" : "\"\(text)\"" }
}
