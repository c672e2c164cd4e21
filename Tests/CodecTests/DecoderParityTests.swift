import Codec
import XCTest

/// `Xcodec2Model.decode` of the reference codes against the reference waveform.
final class DecoderParityTests: XCTestCase {
    static let minimumSNR = 60.0

    func snr(_ actual: [Float], _ expected: [Float]) -> Double {
        var signal = 0.0, noise = 0.0
        for (a, e) in zip(actual, expected) {
            signal += Double(e) * Double(e)
            noise += Double(a - e) * Double(a - e)
        }
        return 10 * log10(signal / max(noise, 1e-30))
    }

    func check(model name: String) throws {
        let model = try Xcodec2Model(directory: Fixtures.modelDirectory(name), parts: .decoder)
        let workspace = Workspace()
        // The 200-sample clip has one frame, which the reference cannot decode (GroupNorm needs two values).
        for clip in Fixtures.clips where clip != "short" {
            let expected = try Fixtures.expected(name, clip)
            let codes = expected.floats("codes")!.map { Int($0) }
            let reference = expected.floats("decoded")!
            let audio = try model.decode(codes, workspace: workspace)
            XCTAssertEqual(audio.count, reference.count, "\(name)/\(clip) length")
            let measured = snr(audio, reference)
            XCTAssertGreaterThanOrEqual(measured, Self.minimumSNR, "\(name)/\(clip): SNR \(measured) dB")
        }
    }

    func testTinyA() throws { try check(model: "tiny-a") }
    func testTinyB() throws { try check(model: "tiny-b") }

    func testOutOfRangeCodesAreAnError() throws {
        let model = try Xcodec2Model(directory: Fixtures.modelDirectory("tiny-a"), parts: .decoder)
        for bad in [-1, model.codebookSize] {
            XCTAssertThrowsError(try model.decode([0, bad, 1], workspace: Workspace())) { error in
                XCTAssertEqual("\(error)", "code \(bad) at position 1 is outside the codebook (0..<\(model.codebookSize))")
            }
        }
        XCTAssertThrowsError(try model.decode([], workspace: Workspace()))
    }
}
