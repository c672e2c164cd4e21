import CBLAS
import CKernels
import Concurrency
import Foundation

/// Dense kernels over contiguous row-major Float storage, built on `cblas_sgemm`.
enum Kernels {
    /// C[m, n] = alpha * op(A) * op(B) + beta * C, row-major.
    @inline(__always)
    static func gemm(
        transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// `nn.Linear` on time-major rows: out[rows, outF] = x[rows, inF] * W[outF, inF]^T + bias.
    static func linear(_ x: UnsafePointer<Float>, rows: Int, weight: Weight, bias: Weight?, out: UnsafeMutablePointer<Float>) {
        let outF = weight.shape[0], inF = weight.shape[1]
        if let bias { broadcastRows(bias.pointer, rows: rows, cols: outF, into: out) }
        gemm(
            transB: true, m: rows, n: outF, k: inF, a: x, lda: inF, b: weight.pointer, ldb: inF,
            beta: bias != nil ? 1 : 0, c: out, ldc: outF)
    }

    /// The decoder's attention in C (`attention.c`): the sizes of one layer's packed queries, keys and values.
    static func attentionShape(rows t: Int, heads: Int, kvHeads: Int, dim: Int) -> ck_attention_shape {
        ck_attention_shape_of(t, heads, kvHeads, dim)
    }

    /// Packs `rows` of every head (RoPE applied to queries and keys); the part that ends at `shape.t` zeroes the padding.
    static func attentionPack(
        _ shape: ck_attention_shape, _ inputs: ck_attention_inputs, rows: Range<Int>, into packed: ck_attention_packed
    ) {
        ck_attention_pack(shape, inputs, rows.lowerBound, rows.upperBound, packed)
    }

    /// softmax(scale q k^T) v of one head into its columns of `out` (row stride `ldo`); `scratch`: `shape.scratch` floats.
    static func attentionHead(
        _ shape: ck_attention_shape, _ packed: ck_attention_packed, head: Int, scale: Float, out: UnsafeMutablePointer<Float>,
        ldo: Int, scratch: UnsafeMutablePointer<Float>
    ) {
        ck_attention_head(shape, packed, head, scale, out, ldo, scratch)
    }

    /// The anti-aliased Snake's 2x upsampling and activation in C, built per x86-64 level (Swift's baseline SSE2 took
    /// ~3x as long): even[j] = snake(sum_r upEven[r] x[j+2-r]), odd[j] = snake(sum_r upOdd[r] x[j+3-r]), j < count.
    static func upsampleSnake(
        _ x: UnsafePointer<Float>, count: Int, even: UnsafeMutablePointer<Float>, odd: UnsafeMutablePointer<Float>,
        filter: ck_snake_upsampling
    ) {
        ck_upsample_snake(filter, x, count, even, odd)
    }

    /// out[j] = sum_k taps[k] z[2j + k - 5], with z[2i] = even[i], z[2i+1] = odd[i] (12 taps).
    static func downsample(
        even: UnsafePointer<Float>, odd: UnsafePointer<Float>, count: Int, out: UnsafeMutablePointer<Float>, taps: UnsafePointer<Float>
    ) {
        ck_downsample(even, odd, count, out, taps)
    }

    /// out[r, c] = v[c] for every row.
    static func broadcastRows(_ v: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (out + r * cols).update(from: v, count: cols) }
    }

    /// out[c, t] = v[c] for every column (channel-major bias).
    static func broadcastColumns(
        _ v: UnsafePointer<Float>, channels: Int, length: Int, ld: Int,
        into out: UnsafeMutablePointer<Float>
    ) {
        for c in 0..<channels { (out + c * ld).update(repeating: v[c], count: length) }
    }

    /// x += y, elementwise.
    @inline(__always)
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: a + b, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { x[i] += y[i]; i += 1 }
    }

    /// x *= factor, elementwise.
    @inline(__always)
    static func scale(_ x: UnsafeMutablePointer<Float>, by factor: Float, count: Int) {
        let s = SIMD8<Float>(repeating: factor)
        var i = 0
        while i + 8 <= count {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: a * s, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { x[i] *= factor; i += 1 }
    }

    /// x = x * scale + y, elementwise (the conformer's half-step residuals).
    @inline(__always)
    static func scaleAdd(_ x: UnsafeMutablePointer<Float>, scale: Float, _ y: UnsafePointer<Float>, count: Int) {
        let s = SIMD8<Float>(repeating: scale)
        var i = 0
        while i + 8 <= count {
            let a = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(x + i).storeBytes(of: a * s + b, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { x[i] = x[i] * scale + y[i]; i += 1 }
    }

    /// `nn.LayerNorm` over the last axis of [rows, cols], written to `out` (may alias `x`): the mean, then the mean
    /// square of the deviations (two passes, as torch), each summed in eight lanes.
    static func layerNorm(
        _ x: UnsafePointer<Float>, rows: Int, cols: Int, weight: Weight, bias: Weight,
        eps: Float, out: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD8<Float>
        let g = weight.pointer, b = bias.pointer
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ i: Int) -> V { UnsafeRawPointer(p + i).loadUnaligned(as: V.self) }
        let body = cols / 8 * 8
        for r in 0..<rows {
            let row = x + r * cols, dst = out + r * cols
            var lanes = V(repeating: 0)
            for c in stride(from: 0, to: body, by: 8) { lanes += load(row, c) }
            var sum = lanes.sum()
            for c in body..<cols { sum += row[c] }
            let mean = sum / Float(cols)
            lanes = V(repeating: 0)
            for c in stride(from: 0, to: body, by: 8) {
                let d = load(row, c) - mean
                lanes += d * d
            }
            var squares = lanes.sum()
            for c in body..<cols { let d = row[c] - mean; squares += d * d }
            let inv = 1 / (squares / Float(cols) + eps).squareRoot()
            for c in stride(from: 0, to: body, by: 8) {
                let v = (load(row, c) - mean) * inv * load(g, c) + load(b, c)
                UnsafeMutableRawPointer(dst + c).storeBytes(of: v, as: V.self)
            }
            for c in body..<cols { dst[c] = (row[c] - mean) * inv * g[c] + b[c] }
        }
    }

    /// SiLU (swish) in place.
    static func silu(_ x: UnsafeMutablePointer<Float>, count: Int) { ck_silu(x, count) }

    /// ReLU in place.
    static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count where x[i] < 0 { x[i] = 0 }
    }

    /// Numerically stable softmax of one row in place.
    static func softmaxRow(_ x: UnsafeMutablePointer<Float>, count: Int) { ck_softmax_rows(x, 1, count, count) }

    /// Transpose [rows, cols] into [cols, rows].
    static func transpose(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into out: UnsafeMutablePointer<Float>) {
        let tile = 32
        var r0 = 0
        while r0 < rows {
            var c0 = 0
            while c0 < cols {
                for r in r0..<min(r0 + tile, rows) {
                    for c in c0..<min(c0 + tile, cols) { out[c * rows + r] = x[r * cols + c] }
                }
                c0 += tile
            }
            r0 += tile
        }
    }
}

extension Kernels {
    /// dst += a * b, elementwise.
    @inline(__always)
    static func multiplyAdd(_ dst: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let x = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
            let y = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
            let z = UnsafeRawPointer(dst + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: z + x * y, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] += a[i] * b[i]; i += 1 }
    }
}

extension Parallel {
    /// Runs `body` over `workspace.threads` contiguous parts of 0..<count at once: for the elementwise work between
    /// BLAS calls, which would otherwise leave the other cores waiting. Below `minimum` items it stays on one thread.
    static func parts(_ count: Int, workspace: Workspace, minimum: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
        let n = max(1, min(workspace.threads, count / max(1, minimum)))
        run(n) { part in body((count * part / n)..<(count * (part + 1) / n)) }
    }

    /// The threads `items` and `blasItems` use for `count` items: per-thread scratch is sized by it.
    static func itemThreads(_ count: Int, workspace: Workspace) -> Int {
        workspace.ownsBLASThreads ? max(1, min(workspace.threads, count)) : 1
    }

    /// Runs `body(item, thread)` for every item in 0..<count, spread over `itemThreads` threads, after ending
    /// OpenBLAS's pool so that it does not spin on the cores they take. A worker of a multi-worker run
    /// (`ownsBLASThreads` false) runs the items in turn.
    static func items(_ count: Int, workspace: Workspace, _ body: (_ item: Int, _ thread: Int) -> Void) {
        let n = itemThreads(count, workspace: workspace)
        if n == 1 {
            for item in 0..<count { body(item, 0) }
            return
        }
        endBLASPool(workspace: workspace)
        run(n) { thread in
            for item in Swift.stride(from: thread, to: count, by: n) { body(item, thread) }
        }
    }

    /// `items` whose bodies call BLAS single-threaded: for many small products (one per attention head), where
    /// OpenBLAS's own threading costs more than it splits. OpenBLAS's thread count is process-wide, so it is 1 for
    /// the duration and restored after; a worker already given one BLAS thread changes nothing.
    static func blasItems(_ count: Int, workspace: Workspace, _ body: (_ item: Int, _ thread: Int) -> Void) {
        guard itemThreads(count, workspace: workspace) > 1 else { return items(count, workspace: workspace, body) }
        let previous = openblas_get_num_threads()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(previous) }
        items(count, workspace: workspace, body)
    }
}

extension Parallel {
    /// Ends OpenBLAS's thread pool before this worker's own threads take the cores: an idle pool thread spins for
    /// ~2^28 cycles (~0.1 s) after each threaded product before it sleeps, and so took a core from the per-head
    /// products and the activations that run between products (the heads ran ~1.5x slower). The next threaded
    /// product starts the pool again. Only a lone worker (`ownsBLASThreads`) may: the pool is process-wide.
    static func endBLASPool(workspace: Workspace) {
        if workspace.ownsBLASThreads && workspace.threads > 1 { openblas_end_thread_pool() }
    }
}
