import Codec
import Foundation
import Store

/// One utterance of the report's listening section: the source and the audio decoded from its stored codes, as
/// 16-bit WAVs and log-mel spectrogram images on one colour scale, and the log-spectral distance between them.
public struct ReportSample: Sendable {
    public var id: String
    public var speaker: String?
    public var transcript: String
    public var duration: Double
    public var sourceWAV: Data
    public var decodedWAV: Data
    public var sourceSpectrogram: Data
    public var decodedSpectrogram: Data
    /// Mean over frames of the RMS difference in dB of the two log-mel spectra, both floored `dynamicRange` below
    /// the louder one's peak (so that silence, where any two signals differ, does not dominate).
    public var logSpectralDistance: Double
    /// Why the source audio is not shown (it could not be read); nil when it is.
    public var sourceProblem: String?

    public static let dynamicRange = 80.0
    /// Wider spectrograms are averaged down to this many columns.
    static let maxColumns = 1000

    public init(
        id: String, speaker: String?, transcript: String, source: [Float], decoded: [Float], sampleRate: Int,
        extractor: Xcodec2FeatureExtractor
    ) {
        self.id = id
        self.speaker = speaker
        self.transcript = transcript
        duration = Double(source.count) / Double(sampleRate)
        sourceWAV = Self.wav(source, sampleRate: sampleRate)
        decodedWAV = Self.wav(decoded, sampleRate: sampleRate)
        let a = extractor.logMelSpectrogram(source), b = extractor.logMelSpectrogram(decoded)
        let toDecibels = Float(10 / log(10.0))
        let dbA = a.values.map { $0 * toDecibels }, dbB = b.values.map { $0 * toDecibels }
        let peak = Double(max(dbA.max() ?? 0, dbB.max() ?? 0))
        let floor = peak - Self.dynamicRange
        let frames = min(a.frames, b.frames), bins = a.bins
        var total = 0.0
        for f in 0..<frames {
            var sum = 0.0
            for k in 0..<bins {
                let d = Swift.max(Double(dbA[f * bins + k]), floor) - Swift.max(Double(dbB[f * bins + k]), floor)
                sum += d * d
            }
            total += (sum / Double(bins)).squareRoot()
        }
        logSpectralDistance = frames > 0 ? total / Double(frames) : .nan
        sourceSpectrogram = Self.image(dbA, frames: a.frames, bins: bins, floor: floor)
        decodedSpectrogram = Self.image(dbB, frames: b.frames, bins: bins, floor: floor)
    }

    /// 16-bit PCM mono WAV bytes.
    static func wav(_ samples: [Float], sampleRate: Int) -> Data {
        var data = Data(capacity: 44 + 2 * samples.count)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { data.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { data.append(contentsOf: $0) } }
        data.append(contentsOf: Array("RIFF".utf8))
        u32(36 + 2 * samples.count)
        data.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)
        u16(1)
        u32(sampleRate)
        u32(2 * sampleRate)
        u16(2)
        u16(16)
        data.append(contentsOf: Array("data".utf8))
        u32(2 * samples.count)
        for s in samples {
            let v = Int16((Swift.max(-1, Swift.min(1, s.isFinite ? s : 0)) * 32767).rounded())
            withUnsafeBytes(of: v.littleEndian) { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Low frequencies at the bottom; `floor`...`floor + dynamicRange` dB over the palette.
    static func image(_ db: [Float], frames: Int, bins: Int, floor: Double) -> Data {
        let columns = Swift.max(1, Swift.min(frames, maxColumns))
        var pixels = [UInt8](repeating: 0, count: columns * bins)
        for c in 0..<columns where frames > 0 {
            let first = c * frames / columns, last = Swift.max(first + 1, (c + 1) * frames / columns)
            for k in 0..<bins {
                var sum = 0.0
                for f in first..<last { sum += Double(db[f * bins + k]) }
                let level = (sum / Double(last - first) - floor) / dynamicRange
                pixels[(bins - 1 - k) * columns + c] = UInt8(Swift.max(0, Swift.min(255, (level * 255).rounded())))
            }
        }
        return PNGImage(width: columns, height: bins, pixels: pixels, palette: PNGImage.viridis).data
    }
}

extension Store {
    public struct SampledUtterance: Sendable {
        public var id: String, text: String, speaker: String?, location: AudioLocation, codes: [Int32]
    }

    /// Up to `count` done utterances, spread over speakers: the speakers in a seeded order, one utterance each
    /// (seeded), round after round until `count` or every utterance is taken.
    public func sampleUtterances(count: Int, seed: UInt64) throws -> [SampledUtterance] {
        try read { snapshot in
            var remaining: [String: Int] = [:]
            var speakers: [String] = []
            for (speaker, utterances) in try snapshot.doneCountsBySpeaker() {
                speakers.append(speaker)
                remaining[speaker] = utterances
            }
            var generator = SplitMix64(seed: seed)
            speakers.shuffle(using: &generator)
            var picked: [SampledUtterance] = [], taken = Set<String>()
            while picked.count < count && remaining.values.contains(where: { $0 > 0 }) {
                for speaker in speakers where picked.count < count && remaining[speaker]! > 0 {
                    // The k-th of this speaker's utterances not yet taken, in store order; ids only, then that one row.
                    let k = Int(generator.next() % UInt64(remaining[speaker]!))
                    var index = 0
                    try snapshot.forEachDoneID(speaker: speaker) { id in
                        if taken.contains(id) { return true }
                        guard index == k else {
                            index += 1
                            return true
                        }
                        taken.insert(id)
                        let row = try snapshot.doneUtterance(id: id)!
                        picked.append(
                            SampledUtterance(
                                id: id, text: row.text, speaker: row.speaker, location: AudioLocation(row.location), codes: row.codes))
                        return false
                    }
                    remaining[speaker]! -= 1
                }
            }
            return picked
        }
    }
}
