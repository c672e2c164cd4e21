import Codec
import Corpus
import XCTest

/// Every encode stage against Transformers 5.24.0 on the fixture models and clips.
final class EncoderParityTests: XCTestCase {
    // Tolerances: |swift - reference| over the largest |reference| of the stage, for the worst element
    // and the 99th percentile (5e-5, measured up to 2.5e-5). Most values agree to ~1e-7. The worst are log-mel values of
    // low-frequency bins in near-silent frames, where the FFT's float32 rounding (FFTW here, pocketfft
    // in torch) is a sizeable part of a tiny power; on the 200-sample clip the per-bin normalisation over
    // two frames amplifies it. Measured worst: features 2.2e-3, semantic stages 4.7e-4, acoustic 1.4e-5, projected 3.0e-5.
    static let featureTolerance: Float = 5e-3
    static let stageTolerance: Float = 1e-3

    func check(model name: String, clip: String, threads: Int) throws {
        let model = try Fixtures.model(name)
        let expected = try Fixtures.expected(name, clip)
        let audio = try AudioFile.read(Fixtures.clip(clip))
        let (codes, trace) = try model.encodeTraced(audio.samples, workspace: Workspace(threads: threads))
        let frames = codes.count
        let hs = model.config.semanticModelConfig.hiddenSize
        let label = "\(name)/\(clip)"
        assertClose(
            trace.tensors["input_features"]!, expected.floats("input_features"), tolerance: Self.featureTolerance,
            "\(label) input_features"
        )
        assertClose(
            trace.tensors["semantic_hidden"]!, expected.floats("semantic_hidden"), tolerance: Self.stageTolerance,
            "\(label) semantic_hidden")
        assertClose(
            transposed(trace.tensors["semantic_adapted_time_major"]!, rows: frames, cols: hs),
            expected.floats("semantic_adapted"), tolerance: Self.stageTolerance, "\(label) semantic_adapted")
        assertClose(trace.tensors["acoustic"]!, expected.floats("acoustic"), tolerance: Self.stageTolerance, "\(label) acoustic")
        assertClose(trace.tensors["fused"]!, expected.floats("fused"), tolerance: Self.stageTolerance, "\(label) fused")
        assertClose(trace.tensors["projected"]!, expected.floats("projected"), tolerance: Self.stageTolerance, "\(label) projected")
        let referenceCodes = expected.floats("codes")!.map { Int32($0) }
        XCTAssertEqual(codes.count, referenceCodes.count, "\(label) frame count")
        let mismatches = zip(codes, referenceCodes).filter { $0 != $1 }.count
        XCTAssertEqual(mismatches, 0, "\(label): \(mismatches) of \(codes.count) codes differ")
    }

    func testTinyA() throws { for clip in Fixtures.clips { try check(model: "tiny-a", clip: clip, threads: 1) } }
    // Two threads for the workers' own loops: the channel split of the activations must not change a value.
    func testTinyB() throws { for clip in Fixtures.clips { try check(model: "tiny-b", clip: clip, threads: 2) } }
}
