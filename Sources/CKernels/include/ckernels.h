#ifndef CKERNELS_H
#define CKERNELS_H

#include "ck_polynomials.h"

// Elementwise kernels built once per x86-64 level (AVX-512, AVX2 + FMA, baseline SSE2) and picked at load time
// for the CPU at hand (target_clones); Swift compiles for the baseline only.

/// Softmax of each of `rows` rows of `count` floats (stride `ld`), in place.
void ck_softmax_rows(float *x, long rows, long count, long ld);

/// x = x / (1 + e^-x) for `count` floats.
void ck_silu(float *x, long count);

/// The anti-aliased Snake's 2x upsampling filter (6-tap phases) and its activation's parameters.
typedef struct {
    const float *up_even, *up_odd;
    float alpha, inverse_beta;
} ck_snake_upsampling;

/// The upsampling and the activation u + inverse_beta * sin^2(alpha * u): `count` outputs of each phase from x[-3]
/// to x[count + 2].
void ck_upsample_snake(ck_snake_upsampling filter, const float *x, long count, float *even, float *odd);

/// The 2x downsampling (12 taps `down`) of the interleaved phases: out[j] = sum_k down[k] z[2j + k - 5], with
/// z[2i] = even[i] and z[2i + 1] = odd[i], reading even[-2 ..< count + 3] and odd[-3 ..< count + 2].
void ck_downsample(const float *even, const float *odd, long count, float *out, const float *down);

/// The decoder's attention (ck_attention_pack, then ck_attention_head per head): queries in blocks of 48 rows, in
/// tiles of 6 rows x 64 keys; keys in panels of 64.
#define CK_ATTENTION_ROW_TILE 6
#define CK_ATTENTION_QUERY_BLOCK 48
#define CK_ATTENTION_KEY_PANEL 64

/// One attention layer's sizes: t rows; heads query heads and kv_heads key/value heads (heads a multiple of it), of
/// dim floats each; and what ck_attention_shape_of derives from them.
typedef struct {
    long t, heads, kv_heads, dim;
    /// Rows of a head's packed queries (t rounded up to a row tile), columns of its packed keys (t rounded up to a
    /// panel), floats per packed value row (dim rounded up to 64), floats of ck_attention_head's scratch.
    long q_rows, k_columns, v_width, scratch;
} ck_attention_shape;

/// The projections, time-major: q [t, heads * dim], k and v [t, kv_heads * dim]; RoPE's cos and sin [heads, dim].
typedef struct {
    const float *q, *k, *v, *cos, *sin;
} ck_attention_inputs;

/// Every head packed: q [heads][q_rows][dim], k [kv_heads][k_columns / 64][dim][64], v [kv_heads][k_columns][v_width].
typedef struct {
    float *q, *k, *v;
} ck_attention_packed;

ck_attention_shape ck_attention_shape_of(long t, long heads, long kv_heads, long dim);

/// Packs rows row_start ..< row_end of every head, with RoPE applied to q and k. The call whose row_end is t also
/// zeroes the padding.
void ck_attention_pack(
    ck_attention_shape shape, ck_attention_inputs in, long row_start, long row_end, ck_attention_packed packed);

/// softmax(scale * q k^T) v of query head `head` (and its key/value head) into columns head * dim ..< (head + 1) * dim
/// of out [t, ldo]; `scratch` holds shape.scratch floats.
void ck_attention_head(
    ck_attention_shape shape, ck_attention_packed packed, long head, float scale, float *out, long ldo, float *scratch);

#endif
