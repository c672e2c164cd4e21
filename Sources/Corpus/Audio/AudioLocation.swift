import Foundation

/// Where an utterance's audio is: a whole file, a segment of a long recording (a Lhotse cut), or a member of a
/// tar shard. Stored in the `audio_*` and `segment_*` columns of `utterances`.
public struct AudioLocation: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The audio file, or the tar shard holding `member`.
    public var path: String
    /// The member of the tar shard `path` whose bytes are the audio.
    public var member: String?
    /// The part of the file to read; nil for all of it.
    public var segment: AudioSegment?
    /// The file's channels to average (0-based); nil for all of them.
    public var channels: [Int]?

    public init(path: String, member: String? = nil, segment: AudioSegment? = nil, channels: [Int]? = nil) {
        self.path = path
        self.member = member
        self.segment = segment
        self.channels = channels
    }

    /// How messages name it: `file`, `shard.tar:member`, or `file@start+duration` for a segment.
    public var description: String {
        var text = member.map { "\(path):\($0)" } ?? path
        if let segment { text += String(format: "@%.3f+%.3f", segment.start, segment.duration) }
        return text
    }

    /// `segment_channels` as stored: "0" or "0,1".
    var channelsText: String? { channels.map { $0.map(String.init).joined(separator: ",") } }

    static func channels(fromText text: String?) -> [Int]? {
        text.map { $0.split(separator: ",").compactMap { Int($0) } }
    }
}

/// A span of a recording in seconds, turned into samples as Lhotse does (`compute_num_samples`: rounded to 8
/// decimals, then half up), so a cut reads the samples Lhotse's own `load_audio` gives.
public struct AudioSegment: Sendable, Equatable, Hashable {
    public var start: Double
    public var duration: Double

    public init(start: Double, duration: Double) {
        self.start = start
        self.duration = duration
    }

    /// Lhotse's `compute_num_samples(seconds, rate)`.
    public static func samples(_ seconds: Double, rate: Int) -> Int {
        let product = seconds * Double(rate)
        // Python's round(x, ndigits=8); beyond 1e7 a Double has no 8 decimals to round.
        let scaled = abs(product) < 1e7 ? (product * 1e8).rounded() / 1e8 : product
        return Int((scaled + 0.5).rounded(.down))  // Decimal.quantize(0, ROUND_HALF_UP), for non-negative values
    }

    public func frames(rate: Int) -> (offset: Int, count: Int) {
        (Self.samples(start, rate: rate), Self.samples(duration, rate: rate))
    }
}
