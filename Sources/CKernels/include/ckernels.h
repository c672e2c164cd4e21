#ifndef CKERNELS_H
#define CKERNELS_H

// Elementwise kernels built once per x86-64 level (AVX-512, AVX2 + FMA, baseline SSE2) and picked at load time
// for the CPU at hand (target_clones); Swift compiles for the baseline only.

/// Softmax of each of `rows` rows of `count` floats (stride `ld`), in place.
void ck_softmax_rows(float *x, long rows, long count, long ld);

/// x = x / (1 + e^-x) for `count` floats.
void ck_silu(float *x, long count);

#endif
