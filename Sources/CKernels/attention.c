// The decoder's self-attention per head, in cache-sized blocks: scores of 48 query rows against every key, their
// softmax, and the weighted sum of the values, on queries, keys and values packed once per layer (with RoPE) so that
// the inner loops read contiguous memory. Per-head OpenBLAS products ran at 60-80 GFLOP/s per core here: with a head
// width of 64 (K = 64 for the scores, N = 64 for the values) their packing and the T x T score traffic outweigh the
// arithmetic. Measured in one process, alternating decodes on the full-size model: the attention with its output
// projection took 1.12-1.19x less time at 10 s of audio and 1.14-1.31x at 30 s.
#include "ckernels.h"
#include <math.h>
#include <string.h>

#include "vector.h"

#define ROWS CK_ATTENTION_ROW_TILE
#define BLOCK CK_ATTENTION_QUERY_BLOCK
#define KEYS CK_ATTENTION_KEY_PANEL
// Value rows per pass of the weighted sum: 128 rows of 64 floats (32 KB) stay in L1 across a block's row tiles.
#define VALUE_BLOCK 128

static inline __attribute__((always_inline)) long round_up(long x, long to) { return (x + to - 1) / to * to; }

ck_attention_shape ck_attention_shape_of(long t, long heads, long kv_heads, long dim) {
    ck_attention_shape shape = {t, heads, kv_heads, dim, round_up(t, ROWS), round_up(t, KEYS), round_up(dim, 64), 0};
    shape.scratch = BLOCK * shape.k_columns + BLOCK * shape.v_width + BLOCK;
    return shape;
}

// RoPE as the reference's x * cos + rotate_half(x) * sin, one product per statement (no fused multiply-add), so
// every clone rounds as torch does; rotate_half(x) = (-x[half:], x[:half]), and a + (-b) = a - b exactly. Element d
// goes to out[d * stride]: 1 for a query row, the panel width for a key, which lands in its panel column directly.
// Inlined into each clone, like exp_minus_max_in_place.
static inline __attribute__((always_inline)) void rope(
    const float *x, const float *cos, const float *sin, long dim, float *out, long stride) {
    long half = dim / 2;
    for (long d = 0; d < half; d++) {
        float a = x[d] * cos[d];
        float b = x[d + half] * sin[d];
        out[d * stride] = a - b;
    }
    for (long d = half; d < dim; d++) {
        float a = x[d] * cos[d];
        float b = x[d - half] * sin[d];
        out[d * stride] = a + b;
    }
}

// acc[r][c] += a[r * lda + i] * b[i * ldb + 16 c ..< 16 c + 16] over i in 0 ..< count: a ROWS x 64 register tile,
// the inner loop of both the scores (a = queries, b = a key panel) and the weighted values (a = probabilities,
// b = value rows). Inlined into each clone, so the accumulators stay in that clone's registers.
static inline __attribute__((always_inline)) void accumulate_tile(
    v16 acc[ROWS][4], const float *a, long lda, const float *b, long ldb, long count) {
    for (long i = 0; i < count; i++) {
        const float *br = b + i * ldb;
        v16 b0 = LOAD(br), b1 = LOAD(br + 16), b2 = LOAD(br + 32), b3 = LOAD(br + 48);
        for (int r = 0; r < ROWS; r++) {
            v16 x = SPLAT(a[r * lda + i]);
            acc[r][0] += x * b0;
            acc[r][1] += x * b1;
            acc[r][2] += x * b2;
            acc[r][3] += x * b3;
        }
    }
}

CLONES
void ck_attention_pack(
    ck_attention_shape shape, ck_attention_inputs in, long row_start, long row_end, ck_attention_packed packed) {
    long t = shape.t, dim = shape.dim, q_rows = shape.q_rows, k_columns = shape.k_columns, v_width = shape.v_width;
    long q_width = shape.heads * dim, kv_width = shape.kv_heads * dim;
    for (long j = row_start; j < row_end; j++) {
        for (long h = 0; h < shape.heads; h++)
            rope(
                in.q + j * q_width + h * dim, in.cos + h * dim, in.sin + h * dim, dim, packed.q + (h * q_rows + j) * dim,
                1);
        for (long h = 0; h < shape.kv_heads; h++) {
            // Panel j / 64 of head h is [dim][64]: 64 keys side by side in the vector lanes.
            float *column = packed.k + h * k_columns * dim + (j / KEYS) * dim * KEYS + j % KEYS;
            rope(in.k + j * kv_width + h * dim, in.cos + h * dim, in.sin + h * dim, dim, column, KEYS);
            float *row = packed.v + (h * k_columns + j) * v_width;
            memcpy(row, in.v + j * kv_width + h * dim, dim * sizeof(float));
            memset(row + dim, 0, (v_width - dim) * sizeof(float));
        }
    }
    if (row_end == t) {  // padding: zero queries and keys score 0, and are never written out or summed
        for (long h = 0; h < shape.heads; h++)
            memset(packed.q + (h * q_rows + t) * dim, 0, (q_rows - t) * dim * sizeof(float));
        for (long h = 0; h < shape.kv_heads; h++)
            for (long j = t; j < k_columns; j++) {
                float *panel = packed.k + h * k_columns * dim + (j / KEYS) * dim * KEYS + j % KEYS;
                for (long d = 0; d < dim; d++) panel[d * KEYS] = 0;
            }
    }
}

CLONES
void ck_attention_head(
    ck_attention_shape shape, ck_attention_packed packed, long head, float scale, float *out, long ldo, float *scratch) {
    long t = shape.t, dim = shape.dim, k_columns = shape.k_columns, v_width = shape.v_width;
    long kv = head / (shape.heads / shape.kv_heads);
    const float *q_packed = packed.q + head * shape.q_rows * dim;
    const float *k_packed = packed.k + kv * k_columns * dim, *v_packed = packed.v + kv * k_columns * v_width;
    out += head * dim;
    float *scores = scratch, *context = scores + BLOCK * k_columns, *sums = context + BLOCK * v_width;
    for (long b0 = 0; b0 < t; b0 += BLOCK) {
        long rows = t - b0 < BLOCK ? t - b0 : BLOCK, tiled = round_up(rows, ROWS);
        const float *queries = q_packed + b0 * dim;
        // Scores: ROWS x 64 tiles, 24 accumulators.
        for (long j0 = 0; j0 < k_columns; j0 += KEYS) {
            const float *panel = k_packed + j0 * dim;
            for (long r0 = 0; r0 < tiled; r0 += ROWS) {
                v16 acc[ROWS][4];
                for (int r = 0; r < ROWS; r++)
                    for (int c = 0; c < 4; c++) acc[r][c] = SPLAT(0);
                accumulate_tile(acc, queries + r0 * dim, dim, panel, KEYS, dim);
                for (int r = 0; r < ROWS; r++)
                    for (int c = 0; c < 4; c++) STORE(scores + (r0 + r) * k_columns + j0 + 16 * c, acc[r][c] * scale);
            }
        }
        // e^(score - row maximum) over the t real keys, and the row sums; the division comes after the values.
        for (long r = 0; r < rows; r++) sums[r] = exp_minus_max_in_place(scores + r * k_columns, t);
        // Context: ROWS x 64 tiles over value rows in blocks that stay in L1, accumulated in `context`.
        for (long c0 = 0; c0 < v_width; c0 += 64) {
            for (long j0 = 0; j0 < t; j0 += VALUE_BLOCK) {
                long j1 = j0 + VALUE_BLOCK < t ? j0 + VALUE_BLOCK : t;
                for (long r0 = 0; r0 < tiled; r0 += ROWS) {
                    v16 acc[ROWS][4];
                    float *o = context + r0 * v_width + c0;
                    for (int r = 0; r < ROWS; r++)
                        for (int c = 0; c < 4; c++) acc[r][c] = j0 ? LOAD(o + r * v_width + 16 * c) : SPLAT(0);
                    const float *values = v_packed + j0 * v_width + c0;
                    accumulate_tile(acc, scores + r0 * k_columns + j0, k_columns, values, v_width, j1 - j0);
                    for (int r = 0; r < ROWS; r++)
                        for (int c = 0; c < 4; c++) STORE(o + r * v_width + 16 * c, acc[r][c]);
                }
            }
        }
        for (long r = 0; r < rows; r++) {
            float inverse = 1 / sums[r];
            float *row = out + (b0 + r) * ldo;
            for (long d = 0; d < dim; d++) row[d] = context[r * v_width + d] * inverse;
        }
    }
}
