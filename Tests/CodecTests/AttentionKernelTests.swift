import CKernels
import Foundation
import XCTest

/// The decoder's attention kernel (`ck_attention_pack`, then `ck_attention_head` per head; whichever clone this CPU
/// runs) against RoPE, scaled scores, softmax and the weighted values in Double: lengths around every tile, block and
/// panel edge, head widths below, at and above one 64-float value tile, and grouped key/value heads. Every buffer the
/// kernel owns starts as NaN, so a padding it reads without writing shows in the output.
final class AttentionKernelTests: XCTestCase {
    private var generator = SystemRandomNumberGenerator()

    func testAttentionMatchesDouble() {
        let lengths = [1, 2, 5, 6, 7, 16, 17, 47, 48, 49, 63, 64, 65, 100, 130, 300]
        for (dim, heads, kvHeads) in [(8, 4, 4), (32, 2, 2), (64, 3, 3), (80, 4, 2)] {
            for t in lengths { check(t: t, dim: dim, heads: heads, kvHeads: kvHeads) }
        }
    }

    private func check(t: Int, dim: Int, heads: Int, kvHeads: Int) {
        let qWidth = heads * dim, kvWidth = kvHeads * dim, half = dim / 2
        let scale = 1 / Float(dim).squareRoot()
        let q = (0..<(t * qWidth)).map { _ in Float.random(in: -2...2, using: &generator) }
        let k = (0..<(t * kvWidth)).map { _ in Float.random(in: -2...2, using: &generator) }
        let v = (0..<(t * kvWidth)).map { _ in Float.random(in: -2...2, using: &generator) }
        let angles = (0..<(heads * dim)).map { _ in Float.random(in: -3...3, using: &generator) }
        let cosines = angles.map { Foundation.cos($0) }, sines = angles.map { Foundation.sin($0) }

        let shape = ck_attention_shape_of(t, heads, kvHeads, dim)
        let packed = ck_attention_packed(
            q: .allocate(capacity: heads * shape.q_rows * dim), k: .allocate(capacity: kvHeads * shape.k_columns * dim),
            v: .allocate(capacity: kvHeads * shape.k_columns * shape.v_width))
        defer { [packed.q, packed.k, packed.v].forEach { $0?.deallocate() } }
        packed.q.initialize(repeating: .nan, count: heads * shape.q_rows * dim)
        packed.k.initialize(repeating: .nan, count: kvHeads * shape.k_columns * dim)
        packed.v.initialize(repeating: .nan, count: kvHeads * shape.k_columns * shape.v_width)
        var scratch = [Float](repeating: .nan, count: shape.scratch)
        let ldo = qWidth + 3  // a gap after each row, which must stay as it was
        var out = [Float](repeating: -7, count: t * ldo)
        q.withUnsafeBufferPointer { qs in
            k.withUnsafeBufferPointer { ks in
                v.withUnsafeBufferPointer { vs in
                    cosines.withUnsafeBufferPointer { cs in
                        sines.withUnsafeBufferPointer { ss in
                            let inputs = ck_attention_inputs(
                                q: qs.baseAddress!, k: ks.baseAddress!, v: vs.baseAddress!, cos: cs.baseAddress!, sin: ss.baseAddress!)
                            // Two parts split off a 16-row boundary, as no caller does: the packing must not depend on
                            // where parts start.
                            let split = t / 3
                            for rows in [0..<split, split..<t] where !rows.isEmpty {
                                ck_attention_pack(shape, inputs, rows.lowerBound, rows.upperBound, packed)
                            }
                        }
                    }
                }
            }
        }
        for head in 0..<heads { ck_attention_head(shape, packed, head, scale, &out, ldo, &scratch) }

        func rotated(_ x: [Float], row: Int, width: Int, head: Int, table: Int) -> [Double] {
            (0..<dim).map { d in
                let value = Double(x[row * width + head * dim + d])
                let partner = d < half ? -Double(x[row * width + head * dim + d + half]) : Double(x[row * width + head * dim + d - half])
                return value * Double(cosines[table * dim + d]) + partner * Double(sines[table * dim + d])
            }
        }
        for head in 0..<heads {
            let kv = head / (heads / kvHeads)
            let keys = (0..<t).map { rotated(k, row: $0, width: kvWidth, head: kv, table: kv) }
            for i in 0..<t {
                let query = rotated(q, row: i, width: qWidth, head: head, table: head)
                let scores = keys.map { key in Double(scale) * zip(query, key).map { $0 * $1 }.reduce(0, +) }
                let m = scores.max()!
                let weights = scores.map { Foundation.exp($0 - m) }, sum = weights.reduce(0, +)
                for d in 0..<dim {
                    var expected = 0.0
                    for j in 0..<t { expected += weights[j] * Double(v[j * kvWidth + kv * dim + d]) }
                    expected /= sum
                    let got = Double(out[i * ldo + head * dim + d])
                    XCTAssertEqual(got, expected, accuracy: 2e-5, "t \(t) dim \(dim) head \(head) row \(i) col \(d)")
                    if abs(got - expected) > 2e-5 { return }  // one report per case, not thousands
                }
            }
        }
        for i in 0..<t {
            for c in qWidth..<ldo { XCTAssertEqual(out[i * ldo + c], -7, "t \(t) dim \(dim): gap after row \(i) written") }
        }
    }
}
