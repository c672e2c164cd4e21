// Shared by the kernels' source files: 16-float vectors, the per-level clones and the exp every clone computes alike.
#ifndef CKERNELS_VECTOR_H
#define CKERNELS_VECTOR_H

typedef float v16 __attribute__((ext_vector_type(16)));
typedef int i16 __attribute__((ext_vector_type(16)));
typedef float v16u __attribute__((ext_vector_type(16), aligned(4)));

// 1.5 * 2^23: adding it rounds to the nearest even integer and leaves it in the low mantissa bits.
#define MAGIC 12582912.0f

#if defined(__x86_64__) && defined(__linux__)
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
        v16 x0_ = __builtin_elementwise_min(__builtin_elementwise_max((input), SPLAT(-87.3f)), SPLAT(88.3f)); \
        v16 fx_ = (x0_ * 1.44269504088896341f + MAGIC) - MAGIC;                            \
        v16 x_ = x0_ - fx_ * 0.693359375f;                                                 \
        x_ = x_ - fx_ * -2.12194440e-4f;                                                   \
        v16 z_ = x_ * x_;                                                                  \
        v16 y_ = SPLAT(1.9875691500e-4f);                                                  \
        y_ = y_ * x_ + 1.3981999507e-3f;                                                   \
        y_ = y_ * x_ + 8.3334519073e-3f;                                                   \
        y_ = y_ * x_ + 4.1665795894e-2f;                                                   \
        y_ = y_ * x_ + 1.6666665459e-1f;                                                   \
        y_ = y_ * x_ + 5.0000001201e-1f;                                                   \
        y_ = y_ * z_ + x_ + 1;                                                             \
        i16 bits_ = (((i16)(fx_ + MAGIC) - (i16)SPLAT(MAGIC)) + 127) << 23;                \
        y_ * (v16)bits_;                                                                   \
    })

#endif
