import Foundation
import Store
import Tokenizer

extension CorpusStats {
    public struct Options {
        /// Gives the sequence lengths; nil leaves them out.
        public var tokenizer: TextTokenizer?
        public var maxLength = 2048
        /// Outliers of chars/s lie beyond median +- k robust standard deviations.
        public var k = 3.5
        public var seed: UInt64 = 0
        public var topSpeakers = 30
        public init() {}
    }

    /// One read transaction over the store. Every figure streams: the percentiles come from SQLite's sorter
    /// (which spills to a temporary file rather than growing), the codebook is 65536 counters, the sequence
    /// lengths one counter per distinct length, the scatter sample a fixed-size reservoir; only the speaker
    /// grouping grows, with the number of speakers.
    public static func compute(store: Store, options: Options = Options()) throws -> CorpusStats {
        var stats = CorpusStats(store: store.path)
        try store.read { snapshot in
            stats.model = try snapshot.info(.modelID)
            try collectCounts(snapshot, into: &stats)
            guard stats.done.utterances > 0 else {
                stats.failures = try failureGroups(snapshot)
                return
            }
            let n = stats.done.utterances
            var durationBins = Histogram(start: 0, width: niceWidth(try snapshot.longestDoneDuration()), counts: [])
            stats.duration = try distribution(count: n, of: snapshot.forEachDoneDuration) { durationBins.add($0) }
            stats.durationHistogram = durationBins
            stats.speakers = try speakers(snapshot, top: options.topSpeakers, doneHours: stats.done.hours)
            let languages = try snapshot.doneLanguageCounts()
            stats.languages = languages.isEmpty ? nil : languages
            stats.charsPerSecond = try charsPerSecond(snapshot, count: n, k: options.k)
            try streamDone(snapshot, options: options, into: &stats)
            stats.failures = try failureGroups(snapshot)
        }
        return stats
    }

    private static func collectCounts(_ snapshot: StoreSnapshot, into stats: inout CorpusStats) throws {
        for row in try snapshot.statusShares() {
            let share = Share(utterances: row.utterances, hours: row.seconds / 3600)
            switch row.status {
            case .done: stats.done = share
            case .failed: stats.failed = share
            case .pending, nil: stats.pending = share
            }
        }
        stats.manifestProblems = try snapshot.manifestProblemCount()
    }

    /// The distribution of the `count` values `values` gives in ascending order; `each` sees every value.
    static func distribution(
        count: Int, of values: ((Double) throws -> Void) throws -> Void, each: @escaping (Double) -> Void = { _ in }
    ) throws -> Distribution {
        let ranks = Distribution.percentiles.map { Double(count - 1) * $0 / 100 }
        var wanted: [Int: Double] = [:]
        for h in ranks { wanted[Int(h.rounded(.down))] = 0; wanted[min(count - 1, Int(h.rounded(.down)) + 1)] = 0 }
        var sum = 0.0, index = 0
        try values { value in
            if wanted[index] != nil { wanted[index] = value }
            sum += value
            each(value)
            index += 1
        }
        precondition(index == count, "the store changed inside one read transaction")
        let values = ranks.map { h -> Double in
            let lo = Int(h.rounded(.down))
            let low = wanted[lo]!, high = wanted[min(count - 1, lo + 1)]!
            return low + (h - Double(lo)) * (high - low)
        }
        return Distribution(count: count, mean: sum / Double(count), values: values)
    }

    /// A bin width of 1, 2, 2.5 or 5 times a power of ten that covers [0, maxValue] in at most 40 bins.
    static func niceWidth(_ maxValue: Double, bins: Int = 40) -> Double {
        guard maxValue > 0 else { return 1 }
        let raw = maxValue / Double(bins)
        let power = pow(10, (log10(raw)).rounded(.down))
        for step in [1.0, 2, 2.5, 5, 10] where step * power * Double(bins) >= maxValue { return step * power }
        return 10 * power
    }

    private static func speakers(_ snapshot: StoreSnapshot, top: Int, doneHours: Double) throws -> Speakers {
        var result = Speakers()
        result.utterancesWithoutSpeaker = try snapshot.doneWithoutSpeakerCount()
        try snapshot.forEachSpeaker(byDurationDescending: { row in
            result.count += 1
            if result.top.count < top {
                result.top.append(Speakers.Speaker(speaker: row.speaker, utterances: row.utterances, hours: row.seconds / 3600))
            }
        })
        if let largest = result.top.first, doneHours > 0 { result.largestShare = largest.hours / doneHours }
        return result
    }

    private static func charsPerSecond(_ snapshot: StoreSnapshot, count: Int, k: Double) throws -> CharsPerSecond {
        let distribution = try distribution(count: count, of: snapshot.forEachDoneCharsPerSecond)
        let median = distribution.median
        let deviations = try Self.distribution(count: count) {
            try snapshot.forEachDoneCharsPerSecondDeviation(from: median, ascending: $0)
        }
        let robustSD = 1.4826 * deviations.median
        var result = CharsPerSecond(
            distribution: distribution, robustSD: robustSD, k: k, low: median - k * robustSD, high: median + k * robustSD)
        let outliers = try snapshot.charsPerSecondOutliers(center: median, beyond: k * robustSD, limit: CharsPerSecond.outlierRowsLimit)
        result.outliers = outliers.count
        result.outlierRows = outliers.farthest.map {
            CharsPerSecond.Outlier(id: $0.id, duration: $0.duration, charsPerSecond: $0.charsPerSecond, transcript: $0.transcript)
        }
        return result
    }

    /// One pass over the done rows: codebook counts, sequence lengths, and the scatter sample.
    private static func streamDone(_ snapshot: StoreSnapshot, options: Options, into stats: inout CorpusStats) throws {
        var codeCounts = [Int](repeating: 0, count: 65536)
        var lengthCounts: [Int: Int] = [:]
        var builder = try options.tokenizer.map {
            LlasaSequenceBuilder(tokenizer: $0, vocabulary: try LlasaVocabulary(tokenizer: $0, padId: nil))
        }
        var textTokens = 0, speechTokens = 0
        let cps = stats.charsPerSecond!
        var sample: [[Double]] = []
        var generator = SplitMix64(seed: options.seed)
        var index = 0
        try snapshot.forEachDoneText { row in
            let frames = row.codes.count
            for code in row.codes { codeCounts[Int(code)] += 1 }
            if builder != nil {
                builder!.build(text: row.transcript, codes: [])
                textTokens += builder!.textTokens
                speechTokens += frames
                lengthCounts[builder!.ids.count + frames, default: 0] += 1
            }
            let duration = row.duration, value = row.charsPerSecond
            let point = [rounded(duration), rounded(value), (value < cps.low || value > cps.high) ? 1 : 0]
            if sample.count < CharsPerSecond.sampleSize {
                sample.append(point)
            } else {
                let slot = Int(generator.next() % UInt64(index + 1))
                if slot < sample.count { sample[slot] = point }
            }
            index += 1
        }
        stats.charsPerSecond!.sample = sample
        stats.codebook = codebook(codeCounts)
        if let tokenizer = options.tokenizer {
            stats.sequenceLengths = sequenceLengths(
                lengthCounts, tokenizer: tokenizer.source, maxLength: options.maxLength, textTokens: textTokens, speechTokens: speechTokens
            )
        }
    }

    private static func rounded(_ value: Double) -> Double { (value * 1e4).rounded() / 1e4 }

    static func codebook(_ counts: [Int]) -> Codebook {
        var result = Codebook()
        result.size = counts.count
        let total = counts.reduce(0, +)
        result.codes = total
        let sorted = counts.filter { $0 > 0 }.sorted(by: >)
        result.used = sorted.count
        guard total > 0 else { return result }
        var entropy = 0.0
        for count in sorted {
            let p = Double(count) / Double(total)
            entropy -= p * log2(p)
        }
        result.entropyBits = entropy
        result.perplexity = pow(2, entropy)
        result.top100Share = Double(sorted.prefix(100).reduce(0, +)) / Double(total)
        var rank = 1
        while rank <= sorted.count {
            result.rankFrequency.append([rank, sorted[rank - 1]])
            rank = rank < 100 ? rank + 1 : max(rank + 1, Int((Double(rank) * 1.05).rounded()))
        }
        if result.rankFrequency.last?[0] != sorted.count { result.rankFrequency.append([sorted.count, sorted.last!]) }
        return result
    }

    static func sequenceLengths(_ counts: [Int: Int], tokenizer: String, maxLength: Int, textTokens: Int, speechTokens: Int)
        -> SequenceLengths
    {
        let lengths = counts.keys.sorted()
        let n = counts.values.reduce(0, +)
        // The same percentiles as from a sorted column, read off the cumulative counts.
        func value(atRank rank: Int) -> Double {
            var seen = 0
            for length in lengths {
                seen += counts[length]!
                if rank < seen { return Double(length) }
            }
            return Double(lengths.last!)
        }
        let values = Distribution.percentiles.map { p -> Double in
            let h = Double(n - 1) * p / 100
            let lo = Int(h.rounded(.down))
            let low = value(atRank: lo), high = value(atRank: min(n - 1, lo + 1))
            return low + (h - Double(lo)) * (high - low)
        }
        let sum = counts.reduce(0) { $0 + $1.key * $1.value }
        var histogram = Histogram(start: 0, width: niceWidth(Double(max(lengths.last!, maxLength))), counts: [])
        for (length, count) in counts { histogram.add(Double(length), count: count) }
        return SequenceLengths(
            tokenizer: tokenizer, maxLength: maxLength,
            distribution: Distribution(count: n, mean: Double(sum) / Double(n), values: values), histogram: histogram,
            overMaxLength: counts.filter { $0.key > maxLength }.reduce(0) { $0 + $1.value }, textTokens: textTokens,
            speechTokens: speechTokens)
    }

    private static func failureGroups(_ snapshot: StoreSnapshot) throws -> [FailureGroup] {
        var byStage: [String: (count: Int, reasons: [String: Int])] = [:]
        try snapshot.forEachFailureCause { cause in
            let reason = normalisedReason(cause.error, file: cause.file)
            byStage[cause.stage, default: (0, [:])].count += 1
            byStage[cause.stage]!.reasons[reason, default: 0] += 1
        }
        return byStage.map { stage, group in
            FailureGroup(
                stage: stage, count: group.count,
                reasons: group.reasons.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(5).map {
                    FailureGroup.Reason(reason: $0.key, count: $0.value)
                })
        }.sorted { ($1.count, $0.stage) < ($0.count, $1.stage) }
    }

    /// A failure's cause without its file, numbers as N: errors name the file and the frame, which makes every
    /// one distinct.
    static func normalisedReason(_ error: String, file: String) -> String {
        var text = error.replacingOccurrences(of: file, with: "")
        text = text.replacingOccurrences(of: #"^[:\s]+"#, with: "", options: .regularExpression)
        text = text.replacingOccurrences(of: #"[0-9]+"#, with: "N", options: .regularExpression)
        return text.isEmpty ? error : text
    }
}

extension CorpusStats.Histogram {
    mutating func add(_ value: Double, count: Int = 1) {
        let bin = max(0, Int(((value - start) / width).rounded(.down)))
        if bin >= counts.count { counts += Array(repeating: 0, count: bin + 1 - counts.count) }
        counts[bin] += count
    }
}
