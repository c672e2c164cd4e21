import CFFTW
import Foundation

/// `Xcodec2FeatureExtractor`: pads the waveform for the acoustic encoder and computes the semantic
/// encoder's input, Kaldi fbank features exactly as `torchaudio.compliance.kaldi.fbank` does with the
/// extractor's settings (25 ms povey window, 10 ms shift, pre-emphasis 0.97, DC removal, 80 log-mel bins
/// from 20 Hz, snip_edges), normalised per utterance and stacked in pairs of frames.
public final class Xcodec2FeatureExtractor: @unchecked Sendable {
    public let config: Xcodec2FeatureExtractorConfig
    let frameLength = 400
    let frameShift = 160
    let paddedLength = 512
    let stride = 2
    let preemphasis: Float = 0.97
    /// Kaldi's povey window: hann(400, periodic=False) ** 0.85.
    let window: [Float]
    /// [numMelBins, paddedLength / 2 + 1] triangular filters (last column zero, as Kaldi pads it).
    let melBanks: [Float]
    private let plan: fftwf_plan

    public var numMelBins: Int { config.featureSize }
    public var featureSize: Int { config.featureSize * stride }
    var numFrequencies: Int { paddedLength / 2 + 1 }

    public init(config: Xcodec2FeatureExtractorConfig) {
        self.config = config
        let n = frameLength
        window = (0..<n).map { i in
            Float(pow(0.5 - 0.5 * cos(2 * Double.pi * Double(i) / Double(n - 1)), 0.85))
        }
        melBanks = Self.kaldiMelBanks(
            bins: config.featureSize, paddedLength: paddedLength,
            sampleRate: Float(config.samplingRate), lowFreq: 20,
            highFreq: Float(config.samplingRate / 2))
        plan = FFTWPlanner.realForward(size: paddedLength)
    }

    /// `get_mel_banks` of torchaudio's Kaldi compliance module, in float32 like the reference.
    static func kaldiMelBanks(bins: Int, paddedLength: Int, sampleRate: Float, lowFreq: Float, highFreq: Float) -> [Float] {
        func mel(_ f: Double) -> Double { 1127.0 * log(1.0 + f / 700.0) }
        let numFFTBins = paddedLength / 2
        let binWidth = Float(Double(sampleRate) / Double(paddedLength))
        let melLow = mel(Double(lowFreq)), melHigh = mel(Double(highFreq))
        let delta = Float((melHigh - melLow) / Double(bins + 1))
        let columns = numFFTBins + 1
        var banks = [Float](repeating: 0, count: bins * columns)
        for b in 0..<bins {
            let left = Float(melLow) + Float(b) * delta
            let center = Float(melLow) + Float(b + 1) * delta
            let right = Float(melLow) + Float(b + 2) * delta
            for i in 0..<numFFTBins {
                let m = 1127.0 * Float(log(Double(1.0 + (binWidth * Float(i)) / 700.0)))
                let up = (m - left) / (center - left)
                let down = (right - m) / (right - center)
                banks[b * columns + i] = max(0, min(up, down))
            }
        }
        return banks
    }

    /// Samples after the extractor's padding: one zero appended, then zeros up to a multiple of the hop.
    public func paddedLength(samples: Int) -> Int {
        let hop = config.hopLength
        return (samples + 1 + hop - 1) / hop * hop
    }

    /// Frames the codec emits for `samples` input samples.
    public func frameCount(samples: Int) -> Int { paddedLength(samples: samples) / config.hopLength }

    /// Writes the padded waveform (`paddedLength(samples:)` values) to `padded` and the stacked,
    /// normalised fbank features ([frames, 2 * mel bins], row-major) to `features`.
    func callAsFunction(
        _ audio: UnsafeBufferPointer<Float>, padded: UnsafeMutablePointer<Float>,
        features: UnsafeMutablePointer<Float>, workspace: Workspace
    ) {
        let lp = paddedLength(samples: audio.count)
        padded.update(from: audio.baseAddress!, count: audio.count)
        (padded + audio.count).update(repeating: 0, count: lp - audio.count)

        workspace.scope {
            let half = config.hopLength / 2
            let mels = features  // [frames, bins] is the same memory as [frames / 2, 2 * bins]
            let kaldiFrames = logMel(padded, count: lp, margin: half, into: mels, workspace: workspace)
            let frames = (kaldiFrames + stride - 1) / stride * stride
            let bins = numMelBins
            // Per-bin normalisation with the unbiased variance, over the real frames only.
            for b in 0..<bins {
                var sum = 0.0
                for f in 0..<kaldiFrames { sum += Double(mels[f * bins + b]) }
                let mean = sum / Double(kaldiFrames)
                var sq = 0.0
                for f in 0..<kaldiFrames { let d = Double(mels[f * bins + b]) - mean; sq += d * d }
                let variance = kaldiFrames > 1 ? sq / Double(kaldiFrames - 1) : .nan
                let scale = Float(1 / (variance + 1e-7).squareRoot())
                let m = Float(mean)
                for f in 0..<kaldiFrames { mels[f * bins + b] = (mels[f * bins + b] - m) * scale }
            }
            for f in kaldiFrames..<frames { (mels + f * bins).update(repeating: config.paddingValue, count: bins) }
        }
    }

    /// Kaldi frames of a signal of `count` samples framed with `margin` zeros on both sides.
    func kaldiFrameCount(count: Int, margin: Int) -> Int {
        let signalLength = count + 2 * margin
        return signalLength < frameLength ? 0 : 1 + (signalLength - frameLength) / frameShift
    }

    /// Natural-log mel energies, [frames, mel bins] row-major, of `signal` with `margin` zeros on both sides,
    /// as Kaldi's fbank computes them (samples scaled to 16-bit range); returns the number of frames.
    func logMel(
        _ signal: UnsafePointer<Float>, count: Int, margin: Int, into mels: UnsafeMutablePointer<Float>, workspace: Workspace
    ) -> Int {
        workspace.scope {
            let kaldiFrames = kaldiFrameCount(count: count, margin: margin)
            let bins = numMelBins, freqs = numFrequencies
            let power = workspace.take(kaldiFrames * freqs)
            let frame = workspace.take(paddedLength)
            let spectrum = workspace.take(2 * freqs)
            for f in 0..<kaldiFrames {
                // Sample i of the framed signal is signal[i - margin] * 2^15, zero outside.
                let start = f * frameShift - margin
                var sum: Float = 0
                for i in 0..<frameLength {
                    let s = start + i
                    let v: Float = (s >= 0 && s < count) ? signal[s] * 32768 : 0
                    frame[i] = v
                    sum += v
                }
                let mean = sum / Float(frameLength)
                for i in 0..<frameLength { frame[i] -= mean }
                for i in Swift.stride(from: frameLength - 1, to: 0, by: -1) { frame[i] -= preemphasis * frame[i - 1] }
                frame[0] -= preemphasis * frame[0]
                for i in 0..<frameLength { frame[i] *= window[i] }
                (frame + frameLength).update(repeating: 0, count: paddedLength - frameLength)
                spectrum.withMemoryRebound(to: fftwf_complex.self, capacity: freqs) { out in
                    fftwf_execute_dft_r2c(plan, frame, out)
                }
                let row = power + f * freqs
                for k in 0..<freqs {
                    let re = spectrum[2 * k], im = spectrum[2 * k + 1]
                    row[k] = re * re + im * im
                }
            }
            melBanks.withUnsafeBufferPointer { banks in
                Kernels.gemm(
                    transB: true, m: kaldiFrames, n: bins, k: freqs, a: power, lda: freqs,
                    b: banks.baseAddress!, ldb: freqs, c: mels, ldc: bins)
            }
            let epsilon = Float.ulpOfOne
            for i in 0..<(kaldiFrames * bins) { mels[i] = Foundation.log(max(mels[i], epsilon)) }
            return kaldiFrames
        }
    }

    /// The unnormalised Kaldi log-mel spectrogram of `audio` (25 ms frames every 10 ms, no padding): what `report`
    /// draws and compares.
    public func logMelSpectrogram(_ audio: [Float]) -> (frames: Int, bins: Int, values: [Float]) {
        let frames = kaldiFrameCount(count: audio.count, margin: 0)
        var values = [Float](repeating: 0, count: frames * numMelBins)
        let workspace = Workspace(capacity: frames * numFrequencies + paddedLength + 2 * numFrequencies + 64)
        audio.withUnsafeBufferPointer { signal in
            values.withUnsafeMutableBufferPointer { out in
                _ = logMel(signal.baseAddress!, count: audio.count, margin: 0, into: out.baseAddress!, workspace: workspace)
            }
        }
        return (frames, numMelBins, values)
    }
}

/// FFTW's planner is not thread-safe; plans are made once under a lock and executed from any thread
/// with the new-array interface.
enum FFTWPlanner {
    nonisolated(unsafe) private static var forward: [Int: fftwf_plan] = [:]
    nonisolated(unsafe) private static var inverse: [Int: fftwf_plan] = [:]
    private static let lock = NSLock()

    static func realForward(size: Int) -> fftwf_plan {
        lock.lock(); defer { lock.unlock() }
        if let plan = forward[size] { return plan }
        let input = fftwf_alloc_real(size)!, output = fftwf_alloc_complex(size / 2 + 1)!
        defer { fftwf_free(input); fftwf_free(output) }
        let plan = fftwf_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE | FFTW_UNALIGNED))!
        forward[size] = plan
        return plan
    }

    static func realInverse(size: Int) -> fftwf_plan {
        lock.lock(); defer { lock.unlock() }
        if let plan = inverse[size] { return plan }
        let input = fftwf_alloc_complex(size / 2 + 1)!, output = fftwf_alloc_real(size)!
        defer { fftwf_free(input); fftwf_free(output) }
        let plan = fftwf_plan_dft_c2r_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE | FFTW_UNALIGNED))!
        inverse[size] = plan
        return plan
    }
}
