import CSndFile
import Foundation

/// Writes audio through libsndfile.
public enum AudioWriter {
    public enum Container { case wav, flac, ogg, mp3 }
    public enum Sample { case float32, pcm16 }

    /// `interleaved` holds `channels` samples per frame. FLAC is 16-bit, OGG is Vorbis and MP3 is layer III (LAME) whatever `sample` says.
    public static func write(
        _ interleaved: [Float], channels: Int = 1, sampleRate: Int, to path: String,
        container: Container = .wav, sample: Sample = .float32
    ) throws {
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
}
