import CKernels

/// Vectorised transcendental functions on SIMD8<Float> (Cephes-style range reduction and polynomials),
/// accurate to a few ulp over the ranges the codec produces. The constants are the C kernels' (`ck_polynomials.h`),
/// so both compute the same functions.
enum VectorMath {
    typealias V = SIMD8<Float>

    /// 1.5 * 2^23: adding it to a float of magnitude below 2^22 leaves round-to-nearest-even(x) in the
    /// low mantissa bits, so integer conversion is a subtraction of bit patterns (Swift's generic
    /// SIMD float-to-int conversion is not vectorised).
    static let magic: Float = 12582912
    static let magicBits = SIMD8<Int32>(repeating: 0x4B40_0000)

    /// The integer value of an integral-valued float lane (|x| < 2^22).
    @inline(__always)
    static func integerBits(_ x: V) -> SIMD8<Int32> {
        unsafeBitCast(x + magic, to: SIMD8<Int32>.self) &- magicBits
    }

    @inline(__always)
    static func pow2i(_ n: SIMD8<Int32>) -> V {
        unsafeBitCast((n &+ 127) &<< 23, to: V.self)
    }

    /// Round half to even, for |x| < 2^22 (the generic SIMD `rounded` calls rintf lane by lane).
    @inline(__always)
    static func roundToInteger(_ x: V) -> V { (x + magic) - magic }

    /// e^x, relative error below 2 ulp for |x| < 87.
    @inline(__always)
    static func exp(_ input: V) -> V {
        var x0 = input.replacing(with: CK_EXP_MIN, where: input .< CK_EXP_MIN)
        x0.replace(with: CK_EXP_MAX, where: x0 .> CK_EXP_MAX)
        // n = round(x / ln 2) leaves |r| <= ln(2) / 2, where the polynomial is accurate.
        let fx = roundToInteger(x0 * CK_LOG2E)
        var x = x0 - fx * CK_LN2_HIGH
        x = x - fx * CK_LN2_LOW
        let z = x * x
        var y = V(repeating: CK_EXP_P0)
        y = y * x + CK_EXP_P1
        y = y * x + CK_EXP_P2
        y = y * x + CK_EXP_P3
        y = y * x + CK_EXP_P4
        y = y * x + CK_EXP_P5
        y = y * z + x + 1
        return y * pow2i(integerBits(fx))
    }

    /// x = q pi + r with q = round(x / pi), |r| <= pi/2: pi in three parts whose products with q are exact.
    @inline(__always)
    static func reducedByPi(_ x: V) -> (r: V, q: V) {
        let q = roundToInteger(x * CK_INVERSE_PI)
        var r = x - q * CK_PI_A
        r = r - q * CK_PI_B
        r = r - q * CK_PI_C
        return (r, q)
    }

    /// sin(x): reduction by multiples of pi in three exact parts (good to |x| ~ 1e5), then the odd
    /// Taylor polynomial to degree 13 on [-pi/2, pi/2].
    @inline(__always)
    static func sin(_ x: V) -> V {
        let (r, q) = reducedByPi(x)
        let r2 = r * r
        var p = V(repeating: CK_INVERSE_FACTORIAL_13)
        p = p * r2 - CK_INVERSE_FACTORIAL_11
        p = p * r2 + CK_INVERSE_FACTORIAL_9
        p = p * r2 - CK_INVERSE_FACTORIAL_7
        p = p * r2 + CK_INVERSE_FACTORIAL_5
        p = p * r2 - CK_INVERSE_FACTORIAL_3
        let s = r + r * r2 * p
        let odd = (integerBits(q) & 1) &<< 31
        return unsafeBitCast(unsafeBitCast(s, to: SIMD8<Int32>.self) ^ odd, to: V.self)
    }

    /// cos(x): the same reduction as `sin` (x = q pi + r, |r| <= pi/2), cos(x) = (-1)^q cos(r) with the even
    /// Taylor polynomial to degree 14.
    @inline(__always)
    static func cos(_ x: V) -> V {
        let (r, q) = reducedByPi(x)
        let r2 = r * r
        var p = V(repeating: -CK_INVERSE_FACTORIAL_14)
        p = p * r2 + CK_INVERSE_FACTORIAL_12
        p = p * r2 - CK_INVERSE_FACTORIAL_10
        p = p * r2 + CK_INVERSE_FACTORIAL_8
        p = p * r2 - CK_INVERSE_FACTORIAL_6
        p = p * r2 + CK_INVERSE_FACTORIAL_4
        p = p * r2 - 0.5
        let c = 1 + r2 * p
        let odd = (integerBits(q) & 1) &<< 31
        return unsafeBitCast(unsafeBitCast(c, to: SIMD8<Int32>.self) ^ odd, to: V.self)
    }

    /// 1 / (1 + e^-x).
    @inline(__always)
    static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }
}
