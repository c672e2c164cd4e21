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
}
