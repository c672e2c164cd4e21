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

/// Reads any format libsndfile knows (WAV, FLAC, OGG/Vorbis, Opus, ...), averages channels to mono and
/// resamples with libsoxr at high quality.
public enum AudioFile {
    /// `maxSeconds`: longer audio is refused with `tooLong` from the header's length when it has a reliable one,
    /// and otherwise as soon as that much has been decoded, so a huge file never costs its size in memory.
    public static func read(_ path: String, targetRate: Int = 16000, maxSeconds: Double? = nil) throws -> DecodedAudio {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { throw AudioError.missing(path) }
            throw AudioError.unreadable(path, String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw AudioError.notRegularFile(path, fileKind(status.st_mode)) }
        if status.st_size == 0 { throw AudioError.empty(path) }
        var info = SF_INFO()
        guard let file = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError.unreadable(path, String(cString: sf_strerror(nil)))
        }
        defer { sf_close(file) }
        if let (declared, present) = truncatedDataChunk(file) {
            throw AudioError.truncated(path, expected: declared, read: present, unit: "bytes")
        }
        let channels = Int(info.channels), rate = Int(info.samplerate)
        guard channels > 0, rate > 0 else { throw AudioError.unreadable(path, "no channels or sample rate in the header") }
        // libsndfile says SF_COUNT_MAX when the container does not tell the length: for Ogg, that means the last
        // page (whose position gives the length) is missing. An MP3's length is an estimate from its first frames
        // (or a Xing header), not a promise, so it is neither a truncation test nor a duration limit. Other
        // headers may lie too, so the samples are read in chunks rather than into a buffer sized by the header.
        let container = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        let lengthKnown = info.frames < sf_count_t.max && container != Int(SF_FORMAT_MPEG)
        if info.frames == sf_count_t.max && container == Int(SF_FORMAT_OGG) { throw AudioError.unterminatedStream(path) }
        if lengthKnown && info.frames <= 0 { throw AudioError.empty(path) }
        if let maxSeconds, lengthKnown, Double(info.frames) / Double(rate) > maxSeconds {
            throw AudioError.tooLong(path, seconds: Double(info.frames) / Double(rate), limit: maxSeconds, atLeast: false)
        }
        let maxFrames = maxSeconds.map { Int(($0 * Double(rate)).rounded(.up)) + 1 } ?? Int.max
        let chunkFrames = 1 << 16
        var interleaved: [Float] = []
        if lengthKnown { interleaved.reserveCapacity(min(Int(info.frames), 1 << 24) * channels) }
        var chunk = [Float](repeating: 0, count: chunkFrames * channels)
        while true {
            let n = chunk.withUnsafeMutableBufferPointer { Int(sf_readf_float(file, $0.baseAddress!, sf_count_t(chunkFrames))) }
            if n <= 0 { break }
            if let bad = chunk[0..<(n * channels)].firstIndex(where: { !$0.isFinite }) {
                let frame = interleaved.count / channels + bad / channels
                throw AudioError.nonFinite(path, frame: frame, seconds: Double(frame) / Double(rate), value: chunk[bad])
            }
            interleaved.append(contentsOf: chunk[0..<(n * channels)])
            if interleaved.count / channels > maxFrames {
                throw AudioError.tooLong(
                    path, seconds: Double(interleaved.count / channels) / Double(rate), limit: maxSeconds!, atLeast: true)
            }
        }
        if sf_error(file) != 0 {
            throw AudioError.unreadable(path, String(cString: sf_strerror(file)))
        }
        let frames = interleaved.count / channels
        guard frames > 0 else { throw AudioError.empty(path) }
        // A short read with a claimed frame count means the file ends before its header says it does.
        if lengthKnown && frames < Int(info.frames) {
            throw AudioError.truncated(path, expected: Int(info.frames), read: frames, unit: "frames")
        }
        var mono: [Float]
        if channels == 1 {
            mono = interleaved
        } else {
            mono = [Float](repeating: 0, count: frames)
            let scale = 1 / Float(channels)
            for f in 0..<frames {
                var sum: Float = 0
                for c in 0..<channels { sum += interleaved[f * channels + c] }
                mono[f] = sum * scale
            }
        }
        if rate != targetRate { mono = try resample(mono, from: rate, to: targetRate, path: path) }
        return DecodedAudio(samples: mono, sourceRate: rate, channels: channels, targetRate: targetRate)
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
