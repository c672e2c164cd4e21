import CBLAS
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
            let codes = expected.floats("codes")!.map { Int32($0) }
            let reference = expected.floats("decoded")!
            let audio = try model.decode(codes, workspace: workspace)
            XCTAssertEqual(audio.count, reference.count, "\(name)/\(clip) length")
            let measured = snr(audio, reference)
            XCTAssertGreaterThanOrEqual(measured, Self.minimumSNR, "\(name)/\(clip): SNR \(measured) dB")
        }
    }

    func testTinyA() throws { try check(model: "tiny-a") }
    func testTinyB() throws { try check(model: "tiny-b") }

    /// Two threads (heads on the workspace's threads with OpenBLAS's pool ended, the pool restarted by the next
    /// product) give one thread's samples, the same in every decode, and leave OpenBLAS's thread count as it was.
    func testTwoThreadsDecodeAsOne() throws {
        let model = try Xcodec2Model(directory: Fixtures.modelDirectory("tiny-b"), parts: .decoder)
        let codes = try Fixtures.expected("tiny-b", "speech0").floats("codes")!.map { Int32($0) }
        let previous = openblas_get_num_threads()
        defer { openblas_set_num_threads(previous) }
        openblas_set_num_threads(1)
        let single = try model.decode(codes, workspace: Workspace())
        openblas_set_num_threads(2)
        let workspace = Workspace(threads: 2)
        let first = try model.decode(codes, workspace: workspace)
        // Threaded OpenBLAS cuts its tiles elsewhere, so the last bits may differ from one thread's.
        XCTAssertGreaterThanOrEqual(snr(first, single), 100, "two threads against one")
        for run in 1..<4 {
            let again = try model.decode(codes, workspace: workspace)
            XCTAssertTrue(again == first, "run \(run) differs from the first with two threads")
            XCTAssertEqual(openblas_get_num_threads(), 2, "run \(run)")
        }
    }

    func testOutOfRangeCodesAreAnError() throws {
        let model = try Xcodec2Model(directory: Fixtures.modelDirectory("tiny-a"), parts: .decoder)
        for bad in [-1, Int32(model.codebookSize)] {
            XCTAssertThrowsError(try model.decode([0, bad, 1], workspace: Workspace())) { error in
                XCTAssertEqual("\(error)", "code \(bad) at position 1 is outside the codebook (0..<\(model.codebookSize))")
            }
        }
        XCTAssertThrowsError(try model.decode([], workspace: Workspace()))
    }
}
