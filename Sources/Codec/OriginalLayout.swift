import Foundation

/// The layout a checkpoint's tensor names are in.
public enum CheckpointLayout: Sendable, Equatable, CustomStringConvertible {
    /// The Transformers port (`hf-audio/xcodec2`, `HKUSTAudio/xcodec2-hf`).
    case transformers
    /// The original `XCodec2Model` of the `xcodec2` package (`HKUSTAudio/xcodec2`): weight norm as `weight_g`/`weight_v`
    /// and SnakeBeta's beta as `act.beta`, as the Hub file has them.
    case originalHub
    /// The same module tree saved by current torch: `parametrizations.weight.original0/1` and `act.bias` (fine-tunes).
    case originalTorch

    public var description: String {
        switch self {
        case .transformers: return "Transformers layout"
        case .originalHub: return "original xcodec2 layout (weight_g/weight_v, act.beta)"
        case .originalTorch: return "original xcodec2 layout as current torch saves it (parametrizations, act.bias)"
        }
    }

    /// A short name for stores and exports.
    public var name: String {
        switch self {
        case .transformers: return "transformers"
        case .originalHub: return "original"
        case .originalTorch: return "original-torch"
        }
    }
}

/// How a Transformers-layout tensor is made from the original checkpoint.
enum OriginalSource {
    /// The same tensor under another name.
    case tensor(String)
    /// A weight-normed convolution: `magnitude * direction / ||direction||`, folded as torch folds it.
    case weightNorm(magnitude: String, direction: String)
    /// One third of the decoder's fused `att.c_attn` (q, k, v); with `rope` (q and k) reordered for rotate-half RoPE.
    case attention(fused: String, part: Int, rope: Bool)
}

/// The original X-Codec2 checkpoint read as the Transformers port's tensors, as transformers'
/// `convert_xcodec2_checkpoint.py` converts it: names mapped, `att.c_attn` split and permuted for RoPE, weight norm
/// folded, recomputed buffers and the w2v-BERT layers past the 16th ignored. The sizes the original code hard-codes
/// (w2v-BERT 2.0, ngf 48, heads of 64) are read from the tensors' shapes.
public enum OriginalLayout {
    /// The original reads `hidden_states[16]` of w2v-BERT 2.0.
    static let usedSemanticLayers = 16
    /// `pos_meb_dim` of the original decoder: its heads are 64 wide.
    static let decoderHeadDim = 64

    /// The layout of a checkpoint with these tensor names; nil when it is neither.
    static func detect(_ names: Set<String>) -> CheckpointLayout? {
        if names.contains(where: { $0.hasPrefix("acoustic_encoder.") || $0.hasPrefix("semantic_encoder.") }) { return .transformers }
        guard names.contains(where: { $0.hasPrefix("CodecEnc.") || $0.hasPrefix("generator.") }) else { return nil }
        return names.contains { $0.hasSuffix(".parametrizations.weight.original1") || $0.hasSuffix(".act.bias") }
            ? .originalTorch : .originalHub
    }

    /// Buffers the model recomputes; the original file stores them.
    static func isRecomputedBuffer(_ name: String) -> Bool {
        name.hasSuffix("upsample.filter") || name.hasSuffix("lowpass.filter") || name.hasSuffix("istft.window")
            || name.hasPrefix("generator.quantizer.layers.")
    }

    /// The Transformers name of every tensor the codec reads, with where it comes from. Unknown names are refused:
    /// they belong to another architecture (the 25 Hz variant's pooling, a discriminator, ...).
    static func sources(names: Set<String>, path: String) throws -> [String: OriginalSource] {
        var sources: [String: OriginalSource] = [:]
        var unknown: [String] = []
        for name in names.sorted() {
            if isRecomputedBuffer(name) || isUnusedSemanticLayer(name) { continue }
            if let fused = attentionLayer(name) {
                let prefix = "acoustic_decoder.layers.\(fused).self_attn."
                for (part, projection) in ["q_proj", "k_proj", "v_proj"].enumerated() {
                    sources[prefix + projection + ".weight"] = .attention(fused: name, part: part, rope: part < 2)
                }
                continue
            }
            // Weight norm: the direction names the folded weight; the magnitude is its partner.
            if let base = name.strippingSuffix(".weight_v") ?? name.strippingSuffix(".parametrizations.weight.original1") {
                let magnitude = name.hasSuffix(".weight_v") ? base + ".weight_g" : base + ".parametrizations.weight.original0"
                guard names.contains(magnitude), let mapped = transformersName(base + ".weight") else {
                    unknown.append(name)
                    continue
                }
                sources[mapped] = .weightNorm(magnitude: magnitude, direction: name)
                continue
            }
            if name.hasSuffix(".weight_g") || name.hasSuffix(".parametrizations.weight.original0") { continue }  // with its direction
            let renamed = name.hasSuffix(".act.bias") ? String(name.dropLast(4)) + "beta" : name
            guard let mapped = transformersName(renamed) else {
                unknown.append(name)
                continue
            }
            sources[mapped] = .tensor(name)
        }
        if !unknown.isEmpty {
            let shown = unknown.prefix(5).joined(separator: ", ")
            throw CheckpointError.malformed(
                path,
                "\(unknown.count) tensor(s) that the original X-Codec2 (xcodec2 0.1.5) does not have: \(shown)"
                    + "\(unknown.count > 5 ? ", ..." : ""); another variant of the codec is not supported")
        }
        return sources
    }

    private static func isUnusedSemanticLayer(_ name: String) -> Bool {
        guard let rest = name.strippingPrefix("semantic_model.encoder.layers."), let index = Int(rest.prefix { $0.isNumber }) else {
            return false
        }
        return index >= usedSemanticLayers
    }

    private static func attentionLayer(_ name: String) -> Int? {
        guard let rest = name.strippingPrefix("generator.backbone.transformers."), let dot = rest.firstIndex(of: "."),
            let index = Int(rest[..<dot]), rest[dot...] == ".att.c_attn.weight"
        else { return nil }
        return index
    }

    /// The name transformers 5.24.0 gives an original tensor (weight norm and beta already renamed), or nil.
    static func transformersName(_ name: String) -> String? {
        let plain: [(String, String)] = [
            ("semantic_model.", "semantic_encoder."),
            ("SemanticEncoder_module.initial_conv.", "semantic_adapter.conv1."),
            ("SemanticEncoder_module.residual_blocks.1.", "semantic_adapter.conv2."),
            ("SemanticEncoder_module.residual_blocks.3.", "semantic_adapter.conv3."),
            ("SemanticEncoder_module.final_conv.", "semantic_adapter.conv4."),
            ("CodecEnc.conv_blocks.0.", "acoustic_encoder.conv1."),
            ("CodecEnc.conv_final_block.0.", "acoustic_encoder.snake1."),
            ("CodecEnc.conv_final_block.1.", "acoustic_encoder.conv2."),
            ("fc_prior.", "fc_encoder."),
            ("fc_post_a.", "acoustic_decoder.fc."),
            ("generator.quantizer.project_in.", "quantizer.project_in."),
            ("generator.quantizer.project_out.", "quantizer.project_out."),
            ("generator.backbone.embed.", "acoustic_decoder.embed."),
            ("generator.backbone.prior_net.", "acoustic_decoder.prior_net."),
            ("generator.backbone.post_net.", "acoustic_decoder.post_net."),
            ("generator.backbone.final_layer_norm.", "acoustic_decoder.norm."),
            ("generator.head.out.", "acoustic_decoder.head.linear."),
        ]
        for (old, new) in plain {
            if let rest = name.strippingPrefix(old) { return new + rest }
        }
        if let rest = name.strippingPrefix("CodecEnc.conv_blocks.") { return encoderBlockName(rest) }
        if let rest = name.strippingPrefix("generator.backbone.transformers.") {
            let parts = rest.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, let layer = Int(parts[0]) else { return nil }
            let renames = [
                ("att_norm.", "input_layernorm."), ("ffn_norm.", "post_attention_layernorm."), ("att.c_proj.", "self_attn.o_proj."),
                ("mlp.", "mlp."),
            ]
            for (old, new) in renames {
                if let tail = parts[1].strippingPrefix(old) { return "acoustic_decoder.layers.\(layer).\(new)\(tail)" }
            }
        }
        return nil
    }

    /// `N.block.J.…` of `CodecEnc.conv_blocks` (N >= 1): EncoderBlock N-1, its residual units J = 0..2 (each
    /// `block.0..3` = snake1, conv1, snake2, conv2), its snake (J = 3) and strided conv (J = 4).
    private static func encoderBlockName(_ rest: String) -> String? {
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, let block = Int(parts[0]), block >= 1, parts[1] == "block", let inner = Int(parts[2]) else { return nil }
        let prefix = "acoustic_encoder.block.\(block - 1)."
        switch inner {
        case 0...2:
            let unitParts = Array(parts[3...])
            guard unitParts.count >= 3, unitParts[0] == "block", let layer = Int(unitParts[1]), (0...3).contains(layer) else { return nil }
            let names = ["snake1", "conv1", "snake2", "conv2"]
            return prefix + "res_unit\(inner + 1).\(names[layer])." + unitParts[2...].joined(separator: ".")
        case 3: return prefix + "snake1." + parts[3...].joined(separator: ".")
        case 4: return prefix + "conv1." + parts[3...].joined(separator: ".")
        default: return nil
        }
    }
}

extension OriginalLayout {
    /// The original's `config.json` (`BigCodecConfig`): only widths; checked against the tensors.
    struct BigCodecConfig: Decodable {
        var semanticHiddenSize: Int?
        var codecEncoderHiddenSize: Int?
        var codecDecoderHiddenSize: Int?
        var useVocos: Bool?

        enum CodingKeys: String, CodingKey {
            case semanticHiddenSize = "semantic_hidden_size"
            case codecEncoderHiddenSize = "codec_encoder_hidden_size"
            case codecDecoderHiddenSize = "codec_decoder_hidden_size"
            case useVocos = "use_vocos"
        }
    }

    /// The Transformers config of the original checkpoint, from `config.json` and the tensors' shapes (`shape` of a
    /// Transformers name). Differences from the supported architecture are refused by name.
    static func config(json: Data, configPath: String, shape: (String) -> [Int]?) throws -> Xcodec2Config {
        func fail(_ why: String) -> CheckpointError { .badConfig(configPath, why) }
        let original = try JSONDecoder().decode(BigCodecConfig.self, from: json)
        func dimension(_ name: String, _ axis: Int) throws -> Int {
            guard let dims = shape(name), dims.count > axis else { throw CheckpointError.missingTensor(name, expected: []) }
            return dims[axis]
        }
        var config = Xcodec2Config()
        if original.useVocos == false { throw fail("use_vocos is false: only the Vocos decoder of X-Codec2 is supported") }
        // Acoustic encoder: ngf from the first conv, one EncoderBlock per stride (kernel = 2 * stride).
        config.encoderHiddenSize = try dimension("acoustic_encoder.conv1.weight", 0)
        var ratios: [Int] = []
        while let kernel = shape("acoustic_encoder.block.\(ratios.count).conv1.weight")?.last { ratios.append(kernel / 2) }
        config.downsamplingRatios = ratios
        config.hiddenSize = try dimension("acoustic_encoder.conv2.weight", 0)
        let decoderHidden = try dimension("acoustic_decoder.embed.weight", 0)
        guard decoderHidden == config.hiddenSize else {
            throw fail(
                "the acoustic encoder is \(config.hiddenSize) wide and the decoder \(decoderHidden); the Transformers port, "
                    + "and this loader, need one width")
        }
        for (key, value) in [
            ("codec_encoder_hidden_size", original.codecEncoderHiddenSize), ("codec_decoder_hidden_size", original.codecDecoderHiddenSize),
        ] {
            if let value, value != config.hiddenSize { throw fail("\(key) is \(value) but the tensors are \(config.hiddenSize) wide") }
        }
        guard config.hiddenSize % decoderHeadDim == 0 else {
            throw fail("decoder width \(config.hiddenSize) is not a multiple of the original's 64-wide heads")
        }
        config.numAttentionHeads = config.hiddenSize / decoderHeadDim
        config.numKeyValueHeads = config.numAttentionHeads
        config.headDim = decoderHeadDim
        var layers = 0
        while shape("acoustic_decoder.layers.\(layers).self_attn.q_proj.weight") != nil { layers += 1 }
        config.numHiddenLayers = layers
        config.intermediateSize = try dimension("acoustic_decoder.layers.0.mlp.fc1.weight", 0)
        let fftBins = try dimension("acoustic_decoder.head.linear.weight", 0)
        guard fftBins == config.nFFT + 2 else {
            throw fail(
                "the decoder's ISTFT head has \(fftBins) outputs, not \(config.nFFT + 2) (n_fft 4 x hop 320 at 16 kHz): "
                    + "a decoder for another sample rate (24 or 44.1 kHz) is not supported")
        }
        // Semantic encoder: w2v-BERT 2.0's structure, widths from the tensors.
        var semantic = Wav2Vec2BertConfig()
        semantic.hiddenSize = try dimension("semantic_encoder.feature_projection.projection.weight", 0)
        semantic.featureProjectionInputDim = try dimension("semantic_encoder.feature_projection.projection.weight", 1)
        if let value = original.semanticHiddenSize, value != semantic.hiddenSize {
            throw fail("semantic_hidden_size is \(value) but the w2v-BERT tensors are \(semantic.hiddenSize) wide")
        }
        semantic.numHiddenLayers = usedSemanticLayers
        let layer = "semantic_encoder.encoder.layers.0."
        let headSize = try dimension(layer + "self_attn.distance_embedding.weight", 1)
        guard headSize > 0, semantic.hiddenSize % headSize == 0 else {
            throw fail("w2v-BERT head size \(headSize) does not divide its width")
        }
        semantic.numAttentionHeads = semantic.hiddenSize / headSize
        semantic.intermediateSize = try dimension(layer + "ffn1.intermediate_dense.weight", 0)
        semantic.convDepthwiseKernelSize = try dimension(layer + "conv_module.depthwise_conv.weight", 2)
        config.semanticModelConfig = semantic
        config.quantizationDim = try dimension("fc_encoder.weight", 0)
        let levels = try dimension("quantizer.project_in.weight", 0)
        guard levels == config.quantizationLevels.count else {
            throw fail("the quantizer projects to \(levels) values; the original's FSQ has 8 levels of 4")
        }
        return config
    }
}

extension OriginalLayout {
    /// torch's weight-norm fold, `w = v * (g / ||v||)` per output row, in the order of ATen's fused CPU kernel
    /// (`weight_norm_first_dim_kernel`): squares summed in `lanes` vector accumulators, reduced pairwise (lane i with
    /// i + lanes/2, then /4, ...), the square root and `g / norm` in Float. Rows shorter than a vector are summed in
    /// order. 8 lanes: ATen registers this kernel for AVX2, not AVX-512, so x86 machines of either kind fold with 8 (checked
    /// bit for bit against torch 2.11 on an AVX-512 Xeon); a 16-lane order differs in the last bit of some values.
    public static func foldWeightNorm(
        magnitude g: UnsafePointer<Float>, direction v: UnsafePointer<Float>, rows: Int, rowLength n: Int,
        into w: UnsafeMutablePointer<Float>, lanes: Int = 8
    ) {
        var accumulator = [Float](repeating: 0, count: lanes)
        for row in 0..<rows {
            let x = v + row * n
            var sum: Float
            if n < lanes {
                sum = x[0] * x[0]
                for i in 1..<max(1, n) { sum += x[i] * x[i] }
            } else {
                for l in 0..<lanes { accumulator[l] = x[l] * x[l] }
                var d = lanes
                while d < n - n % lanes {
                    for l in 0..<lanes { accumulator[l] += x[d + l] * x[d + l] }
                    d += lanes
                }
                for l in 0..<(n - d) { accumulator[l] += x[d + l] * x[d + l] }
                var width = lanes / 2
                while width >= 1 {
                    let previous = accumulator
                    for l in 0..<lanes { accumulator[l] = previous[l] + previous[l ^ width] }
                    width /= 2
                }
                sum = accumulator[0]
            }
            let scale = g[row] / sum.squareRoot()
            for i in 0..<n { w[row * n + i] = x[i] * scale }
        }
    }

    /// Rows `part * rows ..< (part + 1) * rows` of the fused `[3 * rows, cols]` attention weight; with `ropeHeads`,
    /// reordered as `permute_for_rope` does: within each head, interleaved pairs (2i, 2i + 1) become halves (i, i + d/2).
    static func attentionRows(
        fused: UnsafePointer<Float>, part: Int, rows: Int, cols: Int, ropeHeads: Int?, into out: UnsafeMutablePointer<Float>
    ) {
        let source = fused + part * rows * cols
        guard let heads = ropeHeads else {
            out.update(from: source, count: rows * cols)
            return
        }
        let headDim = rows / heads
        for head in 0..<heads {
            for half in 0..<2 {
                for i in 0..<(headDim / 2) {
                    let to = head * headDim + half * (headDim / 2) + i
                    let from = head * headDim + 2 * i + half
                    (out + to * cols).update(from: source + from * cols, count: cols)
                }
            }
        }
    }
}

extension String {
    func strippingPrefix(_ prefix: String) -> String? { hasPrefix(prefix) ? String(dropFirst(prefix.count)) : nil }
    func strippingSuffix(_ suffix: String) -> String? { hasSuffix(suffix) ? String(dropLast(suffix.count)) : nil }
}
