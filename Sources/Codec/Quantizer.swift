import Foundation

/// `Xcodec2Quantizer`'s encode side (`project_out` belongs to `Xcodec2Decoder`): `project_in` to one value per FSQ dimension, then finite scalar quantisation
/// (`Xcodec2FiniteScalarQuantization`). Like the reference, the bound is applied twice (once in the
/// quantizer for checkpoint compatibility, once inside FSQ) before rounding half to even.
public struct Quantizer {
    let projectIn: Linear
    public let levels: [Int]
    let basis: [Int]
    let halfRange: [Float], offset: [Float], shift: [Float]

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        levels = config.quantizationLevels
        let dims = levels.count
        projectIn = try Linear(ckpt, prefix + ".project_in", inFeatures: config.quantizationDim, outFeatures: dims)
        var b = [Int](), running = 1
        for level in levels { b.append(running); running *= level }
        basis = b
        // float32 arithmetic as in `bound`: (levels - 1) * (1 + eps) / 2, offset 0.5 for even levels.
        halfRange = levels.map { Float($0 - 1) * Float(1.001) / 2 }
        offset = levels.map { $0 % 2 == 0 ? 0.5 : 0 }
        shift = zip(offset, halfRange).map { atanhf($0 / $1) }
    }

    public var dimensions: Int { levels.count }

    @inline(__always)
    func bound(_ x: Float, _ d: Int) -> Float { tanhf(x + shift[d]) * halfRange[d] - offset[d] }

    /// fused [frames, quantization_dim] -> projected [frames, dims] and codes [frames].
    public func encode(_ fused: UnsafePointer<Float>, frames: Int, projected: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Int32>) {
        projectIn(fused, rows: frames, out: projected)
        let dims = levels.count
        for f in 0..<frames {
            var index = 0
            for d in 0..<dims {
                let bounded = bound(bound(projected[f * dims + d], d), d)
                let rounded = bounded.rounded(.toNearestOrEven)
                index += (Int(rounded) + levels[d] / 2) * basis[d]
            }
            codes[f] = Int32(index)
        }
    }
}
