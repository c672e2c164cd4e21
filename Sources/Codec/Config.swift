import Foundation

/// `Wav2Vec2BertConfig`, the semantic encoder's nested `semantic_model_config`.
public struct Wav2Vec2BertConfig: Codable, Sendable {
    public var hiddenSize = 1024
    public var numHiddenLayers = 24
    public var numAttentionHeads = 16
    public var intermediateSize = 4096
    public var featureProjectionInputDim = 160
    public var hiddenAct = "swish"
    public var layerNormEps: Float = 1e-5
    public var positionEmbeddingsType: String? = "relative_key"
    public var leftMaxPositionEmbeddings = 64
    public var rightMaxPositionEmbeddings = 8
    public var convDepthwiseKernelSize = 31
    public var addAdapter = false
    public var useIntermediateFfnBeforeAdapter = false

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case intermediateSize = "intermediate_size"
        case featureProjectionInputDim = "feature_projection_input_dim"
        case hiddenAct = "hidden_act"
        case layerNormEps = "layer_norm_eps"
        case positionEmbeddingsType = "position_embeddings_type"
        case leftMaxPositionEmbeddings = "left_max_position_embeddings"
        case rightMaxPositionEmbeddings = "right_max_position_embeddings"
        case convDepthwiseKernelSize = "conv_depthwise_kernel_size"
        case addAdapter = "add_adapter"
        case useIntermediateFfnBeforeAdapter = "use_intermediate_ffn_before_adapter"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Wav2Vec2BertConfig()
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        featureProjectionInputDim = try c.decodeIfPresent(Int.self, forKey: .featureProjectionInputDim) ?? d.featureProjectionInputDim
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? d.layerNormEps
        positionEmbeddingsType = try c.decodeIfPresent(String.self, forKey: .positionEmbeddingsType)
        leftMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .leftMaxPositionEmbeddings) ?? d.leftMaxPositionEmbeddings
        rightMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .rightMaxPositionEmbeddings) ?? d.rightMaxPositionEmbeddings
        convDepthwiseKernelSize = try c.decodeIfPresent(Int.self, forKey: .convDepthwiseKernelSize) ?? d.convDepthwiseKernelSize
        addAdapter = try c.decodeIfPresent(Bool.self, forKey: .addAdapter) ?? d.addAdapter
        useIntermediateFfnBeforeAdapter =
            try c.decodeIfPresent(Bool.self, forKey: .useIntermediateFfnBeforeAdapter) ?? d.useIntermediateFfnBeforeAdapter
    }

    public var headSize: Int { hiddenSize / numAttentionHeads }
}

/// `Xcodec2Config` from `config.json`.
public struct Xcodec2Config: Codable, Sendable {
    public struct RopeParameters: Codable, Sendable {
        public var ropeTheta: Float = 10000
        public var ropeType = "default"
        enum CodingKeys: String, CodingKey {
            case ropeTheta = "rope_theta"
            case ropeType = "rope_type"
        }
    }

    public var modelType = "xcodec2"
    public var hiddenSize = 1024
    public var intermediateSize = 4096
    public var numHiddenLayers = 12
    public var numAttentionHeads = 16
    public var numKeyValueHeads = 16
    public var headDim = 64
    public var hiddenAct = "silu"
    public var rmsNormEps: Float = 1e-6
    public var attentionBias = false
    public var ropeParameters = RopeParameters()
    public var encoderHiddenSize = 48
    public var downsamplingRatios = [2, 2, 4, 4, 5]
    public var semanticModelConfig = Wav2Vec2BertConfig()
    public var samplingRate = 16000
    public var quantizationDim = 2048
    public var quantizationLevels = [4, 4, 4, 4, 4, 4, 4, 4]

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case hiddenAct = "hidden_act"
        case rmsNormEps = "rms_norm_eps"
        case attentionBias = "attention_bias"
        case ropeParameters = "rope_parameters"
        case encoderHiddenSize = "encoder_hidden_size"
        case downsamplingRatios = "downsampling_ratios"
        case semanticModelConfig = "semantic_model_config"
        case samplingRate = "sampling_rate"
        case quantizationDim = "quantization_dim"
        case quantizationLevels = "quantization_levels"
    }

    public init() {
        semanticModelConfig.numHiddenLayers = 16
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Xcodec2Config()
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType) ?? d.modelType
        hiddenSize = try c.decodeIfPresent(Int.self, forKey: .hiddenSize) ?? d.hiddenSize
        intermediateSize = try c.decodeIfPresent(Int.self, forKey: .intermediateSize) ?? d.intermediateSize
        numHiddenLayers = try c.decodeIfPresent(Int.self, forKey: .numHiddenLayers) ?? d.numHiddenLayers
        numAttentionHeads = try c.decodeIfPresent(Int.self, forKey: .numAttentionHeads) ?? d.numAttentionHeads
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        // Zero heads is refused by `validate`; it must not divide by zero before that.
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? (numAttentionHeads > 0 ? hiddenSize / numAttentionHeads : 0)
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? d.hiddenAct
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? d.rmsNormEps
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? d.attentionBias
        ropeParameters = try c.decodeIfPresent(RopeParameters.self, forKey: .ropeParameters) ?? d.ropeParameters
        encoderHiddenSize = try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize) ?? d.encoderHiddenSize
        downsamplingRatios = try c.decodeIfPresent([Int].self, forKey: .downsamplingRatios) ?? d.downsamplingRatios
        semanticModelConfig = try c.decodeIfPresent(Wav2Vec2BertConfig.self, forKey: .semanticModelConfig) ?? d.semanticModelConfig
        samplingRate = try c.decodeIfPresent(Int.self, forKey: .samplingRate) ?? d.samplingRate
        quantizationDim = try c.decodeIfPresent(Int.self, forKey: .quantizationDim) ?? d.quantizationDim
        quantizationLevels = try c.decodeIfPresent([Int].self, forKey: .quantizationLevels) ?? d.quantizationLevels
    }

    /// Audio samples per code frame.
    public var hopLength: Int { Self.saturatingProduct(downsamplingRatios) }
    /// The ISTFT head's FFT size, as the reference's config property defines it.
    public var nFFT: Int { hopLength * 4 }
    /// Number of distinct codes.
    public var codebookSize: Int { Self.saturatingProduct(quantizationLevels) }

    /// Int.max on overflow: a crafted config must reach `validate`, not trap before it.
    static func saturatingProduct(_ factors: [Int]) -> Int {
        factors.reduce(1) { product, factor in
            let (result, overflow) = product.multipliedReportingOverflow(by: factor)
            return overflow ? .max : result
        }
    }
}

/// `Xcodec2FeatureExtractor` settings from `preprocessor_config.json`.
public struct Xcodec2FeatureExtractorConfig: Codable, Sendable {
    public var featureSize = 80
    public var samplingRate = 16000
    public var paddingValue: Float = 1.0
    public var hopLength = 320

    enum CodingKeys: String, CodingKey {
        case featureSize = "feature_size"
        case samplingRate = "sampling_rate"
        case paddingValue = "padding_value"
        case hopLength = "hop_length"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        featureSize = try c.decodeIfPresent(Int.self, forKey: .featureSize) ?? 80
        samplingRate = try c.decodeIfPresent(Int.self, forKey: .samplingRate) ?? 16000
        paddingValue = try c.decodeIfPresent(Float.self, forKey: .paddingValue) ?? 1.0
        hopLength = try c.decodeIfPresent(Int.self, forKey: .hopLength) ?? 320
    }
}

extension Xcodec2Config {
    /// Checks the combinations this implementation (and the reference) support; the message names the
    /// file and the offending field.
    func validate(path: String, extractor: Xcodec2FeatureExtractorConfig) throws {
        func fail(_ why: String) -> CheckpointError { .badConfig(path, why) }
        let sem = semanticModelConfig
        try validateRanges(extractor: extractor, fail)
        guard modelType != "neucodec" else {
            throw fail(
                "model_type is \"neucodec\": NeuCodec differs from X-Codec2 (its own encoder and 24 kHz decoder) and is not supported")
        }
        guard modelType == "xcodec2" else { throw fail("model_type is \"\(modelType)\", expected \"xcodec2\"") }
        guard samplingRate == 16000 else {
            throw fail("sampling_rate is \(samplingRate); X-Codec2's feature extractor works at 16000 Hz only")
        }
        guard extractor.samplingRate == samplingRate else {
            throw fail("preprocessor_config.json sampling_rate \(extractor.samplingRate) differs from config.json's \(samplingRate)")
        }
        guard extractor.hopLength == hopLength else {
            throw fail(
                "preprocessor_config.json hop_length \(extractor.hopLength) is not the product of downsampling_ratios (\(hopLength))")
        }
        guard hopLength == 320 else {
            throw fail(
                "downsampling_ratios multiply to \(hopLength); the semantic features advance 320 samples "
                    + "per frame, so they must multiply to 320"
            )
        }
        guard quantizationDim == hiddenSize + sem.hiddenSize else {
            throw fail(
                "quantization_dim \(quantizationDim) must equal hidden_size + semantic hidden_size (\(hiddenSize + sem.hiddenSize))")
        }
        guard sem.featureProjectionInputDim == 2 * extractor.featureSize else {
            throw fail(
                "semantic feature_projection_input_dim \(sem.featureProjectionInputDim) must be twice "
                    + "feature_size \(extractor.featureSize)"
            )
        }
        guard sem.positionEmbeddingsType == "relative_key" else {
            throw fail("semantic position_embeddings_type \(sem.positionEmbeddingsType ?? "null") is not supported (relative_key is)")
        }
        guard ["swish", "silu"].contains(sem.hiddenAct) else { throw fail("semantic hidden_act \(sem.hiddenAct) is not supported") }
        guard !sem.addAdapter, !sem.useIntermediateFfnBeforeAdapter else {
            throw fail("semantic add_adapter / use_intermediate_ffn_before_adapter are not supported")
        }
        guard sem.hiddenSize % sem.numAttentionHeads == 0 else { throw fail("semantic hidden_size is not a multiple of its heads") }
        guard quantizationLevels.allSatisfy({ $0 >= 2 }), codebookSize <= 65536 else {
            throw fail("quantization_levels \(quantizationLevels) must be >= 2 each with at most 65536 codes")
        }
    }
}

extension Xcodec2Config {
    /// Every size, count and constant within bounds before anything divides, multiplies or allocates with it:
    /// a crafted config must fail with a message, not a signal.
    func validateRanges(extractor: Xcodec2FeatureExtractorConfig, _ fail: (String) -> CheckpointError) throws {
        let sem = semanticModelConfig
        let limit = 1 << 20
        let sizes: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize), ("num_attention_heads", numAttentionHeads),
            ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim), ("encoder_hidden_size", encoderHiddenSize),
            ("quantization_dim", quantizationDim), ("semantic hidden_size", sem.hiddenSize),
            ("semantic num_attention_heads", sem.numAttentionHeads), ("semantic intermediate_size", sem.intermediateSize),
            ("semantic feature_projection_input_dim", sem.featureProjectionInputDim),
            ("semantic conv_depthwise_kernel_size", sem.convDepthwiseKernelSize),
        ]
        let extractorSizes: [(String, Int)] = [
            ("preprocessor_config.json feature_size", extractor.featureSize),
            ("preprocessor_config.json hop_length", extractor.hopLength),
        ]
        for (name, value) in sizes + extractorSizes where !(1...limit).contains(value) {
            throw fail("\(name) is \(value); it must be between 1 and \(limit)")
        }
        let counts: [(String, Int)] = [
            ("num_hidden_layers", numHiddenLayers), ("semantic num_hidden_layers", sem.numHiddenLayers),
            ("semantic left_max_position_embeddings", sem.leftMaxPositionEmbeddings),
            ("semantic right_max_position_embeddings", sem.rightMaxPositionEmbeddings),
        ]
        for (name, value) in counts where !(0...4096).contains(value) { throw fail("\(name) is \(value); it must be between 0 and 4096") }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw fail("num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }
        guard headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be even (rotary embedding)") }
        guard (1...64).contains(downsamplingRatios.count), downsamplingRatios.allSatisfy({ (1...limit).contains($0) }) else {
            throw fail("downsampling_ratios \(downsamplingRatios) must be 1 to 64 factors between 1 and \(limit)")
        }
        guard (1...16).contains(quantizationLevels.count), quantizationLevels.allSatisfy({ (2...65536).contains($0) }) else {
            throw fail("quantization_levels \(quantizationLevels) must be 1 to 16 levels between 2 and 65536")
        }
        for (name, factors, maximum) in [
            ("downsampling_ratios", downsamplingRatios, 320), ("quantization_levels", quantizationLevels, 65536),
        ] {
            var product = 1
            for factor in factors {
                product *= factor
                if product > maximum { throw fail("\(name) \(factors) multiply to more than \(maximum)") }
            }
        }
        guard extractor.paddingValue.isFinite else { throw fail("preprocessor_config.json padding_value is \(extractor.paddingValue)") }
        for (name, value) in [
            ("rms_norm_eps", rmsNormEps), ("semantic layer_norm_eps", sem.layerNormEps), ("rope_theta", ropeParameters.ropeTheta),
        ]
        where !(value.isFinite && value > 0) {
            throw fail("\(name) is \(value); it must be a positive finite number")
        }
    }
}
