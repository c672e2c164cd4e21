import Foundation
import Tokenizer

/// What `stats` and `report` say about a store: one computation (`CorpusStats.compute`), two views (the text or
/// JSON of `stats`, the charts of `report`). Durations in seconds, hours as hours.
public struct CorpusStats: Codable, Sendable {
    public var store: String
    public var model: String?
    public var done = Share(), failed = Share(), pending = Share()
    public var manifestProblems = 0
    /// Done utterances.
    public var duration: Distribution?
    public var durationHistogram: Histogram?
    public var speakers = Speakers()
    /// nil: the store keeps no language per utterance.
    public var languages: [String: Int]?
    public var charsPerSecond: CharsPerSecond?
    /// Only with a tokenizer.
    public var sequenceLengths: SequenceLengths?
    public var codebook = Codebook()
    public var failures: [FailureGroup] = []

    enum CodingKeys: String, CodingKey {
        case store, model, done, failed, pending, duration, speakers, languages, codebook, failures
        case manifestProblems = "manifest_problems", durationHistogram = "duration_histogram"
        case charsPerSecond = "chars_per_second", sequenceLengths = "sequence_lengths"
    }

    /// Utterances and the hours of those whose duration is known (a pending one has none yet).
    public struct Share: Codable, Sendable {
        public var utterances = 0
        public var hours = 0.0
    }

    /// Percentiles as numpy's default (linear interpolation between the two nearest ranks).
    public struct Distribution: Codable, Sendable, Equatable {
        public static let percentiles: [Double] = [0, 1, 5, 25, 50, 75, 95, 99, 100]
        public var count = 0
        public var mean = 0.0
        /// Values at `percentiles`, in order (the first is the minimum, the last the maximum).
        public var values: [Double] = []

        public var median: Double { values[4] }
        public var min: Double { values.first! }
        public var max: Double { values.last! }

        /// Keys p0 (min) ... p100 (max) in the JSON, so that a reader needs no table of positions.
        enum CodingKeys: String, CodingKey { case count, mean, p0, p1, p5, p25, p50, p75, p95, p99, p100 }

        public init(count: Int, mean: Double, values: [Double]) {
            self.count = count
            self.mean = mean
            self.values = values
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            count = try c.decode(Int.self, forKey: .count)
            mean = try c.decode(Double.self, forKey: .mean)
            values = try Self.keys.map { try c.decode(Double.self, forKey: $0) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(count, forKey: .count)
            try c.encode(mean, forKey: .mean)
            for (key, value) in zip(Self.keys, values) { try c.encode(value, forKey: key) }
        }

        private static let keys: [CodingKeys] = [.p0, .p1, .p5, .p25, .p50, .p75, .p95, .p99, .p100]
    }

    /// Counts of values in [start + i * width, start + (i + 1) * width).
    public struct Histogram: Codable, Sendable {
        public var start = 0.0
        public var width = 1.0
        public var counts: [Int] = []
    }

    public struct Speakers: Codable, Sendable {
        public struct Speaker: Codable, Sendable {
            public var speaker: String
            public var utterances: Int
            public var hours: Double
        }
        /// Distinct speakers of done utterances.
        public var count = 0
        public var utterancesWithoutSpeaker = 0
        /// The largest speaker's share of the done hours.
        public var largestShare = 0.0
        /// By hours, most first (ties by name).
        public var top: [Speaker] = []

        enum CodingKeys: String, CodingKey {
            case count, top
            case utterancesWithoutSpeaker = "utterances_without_speaker", largestShare = "largest_share"
        }
    }

    /// Transcript characters (Unicode code points, as SQLite's length() and Python's len() count them) per
    /// second of audio. An outlier is more than `k` robust standard deviations (1.4826 x the median absolute
    /// deviation) from the median: Iglewicz and Hoaglin's modified z-score over 3.5 at the default k.
    public struct CharsPerSecond: Codable, Sendable {
        public struct Outlier: Codable, Sendable {
            public var id: String
            public var duration: Double
            public var charsPerSecond: Double
            public var transcript: String
            enum CodingKeys: String, CodingKey {
                case id, duration, transcript
                case charsPerSecond = "chars_per_second"
            }
        }
        public var distribution: Distribution
        public var robustSD: Double
        public var k: Double
        public var low: Double
        public var high: Double
        public var outliers = 0
        /// The `outlierRowsLimit` outliers farthest from the median, farthest first.
        public var outlierRows: [Outlier] = []
        /// A seeded sample of (duration, chars/s) points of done utterances, for the scatter plot.
        public var sample: [[Double]] = []

        public static let outlierRowsLimit = 100
        public static let sampleSize = 3000

        enum CodingKeys: String, CodingKey {
            case distribution, k, low, high, outliers, sample
            case robustSD = "robust_sd", outlierRows = "outlier_rows"
        }
    }

    /// Export sequences (`<|TEXT_UNDERSTANDING_START|>` ... `<|SPEECH_GENERATION_END|>`) in tokens, before any cut.
    public struct SequenceLengths: Codable, Sendable {
        public var tokenizer: String
        public var maxLength: Int
        public var distribution: Distribution
        public var histogram: Histogram
        /// Rows an export at `maxLength` would cut.
        public var overMaxLength = 0
        public var textTokens = 0
        public var speechTokens = 0

        enum CodingKeys: String, CodingKey {
            case tokenizer, distribution, histogram
            case maxLength = "max_length", overMaxLength = "over_max_length"
            case textTokens = "text_tokens", speechTokens = "speech_tokens"
        }
    }

    public struct Codebook: Codable, Sendable {
        public var size = 65536
        public var codes = 0
        public var used = 0
        /// Unigram entropy of the codes, in bits, and 2^entropy.
        public var entropyBits = 0.0
        public var perplexity = 0.0
        /// Share of all codes taken by the 100 most frequent.
        public var top100Share = 0.0
        /// (rank, count) points of the rank-frequency curve: every rank up to 100, then log-spaced ranks.
        public var rankFrequency: [[Int]] = []

        enum CodingKeys: String, CodingKey {
            case size, codes, used, perplexity
            case entropyBits = "entropy_bits", top100Share = "top100_share", rankFrequency = "rank_frequency"
        }
    }

    public struct FailureGroup: Codable, Sendable {
        public struct Reason: Codable, Sendable {
            public var reason: String
            public var count: Int
        }
        public var stage: String
        public var count: Int
        /// The most common causes, with the file names taken out and numbers written N.
        public var reasons: [Reason]
    }
}

/// How `stats` and `report` write figures, so that both views print the same numbers.
public enum StatsFormat {
    public static func fixed(_ value: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", value) }
    public static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }
    public static func hours(_ h: Double) -> String { h < 1 ? String(format: "%.1f min", h * 60) : String(format: "%.2f h", h) }

    /// "NAME value" for each percentile, then the mean; `names` label `Distribution.percentiles`.
    public static func distribution(_ d: CorpusStats.Distribution, digits: Int, names: [String], separator: String) -> String {
        zip(names, d.values).map { "\($0) \(fixed($1, digits))" }.joined(separator: separator)
            + "\(separator == "  " ? "  " : "; ")mean \(fixed(d.mean, digits))"
    }
}
