import CKernels
import Foundation
import XCTest

/// The C elementwise kernels (whichever clone this CPU runs) against the same functions in Double: every length
/// from 1 to 40 (the 16-lane body and every tail), a decoder-sized row, and inputs up to where exp saturates.
final class ElementwiseKernelTests: XCTestCase {
    private var generator = SystemRandomNumberGenerator()

    func testSoftmaxRowsMatchDoubleSoftmax() {
        for count in Array(1...40) + [500] {
            let rows = 3, ld = count + 5
            var x = (0..<(rows * ld)).map { _ in Float.random(in: -30...30, using: &generator) }
            let input = x
            x.withUnsafeMutableBufferPointer { ck_softmax_rows($0.baseAddress!, rows, count, ld) }
            for r in 0..<rows {
                let row = input[(r * ld)..<(r * ld + count)].map(Double.init)
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let sum = e.reduce(0, +)
                for c in 0..<count {
                    let expected = e[c] / sum, got = Double(x[r * ld + c])
                    // Float softmax rounds x - max first: a relative error of |x - max| * 2^-23 in its exp.
                    let tolerance = expected * (1e-6 + abs(row[c] - m) * 1.2e-7) + 1e-37
                    XCTAssertEqual(got, expected, accuracy: tolerance, "count \(count) row \(r) col \(c)")
                }
                // The gap between rows is left alone.
                for c in count..<ld { XCTAssertEqual(x[r * ld + c], input[r * ld + c]) }
            }
        }
    }

    func testSiluMatchesDoubleSilu() {
        for count in Array(1...40) + [4099] {
            var x = (0..<count).map { _ in Float.random(in: -90...90, using: &generator) }
            x[0] = 0
            let input = x
            x.withUnsafeMutableBufferPointer { ck_silu($0.baseAddress!, count) }
            for i in 0..<count {
                let v = Double(input[i]), expected = v / (1 + Foundation.exp(-v))
                XCTAssertEqual(Double(x[i]), expected, accuracy: 2e-6 * abs(expected) + 1e-30, "count \(count) index \(i): silu(\(v))")
            }
        }
    }

    /// The Snake's upsampling phases and activation, and the downsampling, against Double sums and sin. The
    /// tolerance is float rounding of the sums (their absolute terms) and of sin's argument (|alpha u| * 2^-23).
    func testSnakeResamplingMatchesDouble() {
        let upEven: [Float] = (0..<6).map { _ in Float.random(in: -0.3...0.6, using: &generator) }
        let upOdd: [Float] = (0..<6).map { _ in Float.random(in: -0.3...0.6, using: &generator) }
        let down: [Float] = (0..<12).map { _ in Float.random(in: -0.2...0.4, using: &generator) }
        let alpha: Float = 1.7, inverseBeta: Float = 0.8
        for count in Array(1...40) + [2048] {
            // x[-3 ..< count + 3], addressed from x + 3.
            let x = (0..<(count + 6)).map { _ in Float.random(in: -3...3, using: &generator) }
            var even = [Float](repeating: .nan, count: count + 6), odd = even
            even.withUnsafeMutableBufferPointer { e in
                odd.withUnsafeMutableBufferPointer { o in
                    x.withUnsafeBufferPointer { xs in
                        upEven.withUnsafeBufferPointer { ue in
                            upOdd.withUnsafeBufferPointer { uo in
                                let filter = ck_snake_upsampling(
                                    up_even: ue.baseAddress!, up_odd: uo.baseAddress!, alpha: alpha, inverse_beta: inverseBeta)
                                ck_upsample_snake(filter, xs.baseAddress! + 3, count, e.baseAddress! + 3, o.baseAddress! + 3)
                            }
                        }
                    }
                }
            }
            func snake(_ taps: [Float], from offset: Int, _ j: Int) -> (Double, Double) {
                var u = 0.0, magnitude = 0.0
                for r in 0..<6 {
                    let term = Double(taps[r]) * Double(x[3 + j + offset - r])
                    u += term
                    magnitude += abs(term)
                }
                let s = Foundation.sin(u * Double(alpha))
                let tolerance = 1e-6 * magnitude * (1 + 2 * Double(inverseBeta) * Double(alpha)) + 2e-7 * abs(u * Double(alpha)) + 1e-6
                return (u + Double(inverseBeta) * s * s, tolerance)
            }
            for j in 0..<count {
                let (e, eTolerance) = snake(upEven, from: 2, j), (o, oTolerance) = snake(upOdd, from: 3, j)
                XCTAssertEqual(Double(even[3 + j]), e, accuracy: eTolerance, "count \(count) even \(j)")
                XCTAssertEqual(Double(odd[3 + j]), o, accuracy: oTolerance, "count \(count) odd \(j)")
            }
            // Nothing is written outside the outputs.
            XCTAssertTrue(even[0..<3].allSatisfy(\.isNaN) && even[(count + 3)...].allSatisfy(\.isNaN), "count \(count)")

            // Downsampling reads even[-2 ..< count + 3] and odd[-3 ..< count + 2].
            let phases = (0..<(2 * (count + 6))).map { _ in Float.random(in: -2...2, using: &generator) }
            let evenIn = Array(phases[..<(count + 6)]), oddIn = Array(phases[(count + 6)...])
            var out = [Float](repeating: .nan, count: count)
            evenIn.withUnsafeBufferPointer { e in
                oddIn.withUnsafeBufferPointer { o in
                    ck_downsample(e.baseAddress! + 3, o.baseAddress! + 3, count, &out, down)
                }
            }
            for j in 0..<count {
                var expected = 0.0, magnitude = 0.0
                for k in 0..<12 {
                    let z = k % 2 == 1 ? evenIn[3 + j + (k - 5) / 2] : oddIn[3 + j + (k - 6) / 2]
                    expected += Double(down[k]) * Double(z)
                    magnitude += abs(Double(down[k]) * Double(z))
                }
                XCTAssertEqual(Double(out[j]), expected, accuracy: 1e-6 * magnitude + 1e-7, "count \(count) down \(j)")
            }
        }
    }
}
