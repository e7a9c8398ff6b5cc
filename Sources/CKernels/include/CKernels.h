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

/// Quantizes x[n] (n a multiple of 32) per 32-value block b: d[b] = max|x| / 127, q[32b + i] = round(x / d[b]),
/// s[b] = d[b] · Σ_i q[32b + i] (the block's sum as the integer products see it).
void ck_quantize_q8(const float *x, int n, float *d, int8_t *q, float *s);

/// out[r] = row r · x for r in [r0, r1); row r starts at w + r · rowBytes and holds nb · 32 values of `type`;
/// x is given as `ck_quantize_q8` left it (xd, xq, xs, each with nb blocks).
void ck_matvec(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nb,
               const float *xd, const int8_t *xq, const float *xs, float *out);

#endif
