import Codec
import Corpus
import Foundation
import XCTest

/// Other rates, channel layouts and containers end as 16 kHz mono with round(duration * 50) frames.
final class AudioFormatTests: XCTestCase {
    func testRatesLayoutsAndContainersGiveTheExpectedFrames() throws {
        let dir = TestEnv.temporaryDirectory("formats")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Xcodec2Model(directory: URL(fileURLWithPath: TestEnv.tinyModel))
        let seconds = 2.37
        for rate in [8000, 22050, 44100, 48000, 16000] {
            let mono = try AudioFile.resample(SyntheticSpeech.generate(seconds: seconds), from: 16000, to: rate)
            for channels in [1, 2] {
                var interleaved = [Float](repeating: 0, count: mono.count * channels)
                for i in 0..<mono.count { for c in 0..<channels { interleaved[i * channels + c] = mono[i] * (c == 0 ? 1 : 0.5) } }
                for container in [AudioWriter.Container.wav, .flac, .ogg] {
                    let path = dir.appendingPathComponent(
                        "a\(rate)-\(channels)-\(container).\(container == .wav ? "wav" : container == .flac ? "flac" : "ogg")"
                    ).path
                    try AudioWriter.write(interleaved, channels: channels, sampleRate: rate, to: path, container: container)
                    let decoded = try AudioFile.read(path)
                    XCTAssertEqual(decoded.sourceRate, rate)
                    XCTAssertEqual(decoded.channels, channels)
                    XCTAssertEqual(decoded.targetRate, 16000)
                    XCTAssertEqual(decoded.duration, seconds, accuracy: 0.01, path)
                    let codes = try model.encode(decoded.samples, workspace: Workspace())
                    XCTAssertEqual(Double(codes.count), (seconds * 50).rounded(), accuracy: 1, path)
                    // Mono mixdown averages channels: a stereo file with a half-level right channel is 0.75 of it.
                    if channels == 2 && container != .ogg && rate == 16000 {
                        XCTAssertEqual(decoded.samples[8000], 0.75 * mono[8000], accuracy: 2e-4)
                    }
                }
            }
        }
    }
}
