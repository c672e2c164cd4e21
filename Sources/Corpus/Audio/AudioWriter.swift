import CSndFile
import Foundation

/// Writes audio through libsndfile; float WAV itself (see `writeFloatWAV`).
public enum AudioWriter {
    public enum Container { case wav, flac, ogg, mp3 }
    public enum Sample { case float32, pcm16 }

    /// `interleaved` holds `channels` samples per frame. FLAC is 16-bit, OGG is Vorbis and MP3 is layer III (LAME) whatever `sample` says.
    public static func write(
        _ interleaved: [Float], channels: Int = 1, sampleRate: Int, to path: String,
        container: Container = .wav, sample: Sample = .float32
    ) throws {
        if container == .wav && sample == .float32 {
            return try writeFloatWAV(interleaved, channels: channels, sampleRate: sampleRate, to: path)
        }
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = Int32(channels)
        switch container {
        case .wav: info.format = Int32(SF_FORMAT_WAV) | Int32(sample == .float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16)
        case .flac: info.format = Int32(SF_FORMAT_FLAC) | Int32(SF_FORMAT_PCM_16)
        case .ogg: info.format = Int32(SF_FORMAT_OGG) | Int32(SF_FORMAT_VORBIS)
        case .mp3: info.format = Int32(SF_FORMAT_MPEG) | Int32(SF_FORMAT_MPEG_LAYER_III)
        }
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.unreadable(path, "cannot write: \(String(cString: sf_strerror(nil)))")
        }
        if container != .wav || sample == .pcm16 {
            // libsndfile scales float to integers without clipping unless asked to.
            sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        }
        let frames = interleaved.count / channels
        let written = interleaved.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(frames)) }
        let closed = sf_close(file)
        guard written == frames, closed == 0 else { throw AudioError.unreadable(path, "short write") }
    }

    /// IEEE float WAV with the 18-byte `fmt ` chunk (cbSize 0) and the `fact` chunk that the format requires for
    /// non-PCM data. libsndfile writes a 16-byte `fmt ` for float, even as WAVE_FORMAT_EXTENSIBLE, and sox then warns
    /// "wave header missing extended part of fmt chunk" on every file.
    static func writeFloatWAV(_ interleaved: [Float], channels: Int, sampleRate: Int, to path: String) throws {
        let dataBytes = interleaved.count * 4
        guard dataBytes <= Int(UInt32.max) - 58 else { throw AudioError.unreadable(path, "cannot write: over 4 GB, too long for WAV") }
        var header = Data()
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { header.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { header.append(contentsOf: $0) } }
        header.append(contentsOf: Array("RIFF".utf8))
        u32(4 + 26 + 12 + 8 + dataBytes)
        header.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(18)
        u16(3)  // WAVE_FORMAT_IEEE_FLOAT
        u16(channels)
        u32(sampleRate)
        u32(sampleRate * channels * 4)
        u16(channels * 4)
        u16(32)
        u16(0)  // cbSize
        header.append(contentsOf: Array("fact".utf8))
        u32(4)
        u32(interleaved.count / max(channels, 1))
        header.append(contentsOf: Array("data".utf8))
        u32(dataBytes)
        var bytes = header
        interleaved.withUnsafeBufferPointer { samples in
            for sample in samples { withUnsafeBytes(of: sample.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        guard FileManager.default.createFile(atPath: path, contents: bytes) else {
            throw AudioError.unreadable(path, "cannot write: \(String(cString: strerror(errno)))")
        }
    }
}
