import CSndFile
import CSoxr
import Foundation

public enum AudioError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case unreadable(String, String)
    case empty(String)
    case truncated(String, expected: Int, read: Int, unit: String)
    case unterminatedStream(String)
    case resampleFailed(String, String)
    case notRegularFile(String, String)
    case nonFinite(String, frame: Int, seconds: Double, value: Float)
    case tooLong(String, seconds: Double, limit: Double, atLeast: Bool)
    case segmentOutside(String, endsAt: Double, fileSeconds: Double?)
    case noSuchChannel(String, channel: Int, channels: Int)

    public var description: String {
        switch self {
        case let .missing(path): return "\(path): no such file"
        case let .unreadable(path, why): return "\(path): not readable as audio: \(why)"
        case let .empty(path): return "\(path): empty: no audio samples"
        case let .truncated(path, expected, read, unit):
            return "\(path): truncated: the header promises \(expected) \(unit) of audio, the file holds \(read)"
        case let .unterminatedStream(path): return "\(path): truncated: the Ogg stream has no final page, so its end is missing"
        case let .resampleFailed(path, why): return "\(path): resampling failed: \(why)"
        case let .notRegularFile(path, kind): return "\(path): not a regular file (\(kind))"
        case let .nonFinite(path, frame, seconds, value):
            return
                "\(path): a non-finite sample (\(value)) at frame \(frame) "
                + "(\(String(format: "%.3f", seconds)) s); such audio cannot be encoded"
        case let .tooLong(path, seconds, limit, atLeast):
            return
                "\(path): too long: \(atLeast ? "more than " : "")\(String(format: "%.1f", seconds)) s "
                + "exceeds --max-duration \(String(format: "%g", limit)) s"
        case let .segmentOutside(name, endsAt, fileSeconds):
            let end =
                fileSeconds.map { "at \(String(format: "%.3f", $0)) s" }
                ?? "(an MP3, whose length is not known before decoding it, ends before the segment starts)"
            return "\(name): the segment ends at \(String(format: "%.3f", endsAt)) s, after the recording's end \(end)"
        case let .noSuchChannel(name, channel, channels):
            return "\(name): channel \(channel) asked for, the file has \(channels) channel(s)"
        }
    }
}

/// Audio decoded to mono float at the codec's rate.
public struct DecodedAudio: Sendable {
    /// Samples at `targetRate`, mono, in [-1, 1] for integer formats.
    public var samples: [Float]
    /// The file's own rate and channel count.
    public var sourceRate: Int
    public var channels: Int
    public var targetRate: Int
    public var duration: Double { Double(samples.count) / Double(targetRate) }
}

/// Reads any format libsndfile knows (WAV, FLAC, OGG/Vorbis, Opus, MP3, ...), averages channels to mono and
/// resamples with libsoxr at high quality.
public enum AudioFile {
    /// `maxSeconds`: longer audio is refused with `tooLong` from the header's length when it has a reliable one,
    /// and otherwise as soon as that much has been decoded, so a huge file never costs its size in memory.
    public static func read(_ path: String, targetRate: Int = 16000, maxSeconds: Double? = nil) throws -> DecodedAudio {
        try SoundFile(path: path).read(targetRate: targetRate, maxSeconds: maxSeconds)
    }

    /// A file, a segment of one, or a member of a tar shard (found by reading the shard up to it).
    public static func read(_ location: AudioLocation, targetRate: Int = 16000, maxSeconds: Double? = nil) throws -> DecodedAudio {
        let file: SoundFile
        if let member = location.member {
            file = try SoundFile(data: TarShards.memberData(shard: location.path, member: member), name: location.description)
        } else {
            file = try SoundFile(path: location.path)
        }
        return try file.read(segment: location.segment, channels: location.channels, targetRate: targetRate, maxSeconds: maxSeconds)
    }

    static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a folder"
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFSOCK: return "a socket"
        default: return "file type \(mode & S_IFMT)"
        }
    }

    /// libsndfile reads a WAV/AIFF whose data chunk is cut short up to where the file ends, saying so only
    /// in its log (`data : 165344 (should be 29956)`); that is a truncated file. Returns the chunk's declared
    /// and present byte counts.
    static func truncatedDataChunk(_ file: OpaquePointer) -> (Int, Int)? {
        var log = [CChar](repeating: 0, count: 8192)
        sf_command(file, Int32(SFC_GET_LOG_INFO), &log, Int32(log.count))
        let text = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("data") || line.hasPrefix("SSND") {
            let numbers = line.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            if line.contains("should be"), numbers.count >= 2, numbers[1] < numbers[0] { return (numbers[0], numbers[1]) }
        }
        return nil
    }

    /// libsoxr, SOXR_HQ, float32 mono.
    public static func resample(_ input: [Float], from inRate: Int, to outRate: Int, path: String = "") throws -> [Float] {
        let expected = Int((Double(input.count) * Double(outRate) / Double(inRate)).rounded())
        var output = [Float](repeating: 0, count: expected + 16)
        var produced = 0
        var spec = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)
        let error: soxr_error_t? = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                soxr_oneshot(
                    Double(inRate), Double(outRate), 1, inBuf.baseAddress, input.count, nil,
                    outBuf.baseAddress, outBuf.count, &produced, &io, &spec, nil)
            }
        }
        if let error { throw AudioError.resampleFailed(path, String(cString: error)) }
        output.removeSubrange(min(produced, output.count)...)
        return output
    }
}
