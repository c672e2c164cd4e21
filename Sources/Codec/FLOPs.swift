import Foundation

extension Xcodec2Model {
    /// Floating-point operations (2 per multiply-add) of the matrix products and convolutions of one
    /// encode, counted from the config the way torch's FLOP counter counts them (elementwise work and
    /// softmax are not counted).
    public func encodeFLOPs(samples audioSamples: Int) -> EncodeStages {
        let fe = featureExtractor
        let samples = Double(fe.paddedLength(samples: audioSamples))
        let t = Double(fe.frameCount(samples: audioSamples))
        let sem = config.semanticModelConfig
        let d = Double(sem.hiddenSize), i = Double(sem.intermediateSize)
        let p = Double(sem.leftMaxPositionEmbeddings + sem.rightMaxPositionEmbeddings + 1)
        var flops = EncodeStages()
        // Features: mel filterbank product and the 512-point FFTs (5 N log2 N per real transform / 2).
        let kaldiFrames = 2 * t
        flops.features = kaldiFrames * (2 * 257 * Double(fe.numMelBins) + 2.5 * 512 * 9)
        // Semantic encoder: feature projection, then per conformer layer two FFNs, attention (projections,
        // scores and context, relative-key bias), and the convolution module; then the adapter.
        let perLayer =
            8 * t * d * i + 8 * t * d * d + 4 * t * t * d + 2 * t * p * d
            + 6 * t * d * d + 2 * t * d * Double(sem.convDepthwiseKernelSize)
        flops.semanticEncoder =
            2 * t * Double(sem.featureProjectionInputDim) * d + Double(sem.numHiddenLayers) * perLayer
            + 4 * 2 * t * d * d * 3
        // Acoustic encoder: every convolution, and each anti-aliased activation's 12-tap up- and
        // down-sampling filters (2 * 12 per sample each way).
        var acoustic = 2 * samples * Double(config.encoderHiddenSize) * 7
        var length = samples
        var channels = Double(config.encoderHiddenSize)
        func activation(_ c: Double, _ n: Double) -> Double { 48 * c * n }
        for stride in config.downsamplingRatios {
            for _ in 0..<3 {
                acoustic += activation(channels, length) * 2 + 2 * channels * channels * 7 * length + 2 * channels * channels * length
            }
            acoustic += activation(channels, length)
            let out = length / Double(stride)
            acoustic += 2 * (2 * channels) * channels * Double(2 * stride) * out
            length = out
            channels *= 2
        }
        acoustic += activation(channels, length) + 2 * Double(config.hiddenSize) * channels * 3 * length
        flops.acousticEncoder = acoustic
        // fc_encoder and project_in (timed with the quantizer).
        let q = Double(config.quantizationDim)
        flops.quantizer = 2 * t * q * q + 2 * t * q * Double(config.quantizationLevels.count)
        return flops
    }
}

extension Xcodec2Model {
    /// Floating-point operations of the matrix products, convolutions and inverse FFTs of one decode of `frames`
    /// codes, counted as `encodeFLOPs` counts them.
    public func decodeFLOPs(frames: Int) -> DecodeStages {
        let t = Double(frames), h = Double(config.hiddenSize), q = Double(config.quantizationDim)
        let heads = Double(config.numAttentionHeads), kvHeads = Double(config.numKeyValueHeads), hd = Double(config.headDim)
        var flops = DecodeStages()
        flops.quantizer = 2 * t * Double(config.quantizationLevels.count) * q
        let resNetBlock = 2 * (2 * t * h * h * 3)
        flops.priorNet = 2 * t * q * h + 2 * t * h * h * 7 + 2 * resNetBlock
        let attention = 2 * 2 * t * h * heads * hd + 2 * 2 * t * h * kvHeads * hd + 2 * 2 * t * t * hd * heads
        flops.transformer = Double(config.numHiddenLayers) * (attention + 2 * 2 * t * h * Double(config.intermediateSize))
        flops.postNet = 2 * resNetBlock
        let n = Double(config.nFFT)
        flops.head = 2 * t * h * (n + 2) + t * 2.5 * n * log2(n)
        return flops
    }
}

extension BLAS {
    /// The sustained GFLOP/s of a 1024^3 `cblas_sgemm` with the current thread setting: the median of `tries`
    /// products (after one warm-up). A median, not the best: on a shared or frequency-scaling machine the best of a
    /// few short products reads a burst the encode never sees, and one slow product says nothing either.
    public static func measuredPeakGFLOPS(size n: Int = 1024, tries: Int = 9) -> Double {
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var seconds: [Double] = []
        for attempt in 0...tries {
            let start = DispatchTime.now().uptimeNanoseconds
            a.withUnsafeBufferPointer { pa in
                b.withUnsafeBufferPointer { pb in
                    c.withUnsafeMutableBufferPointer { pc in
                        Kernels.gemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, c: pc.baseAddress!, ldc: n)
                    }
                }
            }
            if attempt > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        }
        seconds.sort()
        let median =
            seconds.count % 2 == 1 ? seconds[seconds.count / 2] : (seconds[seconds.count / 2 - 1] + seconds[seconds.count / 2]) / 2
        return 2 * pow(Double(n), 3) / median / 1e9
    }
}
