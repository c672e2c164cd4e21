import CSndFile
import Foundation

public enum WavWriter {
    public enum Sample { case float32, pcm16 }

    /// Mono WAV through libsndfile: 32-bit float, or 16-bit PCM (clipped to [-1, 1]).
    public static func write(_ samples: [Float], sampleRate: Int, to path: String, format: Sample = .float32) throws {
        var info = SF_INFO()
        info.samplerate = Int32(sampleRate)
        info.channels = 1
        info.format = Int32(SF_FORMAT_WAV) | Int32(format == .float32 ? SF_FORMAT_FLOAT : SF_FORMAT_PCM_16)
        guard let file = sf_open(path, Int32(SFM_WRITE), &info) else {
            throw AudioError.unreadable(path, "cannot write: \(String(cString: sf_strerror(nil)))")
        }
        if format == .pcm16 {
            // libsndfile scales float to PCM without clipping unless asked to.
            sf_command(file, Int32(SFC_SET_CLIPPING), nil, Int32(SF_TRUE))
        }
        let written = samples.withUnsafeBufferPointer { sf_writef_float(file, $0.baseAddress, sf_count_t(samples.count)) }
        let closed = sf_close(file)
        guard written == samples.count, closed == 0 else { throw AudioError.unreadable(path, "short write") }
    }
}
