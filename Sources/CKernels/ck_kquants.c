// The 256-value super-block types against Q8_K activations (one float scale and 256 int8 levels per super-block,
// plus the levels' sums per 16 values), in integers over a whole super-block. Layouts (ggml):
// Q4_K (144 B) = f16 d, f16 dmin, 12 bytes of packed 6-bit scales/minimums, 128 nibble bytes; sub-block i (32 values)
//   reads bytes 32·(i/2)…+31, low nibbles for even i, high for odd; w = d·sc_i·q − dmin·m_i.
// Q5_K (176 B) = f16 d, f16 dmin, 12 scale bytes, 32 bytes qh, 128 nibble bytes; as Q4_K with fifth bit
//   (qh[l] >> i) & 1 for value l of sub-block i.
// Q6_K (210 B) = 128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d; per half n (128 values): ql + 64n, qh + 32n,
//   scales + 8n; value 32k + l (k < 4, l < 32) = low 4 bits from ql[l + 32·(k&1)] (low nibble for k < 2, high for
//   k ≥ 2) and 2 high bits (qh[l] >> 2k) & 3, w = d·scale[2k + l/16]·(q − 32).
//
// Per super-block and input row: Q4_K/Q5_K = d·d_x·Σ_i sc_i·Σ_l q·x_q − dmin·d_x·Σ_i m_i·Σ_l x_q;
// Q6_K = d·d_x·(Σ_g sc_g·Σ_l q·x_q − 32·Σ_g sc_g·Σ_l x_q) over 16-value groups g, with q unsigned (0…63).
// Every sum inside a super-block is an exact int32; one float multiply-add per super-block and row.
// Each kernel takes up to CK_NX input rows at once, so prompt processing unpacks a weight row's blocks once for
// several activation rows.

#include "ck_common.h"

void ck_quantize_q8k(const float *x, int n, ck_q8k *out) {
    for (int b = 0; b < n / 256; b++) {
        const float *xb = x + 256 * b;
        ck_q8k *y = out + b;
        float amax = 0;
        for (int j = 0; j < 256; j++) {
            float a = xb[j] < 0 ? -xb[j] : xb[j];
            if (a > amax) amax = a;
        }
        float id = amax > 0 ? 127.0f / amax : 0.0f;
#if defined(__AVX2__)
        __m256 vid = _mm256_set1_ps(id);
        for (int g = 0; g < 8; g++) {
            __m256i i[4];
            for (int k = 0; k < 4; k++) i[k] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * g + 8 * k), vid));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i[0], i[1]), _mm256_packs_epi32(i[2], i[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y->q + 32 * g), p);
        }
#else
        for (int j = 0; j < 256; j++) {
            float v = xb[j] * id;
            float r = __builtin_nearbyintf(v); // round to nearest even, like cvtps
            y->q[j] = (int8_t)r;
        }
#endif
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++) s += y->q[16 * g + j];
            y->bsums[g] = (int16_t)s;
        }
        for (int i = 0; i < 8; i++) y->bsums32[i] = (int16_t)(y->bsums[2 * i] + y->bsums[2 * i + 1]);
        y->d = amax / 127.0f;
    }
}

/// Q4_K/Q5_K: the 8 six-bit scales (sc) and minimums (mn) of a super-block from its 12 packed bytes.
static inline void ck_unpack_k4(const uint8_t *p, uint8_t sc[8], uint8_t mn[8]) {
    const uint32_t m6 = 0x3F3F3F3Fu, m4 = 0x0F0F0F0Fu, m2 = 0x03030303u;
    uint32_t u[3], s[2], m[2];
    memcpy(u, p, 12);
    s[0] = u[0] & m6;                                  // sub-blocks 0…3: low 6 bits of bytes 0…3
    m[0] = u[1] & m6;                                  // minimums 0…3: low 6 bits of bytes 4…7
    s[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4);    // 4…7: low nibbles of bytes 8…11, top bits of bytes 0…3
    m[1] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4);
    memcpy(sc, s, 8);
    memcpy(mn, m, 8);
}

// MARK: - Portable code (also the reference the vector paths must equal exactly in integers)

static void ck_qk_scalar(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os,
                         int fiveBit) {
    const int bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
    for (int t = 0; t < nx; t++) {
        float acc = 0;
        for (int sb = 0; sb < nsb; sb++) {
            const uint8_t *blk = row + bytes * sb;
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            uint8_t sc[8], mn[8];
            ck_unpack_k4(blk + 4, sc, mn);
            int sum = 0, mins = 0;
            for (int i = 0; i < 8; i++) {
                const uint8_t *qs = blk + qsOff + 32 * (i / 2);
                int s = 0;
                for (int l = 0; l < 32; l++) {
                    int q = (i & 1) ? qs[l] >> 4 : qs[l] & 0x0F;
                    if (fiveBit) q |= ((blk[16 + l] >> i) & 1) << 4;
                    s += q * xb->q[32 * i + l];
                }
                sum += sc[i] * s;
                mins += mn[i] * xb->bsums32[i];
            }
            acc += xb->d * (ck_half(blk) * (float)sum - ck_half(blk + 2) * (float)mins);
        }
        out[t * os] = acc;
    }
}

static void ck_q6k_scalar(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os) {
    for (int t = 0; t < nx; t++) {
        float acc = 0;
        for (int sb = 0; sb < nsb; sb++) {
            const uint8_t *blk = row + 210 * sb;
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            int sum = 0;
            for (int n = 0; n < 2; n++) {
                const uint8_t *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
                const int8_t *sc = (const int8_t *)(blk + 192 + 8 * n);
                for (int k = 0; k < 4; k++) {
                    int s[2] = {0, 0};
                    for (int l = 0; l < 32; l++) {
                        uint8_t lb = ql[l + 32 * (k & 1)];
                        int q = (k < 2 ? lb & 0x0F : lb >> 4) | (((qh[l] >> (2 * k)) & 3) << 4);
                        s[l / 16] += q * xb->q[128 * n + 32 * k + l];
                    }
                    sum += sc[2 * k] * s[0] + sc[2 * k + 1] * s[1];
                }
            }
            int corr = 0;
            for (int g = 0; g < 16; g++) corr += ((const int8_t *)(blk + 192))[g] * xb->bsums[g];
            acc += ck_half(blk + 208) * xb->d * (float)(sum - 32 * corr);
        }
        out[t * os] = acc;
    }
}

#if defined(__AVX2__)
// MARK: - AVX2 (maddubs → madd with the sub-block scales → int32)

static void ck_qk_avx2(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os,
                       int fiveBit) {
    const int bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[CK_NX];
    for (int t = 0; t < nx; t++) acc[t] = _mm256_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + bytes * sb;
        float d = ck_half(blk), dmin = ck_half(blk + 2);
        uint8_t sc[8], mn[8];
        ck_unpack_k4(blk + 4, sc, mn);
        __m256i w[8];
        __m256i qh = fiveBit ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + qsOff + 32 * j));
            w[2 * j] = _mm256_and_si256(raw, low4);
            w[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
        }
        if (fiveBit) {
            for (int i = 0; i < 8; i++) {
                __m256i h = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(i)), _mm256_set1_epi8(1));
                w[i] = _mm256_or_si256(w[i], _mm256_slli_epi16(h, 4));
            }
        }
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mn));
        for (int t = 0; t < nx; t++) {
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            __m256i isum = _mm256_setzero_si256();
            for (int i = 0; i < 8; i++) {
                __m256i p = _mm256_maddubs_epi16(w[i], _mm256_loadu_si256((const __m256i *)(xb->q + 32 * i)));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, _mm256_set1_epi16(sc[i])));
            }
            __m128i bs = _mm_loadu_si128((const __m128i *)xb->bsums32);
            __m128 mm = _mm_mul_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(bs, mn16)));
            __m256 f = _mm256_sub_ps(_mm256_mul_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum)),
                                     _mm256_insertf128_ps(_mm256_setzero_ps(), mm, 0));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(xb->d), f, acc[t]);
        }
    }
    for (int t = 0; t < nx; t++) out[t * os] = ck_hsum(acc[t]);
}

static void ck_q6k_avx2(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os) {
    __m256 acc[CK_NX];
    for (int t = 0; t < nx; t++) acc[t] = _mm256_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + 210 * sb;
        float d = ck_half(blk + 208);
        __m256i w[8], s[8];
        for (int n = 0; n < 2; n++) {
            const int8_t *sc = (const int8_t *)(blk + 192 + 8 * n);
            ck_q6k_levels(blk + 64 * n, blk + 128 + 32 * n, w + 4 * n);
            for (int k = 0; k < 4; k++) s[4 * n + k] = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
        for (int t = 0; t < nx; t++) {
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            __m256i isum = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                __m256i p = _mm256_maddubs_epi16(w[k], _mm256_loadu_si256((const __m256i *)(xb->q + 32 * k)));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s[k]));
            }
            __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 5));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(isum), acc[t]);
        }
    }
    for (int t = 0; t < nx; t++) out[t * os] = ck_hsum(acc[t]);
}

// MARK: - AVX-512 VNNI (two sub-blocks per 512-bit register; maddubs then vpdpwssd with the scales)

// Tuned for Zen 4/5: the generic tuning splits vpdpwssd into vpmaddwd + vpaddd (8–13 % slower measured here).
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,tune=znver4")))

/// 32 int16 lanes: lanes 0…15 = a, 16…31 = b.
CK_AVX512 static inline __m512i ck_pair16(int a, int b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)a)), _mm256_set1_epi16((short)b), 1);
}

CK_AVX512 static inline __m512i ck_join(__m256i lo, __m256i hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

CK_AVX512 static inline __attribute__((always_inline))
void ck_qk_512(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os, int fiveBit) {
    const int bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m512 acc[CK_NX];
    __m128 mins[CK_NX];
    for (int t = 0; t < nx; t++) { acc[t] = _mm512_setzero_ps(); mins[t] = _mm_setzero_ps(); }
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + bytes * sb;
        float d = ck_half(blk), dmin = ck_half(blk + 2);
        uint8_t sc[8], mn[8];
        ck_unpack_k4(blk + 4, sc, mn);
        __m512i w[4], s[4];
        __m512i qh = fiveBit ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(blk + 16))) : _mm512_setzero_si512();
        for (int j = 0; j < 4; j++) {
            __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + qsOff + 32 * j));
            w[j] = ck_join(_mm256_and_si256(raw, low4), _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4));
            if (fiveBit) {
                __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << (2 * j))), _mm256_set1_epi8((char)(1 << (2 * j + 1))), 1);
                __mmask64 m = _mm512_test_epi8_mask(qh, bit);
                w[j] = _mm512_or_si512(w[j], _mm512_maskz_mov_epi8(m, _mm512_set1_epi8(0x10)));
            }
            s[j] = ck_pair16(sc[2 * j], sc[2 * j + 1]);
        }
        __m128i mn16 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mn));
        for (int t = 0; t < nx; t++) {
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            __m512i isum = _mm512_setzero_si512();
            for (int j = 0; j < 4; j++) {
                __m512i p = _mm512_maddubs_epi16(w[j], _mm512_loadu_si512((const void *)(xb->q + 64 * j)));
                isum = _mm512_dpwssd_epi32(isum, p, s[j]);
            }
            __m128i bs = _mm_loadu_si128((const __m128i *)xb->bsums32);
            __m128 mm = _mm_cvtepi32_ps(_mm_madd_epi16(bs, mn16));
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xb->d), _mm512_cvtepi32_ps(isum), acc[t]);
            mins[t] = _mm_fmadd_ps(_mm_set1_ps(dmin * xb->d), mm, mins[t]);
        }
    }
    for (int t = 0; t < nx; t++) {
        __m128 m = mins[t];
        m = _mm_add_ps(m, _mm_movehl_ps(m, m));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[t * os] = _mm512_reduce_add_ps(acc[t]) - _mm_cvtss_f32(m);
    }
}

CK_AVX512 static inline __attribute__((always_inline))
void ck_q6k_512(const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os) {
    const __m512i low4 = _mm512_set1_epi8(0x0F), three = _mm512_set1_epi8(3);
    // int16 lane → scale index: 8 lanes (16 values) per scale; lo = groups 0…3 of a half, hi = 4…7.
    const __m512i idxLo = _mm512_set_epi64(0x0003000300030003LL, 0x0003000300030003LL, 0x0002000200020002LL,
                                           0x0002000200020002LL, 0x0001000100010001LL, 0x0001000100010001LL, 0, 0);
    const __m512i idxHi = _mm512_add_epi16(idxLo, _mm512_set1_epi16(4));
    __m512 acc[CK_NX];
    for (int t = 0; t < nx; t++) acc[t] = _mm512_setzero_ps();
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + 210 * sb;
        float d = ck_half(blk + 208);
        __m512i w[4], s[4];
        for (int n = 0; n < 2; n++) {
            __m512i a = _mm512_loadu_si512((const void *)(blk + 64 * n));
            __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * n));
            __m512i h2 = ck_join(h, _mm256_srli_epi16(h, 2)); // bits for k = 0 | 1 in the low 2 bits, k = 2 | 3 at 4…5
            __m512i hlo = _mm512_slli_epi16(_mm512_and_si512(h2, three), 4);
            __m512i hhi = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h2, 4), three), 4);
            w[2 * n] = _mm512_or_si512(_mm512_and_si512(a, low4), hlo);
            w[2 * n + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(a, 4), low4), hhi);
            __m512i sc = _mm512_broadcast_i32x4(_mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(blk + 192 + 8 * n))));
            s[2 * n] = _mm512_permutexvar_epi16(idxLo, sc);
            s[2 * n + 1] = _mm512_permutexvar_epi16(idxHi, sc);
        }
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 192)));
        for (int t = 0; t < nx; t++) {
            const ck_q8k *xb = x + (size_t)t * xstride + sb;
            __m512i isum = _mm512_setzero_si512();
            for (int k = 0; k < 4; k++) {
                __m512i p = _mm512_maddubs_epi16(w[k], _mm512_loadu_si512((const void *)(xb->q + 64 * k)));
                isum = _mm512_dpwssd_epi32(isum, p, s[k]);
            }
            __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)xb->bsums));
            isum = _mm512_sub_epi32(isum, _mm512_zextsi256_si512(_mm256_slli_epi32(corr, 5)));
            acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xb->d), _mm512_cvtepi32_ps(isum), acc[t]);
        }
    }
    for (int t = 0; t < nx; t++) out[t * os] = _mm512_reduce_add_ps(acc[t]);
}
#endif

// MARK: - Dispatch

/// 1 where the CPU has AVX-512 BW/VL/DQ and VNNI (checked once).
int ck_has_avx512vnni(void) {
#if defined(__AVX2__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
            && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
            && __builtin_cpu_supports("avx512vnni");
    }
    return cached;
#else
    return 0;
#endif
}

#if defined(__AVX2__)
CK_AVX512 static void ck_k_rows_512(ck_type type, const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx,
                                    float *out, size_t os) {
    // Constant row counts let the compiler keep every accumulator in registers.
    switch (type) {
    case CK_Q4_K:
        if (nx == CK_NX) ck_qk_512(row, nsb, x, xstride, CK_NX, out, os, 0); else ck_qk_512(row, nsb, x, xstride, nx, out, os, 0);
        break;
    case CK_Q5_K:
        if (nx == CK_NX) ck_qk_512(row, nsb, x, xstride, CK_NX, out, os, 1); else ck_qk_512(row, nsb, x, xstride, nx, out, os, 1);
        break;
    default:
        if (nx == CK_NX) ck_q6k_512(row, nsb, x, xstride, CK_NX, out, os); else ck_q6k_512(row, nsb, x, xstride, nx, out, os);
        break;
    }
}
#endif

void ck_k_rows(ck_type type, const uint8_t *row, int nsb, const ck_q8k *x, int xstride, int nx, float *out, size_t os,
               int level) {
#if defined(__AVX2__)
    if (level >= 2) { ck_k_rows_512(type, row, nsb, x, xstride, nx, out, os); return; }
    if (level == 1) {
        if (type == CK_Q6_K) ck_q6k_avx2(row, nsb, x, xstride, nx, out, os);
        else ck_qk_avx2(row, nsb, x, xstride, nx, out, os, type == CK_Q5_K);
        return;
    }
#endif
    (void)level;
    if (type == CK_Q6_K) ck_q6k_scalar(row, nsb, x, xstride, nx, out, os);
    else ck_qk_scalar(row, nsb, x, xstride, nx, out, os, type == CK_Q5_K);
}
