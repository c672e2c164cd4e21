import Foundation
import GRDB
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
    /// Done utterances per `language` manifest field (Lhotse supervisions, Emilia); nil when none has one.
    static func languages(_ db: Database) throws -> [String: Int]? {
        var counts: [String: Int] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT json_extract(fields, '$.language') AS language, COUNT(*) AS n FROM utterances
                WHERE status = \(UtteranceStatus.done.sql) AND json_type(fields, '$.language') = 'text' GROUP BY language
                """)
        while let row = try rows.next() { counts[row["language"]] = row["n"] }
        return counts.isEmpty ? nil : counts
    }

    public static func compute(store: Store, options: Options = Options()) throws -> CorpusStats {
        var stats = CorpusStats(store: store.path)
        try store.pool.read { db in
            stats.model = try Store.info(db, .modelID)
            try collectCounts(db, into: &stats)
            guard stats.done.utterances > 0 else {
                stats.failures = try failureGroups(db)
                return
            }
            let n = stats.done.utterances
            let maxDuration = try Double.fetchOne(db, sql: "SELECT MAX(duration) FROM utterances WHERE \(doneClause)") ?? 0
            var durationBins = Histogram(start: 0, width: niceWidth(maxDuration), counts: [])
            stats.duration = try distribution(db, sql: "SELECT duration FROM utterances WHERE \(doneClause) ORDER BY 1", count: n) {
                durationBins.add($0)
            }
            stats.durationHistogram = durationBins
            stats.speakers = try speakers(db, top: options.topSpeakers, doneHours: stats.done.hours)
            stats.languages = try languages(db)
            stats.charsPerSecond = try charsPerSecond(db, count: n, k: options.k)
            try streamDone(db, options: options, into: &stats)
            stats.failures = try failureGroups(db)
        }
        return stats
    }

    static let doneClause = "status = \(UtteranceStatus.done.sql)"
    static let charsPerSecondSQL = "length(transcript) / duration"

    private static func collectCounts(_ db: Database, into stats: inout CorpusStats) throws {
        for row in try Row.fetchAll(
            db, sql: "SELECT status, COUNT(*) AS n, COALESCE(SUM(duration), 0) AS seconds FROM utterances GROUP BY status")
        {
            let share = Share(utterances: row["n"], hours: (row["seconds"] as Double) / 3600)
            switch UtteranceStatus(rawValue: row["status"]) {
            case .done: stats.done = share
            case .failed: stats.failed = share
            case .pending, nil: stats.pending = share
            }
        }
        stats.manifestProblems = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM manifest_problems") ?? 0
    }

    /// The distribution of `count` values that `sql` yields in ascending order; `each` sees every value.
    static func distribution(_ db: Database, sql: String, count: Int, each: (Double) -> Void = { _ in }) throws -> Distribution {
        let ranks = Distribution.percentiles.map { Double(count - 1) * $0 / 100 }
        var wanted: [Int: Double] = [:]
        for h in ranks { wanted[Int(h.rounded(.down))] = 0; wanted[min(count - 1, Int(h.rounded(.down)) + 1)] = 0 }
        var sum = 0.0, index = 0
        let cursor = try Double.fetchCursor(db, sql: sql)
        while let value = try cursor.next() {
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

    private static func speakers(_ db: Database, top: Int, doneHours: Double) throws -> Speakers {
        var result = Speakers()
        result.utterancesWithoutSpeaker =
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE \(doneClause) AND speaker IS NULL") ?? 0
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT speaker, COUNT(*) AS n, SUM(duration) AS seconds FROM utterances
                WHERE \(doneClause) AND speaker IS NOT NULL GROUP BY speaker ORDER BY seconds DESC, speaker
                """)
        while let row = try rows.next() {
            result.count += 1
            if result.top.count < top {
                result.top.append(
                    Speakers.Speaker(speaker: row["speaker"], utterances: row["n"], hours: (row["seconds"] as Double) / 3600))
            }
        }
        if let largest = result.top.first, doneHours > 0 { result.largestShare = largest.hours / doneHours }
        return result
    }

    private static func charsPerSecond(_ db: Database, count: Int, k: Double) throws -> CharsPerSecond {
        let cps = charsPerSecondSQL
        let distribution = try distribution(db, sql: "SELECT \(cps) AS v FROM utterances WHERE \(doneClause) ORDER BY v", count: count)
        let median = distribution.median
        let deviations = try Self.distribution(
            db, sql: "SELECT abs(\(cps) - \(median)) AS d FROM utterances WHERE \(doneClause) ORDER BY d", count: count)
        let robustSD = 1.4826 * deviations.median
        var result = CharsPerSecond(
            distribution: distribution, robustSD: robustSD, k: k, low: median - k * robustSD, high: median + k * robustSD)
        let outside = "\(doneClause) AND abs(\(cps) - \(median)) > \(k * robustSD)"
        result.outliers = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM utterances WHERE \(outside)") ?? 0
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT id, duration, \(cps) AS cps, CAST(transcript AS BLOB) AS transcript FROM utterances WHERE \(outside)
                ORDER BY abs(\(cps) - \(median)) DESC, id LIMIT \(CharsPerSecond.outlierRowsLimit)
                """)
        while let row = try rows.next() {
            result.outlierRows.append(
                CharsPerSecond.Outlier(
                    id: row["id"], duration: row["duration"], charsPerSecond: row["cps"],
                    transcript: String(decoding: row["transcript"] as Data, as: UTF8.self)))
        }
        return result
    }

    /// One pass over the done rows: codebook counts, sequence lengths, and the scatter sample.
    private static func streamDone(_ db: Database, options: Options, into stats: inout CorpusStats) throws {
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
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT CAST(transcript AS BLOB) AS transcript, duration, \(charsPerSecondSQL) AS cps, codes FROM utterances
                WHERE \(doneClause) ORDER BY rowid
                """)
        while let row = try rows.next() {
            let codes: Data = row["codes"]
            let frames = codes.count / 2
            codes.withUnsafeBytes { raw in
                for i in 0..<frames {
                    codeCounts[Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))] += 1
                }
            }
            if builder != nil {
                let text = String(decoding: row["transcript"] as Data? ?? Data(), as: UTF8.self)
                builder!.build(text: text, codes: [])
                textTokens += builder!.textTokens
                speechTokens += frames
                lengthCounts[builder!.ids.count + frames, default: 0] += 1
            }
            let duration: Double = row["duration"], value: Double = row["cps"]
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

    private static func failureGroups(_ db: Database) throws -> [FailureGroup] {
        var byStage: [String: (count: Int, reasons: [String: Int])] = [:]
        let rows = try Row.fetchCursor(
            db,
            sql: """
                SELECT f.stage, f.error, u.audio_path FROM failures f JOIN utterances u ON u.id = f.id
                WHERE u.status = \(UtteranceStatus.failed.sql)
                UNION ALL SELECT 'manifest', error, source FROM manifest_problems
                """)
        while let row = try rows.next() {
            let stage: String = row[0]
            let reason = normalisedReason(row[1], file: row[2])
            byStage[stage, default: (0, [:])].count += 1
            byStage[stage]!.reasons[reason, default: 0] += 1
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
