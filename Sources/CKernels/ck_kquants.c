// The 256-value super-block types. Layouts (ggml):
// Q4_K (144 B) = f16 d, f16 dmin, 12 bytes of packed 6-bit scales/minimums, 128 nibble bytes; sub-block i (32 values)
//   reads bytes 32·(i/2)…+31, low nibbles for even i, high for odd; w = d·sc_i·q − dmin·m_i.
// Q5_K (176 B) = f16 d, f16 dmin, 12 scale bytes, 32 bytes qh, 128 nibble bytes; as Q4_K with fifth bit
//   (qh[l] >> i) & 1 for value l of sub-block i.
// Q6_K (210 B) = 128 bytes ql, 64 bytes qh, 16 int8 scales, f16 d; per half n (128 values): ql + 64n, qh + 32n,
//   scales + 8n; value 32k + l (k < 4, l < 32) = low 4 bits from ql[l + 32·(k&1)] (low nibble for k < 2, high for
//   k ≥ 2) and 2 high bits (qh[l] >> 2k) & 3, w = d·scale[2k + l/16]·(q − 32).

#include "ck_common.h"

// Σ_i d·sc_i·d_x·Σ q·x_q − Σ_i dmin·m_i·s_x over the sub-blocks i.
float ck_dot_qk(const uint8_t *row, const float *xd, const int8_t *xq, const float *xs, int nsb, int fiveBit) {
    const int bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
    float mins = 0;
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + bytes * sb;
        float d = ck_half(blk), dmin = ck_half(blk + 2);
        __m256i qh = fiveBit ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
        for (int i = 0; i < 8; i++) {
            int sc, m, x = sb * 8 + i;
            ck_scale_min_k4(i, blk + 4, &sc, &m);
            __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + qsOff + 32 * (i / 2)));
            __m256i q = (i & 1) ? _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4) : _mm256_and_si256(raw, low4);
            if (fiveBit) {
                __m256i h = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(i)), one);
                q = _mm256_or_si256(q, _mm256_slli_epi16(h, 4));
            }
            __m256 p = ck_dot_us(q, _mm256_loadu_si256((const __m256i *)(xq + 32 * x)));
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * (float)sc * xd[x]), p, acc);
            mins += dmin * (float)m * xs[x];
        }
    }
    return ck_hsum(acc) - mins;
#else
    float acc = 0;
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + bytes * sb;
        float d = ck_half(blk), dmin = ck_half(blk + 2);
        for (int i = 0; i < 8; i++) {
            int sc, m, x = sb * 8 + i, sum = 0;
            ck_scale_min_k4(i, blk + 4, &sc, &m);
            const uint8_t *qs = blk + qsOff + 32 * (i / 2);
            for (int l = 0; l < 32; l++) {
                int q = (i & 1) ? qs[l] >> 4 : qs[l] & 0x0F;
                if (fiveBit) q |= ((blk[16 + l] >> i) & 1) << 4;
                sum += q * xq[32 * x + l];
            }
            acc += d * (float)sc * xd[x] * (float)sum;
            mins += dmin * (float)m * xs[x];
        }
    }
    return acc - mins;
#endif
}

// Σ over 32-value groups g of d·d_x·(scale_a·Σ_{first 16} (q − 32)·x_q + scale_b·Σ_{last 16} …).
float ck_dot_q6_k(const uint8_t *row, const float *xd, const int8_t *xq, int nsb) {
#if defined(__AVX2__)
    __m256 acc = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3), off = _mm256_set1_epi8(32);
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + 210 * sb;
        float d = ck_half(blk + 208);
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = blk + 64 * n;
            const int8_t *sc = (const int8_t *)(blk + 192 + 8 * n);
            __m256i a = _mm256_loadu_si256((const __m256i *)ql), b = _mm256_loadu_si256((const __m256i *)(ql + 32));
            __m256i h = _mm256_loadu_si256((const __m256i *)(blk + 128 + 32 * n));
            __m256i lo[4] = {
                _mm256_and_si256(a, low4), _mm256_and_si256(b, low4),
                _mm256_and_si256(_mm256_srli_epi16(a, 4), low4), _mm256_and_si256(_mm256_srli_epi16(b, 4), low4),
            };
            for (int k = 0; k < 4; k++) {
                __m256i hk = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * k)), three);
                __m256i w = _mm256_sub_epi8(_mm256_or_si256(lo[k], _mm256_slli_epi16(hk, 4)), off);
                int x = sb * 8 + n * 4 + k;
                __m256i xv = _mm256_loadu_si256((const __m256i *)(xq + 32 * x));
                __m256i p16 = _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(xv, w));
                __m256i scales = _mm256_set_m128i(_mm_set1_epi16(sc[2 * k + 1]), _mm_set1_epi16(sc[2 * k]));
                __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, scales));
                acc = _mm256_fmadd_ps(_mm256_set1_ps(d * xd[x]), p, acc);
            }
        }
    }
    return ck_hsum(acc);
#else
    float acc = 0;
    for (int sb = 0; sb < nsb; sb++) {
        const uint8_t *blk = row + 210 * sb;
        float d = ck_half(blk + 208);
        for (int n = 0; n < 2; n++) {
            const uint8_t *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
            const int8_t *sc = (const int8_t *)(blk + 192 + 8 * n);
            for (int k = 0; k < 4; k++) {
                int x = sb * 8 + n * 4 + k, sum[2] = {0, 0};
                for (int l = 0; l < 32; l++) {
                    uint8_t lb = ql[l + 32 * (k & 1)];
                    int q = ((k < 2 ? lb & 0x0F : lb >> 4) | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
                    sum[l / 16] += q * xq[32 * x + l];
                }
                acc += d * xd[x] * (float)(sc[2 * k] * sum[0] + sc[2 * k + 1] * sum[1]);
            }
        }
    }
    return acc;
#endif
}
