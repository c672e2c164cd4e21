import CFFTW
import CKernels
import Concurrency
import Foundation

/// `Xcodec2ResNetBlock`: GroupNorm(32), SiLU, conv k=3, GroupNorm, SiLU, conv k=3, plus the input.
struct Xcodec2ResNetBlock {
    let norm1: GroupNorm, conv1: Conv1d, norm2: GroupNorm, conv2: Conv1d
    let channels: Int
    init(_ ckpt: Checkpoint, _ prefix: String, channels: Int) throws {
        self.channels = channels
        norm1 = try GroupNorm(ckpt, prefix + ".norm1", groups: 32, channels: channels, eps: 1e-6)
        conv1 = try Conv1d(ckpt, prefix + ".conv1", inChannels: channels, outChannels: channels, kernel: 3, padding: 1)
        norm2 = try GroupNorm(ckpt, prefix + ".norm2", groups: 32, channels: channels, eps: 1e-6)
        conv2 = try Conv1d(ckpt, prefix + ".conv2", inChannels: channels, outChannels: channels, kernel: 3, padding: 1)
    }

    /// Updates x [t, channels] in place.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows t: Int, workspace: Workspace) {
        let n = t * channels
        workspace.scope {
            let a = workspace.take(n), b = workspace.take(n)
            a.update(from: x, count: n)
            norm1(a, rows: t)
            Kernels.silu(a, count: n)
            conv1.timeMajor(a, length: t, out: b, workspace: workspace)
            norm2(b, rows: t)
            Kernels.silu(b, count: n)
            conv2.timeMajor(b, length: t, out: a, workspace: workspace)
            Kernels.add(x, a, count: n)
        }
    }
}

/// `Xcodec2Attention` as the decoder calls it: RoPE with position ids = head index (the reference's
/// `arange(num_attention_heads)`: every frame of head h is rotated by angle h * inv_freq, so RoPE carries
/// no time information), full bidirectional softmax attention.
///
/// The heads run in `ck_attention_head` (Sources/CKernels/attention.c), one per thread, on queries, keys and values
/// that `ck_attention_pack` lays out per head (with RoPE applied) after the projections.
struct Xcodec2Attention {
    let qProj: Linear, kProj: Linear, vProj: Linear, oProj: Linear
    let heads: Int, kvHeads: Int, headDim: Int
    /// cos and sin per head, [heads, headDim].
    let cosTable: [Float], sinTable: [Float]

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        heads = config.numAttentionHeads
        kvHeads = config.numKeyValueHeads
        headDim = config.headDim
        let h = config.hiddenSize, bias = config.attentionBias
        qProj = try Linear(ckpt, prefix + ".q_proj", inFeatures: h, outFeatures: heads * headDim, bias: bias)
        kProj = try Linear(ckpt, prefix + ".k_proj", inFeatures: h, outFeatures: kvHeads * headDim, bias: bias)
        vProj = try Linear(ckpt, prefix + ".v_proj", inFeatures: h, outFeatures: kvHeads * headDim, bias: bias)
        oProj = try Linear(ckpt, prefix + ".o_proj", inFeatures: heads * headDim, outFeatures: h, bias: bias)
        let dim = config.headDim, half = dim / 2, theta = config.ropeParameters.ropeTheta
        // inv_freq = 1 / theta^(2i / dim) in float32, angle = position * inv_freq, as the reference.
        let invFreq = (0..<half).map { i in 1 / powf(theta, Float(2 * i) / Float(dim)) }
        var c = [Float](repeating: 0, count: config.numAttentionHeads * dim), s = c
        for head in 0..<config.numAttentionHeads {
            for d in 0..<dim {
                let angle = Float(head) * invFreq[d % half]
                c[head * dim + d] = Foundation.cos(angle)
                s[head * dim + d] = Foundation.sin(angle)
            }
        }
        cosTable = c
        sinTable = s
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let qWidth = heads * headDim, kvWidth = kvHeads * headDim
        let scaling = 1 / Float(headDim).squareRoot()
        let shape = Kernels.attentionShape(rows: t, heads: heads, kvHeads: kvHeads, dim: headDim)
        workspace.scope {
            let q = workspace.take(t * qWidth), k = workspace.take(t * kvWidth), v = workspace.take(t * kvWidth)
            let packed = ck_attention_packed(
                q: workspace.take(heads * shape.q_rows * headDim), k: workspace.take(kvHeads * shape.k_columns * headDim),
                v: workspace.take(kvHeads * shape.k_columns * shape.v_width))
            let scratch = workspace.take(Parallel.itemThreads(heads, workspace: workspace) * shape.scratch)
            let context = workspace.take(t * qWidth)
            qProj(x, rows: t, out: q)
            kProj(x, rows: t, out: k)
            vProj(x, rows: t, out: v)
            Parallel.endBLASPool(workspace: workspace)  // the packing and the heads run on this worker's threads
            cosTable.withUnsafeBufferPointer { cosines in
                sinTable.withUnsafeBufferPointer { sines in
                    // In 16-row parts: threads never write the same cache line of a key panel.
                    let inputs = ck_attention_inputs(q: q, k: k, v: v, cos: cosines.baseAddress!, sin: sines.baseAddress!)
                    Parallel.parts((t + 15) / 16, workspace: workspace, minimum: 2) { part in
                        Kernels.attentionPack(shape, inputs, rows: part.lowerBound * 16..<min(t, part.upperBound * 16), into: packed)
                    }
                }
            }
            Parallel.items(heads, workspace: workspace) { head, thread in
                Kernels.attentionHead(
                    shape, packed, head: head, scale: scaling, out: context, ldo: qWidth, scratch: scratch + thread * shape.scratch)
            }
            oProj(context, rows: t, out: out)
        }
    }
}

/// `Xcodec2DecoderLayer`: pre-RMSNorm attention and SiLU MLP, each with a residual.
struct Xcodec2DecoderLayer {
    let inputLayernorm: RMSNorm, selfAttn: Xcodec2Attention
    let postAttentionLayernorm: RMSNorm, fc1: Linear, fc2: Linear
    let hidden: Int

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        hidden = config.hiddenSize
        inputLayernorm = try RMSNorm(ckpt, prefix + ".input_layernorm", dim: hidden, eps: config.rmsNormEps)
        selfAttn = try Xcodec2Attention(ckpt, prefix + ".self_attn", config: config)
        postAttentionLayernorm = try RMSNorm(ckpt, prefix + ".post_attention_layernorm", dim: hidden, eps: config.rmsNormEps)
        fc1 = try Linear(ckpt, prefix + ".mlp.fc1", inFeatures: hidden, outFeatures: config.intermediateSize, bias: false)
        fc2 = try Linear(ckpt, prefix + ".mlp.fc2", inFeatures: config.intermediateSize, outFeatures: hidden, bias: false)
    }

    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows t: Int, workspace: Workspace) {
        let n = t * hidden
        workspace.scope {
            let normed = workspace.take(n), branch = workspace.take(n), inner = workspace.take(t * fc1.outFeatures)
            Parallel.parts(t, workspace: workspace, minimum: 32) { inputLayernorm(x, rows: $0, out: normed) }
            selfAttn(normed, rows: t, out: branch, workspace: workspace)
            Parallel.parts(t, workspace: workspace, minimum: 32) { rows in
                Kernels.add(x + rows.lowerBound * hidden, branch + rows.lowerBound * hidden, count: rows.count * hidden)
                postAttentionLayernorm(x, rows: rows, out: normed)
            }
            fc1(normed, rows: t, out: inner)
            Parallel.parts(t * fc1.outFeatures, workspace: workspace) { Kernels.silu(inner + $0.lowerBound, count: $0.count) }
            fc2(inner, rows: t, out: branch)
            Parallel.parts(n, workspace: workspace) { Kernels.add(x + $0.lowerBound, branch + $0.lowerBound, count: $0.count) }
        }
    }
}

/// `Xcodec2ISTFTHead`: linear to log-magnitude and phase, inverse real FFT per frame, Hann window,
/// overlap-add with Vocos "same" padding, divided by the summed squared window.
struct Xcodec2ISTFTHead {
    let linear: Linear
    let nFFT: Int, hop: Int
    let window: [Float], windowSquared: [Float]

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        nFFT = config.nFFT
        hop = config.hopLength
        linear = try Linear(ckpt, prefix + ".linear", inFeatures: config.hiddenSize, outFeatures: nFFT + 2)
        let n = nFFT
        window = (0..<n).map { Float(0.5 - 0.5 * Foundation.cos(2 * Double.pi * Double($0) / Double(n))) }  // periodic Hann
        windowSquared = window.map { $0 * $0 }
    }

    func outputLength(frames: Int) -> Int { frames * hop }

    /// x [t, hidden] -> audio [t * hop].
    func callAsFunction(_ x: UnsafePointer<Float>, rows t: Int, audio: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let bins = nFFT / 2 + 1, padding = (nFFT - hop) / 2
        let total = (t - 1) * hop + nFFT
        let plan = FFTWPlanner.realInverse(size: nFFT)
        workspace.scope {
            let spec = workspace.take(t * (nFFT + 2))
            linear(x, rows: t, out: spec)
            let complex = workspace.take(2 * bins), frame = workspace.take(nFFT)
            let sum = workspace.takeZeroed(total), envelope = workspace.takeZeroed(total)
            let scale = 1 / Float(nFFT)
            for f in 0..<t {
                let row = spec + f * (nFFT + 2)
                var k = 0
                while k + 8 <= bins {
                    typealias V = SIMD8<Float>
                    let logMagnitude = UnsafeRawPointer(row + k).loadUnaligned(as: V.self)
                    let phase = UnsafeRawPointer(row + bins + k).loadUnaligned(as: V.self)
                    var magnitude = VectorMath.exp(logMagnitude)
                    magnitude.replace(with: 100, where: magnitude .> 100)
                    let re = magnitude * VectorMath.cos(phase), im = magnitude * VectorMath.sin(phase)
                    for lane in 0..<8 {
                        complex[2 * (k + lane)] = re[lane]
                        complex[2 * (k + lane) + 1] = im[lane]
                    }
                    k += 8
                }
                while k < bins {
                    let magnitude = min(Foundation.exp(row[k]), 100)
                    complex[2 * k] = magnitude * Foundation.cos(row[bins + k])
                    complex[2 * k + 1] = magnitude * Foundation.sin(row[bins + k])
                    k += 1
                }
                complex.withMemoryRebound(to: fftwf_complex.self, capacity: bins) { fftwf_execute_dft_c2r(plan, $0, frame) }
                let base = f * hop
                window.withUnsafeBufferPointer { w in
                    Kernels.scale(frame, by: scale, count: nFFT)
                    Kernels.multiplyAdd(sum + base, frame, w.baseAddress!, count: nFFT)
                }
                windowSquared.withUnsafeBufferPointer { Kernels.add(envelope + base, $0.baseAddress!, count: nFFT) }
            }
            for i in 0..<(t * hop) { audio[i] = sum[padding + i] / max(envelope[padding + i], 1e-11) }
        }
    }
}

/// `Xcodec2Decoder` (the Vocos backbone and ISTFT head under `acoustic_decoder`): the quantizer's `from_codes`
/// output [t, quantization_dim] -> 16 kHz audio [t * hop].
struct Xcodec2Decoder {
    let fc: Linear
    let embed: Conv1d
    let priorNet: [Xcodec2ResNetBlock]
    let layers: [Xcodec2DecoderLayer]
    let postNet: [Xcodec2ResNetBlock]
    let norm: LayerNorm
    let head: Xcodec2ISTFTHead
    let hidden: Int

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        let h = config.hiddenSize
        hidden = h
        fc = try Linear(ckpt, prefix + ".fc", inFeatures: config.quantizationDim, outFeatures: h)
        embed = try Conv1d(ckpt, prefix + ".embed", inChannels: h, outChannels: h, kernel: 7, padding: 3)
        priorNet = try (0..<2).map { try Xcodec2ResNetBlock(ckpt, "\(prefix).prior_net.\($0)", channels: h) }
        layers = try (0..<config.numHiddenLayers).map { try Xcodec2DecoderLayer(ckpt, "\(prefix).layers.\($0)", config: config) }
        postNet = try (0..<2).map { try Xcodec2ResNetBlock(ckpt, "\(prefix).post_net.\($0)", channels: h) }
        norm = try LayerNorm(ckpt, prefix + ".norm", dim: h, eps: 1e-6)
        head = try Xcodec2ISTFTHead(ckpt, prefix + ".head", config: config)
    }

    func callAsFunction(
        _ projected: UnsafePointer<Float>, rows t: Int, audio: UnsafeMutablePointer<Float>, workspace: Workspace,
        timings: inout DecodeStages
    ) {
        var clock = DispatchTime.now().uptimeNanoseconds
        func lap() -> Double {
            let now = DispatchTime.now().uptimeNanoseconds
            defer { clock = now }
            return Double(now - clock) / 1e9
        }
        workspace.scope {
            let x = workspace.take(t * hidden), y = workspace.take(t * hidden)
            fc(projected, rows: t, out: y)
            embed.timeMajor(y, length: t, out: x, workspace: workspace)
            for block in priorNet { block(x, rows: t, workspace: workspace) }
            timings.priorNet += lap()
            for layer in layers { layer(x, rows: t, workspace: workspace) }
            timings.transformer += lap()
            for block in postNet { block(x, rows: t, workspace: workspace) }
            norm(x, rows: t, out: y)
            timings.postNet += lap()
            head(y, rows: t, audio: audio, workspace: workspace)
            timings.head += lap()
        }
    }
}
