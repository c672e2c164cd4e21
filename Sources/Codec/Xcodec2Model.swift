import CBLAS
import Foundation

/// One number per encode stage: seconds in `bench`, FLOPs in `encodeFLOPs`.
public struct EncodeStages: Sendable, Codable {
    public var features = 0.0, semanticEncoder = 0.0, acousticEncoder = 0.0, quantizer = 0.0
    public var total: Double { features + semanticEncoder + acousticEncoder + quantizer }

    public init(features: Double = 0, semanticEncoder: Double = 0, acousticEncoder: Double = 0, quantizer: Double = 0) {
        self.features = features
        self.semanticEncoder = semanticEncoder
        self.acousticEncoder = acousticEncoder
        self.quantizer = quantizer
    }

    /// The stage-by-stage median of several records.
    public static func median(_ records: [EncodeStages], using median: ([Double]) -> Double) -> EncodeStages {
        EncodeStages(
            features: median(records.map(\.features)), semanticEncoder: median(records.map(\.semanticEncoder)),
            acousticEncoder: median(records.map(\.acousticEncoder)), quantizer: median(records.map(\.quantizer)))
    }

    enum CodingKeys: String, CodingKey {
        case features, semanticEncoder = "semantic_encoder", acousticEncoder = "acoustic_encoder", quantizer
    }
}

/// One number per decode stage: seconds in `bench`, FLOPs in `decodeFLOPs`.
public struct DecodeStages: Sendable, Codable {
    /// `from_codes` (FSQ values through `project_out`).
    public var quantizer = 0.0
    /// `fc`, `embed` and `prior_net`.
    public var priorNet = 0.0
    /// The transformer `layers`.
    public var transformer = 0.0
    /// `post_net` and the final norm.
    public var postNet = 0.0
    /// The ISTFT head: linear, inverse FFTs, overlap-add.
    public var head = 0.0
    public var total: Double { quantizer + priorNet + transformer + postNet + head }

    public init() {}

    /// The stage-by-stage median of several records.
    public static func median(_ records: [DecodeStages], using median: ([Double]) -> Double) -> DecodeStages {
        var result = DecodeStages()
        result.quantizer = median(records.map(\.quantizer))
        result.priorNet = median(records.map(\.priorNet))
        result.transformer = median(records.map(\.transformer))
        result.postNet = median(records.map(\.postNet))
        result.head = median(records.map(\.head))
        return result
    }

    enum CodingKeys: String, CodingKey {
        case quantizer, transformer, head, priorNet = "prior_net", postNet = "post_net"
    }
}

/// Intermediate tensors of one encode, for parity tests (row-major, shapes as named).
public struct EncodeTrace {
    public var tensors: [String: [Float]] = [:]
    public init() {}
    mutating func record(_ name: String, _ p: UnsafePointer<Float>, count: Int) {
        tensors[name] = Array(UnsafeBufferPointer(start: p, count: count))
    }
}

public enum BLAS {
    /// Threads OpenBLAS may use for each call; one per worker when several workers run at once.
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}

public enum EncodeError: Error, CustomStringConvertible {
    case frameMismatch(semantic: Int, acoustic: Int)
    public var description: String {
        switch self {
        case let .frameMismatch(s, a): return "semantic encoder gave \(s) frames but the acoustic encoder \(a)"
        }
    }
}

/// The modules `Xcodec2Model.encode` runs.
struct EncodePath {
    let semanticEncoder: SemanticEncoder
    let semanticAdapter: SemanticAdapter
    let acousticEncoder: AcousticEncoder
    let fcEncoder: Linear

    /// Prefixes of the tensors it owns; anything else under them is unexpected.
    static let prefixes = ["semantic_encoder.", "semantic_adapter.", "acoustic_encoder.", "fc_encoder.", "quantizer.project_in."]

    init(_ checkpoint: Checkpoint, config: Xcodec2Config) throws {
        let semantic = config.semanticModelConfig
        semanticEncoder = try SemanticEncoder(checkpoint, "semantic_encoder", config: semantic)
        semanticAdapter = try SemanticAdapter(checkpoint, "semantic_adapter", channels: semantic.hiddenSize)
        acousticEncoder = try AcousticEncoder(checkpoint, "acoustic_encoder", config: config)
        fcEncoder = try Linear(checkpoint, "fc_encoder", inFeatures: config.quantizationDim, outFeatures: config.quantizationDim)
    }
}

public enum DecodeError: Error, CustomStringConvertible {
    case codeOutOfRange(index: Int, code: Int, codebookSize: Int)
    case noCodes
    public var description: String {
        switch self {
        case let .codeOutOfRange(index, code, size): return "code \(code) at position \(index) is outside the codebook (0..<\(size))"
        case .noCodes: return "no codes to decode"
        }
    }
}

/// `Xcodec2Model` loaded from a model folder (Transformers or original layout): the encode path, the decoder, or both.
/// Immutable after loading and shared by all workers; each worker brings its own `Workspace`.
public final class Xcodec2Model: @unchecked Sendable {
    public struct Parts: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let encoder = Parts(rawValue: 1)
        public static let decoder = Parts(rawValue: 2)
        public static let all: Parts = [.encoder, .decoder]
    }

    public let directory: URL
    public let config: Xcodec2Config
    public let featureExtractor: Xcodec2FeatureExtractor
    let checkpoint: Checkpoint
    let encodePath: EncodePath?
    let quantizer: Quantizer
    let decoder: Xcodec2Decoder?

    public init(directory: URL, parts: Parts = .encoder) throws {
        self.directory = directory
        let configURL = directory.appendingPathComponent("config.json")
        let preprocessorURL = directory.appendingPathComponent("preprocessor_config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw CheckpointError.notFound(directory.path, "no config.json: not an X-Codec2 model folder")
        }
        checkpoint = try Checkpoint(directory: directory)
        var extractorConfig = Xcodec2FeatureExtractorConfig()
        do {
            let json = try Data(contentsOf: configURL)
            if checkpoint.layout == .transformers {
                config = try JSONDecoder().decode(Xcodec2Config.self, from: json)
                extractorConfig.hopLength = config.hopLength
                extractorConfig.samplingRate = config.samplingRate
                if FileManager.default.fileExists(atPath: preprocessorURL.path) {
                    do {
                        extractorConfig = try JSONDecoder().decode(
                            Xcodec2FeatureExtractorConfig.self, from: Data(contentsOf: preprocessorURL))
                    } catch let error as DecodingError {
                        throw CheckpointError.badConfig(preprocessorURL.path, Self.describe(error))
                    }
                }
            } else {
                // No preprocessor_config.json: the original uses w2v-BERT 2.0's features with hop 320 (the defaults).
                config = try OriginalLayout.config(json: json, configPath: configURL.path, shape: checkpoint.shape(of:))
            }
        } catch let error as DecodingError {
            throw CheckpointError.badConfig(configURL.path, Self.describe(error))
        }
        try config.validate(path: configURL.path, extractor: extractorConfig)
        featureExtractor = Xcodec2FeatureExtractor(config: extractorConfig)
        encodePath = parts.contains(.encoder) ? try EncodePath(checkpoint, config: config) : nil
        quantizer = try Quantizer(checkpoint, "quantizer", config: config, parts: parts)
        decoder = parts.contains(.decoder) ? try Xcodec2Decoder(checkpoint, "acoustic_decoder", config: config) : nil
        var prefixes: [String] = []
        if parts.contains(.encoder) { prefixes += EncodePath.prefixes }
        if parts.contains(.decoder) { prefixes += ["acoustic_decoder.", "quantizer.project_out."] }
        let unexpected = checkpoint.unconsumedKeys(under: prefixes)
        if !unexpected.isEmpty { throw CheckpointError.unexpectedTensors(unexpected) }
        checkpoint.releaseUnservedTensors()
    }

    /// The layout the weights were stored in.
    public var layout: CheckpointLayout { checkpoint.layout }

    /// Number of distinct codes.
    public var codebookSize: Int { config.codebookSize }

    /// Audio (16 kHz, `hopLength` samples per code) for `codes`; every code must be in 0..<codebookSize.
    public func decode(_ codes: [Int32], workspace: Workspace) throws -> [Float] {
        var timings = DecodeStages()
        return try decode(codes, workspace: workspace, timings: &timings)
    }

    /// The same, adding each stage's seconds to `timings`.
    public func decode(_ codes: [Int32], workspace: Workspace, timings: inout DecodeStages) throws -> [Float] {
        guard let decoder else { preconditionFailure("model loaded without its decoder") }
        guard !codes.isEmpty else { throw DecodeError.noCodes }
        for (index, code) in codes.enumerated() where code < 0 || Int(code) >= codebookSize {
            throw DecodeError.codeOutOfRange(index: index, code: Int(code), codebookSize: codebookSize)
        }
        defer { workspace.reset() }
        var audio = [Float](repeating: 0, count: codes.count * config.hopLength)
        codes.withUnsafeBufferPointer { c in
            audio.withUnsafeMutableBufferPointer { out in
                workspace.scope {
                    let projected = workspace.take(c.count * config.quantizationDim)
                    let start = DispatchTime.now().uptimeNanoseconds
                    quantizer.fromCodes(c, out: projected, workspace: workspace)
                    timings.quantizer += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
                    decoder(projected, rows: c.count, audio: out.baseAddress!, workspace: workspace, timings: &timings)
                }
            }
        }
        return audio
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case let .typeMismatch(_, context), let .valueNotFound(_, context), let .keyNotFound(_, context), let .dataCorrupted(context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    public var sampleRate: Int { config.samplingRate }

    /// Codes for 16 kHz mono `audio`: one per `hopLength` samples (after the extractor's padding).
    public func encode(_ audio: [Float], workspace: Workspace) throws -> [Int32] {
        try audio.withUnsafeBufferPointer { try encode($0, workspace: workspace, timings: nil, trace: nil) }
    }

    /// The same, adding each stage's seconds to `timings`.
    public func encode(_ audio: [Float], workspace: Workspace, timings: inout EncodeStages) throws -> [Int32] {
        try audio.withUnsafeBufferPointer { samples in
            try withUnsafeMutablePointer(to: &timings) { try encode(samples, workspace: workspace, timings: $0, trace: nil) }
        }
    }

    /// The same, with every intermediate tensor (for parity tests).
    public func encodeTraced(_ audio: [Float], workspace: Workspace) throws -> (codes: [Int32], trace: EncodeTrace) {
        var trace = EncodeTrace()
        let codes = try audio.withUnsafeBufferPointer { samples in
            try withUnsafeMutablePointer(to: &trace) { try encode(samples, workspace: workspace, timings: nil, trace: $0) }
        }
        return (codes, trace)
    }

    func encode(
        _ audio: UnsafeBufferPointer<Float>, workspace: Workspace, timings: UnsafeMutablePointer<EncodeStages>?,
        trace: UnsafeMutablePointer<EncodeTrace>?
    ) throws -> [Int32] {
        guard let path = encodePath else { preconditionFailure("model loaded without its encoder") }
        defer { workspace.reset() }
        let fe = featureExtractor
        let samples = fe.paddedLength(samples: audio.count)
        let frames = fe.frameCount(samples: audio.count)
        let hs = config.semanticModelConfig.hiddenSize, h = config.hiddenSize, q = config.quantizationDim
        var clock = Stopwatch()
        return try workspace.scope {
            let padded = workspace.take(samples)
            let features = workspace.take(frames * fe.featureSize)
            fe(audio, padded: padded, features: features, workspace: workspace)
            trace?.pointee.record("input_features", features, count: frames * fe.featureSize)
            timings?.pointee.features += clock.lap()

            let semantic = workspace.take(frames * hs)
            let adapted = workspace.take(frames * hs)
            path.semanticEncoder(features, rows: frames, out: semantic, workspace: workspace)
            trace?.pointee.record("semantic_hidden", semantic, count: frames * hs)
            path.semanticAdapter(semantic, rows: frames, out: adapted, workspace: workspace)
            trace?.pointee.record("semantic_adapted_time_major", adapted, count: frames * hs)
            timings?.pointee.semanticEncoder += clock.lap()

            let acousticFrames = path.acousticEncoder.lengths(samples: samples).last!
            guard acousticFrames == frames else { throw EncodeError.frameMismatch(semantic: frames, acoustic: acousticFrames) }
            let acoustic = workspace.take(h * frames)
            path.acousticEncoder(padded, samples: samples, out: acoustic, workspace: workspace)
            trace?.pointee.record("acoustic", acoustic, count: h * frames)
            timings?.pointee.acousticEncoder += clock.lap()

            // fc_encoder over concat([semantic_adapted, acoustic]) along channels, as two products
            // against the two column blocks of its weight.
            let fused = workspace.take(frames * q)
            let w = path.fcEncoder.weight.pointer
            Kernels.broadcastRows(path.fcEncoder.bias!.pointer, rows: frames, cols: q, into: fused)
            Kernels.gemm(transB: true, m: frames, n: q, k: hs, a: adapted, lda: hs, b: w, ldb: q, beta: 1, c: fused, ldc: q)
            Kernels.gemm(
                transA: true, transB: true, m: frames, n: q, k: h, a: acoustic, lda: frames, b: w + hs, ldb: q,
                beta: 1, c: fused, ldc: q)
            trace?.pointee.record("fused", fused, count: frames * q)
            let projected = workspace.take(frames * quantizer.dimensions)
            var codes = [Int32](repeating: 0, count: frames)
            codes.withUnsafeMutableBufferPointer { quantizer.encode(fused, frames: frames, projected: projected, codes: $0.baseAddress!) }
            trace?.pointee.record("projected", projected, count: frames * quantizer.dimensions)
            timings?.pointee.quantizer += clock.lap()
            return codes
        }
    }
}

/// Monotonic lap timer.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}
