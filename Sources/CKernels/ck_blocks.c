// The int8 quantization of the input vector, the row loop, and the 32-value block types
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0). Layouts per 32 values (ggml): Q4_0 = f16 d, 16 nibble bytes (value j: low nibble
// of byte j, value 16 + j: high nibble), w = d·(q − 8); Q4_1 = f16 d, f16 m, nibbles, w = d·q + m;
// Q5_0 = f16 d, u32 fifth bits (bit j for value j), nibbles, w = d·(q − 16); Q5_1 = f16 d, f16 m, u32, nibbles,
// w = d·q + m; Q8_0 = f16 d, 32 int8, w = d·q.

#include "ck_common.h"

void ck_quantize_q8(const float *x, int n, float *d, int8_t *q, float *s) {
    for (int b = 0; b < n / 32; b++) {
        const float *xb = x + 32 * b;
#if defined(__AVX2__)
        const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
        __m256 v[4], mx = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            mx = _mm256_max_ps(mx, _mm256_and_ps(v[k], absMask));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        __m256 vid = _mm256_set1_ps(id);
        __m256i i[4];
        for (int k = 0; k < 4; k++) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid)); // round to nearest even
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(i[0], i[1]), _mm256_add_epi32(i[2], i[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        // Packing works per 128-bit lane: 4-value groups come out as i0a i1a i2a i3a i0b i1b i2b i3b.
        __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
        p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)(q + 32 * b), p);
        d[b] = amax / 127.0f;
        s[b] = d[b] * (float)_mm_cvtsi128_si32(s4);
#else
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            float a = xb[j] < 0 ? -xb[j] : xb[j];
            if (a > amax) amax = a;
        }
        float id = amax > 0 ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            float v = xb[j] * id;
            int l = (int)(v + (v >= 0 ? 0.5f : -0.5f));
            q[32 * b + j] = (int8_t)l;
            sum += l;
        }
        d[b] = amax / 127.0f;
        s[b] = d[b] * (float)sum;
#endif
    }
}

void ck_matvec(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nb,
               const float *xd, const int8_t *xq, const float *xs, float *out) {
    const uint8_t *base = (const uint8_t *)w;
    for (int r = r0; r < r1; r++) {
        const uint8_t *row = base + (size_t)r * rowBytes;
        switch (type) {
        case CK_Q4_0: out[r] = ck_dot_q4_0(row, xd, xq, xs, nb); break;
        case CK_Q4_1: out[r] = ck_dot_q4_1(row, xd, xq, xs, nb); break;
        case CK_Q5_0: out[r] = ck_dot_q5(row, xd, xq, xs, nb, 0); break;
        case CK_Q5_1: out[r] = ck_dot_q5(row, xd, xq, xs, nb, 1); break;
        case CK_Q8_0: out[r] = ck_dot_q8_0(row, xd, xq, nb); break;
        case CK_Q4_K: case CK_Q5_K: case CK_Q6_K: out[r] = __builtin_nanf(""); break; // not this layout: ck_gemm_k
        }
    }
}

void ck_gemm(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nb, const float *xd,
             const int8_t *xq, const float *xs, int nx, float *out, size_t ldOut, int level) {
    // One code path at every level: with AVX-512 VNNI, vpdpbusd on 32-value blocks measured slower than the AVX2
    // maddubs kernels here (one float scale per block dominates either way).
    (void)level;
    // Blocks of weight rows stay in L1/L2 while every input row passes over them.
    const int rowBlock = 16;
    for (int rb = r0; rb < r1; rb += rowBlock) {
        int re = rb + rowBlock < r1 ? rb + rowBlock : r1;
        for (int t = 0; t < nx; t++) {
            const float *xdt = xd + (size_t)t * nb, *xst = xs + (size_t)t * nb;
            const int8_t *xqt = xq + (size_t)t * nb * 32;
            ck_matvec(type, w, rowBytes, rb, re, nb, xdt, xqt, xst, out + (size_t)t * ldOut);
        }
    }
}

int ck_best_level(void) {
#if defined(__AVX2__)
    return ck_has_avx512vnni() ? 2 : 1;
#else
    return 0;
#endif
}

void ck_gemm_k(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int nsb, const ck_q8k *x, int nx,
               float *out, size_t ldOut, int level) {
    const uint8_t *base = (const uint8_t *)w;
    const int rowBlock = 16;
    for (int rb = r0; rb < r1; rb += rowBlock) {
        int re = rb + rowBlock < r1 ? rb + rowBlock : r1;
        for (int t = 0; t < nx; t += CK_NX) {
            int n = nx - t < CK_NX ? nx - t : CK_NX;
            for (int r = rb; r < re; r++) {
                ck_k_rows(type, base + (size_t)r * rowBytes, nsb, x + (size_t)t * nsb, nsb, n,
                          out + (size_t)t * ldOut + r, ldOut, level);
            }
        }
    }
}

#if !defined(__AVX2__)
/// Σ level · x-level of one 32-value nibble block (with fifth bits qh when given).
static int ck_nibble_dot(const uint8_t *qs, const uint8_t *qh, const int8_t *x) {
    int8_t levels[32];
    ck_unpack_nibbles(qs, qh, 0, levels);
    int sum = 0;
    for (int j = 0; j < 32; j++) sum += levels[j] * x[j];
    return sum;
}
#endif

// Σ_b d_w·d_x·Σ q·x_q − 8·Σ_b d_w·s_x.
float ck_dot_q4_0(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb) {
    float offset = 0;
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 18 * b;
        float dw = ck_half(blk);
        __m256 p = ck_dot_us(ck_nibbles(blk + 2), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd[b]), p, acc);
        offset += dw * xs[b];
    }
    return ck_hsum(acc) - 8 * offset;
#else
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 18 * b;
        float dw = ck_half(blk);
        acc += dw * xd[b] * (float)ck_nibble_dot(blk + 2, NULL, xq + 32 * b);
        offset += dw * xs[b];
    }
    return acc - 8 * offset;
#endif
}

// Σ_b d_w·d_x·Σ q·x_q + Σ_b m_w·s_x.
float ck_dot_q4_1(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb) {
    float mins = 0;
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 20 * b;
        __m256 p = ck_dot_us(ck_nibbles(blk + 4), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ck_half(blk) * xd[b]), p, acc);
        mins += ck_half(blk + 2) * xs[b];
    }
    return ck_hsum(acc) + mins;
#else
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 20 * b;
        acc += ck_half(blk) * xd[b] * (float)ck_nibble_dot(blk + 4, NULL, xq + 32 * b);
        mins += ck_half(blk + 2) * xs[b];
    }
    return acc + mins;
#endif
}

// Q5_0: Σ_b d_w·d_x·Σ q·x_q − 16·Σ_b d_w·s_x; Q5_1: … + Σ_b m_w·s_x.
float ck_dot_q5(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb, int withMin) {
    const int bytes = withMin ? 24 : 22, header = withMin ? 4 : 2;
    float offset = 0;
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + bytes * b;
        float dw = ck_half(blk);
        uint32_t qh;
        memcpy(&qh, blk + header, 4);
        __m256i q = _mm256_or_si256(ck_nibbles(blk + header + 4), ck_bits_to_0x10(qh));
        __m256 p = ck_dot_us(q, _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * xd[b]), p, acc);
        offset += (withMin ? ck_half(blk + 2) : -16 * dw) * xs[b];
    }
    return ck_hsum(acc) + offset;
#else
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + bytes * b;
        float dw = ck_half(blk);
        acc += dw * xd[b] * (float)ck_nibble_dot(blk + header + 4, blk + header, xq + 32 * b);
        offset += (withMin ? ck_half(blk + 2) : -16 * dw) * xs[b];
    }
    return acc + offset;
#endif
}

// Σ_b d_w·d_x·Σ q_w·q_x.
float ck_dot_q8_0(const uint8_t *row, const float *xd, const int8_t *xq, int nb) {
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 34 * b;
        __m256 p = ck_dot_ss(_mm256_loadu_si256((const __m256i *)(blk + 2)), _mm256_loadu_si256((const __m256i *)(xq + 32 * b)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ck_half(blk) * xd[b]), p, acc);
    }
    return ck_hsum(acc);
#else
    float acc = 0;
    for (int b = 0; b < nb; b++) {
        const uint8_t *blk = row + 34 * b;
        int sum = 0;
        for (int j = 0; j < 32; j++) sum += (int8_t)blk[2 + j] * xq[32 * b + j];
        acc += ck_half(blk) * xd[b] * (float)sum;
    }
    return acc;
#endif
}
