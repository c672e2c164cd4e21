import Concurrency
import Foundation

/// `Wav2Vec2BertFeedForward`: intermediate_dense, swish, output_dense.
struct Wav2Vec2BertFeedForward {
    let intermediateDense: Linear, outputDense: Linear
    init(_ ckpt: Checkpoint, _ prefix: String, config: Wav2Vec2BertConfig) throws {
        intermediateDense = try Linear(
            ckpt, prefix + ".intermediate_dense", inFeatures: config.hiddenSize, outFeatures: config.intermediateSize)
        outputDense = try Linear(ckpt, prefix + ".output_dense", inFeatures: config.intermediateSize, outFeatures: config.hiddenSize)
    }
    func callAsFunction(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        workspace.scope {
            let hidden = workspace.take(rows * intermediateDense.outFeatures)
            intermediateDense(x, rows: rows, out: hidden)
            Kernels.silu(hidden, count: rows * intermediateDense.outFeatures)
            outputDense(hidden, rows: rows, out: out)
        }
    }
}

/// `Wav2Vec2BertSelfAttention` with `relative_key` positions: the bias of query i for key j is
/// q_i . E[clamp(j - i, -left, right) + left], scaled like the content score. The bias comes from one
/// [T, left + right + 1] product per head; one T x T score matrix per thread exists at a time.
struct Wav2Vec2BertSelfAttention {
    let linearQ: Linear, linearK: Linear, linearV: Linear, linearOut: Linear
    let distanceEmbedding: Weight
    let heads: Int, headSize: Int, left: Int, right: Int

    init(_ ckpt: Checkpoint, _ prefix: String, config: Wav2Vec2BertConfig) throws {
        let d = config.hiddenSize
        linearQ = try Linear(ckpt, prefix + ".linear_q", inFeatures: d, outFeatures: d)
        linearK = try Linear(ckpt, prefix + ".linear_k", inFeatures: d, outFeatures: d)
        linearV = try Linear(ckpt, prefix + ".linear_v", inFeatures: d, outFeatures: d)
        linearOut = try Linear(ckpt, prefix + ".linear_out", inFeatures: d, outFeatures: d)
        heads = config.numAttentionHeads
        headSize = config.headSize
        left = config.leftMaxPositionEmbeddings
        right = config.rightMaxPositionEmbeddings
        distanceEmbedding = try ckpt.weight(prefix + ".distance_embedding.weight", [left + right + 1, headSize])
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let d = heads * headSize
        let distances = left + right + 1
        let scaling = 1 / Float(headSize).squareRoot()
        workspace.scope {
            let q = workspace.take(t * d), k = workspace.take(t * d), v = workspace.take(t * d)
            let context = workspace.take(t * d)
            let threads = Parallel.itemThreads(heads, workspace: workspace)
            let allScores = workspace.take(threads * t * t)
            let allPositional = workspace.take(threads * t * distances)
            linearQ(x, rows: t, out: q)
            linearK(x, rows: t, out: k)
            linearV(x, rows: t, out: v)
            // Heads in parallel, each thread with its own scores and positional bias.
            Parallel.blasItems(heads, workspace: workspace) { h, thread in
                let scores = allScores + thread * t * t, positional = allPositional + thread * t * distances
                let qh = q + h * headSize, kh = k + h * headSize, vh = v + h * headSize
                // scores = q k^T * scaling; positional = q E^T * scaling
                Kernels.gemm(transB: true, m: t, n: t, k: headSize, alpha: scaling, a: qh, lda: d, b: kh, ldb: d, c: scores, ldc: t)
                Kernels.gemm(
                    transB: true, m: t, n: distances, k: headSize, alpha: scaling, a: qh, lda: d,
                    b: distanceEmbedding.pointer, ldb: headSize, c: positional, ldc: distances)
                for i in 0..<t {
                    let row = scores + i * t, bias = positional + i * distances
                    // j - i <= -left for j <= i - left; >= right for j >= i + right.
                    let lowEnd = max(0, min(t, i - left + 1))
                    let highStart = max(0, min(t, i + right))
                    let lowBias = bias[0], highBias = bias[left + right]
                    for j in 0..<lowEnd { row[j] += lowBias }
                    if lowEnd < highStart {
                        for j in lowEnd..<highStart { row[j] += bias[j - i + left] }
                    }
                    for j in max(highStart, lowEnd)..<t { row[j] += highBias }
                    Kernels.softmaxRow(row, count: t)
                }
                Kernels.gemm(m: t, n: headSize, k: t, a: scores, lda: t, b: vh, ldb: d, c: context + h * headSize, ldc: d)
            }
            linearOut(context, rows: t, out: out)
        }
    }
}

/// `Wav2Vec2BertConvolutionModule`: layer_norm, pointwise_conv1 + GLU, causal depthwise conv (left
/// padded by kernel - 1), depthwise_layer_norm, swish, pointwise_conv2. Time-major throughout.
struct Wav2Vec2BertConvolutionModule {
    let layerNorm: LayerNorm, depthwiseLayerNorm: LayerNorm
    let pointwiseConv1: Weight, depthwiseConv: Weight, pointwiseConv2: Weight
    let channels: Int, kernel: Int
    /// depthwise weights as [kernel, channels] so the inner loop runs over contiguous channels.
    let depthwiseByTap: [Float]

    init(_ ckpt: Checkpoint, _ prefix: String, config: Wav2Vec2BertConfig) throws {
        let d = config.hiddenSize, k = config.convDepthwiseKernelSize
        layerNorm = try LayerNorm(ckpt, prefix + ".layer_norm", dim: d, eps: config.layerNormEps)
        depthwiseLayerNorm = try LayerNorm(ckpt, prefix + ".depthwise_layer_norm", dim: d, eps: config.layerNormEps)
        pointwiseConv1 = try ckpt.weight(prefix + ".pointwise_conv1.weight", [2 * d, d, 1])
        depthwiseConv = try ckpt.weight(prefix + ".depthwise_conv.weight", [d, 1, k])
        pointwiseConv2 = try ckpt.weight(prefix + ".pointwise_conv2.weight", [d, d, 1])
        channels = d
        kernel = k
        var byTap = [Float](repeating: 0, count: k * d)
        for c in 0..<d { for j in 0..<k { byTap[j * d + c] = depthwiseConv.data[c * k + j] } }
        depthwiseByTap = byTap
    }

    func callAsFunction(_ x: UnsafePointer<Float>, rows t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let d = channels
        workspace.scope {
            let normed = workspace.take(t * d)
            let expanded = workspace.take(t * 2 * d)
            let gated = workspace.take(t * d)
            let conv = workspace.take(t * d)
            layerNorm(x, rows: t, out: normed)
            Kernels.gemm(transB: true, m: t, n: 2 * d, k: d, a: normed, lda: d, b: pointwiseConv1.pointer, ldb: d, c: expanded, ldc: 2 * d)
            for r in 0..<t {
                let a = expanded + r * 2 * d, g = a + d, dst = gated + r * d
                var c = 0
                while c + 8 <= d {
                    let av = UnsafeRawPointer(a + c).loadUnaligned(as: SIMD8<Float>.self)
                    let gv = UnsafeRawPointer(g + c).loadUnaligned(as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(dst + c).storeBytes(of: av * VectorMath.sigmoid(gv), as: SIMD8<Float>.self)
                    c += 8
                }
                while c < d { dst[c] = a[c] / (1 + Foundation.exp(-g[c])); c += 1 }
            }
            depthwiseByTap.withUnsafeBufferPointer { taps in
                for r in 0..<t {
                    let dst = conv + r * d
                    dst.update(repeating: 0, count: d)
                    for j in 0..<kernel {
                        let source = r - (kernel - 1) + j
                        if source < 0 { continue }
                        Kernels.multiplyAdd(dst, taps.baseAddress! + j * d, gated + source * d, count: d)
                    }
                }
            }
            depthwiseLayerNorm(conv, rows: t, out: conv)
            Kernels.silu(conv, count: t * d)
            Kernels.gemm(transB: true, m: t, n: d, k: d, a: conv, lda: d, b: pointwiseConv2.pointer, ldb: d, c: out, ldc: d)
        }
    }
}

/// `Wav2Vec2BertEncoderLayer`: a conformer block with two half-step feed-forwards.
struct Wav2Vec2BertEncoderLayer {
    let ffn1LayerNorm: LayerNorm, ffn1: Wav2Vec2BertFeedForward
    let selfAttnLayerNorm: LayerNorm, selfAttn: Wav2Vec2BertSelfAttention
    let convModule: Wav2Vec2BertConvolutionModule
    let ffn2LayerNorm: LayerNorm, ffn2: Wav2Vec2BertFeedForward
    let finalLayerNorm: LayerNorm

    init(_ ckpt: Checkpoint, _ prefix: String, config: Wav2Vec2BertConfig) throws {
        let d = config.hiddenSize, eps = config.layerNormEps
        ffn1LayerNorm = try LayerNorm(ckpt, prefix + ".ffn1_layer_norm", dim: d, eps: eps)
        ffn1 = try Wav2Vec2BertFeedForward(ckpt, prefix + ".ffn1", config: config)
        selfAttnLayerNorm = try LayerNorm(ckpt, prefix + ".self_attn_layer_norm", dim: d, eps: eps)
        selfAttn = try Wav2Vec2BertSelfAttention(ckpt, prefix + ".self_attn", config: config)
        convModule = try Wav2Vec2BertConvolutionModule(ckpt, prefix + ".conv_module", config: config)
        ffn2LayerNorm = try LayerNorm(ckpt, prefix + ".ffn2_layer_norm", dim: d, eps: eps)
        ffn2 = try Wav2Vec2BertFeedForward(ckpt, prefix + ".ffn2", config: config)
        finalLayerNorm = try LayerNorm(ckpt, prefix + ".final_layer_norm", dim: d, eps: eps)
    }

    /// Updates `x` ([t, d]) in place.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, rows t: Int, workspace: Workspace) {
        let n = t * ffn1LayerNorm.weight.count
        workspace.scope {
            let normed = workspace.take(n), branch = workspace.take(n)
            ffn1LayerNorm(x, rows: t, out: normed)
            ffn1(normed, rows: t, out: branch, workspace: workspace)
            Kernels.scaleAdd(branch, scale: 0.5, x, count: n)  // branch = 0.5 * ffn + x
            x.update(from: branch, count: n)

            selfAttnLayerNorm(x, rows: t, out: normed)
            selfAttn(normed, rows: t, out: branch, workspace: workspace)
            Kernels.add(x, branch, count: n)

            convModule(x, rows: t, out: branch, workspace: workspace)
            Kernels.add(x, branch, count: n)

            ffn2LayerNorm(x, rows: t, out: normed)
            ffn2(normed, rows: t, out: branch, workspace: workspace)
            Kernels.scaleAdd(branch, scale: 0.5, x, count: n)
            finalLayerNorm(branch, rows: t, out: x)
        }
    }
}

/// `Wav2Vec2BertModel` as X-Codec2 uses it: feature_projection, then the conformer layers; the output
/// is `last_hidden_state` ([frames, hidden], time-major).
struct SemanticEncoder {
    let featureProjectionLayerNorm: LayerNorm
    let featureProjection: Linear
    let layers: [Wav2Vec2BertEncoderLayer]
    let config: Wav2Vec2BertConfig

    init(_ ckpt: Checkpoint, _ prefix: String, config: Wav2Vec2BertConfig) throws {
        self.config = config
        featureProjectionLayerNorm = try LayerNorm(
            ckpt, prefix + ".feature_projection.layer_norm",
            dim: config.featureProjectionInputDim, eps: config.layerNormEps)
        featureProjection = try Linear(
            ckpt, prefix + ".feature_projection.projection",
            inFeatures: config.featureProjectionInputDim, outFeatures: config.hiddenSize)
        layers = try (0..<config.numHiddenLayers).map {
            try Wav2Vec2BertEncoderLayer(ckpt, "\(prefix).encoder.layers.\($0)", config: config)
        }
        // Used only for SpecAugment in training; present in the checkpoint, not in inference.
        if ckpt.has(prefix + ".masked_spec_embed") { _ = try ckpt.weight(prefix + ".masked_spec_embed", [config.hiddenSize]) }
    }

    /// features [t, featureProjectionInputDim] -> out [t, hidden].
    func callAsFunction(_ features: UnsafePointer<Float>, rows t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        workspace.scope {
            let normed = workspace.take(t * config.featureProjectionInputDim)
            featureProjectionLayerNorm(features, rows: t, out: normed)
            featureProjection(normed, rows: t, out: out)
        }
        for layer in layers { layer(out, rows: t, workspace: workspace) }
    }
}

/// `Xcodec2SemanticAdapter`: four k=3 convolutions with a ReLU residual, applied time-major.
struct SemanticAdapter {
    let conv1: Conv1d, conv2: Conv1d, conv3: Conv1d, conv4: Conv1d
    let channels: Int

    init(_ ckpt: Checkpoint, _ prefix: String, channels c: Int) throws {
        channels = c
        conv1 = try Conv1d(ckpt, prefix + ".conv1", inChannels: c, outChannels: c, kernel: 3, padding: 1, bias: false)
        conv2 = try Conv1d(ckpt, prefix + ".conv2", inChannels: c, outChannels: c, kernel: 3, padding: 1)
        conv3 = try Conv1d(ckpt, prefix + ".conv3", inChannels: c, outChannels: c, kernel: 3, padding: 1)
        conv4 = try Conv1d(ckpt, prefix + ".conv4", inChannels: c, outChannels: c, kernel: 3, padding: 1, bias: false)
    }

    /// x [t, c] -> out [t, c].
    func callAsFunction(_ x: UnsafePointer<Float>, rows t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let n = t * channels
        workspace.scope {
            let a = workspace.take(n), b = workspace.take(n)
            conv1.timeMajor(x, length: t, out: a, workspace: workspace)
            Kernels.relu(a, count: n)
            conv2.timeMajor(a, length: t, out: b, workspace: workspace)
            Kernels.relu(b, count: n)
            conv3.timeMajor(b, length: t, out: out, workspace: workspace)
            Kernels.add(a, out, count: n)
            conv4.timeMajor(a, length: t, out: out, workspace: workspace)
        }
    }
}
