#ifndef CKERNELS_H
#define CKERNELS_H

#include "ck_polynomials.h"

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

/// The decoder's attention (ck_attention_pack, then ck_attention_head per head): queries in blocks of 48 rows, in
/// tiles of 6 rows x 64 keys; keys in panels of 64.
#define CK_ATTENTION_ROW_TILE 6
#define CK_ATTENTION_QUERY_BLOCK 48
#define CK_ATTENTION_KEY_PANEL 64

/// Rows of a head's packed queries (t rounded up to a row tile), columns of its packed keys (t rounded up to a
/// panel), floats per packed value row (dim rounded up to 64), and the floats of ck_attention_head's scratch.
long ck_attention_query_rows(long t);
long ck_attention_key_columns(long t);
long ck_attention_value_width(long dim);
long ck_attention_scratch(long t, long dim);

/// Packs rows row_start ..< row_end of q [t, heads * dim] and k, v [t, kv_heads * dim] (time-major), with RoPE
/// (cos and sin [heads, dim]) applied to q and k: q_packed [heads][q_rows][dim], k_packed [kv_heads][k_columns / 64]
/// [dim][64], v_packed [kv_heads][k_columns][v_width]. The call whose row_end is t also zeroes the padding.
void ck_attention_pack(
    const float *q, const float *k, const float *v, long t, long row_start, long row_end, long heads, long kv_heads,
    long dim, const float *cos, const float *sin, float *q_packed, long q_rows, float *k_packed, long k_columns,
    float *v_packed, long v_width);

/// softmax(scale * q k^T) v for one head of the packed layers (pointers at that head), into out [t, dim] with row
/// stride ldo.
void ck_attention_head(
    const float *q_packed, const float *k_packed, const float *v_packed, long t, long dim, float scale, float *out,
    long ldo, float *scratch);

#endif
