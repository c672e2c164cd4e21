import Foundation

/// `Xcodec2FiniteScalarQuantization`: each dimension bounded and rounded to one of `levels[d]` values; the code is
/// the mixed-radix number of those values. Like the reference, the encode side bounds twice (once in the quantizer
/// for checkpoint compatibility, once inside FSQ) before rounding half to even.
struct FiniteScalarQuantization {
    let levels: [Int]
    /// Place value of each dimension in a code (1, levels[0], levels[0] * levels[1], ...).
    let basis: [Int]
    let halfRange: [Float], offset: [Float], shift: [Float]

    init(levels: [Int]) {
        self.levels = levels
        var b = [Int](), running = 1
        for level in levels { b.append(running); running *= level }
        basis = b
        // float32 arithmetic as in `bound`: (levels - 1) * (1 + eps) / 2, offset 0.5 for even levels.
        halfRange = levels.map { Float($0 - 1) * Float(1.001) / 2 }
        offset = levels.map { $0 % 2 == 0 ? 0.5 : 0 }
        shift = zip(offset, halfRange).map { atanhf($0 / $1) }
    }

    var dimensions: Int { levels.count }

    @inline(__always)
    func bound(_ x: Float, _ d: Int) -> Float { tanhf(x + shift[d]) * halfRange[d] - offset[d] }

    /// The code of one frame's projected values.
    func code(_ values: UnsafePointer<Float>) -> Int32 {
        var index = 0
        for d in 0..<levels.count {
            let rounded = bound(bound(values[d], d), d).rounded(.toNearestOrEven)
            index += (Int(rounded) + levels[d] / 2) * basis[d]
        }
        return Int32(index)
    }

    /// `indices_to_codes`: a code back to its normalised values in [-1, 1].
    func values(of code: Int, into out: UnsafeMutablePointer<Float>) {
        for d in 0..<levels.count {
            let half = levels[d] / 2
            out[d] = Float((code / basis[d]) % levels[d] - half) / Float(half)
        }
    }
}

/// `Xcodec2Quantizer`: `project_in` to one value per FSQ dimension and FSQ (the encode side), and `from_codes`:
/// FSQ values back through `project_out` (the decode side). Each side is loaded only when its part of the model is.
struct Quantizer {
    let fsq: FiniteScalarQuantization
    let projectIn: Linear?
    let projectOut: Linear?

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config, parts: Xcodec2Model.Parts) throws {
        fsq = FiniteScalarQuantization(levels: config.quantizationLevels)
        let dims = fsq.dimensions
        projectIn =
            parts.contains(.encoder)
            ? try Linear(ckpt, prefix + ".project_in", inFeatures: config.quantizationDim, outFeatures: dims) : nil
        projectOut =
            parts.contains(.decoder)
            ? try Linear(ckpt, prefix + ".project_out", inFeatures: dims, outFeatures: config.quantizationDim) : nil
    }

    var dimensions: Int { fsq.dimensions }

    /// fused [frames, quantization_dim] -> projected [frames, dims] and codes [frames].
    func encode(_ fused: UnsafePointer<Float>, frames: Int, projected: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<Int32>) {
        projectIn!(fused, rows: frames, out: projected)
        let dims = fsq.dimensions
        for f in 0..<frames { codes[f] = fsq.code(projected + f * dims) }
    }

    /// `from_codes`: codes (each in 0..<codebookSize, checked by the caller) -> [codes.count, quantization_dim].
    func fromCodes(_ codes: UnsafeBufferPointer<Int32>, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let dims = fsq.dimensions
        workspace.scope {
            let values = workspace.take(codes.count * dims)
            for (f, code) in codes.enumerated() { fsq.values(of: Int(code), into: values + f * dims) }
            projectOut!(values, rows: codes.count, out: out)
        }
    }
}
