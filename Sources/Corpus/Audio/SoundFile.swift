import CSndFile
import Foundation

/// An open libsndfile handle, over a file or over bytes in memory (a tar member), checked for the ways a file
/// lies about itself. Several segments of one recording are read through one handle.
public final class SoundFile {
    /// The file as messages name it (`path`, or `shard.tar:member`).
    public let name: String
    private let handle: OpaquePointer
    /// The bytes and read position behind a memory handle; libsndfile reads them through `MemoryStream.callbacks`.
    private let memory: MemoryStream?
    public let channels: Int
    public let rate: Int
    /// The header's frame count when it is a promise (not for MP3, whose length is an estimate).
    public let declaredFrames: Int?
    /// Set once something was read: the next whole-file read starts by going back to the first frame.
    private var used = false

    public convenience init(path: String) throws {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { throw AudioError.missing(path) }
            throw AudioError.unreadable(path, String(cString: strerror(errno)))
        }
        guard status.st_mode & S_IFMT == S_IFREG else { throw AudioError.notRegularFile(path, AudioFile.fileKind(status.st_mode)) }
        if status.st_size == 0 { throw AudioError.empty(path) }
        var info = SF_INFO()
        guard let handle = sf_open(path, Int32(SFM_READ), &info) else {
            throw AudioError.unreadable(path, String(cString: sf_strerror(nil)))
        }
        try self.init(handle: handle, info: info, name: path, memory: nil)
    }

    /// Audio bytes already in memory, for example a member read from a tar shard.
    public convenience init(data: Data, name: String) throws {
        if data.isEmpty { throw AudioError.empty(name) }
        let memory = MemoryStream(data)
        var info = SF_INFO()
        var callbacks = MemoryStream.callbacks
        guard let handle = sf_open_virtual(&callbacks, Int32(SFM_READ), &info, Unmanaged.passUnretained(memory).toOpaque()) else {
            throw AudioError.unreadable(name, String(cString: sf_strerror(nil)))
        }
        try self.init(handle: handle, info: info, name: name, memory: memory)
    }

    private init(handle: OpaquePointer, info: SF_INFO, name: String, memory: MemoryStream?) throws {
        self.handle = handle
        self.name = name
        self.memory = memory
        channels = Int(info.channels)
        rate = Int(info.samplerate)
        // libsndfile says SF_COUNT_MAX when the container does not tell the length: for Ogg, that means the last
        // page (whose position gives the length) is missing. An MP3's length is an estimate from its first frames
        // (or a Xing header), not a promise, so it is neither a truncation test nor a duration limit. Other
        // headers may lie too, so the samples are read in chunks rather than into a buffer sized by the header.
        let container = Int(info.format) & Int(SF_FORMAT_TYPEMASK)
        let lengthKnown = info.frames < sf_count_t.max && container != Int(SF_FORMAT_MPEG)
        declaredFrames = lengthKnown ? Int(info.frames) : nil
        // From here on deinit closes the handle, whichever check below throws.
        if let (declared, present) = AudioFile.truncatedDataChunk(handle) {
            throw AudioError.truncated(name, expected: declared, read: present, unit: "bytes")
        }
        guard channels > 0, rate > 0 else { throw AudioError.unreadable(name, "no channels or sample rate in the header") }
        if info.frames == sf_count_t.max && container == Int(SF_FORMAT_OGG) { throw AudioError.unterminatedStream(name) }
        if let declaredFrames, declaredFrames <= 0 { throw AudioError.empty(name) }
    }

    deinit { sf_close(handle) }

    /// The whole file, or `segment` of it, as mono at `targetRate`. `channels` picks the file's channels to
    /// average (all when nil). A segment that runs past the end by at most half a second is padded by reflection,
    /// as Lhotse's `load_audio` does; further is an error.
    public func read(
        segment: AudioSegment? = nil, channels picked: [Int]? = nil, targetRate: Int = 16000, maxSeconds: Double? = nil
    ) throws -> DecodedAudio {
        if let bad = picked?.first(where: { $0 < 0 || $0 >= channels }) {
            throw AudioError.noSuchChannel(name, channel: bad, channels: channels)
        }
        let interleaved: [Float]
        if let segment {
            interleaved = try readSegment(segment, maxSeconds: maxSeconds)
        } else {
            interleaved = try readAll(maxSeconds: maxSeconds)
        }
        var mono = mix(interleaved, picked: picked ?? Array(0..<channels))
        if let segment {
            let (_, count) = segment.frames(rate: rate)
            if mono.count < count { mono = try padByReflection(mono, to: count, segment: segment) }
        }
        if rate != targetRate { mono = try AudioFile.resample(mono, from: rate, to: targetRate, path: name) }
        return DecodedAudio(samples: mono, sourceRate: rate, channels: channels, targetRate: targetRate)
    }

    private func readAll(maxSeconds: Double?) throws -> [Float] {
        if let maxSeconds, let declaredFrames, Double(declaredFrames) / Double(rate) > maxSeconds {
            throw AudioError.tooLong(name, seconds: Double(declaredFrames) / Double(rate), limit: maxSeconds, atLeast: false)
        }
        let maxFrames = maxSeconds.map { Int(($0 * Double(rate)).rounded(.up)) + 1 } ?? Int.max
        if used && sf_seek(handle, 0, SEEK_SET) != 0 { throw AudioError.unreadable(name, "cannot go back to its start") }
        let interleaved = try readFrames(limit: Int.max) { framesSoFar in
            if framesSoFar > maxFrames {
                throw AudioError.tooLong(name, seconds: Double(framesSoFar) / Double(rate), limit: maxSeconds!, atLeast: true)
            }
        }
        let frames = interleaved.count / channels
        guard frames > 0 else { throw AudioError.empty(name) }
        // A short read with a claimed frame count means the file ends before its header says it does.
        if let declaredFrames, frames < declaredFrames {
            throw AudioError.truncated(name, expected: declaredFrames, read: frames, unit: "frames")
        }
        return interleaved
    }

    private func readSegment(_ segment: AudioSegment, maxSeconds: Double?) throws -> [Float] {
        let (offset, count) = segment.frames(rate: rate)
        if let maxSeconds, Double(count) / Double(rate) > maxSeconds {
            throw AudioError.tooLong(name, seconds: Double(count) / Double(rate), limit: maxSeconds, atLeast: false)
        }
        guard count > 0 else { throw AudioError.empty(name) }
        // An MP3's length is not known before decoding it to the end: then the message says so.
        let fileSeconds = declaredFrames.map { Double($0) / Double(rate) }
        if let declaredFrames, offset >= declaredFrames {
            throw AudioError.segmentOutside(name, endsAt: segment.start + segment.duration, fileSeconds: fileSeconds)
        }
        guard sf_seek(handle, sf_count_t(offset), SEEK_SET) == sf_count_t(offset) else {
            throw AudioError.segmentOutside(name, endsAt: segment.start + segment.duration, fileSeconds: fileSeconds)
        }
        return try readFrames(limit: count) { _ in }
    }

    /// Up to `limit` frames from the current position, in chunks; `check` sees the running frame count.
    private func readFrames(limit: Int, check: (Int) throws -> Void) throws -> [Float] {
        used = true
        let chunkFrames = 1 << 16
        var interleaved: [Float] = []
        interleaved.reserveCapacity(min(declaredFrames ?? 0, limit, 1 << 24) * channels)
        var chunk = [Float](repeating: 0, count: chunkFrames * channels)
        var frames = 0
        while frames < limit {
            let want = min(chunkFrames, limit - frames)
            let n = chunk.withUnsafeMutableBufferPointer { Int(sf_readf_float(handle, $0.baseAddress!, sf_count_t(want))) }
            if n <= 0 { break }
            if let bad = chunk[0..<(n * channels)].firstIndex(where: { !$0.isFinite }) {
                let frame = frames + bad / channels
                throw AudioError.nonFinite(name, frame: frame, seconds: Double(frame) / Double(rate), value: chunk[bad])
            }
            interleaved.append(contentsOf: chunk[0..<(n * channels)])
            frames += n
            try check(frames)
        }
        if sf_error(handle) != 0 {
            throw AudioError.unreadable(name, String(cString: sf_strerror(handle)))
        }
        return interleaved
    }

    /// The average of the picked channels.
    private func mix(_ interleaved: [Float], picked: [Int]) -> [Float] {
        if channels == 1 { return interleaved }
        let frames = interleaved.count / channels
        var mono = [Float](repeating: 0, count: frames)
        let scale = 1 / Float(picked.count)
        interleaved.withUnsafeBufferPointer { source in
            for f in 0..<frames {
                var sum: Float = 0
                for c in picked { sum += source[f * channels + c] }
                mono[f] = sum * scale
            }
        }
        return mono
    }

    /// numpy's `pad(mode="reflect")` at the end, the way Lhotse fixes a cut a little longer than its file.
    private func padByReflection(_ samples: [Float], to count: Int, segment: AudioSegment) throws -> [Float] {
        let missing = count - samples.count
        let allowed = Int((0.5 * Double(rate)).rounded(.up))
        guard missing <= allowed, samples.count >= 2 else {
            // The samples read end where the recording does: its real length, whatever the header said.
            let fileSeconds = Double(segment.frames(rate: rate).offset + samples.count) / Double(rate)
            throw AudioError.segmentOutside(name, endsAt: segment.start + segment.duration, fileSeconds: fileSeconds)
        }
        var padded = samples
        padded.reserveCapacity(count)
        // Reflection about the last sample, bouncing back and forth when the pad is longer than the signal.
        let period = 2 * (samples.count - 1)
        for k in 1...missing {
            let position = (samples.count - 1 + k) % period
            padded.append(samples[position < samples.count ? position : period - position])
        }
        return padded
    }
}

/// Bytes in memory behind libsndfile's virtual I/O.
final class MemoryStream {
    let data: Data
    var position = 0

    init(_ data: Data) { self.data = data }

    static func from(_ user: UnsafeMutableRawPointer?) -> MemoryStream {
        Unmanaged<MemoryStream>.fromOpaque(user!).takeUnretainedValue()
    }

    static let callbacks = SF_VIRTUAL_IO(
        get_filelen: { user in sf_count_t(MemoryStream.from(user).data.count) },
        seek: { offset, whence, user in
            let stream = MemoryStream.from(user)
            let base: Int
            switch whence {
            case SEEK_CUR: base = stream.position
            case SEEK_END: base = stream.data.count
            default: base = 0
            }
            let target = base + Int(offset)
            guard target >= 0 else { return -1 }
            stream.position = target
            return sf_count_t(target)
        },
        read: { pointer, count, user in
            let stream = MemoryStream.from(user)
            let n = max(0, min(Int(count), stream.data.count - stream.position))
            if n > 0 {
                stream.data.withUnsafeBytes { raw in
                    pointer!.copyMemory(from: raw.baseAddress! + stream.position, byteCount: n)
                }
                stream.position += n
            }
            return sf_count_t(n)
        },
        write: { _, _, _ in 0 },
        tell: { user in sf_count_t(MemoryStream.from(user).position) })
}
