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

    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows t: Int) {
        let channels = weight.count, size = channels / groups
        let g = weight.pointer, b = bias.pointer
        for group in 0..<groups {
            let c0 = group * size
            var sum = 0.0, sq = 0.0
            for r in 0..<t { for c in c0..<(c0 + size) { let v = Double(x[r * channels + c]); sum += v; sq += v * v } }
            let n = Double(t * size)
            let mean = sum / n
            let variance = max(0, sq / n - mean * mean)
            let inv = Float(1 / (variance + Double(eps)).squareRoot()), m = Float(mean)
            for r in 0..<t { for c in c0..<(c0 + size) { x[r * channels + c] = (x[r * channels + c] - m) * inv * g[c] + b[c] } }
        }
    }
}

/// `Xcodec2RMSNorm`.
struct RMSNorm {
    let weight: Weight, eps: Float
    init(_ ckpt: Checkpoint, _ prefix: String, dim: Int, eps: Float) throws {
        weight = try ckpt.weight(prefix + ".weight", [dim])
        self.eps = eps
    }
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>) {
        let d = weight.count, g = weight.pointer
        for r in 0..<rows {
            let row = x + r * d, dst = out + r * d
            var sq: Float = 0
            for c in 0..<d { sq += row[c] * row[c] }
            let inv = 1 / (sq / Float(d) + eps).squareRoot()
            for c in 0..<d { dst[c] = g[c] * (row[c] * inv) }
        }
    }
}

/// `Xcodec2Attention` as the decoder calls it: RoPE with position ids = head index (the reference's
/// `arange(num_attention_heads)`: every frame of head h is rotated by angle h * inv_freq, so RoPE carries
