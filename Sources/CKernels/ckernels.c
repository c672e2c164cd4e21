// The exp is VectorMath.exp's (the constants of ck_polynomials.h) on 16-float vectors, so every clone computes
// the same function; the wider clones only add lanes and fused multiply-adds.
#include "ckernels.h"
#include <math.h>
#include <string.h>

#include "vector.h"

CLONES
void ck_softmax_rows(float *x, long rows, long count, long ld) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * ld;
        float sum = exp_minus_max_in_place(row, count);
        float inv = 1 / sum;
        long i = 0;
        for (; i + 16 <= count; i += 16) STORE(row + i, LOAD(row + i) * inv);
        for (; i < count; i++) row[i] *= inv;
    }
}

CLONES
void ck_silu(float *x, long count) {
    long i = 0;
    for (; i + 16 <= count; i += 16) {
        v16 v = LOAD(x + i);
        STORE(x + i, v / (1 + EXP16(-v)));
    }
    if (i < count) {
        float tail[16] = {0};
        long rest = count - i;
        memcpy(tail, x + i, rest * sizeof(float));
        v16 v = LOAD(tail);
        v = v / (1 + EXP16(-v));
        memcpy(x + i, &v, rest * sizeof(float));
    }
}

// sin(x): VectorMath.sin's reduction by multiples of pi in three exact parts, then its odd polynomial to degree 13
// (ck_polynomials.h).
#define SIN16(input)                                                                                   \
    ({                                                                                                 \
        v16 x_ = (input);                                                                              \
        v16 q_ = (x_ * CK_INVERSE_PI + MAGIC) - MAGIC;                                                 \
        v16 r_ = x_ - q_ * CK_PI_A;                                                                    \
        r_ = r_ - q_ * CK_PI_B;                                                                        \
        r_ = r_ - q_ * CK_PI_C;                                                                        \
        v16 r2_ = r_ * r_;                                                                             \
        v16 p_ = SPLAT(CK_INVERSE_FACTORIAL_13);                                                       \
        p_ = p_ * r2_ - CK_INVERSE_FACTORIAL_11;                                                       \
        p_ = p_ * r2_ + CK_INVERSE_FACTORIAL_9;                                                        \
        p_ = p_ * r2_ - CK_INVERSE_FACTORIAL_7;                                                        \
        p_ = p_ * r2_ + CK_INVERSE_FACTORIAL_5;                                                        \
        p_ = p_ * r2_ - CK_INVERSE_FACTORIAL_3;                                                        \
        v16 s_ = r_ + r_ * r2_ * p_;                                                                   \
        i16 odd_ = (((i16)(q_ + MAGIC) - (i16)SPLAT(MAGIC)) & 1) << 31;                                \
        (v16)((i16)s_ ^ odd_);                                                                         \
    })

// c0 * v0 + c1 * v1 + ... + c5 * v5, summed left to right: one phase of the upsampling filter.
#define DOT6(c, v0, v1, v2, v3, v4, v5) ((((((c##0 * (v0)) + c##1 * (v1)) + c##2 * (v2)) + c##3 * (v3)) + c##4 * (v4)) + c##5 * (v5))

// 16 outputs of each phase of the 2x upsampling, through the Snake: x points at the first input of the 16.
#define UPSAMPLE_SNAKE16(xp, even_out, odd_out)                                                        \
    do {                                                                                               \
        v16 xm3 = LOAD((xp) - 3), xm2 = LOAD((xp) - 2), xm1 = LOAD((xp) - 1), x0 = LOAD(xp);           \
        v16 xp1 = LOAD((xp) + 1), xp2 = LOAD((xp) + 2), xp3 = LOAD((xp) + 3);                          \
        v16 ue = DOT6(e, xp2, xp1, x0, xm1, xm2, xm3);                                                 \
        v16 uo = DOT6(o, xp3, xp2, xp1, x0, xm1, xm2);                                                 \
        v16 se = SIN16(ue * a), so = SIN16(uo * a);                                                    \
        STORE(even_out, ue + ib * se * se);                                                            \
        STORE(odd_out, uo + ib * so * so);                                                             \
    } while (0)

CLONES
void ck_upsample_snake(ck_snake_upsampling filter, const float *x, long count, float *even, float *odd) {
    const float *up_even = filter.up_even, *up_odd = filter.up_odd;
    v16 a = SPLAT(filter.alpha), ib = SPLAT(filter.inverse_beta);
    v16 e0 = SPLAT(up_even[0]), e1 = SPLAT(up_even[1]), e2 = SPLAT(up_even[2]);
    v16 e3 = SPLAT(up_even[3]), e4 = SPLAT(up_even[4]), e5 = SPLAT(up_even[5]);
    v16 o0 = SPLAT(up_odd[0]), o1 = SPLAT(up_odd[1]), o2 = SPLAT(up_odd[2]);
    v16 o3 = SPLAT(up_odd[3]), o4 = SPLAT(up_odd[4]), o5 = SPLAT(up_odd[5]);
    long j = 0;
    for (; j + 16 <= count; j += 16) UPSAMPLE_SNAKE16(x + j, even + j, odd + j);
    if (j < count) {  // the tail through a zero-padded window of the inputs it reads (x[j - 3] to x[count + 2])
        long rest = count - j;
        float window[16 + 6] = {0}, e[16], o[16];
        memcpy(window, x + j - 3, (rest + 6) * sizeof(float));
        UPSAMPLE_SNAKE16(window + 3, e, o);
        memcpy(even + j, e, rest * sizeof(float));
        memcpy(odd + j, o, rest * sizeof(float));
    }
}

CLONES
void ck_downsample(const float *even, const float *odd, long count, float *out, const float *down) {
    v16 d0 = SPLAT(down[0]), d1 = SPLAT(down[1]), d2 = SPLAT(down[2]), d3 = SPLAT(down[3]);
    v16 d4 = SPLAT(down[4]), d5 = SPLAT(down[5]), d6 = SPLAT(down[6]), d7 = SPLAT(down[7]);
    v16 d8 = SPLAT(down[8]), d9 = SPLAT(down[9]), d10 = SPLAT(down[10]), d11 = SPLAT(down[11]);
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        v16 acc = d0 * LOAD(odd + j - 3);
        acc = acc + d1 * LOAD(even + j - 2);
        acc = acc + d2 * LOAD(odd + j - 2);
        acc = acc + d3 * LOAD(even + j - 1);
        acc = acc + d4 * LOAD(odd + j - 1);
        acc = acc + d5 * LOAD(even + j);
        acc = acc + d6 * LOAD(odd + j);
        acc = acc + d7 * LOAD(even + j + 1);
        acc = acc + d8 * LOAD(odd + j + 1);
        acc = acc + d9 * LOAD(even + j + 2);
        acc = acc + d10 * LOAD(odd + j + 2);
        acc = acc + d11 * LOAD(even + j + 3);
        STORE(out + j, acc);
    }
    for (; j < count; j++) {
        float acc = down[0] * odd[j - 3];
        for (int k = 1; k < 12; k++) acc += down[k] * (k % 2 == 1 ? even[j + (k - 5) / 2] : odd[j + (k - 6) / 2]);
        out[j] = acc;
    }
}
