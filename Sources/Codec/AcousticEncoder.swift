import CKernels
import Concurrency
import Foundation

/// `kaiser_sinc_filter1d`: a Kaiser-windowed sinc low-pass, normalised to unit sum.
func kaiserSincFilter(cutoff: Double, halfWidth: Double, kernelSize: Int) -> [Float] {
    let even = kernelSize % 2 == 0
    let half = kernelSize / 2
    let attenuation = 2.285 * Double(half - 1) * Double.pi * (4 * halfWidth) + 7.95
    let beta: Double
    if attenuation > 50 {
        beta = 0.1102 * (attenuation - 8.7)
    } else if attenuation >= 21 {
        beta = 0.5842 * pow(attenuation - 21, 0.4) + 0.07886 * (attenuation - 21)
    } else {
        beta = 0
    }
    func besselI0(_ x: Double) -> Double {
        var sum = 1.0, term = 1.0, k = 1.0
        while term > 1e-17 * sum { term *= (x / (2 * k)) * (x / (2 * k)); sum += term; k += 1 }
        return sum
    }
    let n = Double(kernelSize - 1)
    var filter = (0..<kernelSize).map { i -> Double in
        let ratio = (Double(i) - n / 2) / (n / 2)
        let window = besselI0(beta * (max(0, 1 - ratio * ratio)).squareRoot()) / besselI0(beta)
        let t = even ? Double(i - half) + 0.5 : Double(i - half)
        let x = 2 * cutoff * t
        let sinc = x == 0 ? 1 : sin(Double.pi * x) / (Double.pi * x)
        return 2 * cutoff * window * sinc
    }
    let sum = filter.reduce(0, +)
    filter = filter.map { $0 / sum }
    return filter.map { Float($0) }
}

/// `Xcodec2AntiAliasedActivation1d` around `Xcodec2SnakeBeta`: 2x upsample (transposed conv with a
/// 12-tap Kaiser sinc, replicate padding), x + 1/(e^beta + 1e-9) * sin^2(x * e^alpha), then 2x downsample
/// (12 taps, replicate padding). Fused per channel: the 2x signal is kept as its even and odd samples
/// for one channel at a time, never for the whole tensor.
struct AntiAliasedSnakeBeta {
    let alphaExp: [Float]
    let inverseBeta: [Float]
    /// 2 * upsampling filter taps split by parity; downsampling taps.
    let upEven: [Float], upOdd: [Float], down: [Float]
    let channels: Int

    init(_ ckpt: Checkpoint, _ prefix: String, channels: Int) throws {
        let alpha = try ckpt.weight(prefix + ".act.alpha", [channels])
        let beta = try ckpt.weight(prefix + ".act.beta", [channels])
        alphaExp = alpha.data.map { Foundation.exp($0) }
        inverseBeta = beta.data.map { 1 / (Foundation.exp($0) + 0.000000001) }
        let up = kaiserSincFilter(cutoff: 0.25, halfWidth: 0.3, kernelSize: 12)
        // up[2j] uses taps 1,3,..,11 on x[j+2], .., x[j-3]; up[2j+1] uses taps 0,2,..,10 on x[j+3], .., x[j-2].
        upEven = (0..<6).map { 2 * up[2 * $0 + 1] }
        upOdd = (0..<6).map { 2 * up[2 * $0] }
        down = kaiserSincFilter(cutoff: 0.25, halfWidth: 0.3, kernelSize: 12)
        self.channels = channels
    }

    /// Outputs per tile: the per-channel working set (x, even and odd samples) stays in L1/L2.
    static let tile = 2048
    static let margin = 3

    /// x [channels, length] -> out [channels, length] (out must not alias x). Channels are split over
    /// `workspace.threads` threads.
    func callAsFunction(_ x: UnsafePointer<Float>, length t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        let threads = max(1, min(workspace.threads, channels))
        let scratchSize = Self.tile + 2 * Self.margin + 16
        workspace.scope {
            let scratch = workspace.take(3 * scratchSize * threads)
            Parallel.endBLASPool(workspace: workspace)
            Parallel.run(threads) { thread in
                let base = scratch + 3 * scratchSize * thread
                let c0 = channels * thread / threads, c1 = channels * (thread + 1) / threads
                for c in c0..<c1 {
                    self.channel(
                        x + c * t, length: t, out: out + c * t, alpha: self.alphaExp[c], inverseBeta: self.inverseBeta[c],
                        xe: base, even: base + scratchSize, odd: base + 2 * scratchSize)
                }
            }
        }
    }

    /// One channel, tile by tile. Tile [j0, j1) needs the 2x samples (as even/odd halves) at [j0 - 3, j1 + 3),
    /// which need x at [j0 - 6, j1 + 6); outside the row both are replicate-padded as in the reference.
    @inline(__always)
    private func channel(
        _ row: UnsafePointer<Float>, length t: Int, out: UnsafeMutablePointer<Float>, alpha: Float, inverseBeta: Float,
        xe: UnsafeMutablePointer<Float>, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>
    ) {
        let m = Self.margin
        var firstValue: Float = 0
        var j0 = 0
        while j0 < t {
            let j1 = min(t, j0 + Self.tile)
            // 2x samples to compute: [lo, hi) within the row.
            let lo = max(0, j0 - m), hi = min(t, j1 + m)
            // xe[k] = x[clamp(lo - m + k)] for k in [0, hi - lo + 2m + 8)
            let count = hi - lo + 2 * m + 8
            // The row's samples in one copy; the replicated edge values around them.
            let first = lo - m, from = max(0, first), to = min(t, first + count)
            if from > first { xe.update(repeating: row[0], count: from - first) }
            (xe + (from - first)).update(from: row + from, count: to - from)
            if first + count > to { (xe + (to - first)).update(repeating: row[t - 1], count: first + count - to) }
            // Buffer position p holds the even/odd sample of index (j0 - m) + p.
            let offset = lo - (j0 - m)
            upsampleSnake(xe + m, length: hi - lo, even: even + offset, odd: odd + offset, alpha: alpha, inverseBeta: inverseBeta)
            if j0 == 0 { firstValue = even[offset] }
            for p in 0..<offset { even[p] = firstValue; odd[p] = firstValue }
            if hi == t {
                let last = odd[offset + (t - 1 - lo)]
                let end = offset + (hi - lo)
                for p in end..<(end + m + 8) { even[p] = last; odd[p] = last }
            }
            downsample(even: even + m, odd: odd + m, length: j1 - j0, out: out + j0)
            j0 = j1
        }
    }

    /// even[j] = snake(sum_r upEven[r] x[j+2-r]), odd[j] = snake(sum_r upOdd[r] x[j+3-r]), j < length.
    @inline(__always)
    private func upsampleSnake(
        _ x: UnsafePointer<Float>, length t: Int, even: UnsafeMutablePointer<Float>,
        odd: UnsafeMutablePointer<Float>, alpha: Float, inverseBeta: Float
    ) {
        upEven.withUnsafeBufferPointer { e in
            upOdd.withUnsafeBufferPointer { o in
                let filter = ck_snake_upsampling(up_even: e.baseAddress!, up_odd: o.baseAddress!, alpha: alpha, inverse_beta: inverseBeta)
                Kernels.upsampleSnake(x, count: t, even: even, odd: odd, filter: filter)
            }
        }
    }

    /// out[j] = sum_k down[k] z[2j + k - 5], with z[2i] = even[i], z[2i+1] = odd[i].
    @inline(__always)
    private func downsample(even: UnsafePointer<Float>, odd: UnsafePointer<Float>, length t: Int, out: UnsafeMutablePointer<Float>) {
        down.withUnsafeBufferPointer { Kernels.downsample(even: even, odd: odd, count: t, out: out, taps: $0.baseAddress!) }
    }
}

/// `Xcodec2ResidualUnit`: x + conv2(snake2(conv1(snake1(x)))), conv1 k=7 dilated.
struct Xcodec2ResidualUnit {
    let snake1: AntiAliasedSnakeBeta, conv1: Conv1d, snake2: AntiAliasedSnakeBeta, conv2: Conv1d
    let channels: Int

    init(_ ckpt: Checkpoint, _ prefix: String, channels: Int, dilation: Int) throws {
        self.channels = channels
        snake1 = try AntiAliasedSnakeBeta(ckpt, prefix + ".snake1", channels: channels)
        conv1 = try Conv1d(
            ckpt, prefix + ".conv1", inChannels: channels, outChannels: channels, kernel: 7,
            padding: 3 * dilation, dilation: dilation)
        snake2 = try AntiAliasedSnakeBeta(ckpt, prefix + ".snake2", channels: channels)
        conv2 = try Conv1d(ckpt, prefix + ".conv2", inChannels: channels, outChannels: channels, kernel: 1)
    }

    /// Updates x [channels, length] in place.
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, length t: Int, workspace: Workspace) {
        workspace.scope {
            let a = workspace.take(channels * t), b = workspace.take(channels * t)
            snake1(x, length: t, out: a, workspace: workspace)
            conv1.channelMajor(a, length: t, out: b, workspace: workspace)
            snake2(b, length: t, out: a, workspace: workspace)
            conv2.channelMajor(a, length: t, out: b, workspace: workspace)
            Kernels.add(x, b, count: channels * t)
        }
    }
}

/// `Xcodec2EncoderBlock`: three residual units (dilations 1, 3, 9), snake, strided conv doubling channels.
struct Xcodec2EncoderBlock {
    let resUnits: [Xcodec2ResidualUnit]
    let snake1: AntiAliasedSnakeBeta
    let conv1: Conv1d

    init(_ ckpt: Checkpoint, _ prefix: String, outChannels dimension: Int, stride: Int) throws {
        resUnits = try [1, 3, 9].enumerated().map { index, dilation in
            try Xcodec2ResidualUnit(ckpt, "\(prefix).res_unit\(index + 1)", channels: dimension / 2, dilation: dilation)
        }
        snake1 = try AntiAliasedSnakeBeta(ckpt, prefix + ".snake1", channels: dimension / 2)
        conv1 = try Conv1d(
            ckpt, prefix + ".conv1", inChannels: dimension / 2, outChannels: dimension,
            kernel: 2 * stride, stride: stride, padding: (stride + 1) / 2)
    }

    /// x [dim/2, length] (overwritten) -> out [dim, outputLength].
    func callAsFunction(_ x: UnsafeMutablePointer<Float>, length t: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        for unit in resUnits { unit(x, length: t, workspace: workspace) }
        workspace.scope {
            let a = workspace.take(snake1.channels * t)
            snake1(x, length: t, out: a, workspace: workspace)
            conv1.channelMajor(a, length: t, out: out, workspace: workspace)
        }
    }
}

/// `Xcodec2Encoder`, the acoustic encoder: conv, strided blocks, snake, conv to hidden_size.
/// Input [padded samples], output [hidden, frames] channel-major.
struct AcousticEncoder {
    let conv1: Conv1d
    let blocks: [Xcodec2EncoderBlock]
    let snake1: AntiAliasedSnakeBeta
    let conv2: Conv1d
    let config: Xcodec2Config

    init(_ ckpt: Checkpoint, _ prefix: String, config: Xcodec2Config) throws {
        self.config = config
        let base = config.encoderHiddenSize
        conv1 = try Conv1d(ckpt, prefix + ".conv1", inChannels: 1, outChannels: base, kernel: 7, padding: 3)
        blocks = try config.downsamplingRatios.enumerated().map { index, stride in
            try Xcodec2EncoderBlock(ckpt, "\(prefix).block.\(index)", outChannels: base << (index + 1), stride: stride)
        }
        let dModel = base << config.downsamplingRatios.count
        snake1 = try AntiAliasedSnakeBeta(ckpt, prefix + ".snake1", channels: dModel)
        conv2 = try Conv1d(ckpt, prefix + ".conv2", inChannels: dModel, outChannels: config.hiddenSize, kernel: 3, padding: 1)
    }

    /// Channels and length after each stage, for sizing buffers and counting work.
    func lengths(samples: Int) -> [Int] {
        var t = samples
        var result = [t]
        for block in blocks { t = block.conv1.outputLength(t); result.append(t) }
        return result
    }

    func callAsFunction(_ audio: UnsafePointer<Float>, samples: Int, out: UnsafeMutablePointer<Float>, workspace: Workspace) {
        workspace.scope {
            var t = samples
            var channels = conv1.outChannels
            var x = workspace.take(channels * t)
            conv1.channelMajor(audio, length: t, out: x, workspace: workspace)
            for block in blocks {
                let next = block.conv1.outputLength(t)
                let y = workspace.take(block.conv1.outChannels * next)
                block(x, length: t, out: y, workspace: workspace)
                x = y
                t = next
                channels = block.conv1.outChannels
            }
            let a = workspace.take(channels * t)
            snake1(x, length: t, out: a, workspace: workspace)
            conv2.channelMajor(a, length: t, out: out, workspace: workspace)
        }
    }
}
