/// Vectorised transcendental functions on SIMD8<Float> (Cephes-style range reduction and polynomials),
/// accurate to a few ulp over the ranges the codec produces.
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
        var x0 = input.replacing(with: -87.3, where: input .< -87.3)
        x0.replace(with: 88.3, where: x0 .> 88.3)
        // n = round(x / ln 2) leaves |r| <= ln(2) / 2, where the polynomial is accurate.
        let fx = roundToInteger(x0 * 1.44269504088896341)
        var x = x0 - fx * 0.693359375
        x = x - fx * -2.12194440e-4
        let z = x * x
        var y = V(repeating: 1.9875691500e-4)
        y = y * x + 1.3981999507e-3
        y = y * x + 8.3334519073e-3
        y = y * x + 4.1665795894e-2
        y = y * x + 1.6666665459e-1
        y = y * x + 5.0000001201e-1
        y = y * z + x + 1
        return y * pow2i(integerBits(fx))
    }

    /// x = q pi + r with q = round(x / pi), |r| <= pi/2: pi in three parts whose products with q are exact.
    @inline(__always)
    static func reducedByPi(_ x: V) -> (r: V, q: V) {
        let q = roundToInteger(x * 0.318309886183790671)
        var r = x - q * 3.140625
        r = r - q * 9.67502593994140625e-4
        r = r - q * 1.509957990978376432e-7
        return (r, q)
    }

    /// sin(x): reduction by multiples of pi in three exact parts (good to |x| ~ 1e5), then the odd
    /// Taylor polynomial to degree 13 on [-pi/2, pi/2].
    @inline(__always)
    static func sin(_ x: V) -> V {
        let (r, q) = reducedByPi(x)
        let r2 = r * r
        var p = V(repeating: 1.0 / 6227020800.0)
        p = p * r2 - 1.0 / 39916800.0
        p = p * r2 + 1.0 / 362880.0
        p = p * r2 - 1.0 / 5040.0
        p = p * r2 + 1.0 / 120.0
        p = p * r2 - 1.0 / 6.0
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
        var p = V(repeating: -1.0 / 87178291200.0)
        p = p * r2 + 1.0 / 479001600.0
        p = p * r2 - 1.0 / 3628800.0
        p = p * r2 + 1.0 / 40320.0
        p = p * r2 - 1.0 / 720.0
        p = p * r2 + 1.0 / 24.0
        p = p * r2 - 0.5
        let c = 1 + r2 * p
        let odd = (integerBits(q) & 1) &<< 31
        return unsafeBitCast(unsafeBitCast(c, to: SIMD8<Int32>.self) ^ odd, to: V.self)
    }

    /// 1 / (1 + e^-x).
    @inline(__always)
    static func sigmoid(_ x: V) -> V { 1 / (1 + exp(-x)) }
}
