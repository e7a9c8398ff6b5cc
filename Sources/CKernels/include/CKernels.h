#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Integer mat-vec kernels for the single-token step: the input vector is quantized to int8 per 32 values once
/// per product, then every stored row (ggml block layout, read in place) is dotted with it in integer arithmetic.

/// Block types with an integer kernel (values of `ck_matvec`'s `type`).
typedef enum {
    CK_Q4_0 = 0,
    CK_Q4_1 = 1,
    CK_Q5_0 = 2,
    CK_Q5_1 = 3,
    CK_Q8_0 = 4,
    CK_Q4_K = 5,
    CK_Q5_K = 6,
    CK_Q6_K = 7,
} ck_type;

/// Input rows a kernel call takes at once (prompt processing unpacks a weight row once for this many rows).
#define CK_NX 8

/// Q8_K: 256 input values as int8 levels with one scale (x ≈ d · q) and the levels' sums per 16 and per 32 values.
typedef struct {
    int8_t q[256];
    int16_t bsums[16];
    int16_t bsums32[8];
    float d;
    float pad[3];
} ck_q8k;

/// Quantizes x[n] (n a multiple of 256) per 256 values: d = max|x| / 127, q = round(x / d) (to nearest even).
void ck_quantize_q8k(const float *x, int n, ck_q8k *out);

/// The best kernel level of this CPU: 0 portable C, 1 AVX2, 2 AVX-512 VNNI (chosen once, at run time).
int ck_best_level(void);

/// K-quant products (Q4_K, Q5_K, Q6_K): out[t · ldOut + r] = row r · x row t for r in [r0, r1), t < nx; each row
/// holds nsb super-blocks and x row t is x + t · nsb (as `ck_quantize_q8k` left it). `level` ≤ ck_best_level().
void ck_gemm_k(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nsb, const ck_q8k *x, int nx,
               float *out, size_t ldOut, int level);

/// The 32-value block types (Q4_0 … Q8_0) for nx input rows: out[t · ldOut + r] = row r · x row t, x row t given
/// as ck_quantize_q8 left it in xd + t · nb, xq + 32 · t · nb, xs + t · nb. Every level runs the same
/// code (AVX2 where compiled with it, else portable C).
void ck_gemm(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nb, const float *xd,
             const int8_t *xq, const float *xs, int nx, float *out, size_t ldOut, int level);

/// Quantizes x[n] (n a multiple of 32) per 32-value block b: d[b] = max|x| / 127, q[32b + i] = round(x / d[b]),
/// s[b] = d[b] · Σ_i q[32b + i] (the block's sum as the integer products see it).
void ck_quantize_q8(const float *x, int n, float *d, int8_t *q, float *s);

/// The 32-value block types: out[r] = row r · x for r in [r0, r1); row r starts at w + r · rowBytes and holds nb · 32 values of `type`;
/// x is given as `ck_quantize_q8` left it (xd, xq, xs, each with nb blocks).
void ck_matvec(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nb,
               const float *xd, const int8_t *xq, const float *xs, float *out);

/// Top-k scans of a similarity tile. ck_scan_ge: the start of the first 32-value block of x[0 ..< n] holding a
/// value >= t (n when none; a block may run past a value >= t only within itself, so the caller re-checks
/// x[j ..< min(j + 32, n)]). ck_scan_rows_ge: over 16 adjacent columns (first ..< first + 16) of a row-major
/// tile with `cols` columns, the first row from `from` in steps of 8 rows whose 8-row group holds a value >= the
/// column's threshold t[0 ..< 16] (rows when none); the caller re-checks rows [i, i + 8).
int ck_scan_ge(const float *x, int n, float t);
int ck_scan_rows_ge(const float *tile, int rows, int cols, int first, int from, const float *t);

/// A similarity tile without BLAS (safe on any thread, whatever OpenBLAS's own threads do): c[i · ldc + j] =
/// Σ_k a[i · dim + k] · b[j · dim + k] for i < rows, j < cols, each a fused multiply-add chain over k in order from 0
/// (so a·b and b·a are bitwise equal). `pack` holds ck_dot_tile_pack_floats(cols, dim) floats of scratch (b is
/// copied into 16-column panels there).
size_t ck_dot_tile_pack_floats(int cols, int dim);
void ck_dot_tile(const float *a, int rows, const float *b, int cols, int dim, float *c, int ldc, float *pack);

/// The tiled int8 GEMM of prompt processing (ck_tiles.c), every block type. Values per scale block of its layout:
/// 16 for Q6_K, 32 for the others.
int ck_tile_block(ck_type type);

/// Bytes `ck_tile_quantize` writes for nx input rows of k values with block size B (16 or 32; k a multiple of B).
size_t ck_tile_x_bytes(int nx, int k, int B);

/// Quantizes nx rows of x (row t at x + t · ldx, k values) to int8 per B values, interleaved for 16 rows at a time
/// (`out`: ck_tile_x_bytes bytes, 4-byte aligned, best 64); writes the 16-row groups [grp0, grp1) of the (nx + 15) / 16
/// (rows past nx as zeros), so two threads can share the work.
void ck_tile_quantize(const float *x, int nx, int k, size_t ldx, int B, void *out, int grp0, int grp1);

/// out[t · ldOut + r] = W row r · x row t for r in [r0, r1), t < nx, with x as `ck_tile_quantize` left it (B =
/// ck_tile_block(type)); each row of W holds k values of `type` at w + r · rowBytes. level 2: AVX-512 VNNI register
/// tiles; below: portable code with the same integer sums.
void ck_tile_gemm(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int k, const void *xq, int nx,
                  float *out, size_t ldOut, int level);

#endif
