#ifndef CK_POLYNOMIALS_H
#define CK_POLYNOMIALS_H

// The constants of the vectorised exp, sin and cos (Cephes-style range reduction and polynomials): the one source
// for the C kernels (vector.h, ckernels.c) and for Swift's VectorMath, which imports these macros through CKernels.
// Each is a float literal; the Taylor coefficients are 1/n! rounded to float, as 1.0f / n! evaluates.

// e^x: x clamped to [CK_EXP_MIN, CK_EXP_MAX]; n = round(x log2 e); r = x - n ln 2 with ln 2 in two parts whose
// products with n are exact; e^r by a degree-5 polynomial in r (p0 r^5 + ... + p5 r + 1 as Horner steps); 2^n.
#define CK_EXP_MIN (-87.3f)
#define CK_EXP_MAX 88.3f
#define CK_LOG2E 1.44269504088896341f
#define CK_LN2_HIGH 0.693359375f
#define CK_LN2_LOW (-2.12194440e-4f)
#define CK_EXP_P0 1.9875691500e-4f
#define CK_EXP_P1 1.3981999507e-3f
#define CK_EXP_P2 8.3334519073e-3f
#define CK_EXP_P3 4.1665795894e-2f
#define CK_EXP_P4 1.6666665459e-1f
#define CK_EXP_P5 5.0000001201e-1f

// sin and cos: x = q pi + r with q = round(x / pi) and pi in three parts whose products with q are exact (good to
// |x| ~ 1e5); then Taylor polynomials on [-pi/2, pi/2] and the sign (-1)^q.
#define CK_INVERSE_PI 0.318309886183790671f
#define CK_PI_A 3.140625f
#define CK_PI_B 9.67502593994140625e-4f
#define CK_PI_C 1.509957990978376432e-7f
#define CK_INVERSE_FACTORIAL_3 0.166666672f
#define CK_INVERSE_FACTORIAL_4 0.0416666679f
#define CK_INVERSE_FACTORIAL_5 0.00833333377f
#define CK_INVERSE_FACTORIAL_6 0.00138888892f
#define CK_INVERSE_FACTORIAL_7 0.000198412701f
#define CK_INVERSE_FACTORIAL_8 2.48015876e-05f
#define CK_INVERSE_FACTORIAL_9 2.75573188e-06f
#define CK_INVERSE_FACTORIAL_10 2.755732e-07f
#define CK_INVERSE_FACTORIAL_11 2.50521079e-08f
#define CK_INVERSE_FACTORIAL_12 2.08767559e-09f
#define CK_INVERSE_FACTORIAL_13 1.60590444e-10f
#define CK_INVERSE_FACTORIAL_14 1.14707462e-11f

#endif
