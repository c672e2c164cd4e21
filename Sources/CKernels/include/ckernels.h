#ifndef CKERNELS_H
#define CKERNELS_H

// Elementwise kernels built once per x86-64 level (AVX-512, AVX2 + FMA, baseline SSE2) and picked at load time
// for the CPU at hand (target_clones); Swift compiles for the baseline only.

/// Softmax of each of `rows` rows of `count` floats (stride `ld`), in place.
void ck_softmax_rows(float *x, long rows, long count, long ld);

/// x = x / (1 + e^-x) for `count` floats.
void ck_silu(float *x, long count);

/// The anti-aliased Snake's 2x upsampling (6-tap phases `up_even`, `up_odd`) and activation
/// u + inverse_beta * sin^2(alpha * u): `count` outputs of each phase from x[-3] to x[count + 2].
void ck_upsample_snake(
    const float *x, long count, float *even, float *odd, const float *up_even, const float *up_odd, float alpha,
    float inverse_beta);

/// The 2x downsampling (12 taps `down`) of the interleaved phases: out[j] = sum_k down[k] z[2j + k - 5], with
/// z[2i] = even[i] and z[2i + 1] = odd[i], reading even[-2 ..< count + 3] and odd[-3 ..< count + 2].
void ck_downsample(const float *even, const float *odd, long count, float *out, const float *down);

#endif
