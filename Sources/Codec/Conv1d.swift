/// `nn.Conv1d` (groups = 1) with zero padding. Stride-1 convolutions run as one sgemm per kernel tap
/// over a shifted view of the padded input (no im2col copy); strided ones as im2col + one sgemm.
struct Conv1d {
    let weight: Weight  // [out, in, kernel]
    let bias: Weight?
    let inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, dilation: Int
    /// The weight as [kernel, out, in]: tap k's matrix is contiguous. Made once, shared by workers.
    let weightByTap: [Float]

    init(
        _ ckpt: Checkpoint, _ prefix: String, inChannels: Int, outChannels: Int, kernel: Int,
        stride: Int = 1, padding: Int = 0, dilation: Int = 1, bias hasBias: Bool = true
    ) throws {
        weight = try ckpt.weight(prefix + ".weight", [outChannels, inChannels, kernel])
        bias = hasBias ? try ckpt.weight(prefix + ".bias", [outChannels]) : nil
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        if kernel > 1 && stride == 1 {
            var byTap = [Float](repeating: 0, count: kernel * outChannels * inChannels)
            let w = weight.pointer
            for o in 0..<outChannels {
                for i in 0..<inChannels {
                    for k in 0..<kernel { byTap[(k * outChannels + o) * inChannels + i] = w[(o * inChannels + i) * kernel + k] }
                }
            }
            weightByTap = byTap
        } else {
            weightByTap = []
        }
    }

    func outputLength(_ length: Int) -> Int {
        (length + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
    }

    /// Channel-major: x [inChannels, length] -> out [outChannels, outputLength(length)].
    func channelMajor(_ x: UnsafePointer<Float>, length: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let outLength = outputLength(length)
        if let bias {
            Kernels.broadcastColumns(bias.pointer, channels: outChannels, length: outLength, ld: outLength, into: out)
        }
        let beta: Float = bias == nil ? 0 : 1
        if kernel == 1 && stride == 1 && padding == 0 {
            Kernels.gemm(
                m: outChannels, n: length, k: inChannels, a: weight.pointer, lda: inChannels,
                b: x, ldb: length, beta: beta, c: out, ldc: outLength)
            return
        }
        workspace.scope {
            let padded = length + 2 * padding
            let xp = workspace.take(inChannels * padded)
            for c in 0..<inChannels {
                let row = xp + c * padded
                row.update(repeating: 0, count: padding)
                (row + padding).update(from: x + c * length, count: length)
                (row + padding + length).update(repeating: 0, count: padding)
            }
            if stride == 1 {
                weightByTap.withUnsafeBufferPointer { taps in
                    for k in 0..<kernel {
                        Kernels.gemm(
                            m: outChannels, n: outLength, k: inChannels,
                            a: taps.baseAddress! + k * outChannels * inChannels, lda: inChannels,
                            b: xp + k * dilation, ldb: padded,
                            beta: (k == 0 ? beta : 1), c: out, ldc: outLength)
                    }
                }
            } else {
                let rows = inChannels * kernel
                let columns = workspace.take(rows * outLength)
                for c in 0..<inChannels {
                    for k in 0..<kernel {
                        let dst = columns + (c * kernel + k) * outLength
                        let src = xp + c * padded + k * dilation
                        for t in 0..<outLength { dst[t] = src[t * stride] }
                    }
                }
                Kernels.gemm(
                    m: outChannels, n: outLength, k: rows, a: weight.pointer, lda: rows,
                    b: columns, ldb: outLength, beta: beta, c: out, ldc: outLength)
            }
        }
    }

    /// Time-major (stride 1): x [length, inChannels] -> out [outputLength(length), outChannels].
    func timeMajor(_ x: UnsafePointer<Float>, length: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        precondition(stride == 1, "time-major convolution is stride 1 only")
        let outLength = outputLength(length)
        if let bias { Kernels.broadcastRows(bias.pointer, rows: outLength, cols: outChannels, into: out) }
        let beta: Float = bias == nil ? 0 : 1
        workspace.scope {
            let padded = length + 2 * padding
            let xp = workspace.take(padded * inChannels)
            xp.update(repeating: 0, count: padding * inChannels)
            (xp + padding * inChannels).update(from: x, count: length * inChannels)
            (xp + (padding + length) * inChannels).update(repeating: 0, count: padding * inChannels)
            weightByTap.withUnsafeBufferPointer { taps in
                for k in 0..<kernel {
                    Kernels.gemm(
                        transB: true, m: outLength, n: outChannels, k: inChannels,
                        a: xp + k * dilation * inChannels, lda: inChannels,
                        b: taps.baseAddress! + k * outChannels * inChannels, ldb: inChannels,
                        beta: (k == 0 ? beta : 1), c: out, ldc: outChannels)
                }
            }
        }
    }
}
