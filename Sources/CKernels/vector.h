// Shared by the kernels' source files: 16-float vectors, the per-level clones and the exp every clone computes alike.
#ifndef CKERNELS_VECTOR_H
#define CKERNELS_VECTOR_H

#include <math.h>

#include "ck_polynomials.h"

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int i16 __attribute__((ext_vector_type(16)));
typedef float v16u __attribute__((ext_vector_type(16), aligned(4)));

// 1.5 * 2^23: adding it rounds to the nearest even integer and leaves it in the low mantissa bits.
#define MAGIC 12582912.0f

#ifndef __has_feature
#define __has_feature(x) 0
#endif
// Not under ThreadSanitizer: it instruments the clones' ifunc resolvers, which the loader runs before the runtime
// is up (a crash at start-up); the ThreadSanitizer build checks the baseline clone.
#if defined(__x86_64__) && defined(__linux__) && !__has_feature(thread_sanitizer)
#define CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

// Macros rather than helper functions: a helper would be compiled for the baseline and pass 16-float vectors in
// memory (the compiler refuses the mismatched ABI), while a macro is compiled into each clone.
#define LOAD(p) (*(const v16u *)(p))
#define STORE(p, v) (*(v16u *)(p) = (v))
#define SPLAT(x) ((v16)(x))

// e^x, relative error below 2 ulp for |x| < 87 (inputs clamped to [-87.3, 88.3]).
#define EXP16(input)                                                                       \
    ({                                                                                     \
        v16 x0_ = __builtin_elementwise_min(__builtin_elementwise_max((input), SPLAT(CK_EXP_MIN)), SPLAT(CK_EXP_MAX)); \
        v16 fx_ = (x0_ * CK_LOG2E + MAGIC) - MAGIC;                                        \
        v16 x_ = x0_ - fx_ * CK_LN2_HIGH;                                                  \
        x_ = x_ - fx_ * CK_LN2_LOW;                                                        \
        v16 z_ = x_ * x_;                                                                  \
        v16 y_ = SPLAT(CK_EXP_P0);                                                         \
        y_ = y_ * x_ + CK_EXP_P1;                                                          \
        y_ = y_ * x_ + CK_EXP_P2;                                                          \
        y_ = y_ * x_ + CK_EXP_P3;                                                          \
        y_ = y_ * x_ + CK_EXP_P4;                                                          \
        y_ = y_ * x_ + CK_EXP_P5;                                                          \
        y_ = y_ * z_ + x_ + 1;                                                             \
        i16 bits_ = (((i16)(fx_ + MAGIC) - (i16)SPLAT(MAGIC)) + 127) << 23;                \
        y_ * (v16)bits_;                                                                   \
    })

// e^(x - max x) over row[0 ..< count], in place; returns their sum (the lanes added in order, the same in every
// clone). A static always-inline function, not a macro, since it passes no vectors: each clone inlines it and
// compiles its body with that clone's vectors.
static inline __attribute__((always_inline)) float exp_minus_max_in_place(float *row, long count) {
    long i = 0;
    v16 maxima = SPLAT(-INFINITY);
    for (; i + 16 <= count; i += 16) maxima = __builtin_elementwise_max(maxima, LOAD(row + i));
    float m = __builtin_reduce_max(maxima);
    for (; i < count; i++) m = fmaxf(m, row[i]);
    v16 sums = SPLAT(0);
    for (i = 0; i + 16 <= count; i += 16) {
        v16 e = EXP16(LOAD(row + i) - m);
        STORE(row + i, e);
        sums += e;
    }
    float sum = 0;
    for (int j = 0; j < 16; j++) sum += sums[j];
    if (i < count) {  // the tail through one padded vector
        float tail[16];
        long rest = count - i;
        for (long j = 0; j < 16; j++) tail[j] = j < rest ? row[i + j] - m : -INFINITY;
        v16 e = EXP16(LOAD(tail));
        for (long j = 0; j < rest; j++) {
            row[i + j] = e[j];
            sum += e[j];
        }
    }
    return sum;
}

#endif
