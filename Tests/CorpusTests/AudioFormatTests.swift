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

    /// Float WAV carries the 18-byte fmt chunk and a fact chunk: libsndfile and numpy read the samples back exactly,
    /// and sox reads it without "wave header missing extended part of fmt chunk".
    func testFloatWAVHeaderIsComplete() throws {
        let dir = TestEnv.temporaryDirectory("floatwav")
        let samples = SyntheticSpeech.generate(seconds: 0.5)
        for channels in [1, 2] {
            let path = dir.appendingPathComponent("f\(channels).wav").path
            let interleaved = samples.flatMap { Array(repeating: $0, count: channels) }
            try AudioWriter.write(interleaved, channels: channels, sampleRate: 16000, to: path)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(Array(bytes[12..<24]), Array("fmt ".utf8) + [18, 0, 0, 0, 3, 0, UInt8(channels), 0])
            XCTAssertEqual(Array(bytes[36..<44]), [0, 0] + Array("fact".utf8) + [4, 0])
            XCTAssertEqual(bytes.count, 58 + interleaved.count * 4)
            let read = try AudioFile.read(path)
            XCTAssertEqual(read.channels, channels)
            XCTAssertEqual(read.samples, samples, path)
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/sox") {
                let sox = Process()
                sox.executableURL = URL(fileURLWithPath: "/usr/bin/sox")
                sox.arguments = [path, "-n", "stat"]
                let err = Pipe()
                sox.standardError = err
                try sox.run()
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                sox.waitUntilExit()
                XCTAssertEqual(sox.terminationStatus, 0)
                XCTAssertFalse(text.contains("missing extended part"), text)
            }
        }
    }
}
