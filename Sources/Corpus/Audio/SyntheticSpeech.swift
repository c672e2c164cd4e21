import Foundation

/// Deterministic speech-like audio for benchmarks: a glottal pulse train with a wandering pitch through
/// three moving formant resonators, in syllable-length bursts separated by short pauses.
public enum SyntheticSpeech {
    public static func generate(seconds: Double, sampleRate: Int = 16000, seed: UInt64 = 1) -> [Float] {
        let count = Int(seconds * Double(sampleRate))
        var out = [Float](repeating: 0, count: count)
        var rng = seed &* 6364136223846793005 &+ 1442695040888963407
        func noise() -> Double {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Double(rng >> 11) / Double(1 << 53) * 2 - 1
        }
        let sr = Double(sampleRate)
        var phase = 0.0
        // Two-pole resonators: state per formant.
        var y1 = [0.0, 0.0, 0.0], y2 = [0.0, 0.0, 0.0]
        for i in 0..<count {
            let t = Double(i) / sr
            let syllable = t.truncatingRemainder(dividingBy: 0.25) / 0.25
            let envelope = syllable < 0.8 ? sin(Double.pi * syllable / 0.8) : 0
            let pitch = 120 + 30 * sin(2 * Double.pi * 0.7 * t) + 10 * sin(2 * Double.pi * 3.1 * t)
            phase += pitch / sr
            let pulse = phase.truncatingRemainder(dividingBy: 1) < 0.1 ? 1.0 : 0.0
            let excitation = pulse + 0.05 * noise()
            let formants = [500 + 300 * sin(2 * Double.pi * 2 * t), 1500 + 500 * sin(2 * Double.pi * 1.3 * t + 1), 2500.0]
            var sample = 0.0
            for k in 0..<3 {
                let r = 0.97, theta = 2 * Double.pi * formants[k] / sr
                let y = excitation + 2 * r * cos(theta) * y1[k] - r * r * y2[k]
                y2[k] = y1[k]; y1[k] = y
                sample += y / Double(k + 1)
            }
            out[i] = Float(0.02 * envelope * sample)
        }
        return out
    }
}
