#ifndef CK_COMMON_H
#define CK_COMMON_H

// Helpers shared by the kernel files (not part of the public header).

#include "CKernels.h"
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

/// 32 levels of a nibble block (low nibbles then high) with optional fifth bits, minus `offset`; returns Σ levels.
static inline int ck_unpack_nibbles(const uint8_t *qs, const uint8_t *qh, int offset, int8_t *out) {
    uint32_t h = 0;
    if (qh) memcpy(&h, qh, 4);
    int sum = 0;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0x0F) | (int)(((h >> j) & 1) << 4);
        int hi = (qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
        out[j] = (int8_t)(lo - offset);
        out[j + 16] = (int8_t)(hi - offset);
        sum += lo + hi;
    }
    return sum - 32 * offset;
}

/// IEEE half at p (unaligned, little-endian) → float.
static inline float ck_half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31, man = h & 1023, bits;
    if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man == 0) {
        bits = sign;
    } else { // subnormal: normalise
        exp = 113;
        while (!(man & 1024)) { man <<= 1; exp--; }
        bits = sign | (exp << 23) | ((man & 1023) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
#endif
}

/// Q4_K/Q5_K sub-block j's 6-bit scale and minimum from the 12 packed bytes s.
static inline __attribute__((unused)) void ck_scale_min_k4(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

#if defined(__AVX2__)
/// Sum of the 8 lanes.
static inline float ck_hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

/// Σ u·s over 32 unsigned bytes u (≤ 127 so the pair sums fit int16) and signed bytes s, as 8 float lanes
/// (lane k: the products of bytes 4k…4k+3).
static inline __m256 ck_dot_us(__m256i u, __m256i s) {
    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
    return _mm256_cvtepi32_ps(p);
}

/// The same for signed bytes w (−128…127) and s (−127…127): |w| · (s with w's sign).
static inline __m256 ck_dot_ss(__m256i w, __m256i s) {
    return ck_dot_us(_mm256_abs_epi8(w), _mm256_sign_epi8(s, w));
}

/// 16 bytes of nibbles → 32 bytes: the low nibbles (values 0…15), then the high ones (16…31).
static inline __m256i ck_nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p);
    __m128i m = _mm_set1_epi8(0x0F);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

/// Q6_K: the 6-bit levels (0…63, before the −32 offset) of one 128-value half of a super-block, as four groups of
/// 32 bytes: `ql` the half's 64 bytes of low nibbles, `qh` its 32 bytes of high bit pairs.
static inline void ck_q6k_levels(const uint8_t *ql, const uint8_t *qh, __m256i out[4]) {
    const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    __m256i a = _mm256_loadu_si256((const __m256i *)ql), b = _mm256_loadu_si256((const __m256i *)(ql + 32));
    __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    __m256i lo[4] = {
        _mm256_and_si256(a, low4), _mm256_and_si256(b, low4),
        _mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(_mm256_srli_epi16(b, 4), low4),
    };
    for (int k = 0; k < 4; k++) {
        __m256i hk = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * k)), three);
        out[k] = _mm256_or_si256(lo[k], _mm256_slli_epi16(hk, 4));
    }
}

/// Byte i = 0x10 where bit i of `bits` is set, else 0.
static inline __m256i ck_bits_to_0x10(uint32_t bits) {
    const __m256i pick = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), pick);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}
#endif

/// Row dot products per type (ck_blocks.c: 32-value blocks; ck_kquants.c: 256-value super-blocks).
float ck_dot_q4_0(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb);
float ck_dot_q4_1(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb);
float ck_dot_q5(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nb, int withMin);
float ck_dot_q8_0(const uint8_t *row, const float *xd, const int8_t *xq, int nb);
/// K types: rows × nx input rows (ck_kquants.c), out[t · os] for x row t = x + t · xstride.
void ck_k_rows(ck_type type, const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os,
               int level);
int ck_has_avx512vnni(void);


#endif
