import Foundation

// The generic layers the model files share, named after the torch modules whose weights they load.

/// Weight of `prefix.weight` / `prefix.bias` for an `nn.LayerNorm`.
struct LayerNorm {
    let weight: Weight, bias: Weight, eps: Float
    init(_ ckpt: Checkpoint, _ prefix: String, dim: Int, eps: Float) throws {
        weight = try ckpt.weight(prefix + ".weight", [dim])
        bias = try ckpt.weight(prefix + ".bias", [dim])
        self.eps = eps
    }
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>) {
        Kernels.layerNorm(x, rows: rows, cols: weight.count, weight: weight, bias: bias, eps: eps, out: out)
    }
}

/// An `nn.Linear` (weight [out, in], optional bias).
struct Linear {
    let weight: Weight, bias: Weight?
    init(_ ckpt: Checkpoint, _ prefix: String, inFeatures: Int, outFeatures: Int, bias hasBias: Bool = true) throws {
        weight = try ckpt.weight(prefix + ".weight", [outFeatures, inFeatures])
        bias = hasBias ? try ckpt.weight(prefix + ".bias", [outFeatures]) : nil
    }
    var inFeatures: Int { weight.shape[1] }
    var outFeatures: Int { weight.shape[0] }
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>) {
        Kernels.linear(x, rows: rows, weight: weight, bias: bias, out: out)
    }
}

/// `nn.GroupNorm` on time-major [t, channels]: statistics over each group's channels and all frames.
struct GroupNorm {
    let weight: Weight, bias: Weight, groups: Int, eps: Float
    init(_ ckpt: Checkpoint, _ prefix: String, groups: Int, channels: Int, eps: Float) throws {
        weight = try ckpt.weight(prefix + ".weight", [channels])
        bias = try ckpt.weight(prefix + ".bias", [channels])
        self.groups = groups
        self.eps = eps
    }

    /// One pass over the rows for the statistics (each row's group sums in SIMD, accumulated in Double across
    /// rows), one to normalise; `x` is read row by row, never strided by channel.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows t: Int) {
        let channels = weight.count, size = channels / groups
        let g = weight.pointer, b = bias.pointer
        withUnsafeTemporaryAllocation(of: Double.self, capacity: 2 * groups) { stats in
            let sums = stats.baseAddress!, squares = sums + groups
            sums.initialize(repeating: 0, count: 2 * groups)
            for r in 0..<t {
                let row = x + r * channels
                for group in 0..<groups {
                    let (sum, square) = Self.sums(row + group * size, count: size)
                    sums[group] += Double(sum)
                    squares[group] += Double(square)
                }
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * channels) { factors in
                let means = factors.baseAddress!, scales = means + channels
                let n = Double(t * size)
                for group in 0..<groups {
                    let mean = sums[group] / n
                    let variance = max(0, squares[group] / n - mean * mean)
                    let inv = Float(1 / (variance + Double(eps)).squareRoot())
                    for c in (group * size)..<((group + 1) * size) {
                        means[c] = Float(mean)
                        scales[c] = inv * g[c]
                    }
                }
                for r in 0..<t {
                    let row = x + r * channels
                    var c = 0
                    while c + 8 <= channels {
                        let v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                        let m = UnsafeRawPointer(means + c).loadUnaligned(as: SIMD8<Float>.self)
                        let s = UnsafeRawPointer(scales + c).loadUnaligned(as: SIMD8<Float>.self)
                        let shift = UnsafeRawPointer(b + c).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(row + c).storeBytes(of: (v - m) * s + shift, as: SIMD8<Float>.self)
                        c += 8
                    }
                    while c < channels { row[c] = (row[c] - means[c]) * scales[c] + b[c]; c += 1 }
                }
            }
        }
    }

    /// Sum and sum of squares of `count` floats.
    @inline(__always)
    static func sums(_ x: UnsafePointer<Float>, count: Int) -> (Float, Float) {
        var sum = SIMD8<Float>(repeating: 0), square = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            sum += v
            square += v * v
            i += 8
        }
        var s = sum.sum(), q = square.sum()
        while i < count { s += x[i]; q += x[i] * x[i]; i += 1 }
        return (s, q)
    }
}

/// `Xcodec2RMSNorm`.
struct RMSNorm {
    let weight: Weight, eps: Float
    init(_ ckpt: Checkpoint, _ prefix: String, dim: Int, eps: Float) throws {
        weight = try ckpt.weight(prefix + ".weight", [dim])
        self.eps = eps
    }
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Range<Int>, out: UnsafeMutablePointer<Float>) {
        let d = weight.count, g = weight.pointer
        for r in rows {
            let row = x + r * d, dst = out + r * d
            let inv = 1 / (GroupNorm.sums(row, count: d).1 / Float(d) + eps).squareRoot()
            var c = 0
            while c + 8 <= d {
                let v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD8<Float>.self)
                let w = UnsafeRawPointer(g + c).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(dst + c).storeBytes(of: w * (v * inv), as: SIMD8<Float>.self)
                c += 8
            }
            while c < d { dst[c] = g[c] * (row[c] * inv); c += 1 }
        }
    }
}
