import Codec
import Corpus
import Foundation
import XCTest

/// The original X-Codec2 layout (`HKUSTAudio/xcodec2`) in both flavours against the same weights converted to the
/// Transformers layout by the conversion logic (scripts/reference/make_original_layout_fixtures.py).
final class OriginalLayoutTests: XCTestCase {
    static let flavours: [(String, CheckpointLayout)] = [("tiny-original-hub", .originalHub), ("tiny-original-torch", .originalTorch)]

    func expectedFile(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: Fixtures.root.appendingPathComponent("expected/tiny-original/\(name).safetensors"))
    }

    /// The folds (weight norm) and the split, RoPE-permuted attention are torch's, bit for bit.
    func testConvertedTensorsEqualTorchsBitForBit() throws {
        let converted = try expectedFile("converted-weights")
        XCTAssertGreaterThan(converted.entries.count, 40)
        for (folder, layout) in Self.flavours {
            let checkpoint = try Checkpoint(directory: Fixtures.modelDirectory(folder))
            XCTAssertEqual(checkpoint.layout, layout, folder)
            for (name, entry) in converted.entries.sorted(by: { $0.key < $1.key }) {
                let ours = try checkpoint.weight(name, entry.shape).values
                let torch = converted.floats(name)!
                let differing = zip(ours, torch).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "\(folder): \(name) differs from torch's in \(differing) of \(torch.count) values")
            }
        }
    }

    func testCodesEqualTheConvertedModelsAndTheDecodeMatches() throws {
        for (folder, layout) in Self.flavours {
            let model = try Xcodec2Model(directory: Fixtures.modelDirectory(folder), parts: .all)
            XCTAssertEqual(model.layout, layout)
            XCTAssertEqual(model.config.semanticModelConfig.numHiddenLayers, 16, "only the first 16 w2v-BERT layers are read")
            let workspace = Workspace()
            for clip in Fixtures.clips {
                let expected = try expectedFile(clip)
                let audio = try AudioFile.read(Fixtures.clip(clip))
                let codes = try model.encode(audio.samples, workspace: workspace)
                XCTAssertEqual(codes.map { Float($0) }, expected.floats("codes")!, "\(folder)/\(clip) codes")
                guard let reference = expected.floats("decoded") else { continue }  // one frame: GroupNorm cannot decode it
                let decoded = try model.decode(codes, workspace: workspace)
                XCTAssertEqual(decoded.count, reference.count)
                var signal = 0.0, noise = 0.0
                for (a, e) in zip(decoded, reference) {
                    signal += Double(e) * Double(e)
                    noise += Double(a - e) * Double(a - e)
                }
                let snr = 10 * log10(signal / max(noise, 1e-30))
                XCTAssertGreaterThanOrEqual(snr, 60, "\(folder)/\(clip) decode SNR \(snr) dB")
            }
        }
    }

    /// The fold in ATen's order: 8 lanes reduced pairwise, short rows in order; 16 lanes (an AVX-512 build of the
    /// kernel) is another order, which gives another last bit on some rows.
    func testWeightNormFoldFollowsTorchsReductionOrder() {
        let n = 37, rows = 64
        var state: UInt64 = 12345
        let v = (0..<(n * rows)).map { _ -> Float in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2_000_001 - 1_000_000) / 999_983
        }
        let g = (0..<rows).map { Float($0 + 1) / 7 }
        var eight = [Float](repeating: 0, count: v.count), sixteen = eight
        OriginalLayout.foldWeightNorm(magnitude: g, direction: v, rows: rows, rowLength: n, into: &eight)
        OriginalLayout.foldWeightNorm(magnitude: g, direction: v, rows: rows, rowLength: n, into: &sixteen, lanes: 16)
        for row in 0..<rows {
            let x = v[(row * n)..<((row + 1) * n)].map(Double.init)
            let exact = Double(g[row]) / x.map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertEqual(Double(eight[row * n]), x.first! * exact, accuracy: 1e-6 * abs(x.first! * exact) + 1e-12)
        }
        XCTAssertNotEqual(sixteen, eight, "the lane count must matter, or the bit-exact test above proves nothing about the order")
    }

    func testAPickleIsRefusedWithoutBeingRead() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pickle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{}".utf8).write(to: dir.appendingPathComponent("config.json"))
        try Data([0x80, 0x02]).write(to: dir.appendingPathComponent("epoch=4-step=1400000.ckpt"))
        XCTAssertThrowsError(try Xcodec2Model(directory: dir)) { error in
            XCTAssertEqual(
                "\(error)",
                "\(dir.path)/epoch=4-step=1400000.ckpt is a pickle (torch.save), which is not read: unpickling runs code "
                    + "from the file; save its weights as model.safetensors (safetensors.torch.save_file of the state_dict) "
                    + "beside config.json")
        }
    }

    /// A tensor the original module tree does not have (another variant: the 25 Hz pooling, a discriminator) is named.
    func testAnOriginalCheckpointWithForeignTensorsIsRefusedByName() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("variant-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = Fixtures.modelDirectory("tiny-original-hub")
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        let original = try SafeTensorsFile(url: source.appendingPathComponent("model.safetensors"))
        var tensors = original.entries.keys.sorted().map { ($0, original.entries[$0]!.shape, original.floats($0)!) }
        tensors.append(("CodecEnc.pool.weight", [2], [1, 1]))
        try writeSafetensors(
            tensors.map { ($0.0, "F32", $0.1, $0.2.withUnsafeBytes { Data($0) }) }, to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Xcodec2Model(directory: dir)) { error in
            XCTAssertTrue(
                "\(error)".hasSuffix(
                    "1 tensor(s) that the original X-Codec2 (xcodec2 0.1.5) does not have: CodecEnc.pool.weight; another "
                        + "variant of the codec is not supported"), "\(error)")
        }
    }
}
