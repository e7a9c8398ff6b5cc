// The tiled int8 GEMM of prompt processing (every block type): C[t, r] = W row r · x row t for many input rows.
//
// Both operands are brought to one shape per product. The input rows are quantized once to int8 per B values
// (B = 32, or 16 for Q6_K whose scales change every 16 values) and stored as unsigned levels (q + 128) interleaved
// for 16 input rows at a time: per block, 4-byte groups g (values 4g…4g+3) of the 16 rows side by side (64 bytes per
// group, one 512-bit register), then the 16 rows' scales d_x and sums s_x = d_x · Σq. A few weight rows at a time are
// decoded (once, reused for every input row) to signed levels (q minus the type's offset, −32…31 at most, or the int8
// of Q8_0), a float scale d_w and minimum m_w per block (K-quants: d·sc_i and −dmin·m_i per sub-block) and
// c = −128 · Σ levels. Then per weight row i, block b and 16 input rows:
//   isum = c + Σ_g vpdpbusd(x group g, broadcast(w dword g))   = Σ_j q_x,j · q_w,j  (exact int32)
//   acc += float(isum) · (d_x · d_w) + s_x · m_w
// Weight rows are register-tiled CK_TR at a time against 32 input rows (two registers), so each broadcast weight dword
// feeds two vpdpbusd and each input register feeds CK_TR of them. The portable code computes the same integer sums
// (and is the reference of the tests); the AVX-512 VNNI code is chosen at run time.

#include "ck_common.h"
#include <stdlib.h>

/// Weight rows per register tile, and per decoded panel (a multiple of CK_TR).
#define CK_TR 4
#define CK_PANEL 16

int ck_tile_block(ck_type type) { return type == CK_Q6_K ? 16 : 32; }

static inline size_t ck_xblock_bytes(int B) { return (size_t)16 * B + 128; }

size_t ck_tile_x_bytes(int nx, int k, int B) {
    return (size_t)((nx + 15) / 16) * (size_t)(k / B) * ck_xblock_bytes(B);
}

// MARK: - Input rows

void ck_tile_quantize(const float *x, int nx, int k, size_t ldx, int B, void *out, int grp0, int grp1) {
    uint8_t *base = (uint8_t *)out;
    const int nb = k / B;
    for (int grp = grp0; grp < grp1; grp++) {
        for (int r = 0; r < 16; r++) {
            const int t = grp * 16 + r;
            for (int b = 0; b < nb; b++) {
                uint8_t *blk = base + ((size_t)grp * nb + b) * ck_xblock_bytes(B);
                float *dx = (float *)(blk + 16 * B), *sx = dx + 16;
                if (t >= nx) {
                    for (int g = 0; g < B / 4; g++) memset(blk + (g * 16 + r) * 4, 128, 4);
                    dx[r] = 0;
                    sx[r] = 0;
                    continue;
                }
                const float *xb = x + (size_t)t * ldx + (size_t)b * B;
                int8_t q[32];
                int sum = 0;
                float amax = 0;
#if defined(__AVX2__)
                const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
                __m256 v[4], mx = _mm256_setzero_ps();
                const int nv = B / 8;
                for (int j = 0; j < nv; j++) {
                    v[j] = _mm256_loadu_ps(xb + 8 * j);
                    mx = _mm256_max_ps(mx, _mm256_and_ps(v[j], absMask));
                }
                __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
                m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
                m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
                amax = _mm_cvtss_f32(m4);
                const float id = amax > 0 ? 127.0f / amax : 0.0f;
                const __m256 vid = _mm256_set1_ps(id);
                __m256i s = _mm256_setzero_si256();
                for (int j = 0; j < nv; j++) {
                    __m256i i32 = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], vid)); // round to nearest even
                    s = _mm256_add_epi32(s, i32);
                    __m128i p = _mm_packs_epi32(_mm256_castsi256_si128(i32), _mm256_extracti128_si256(i32, 1));
                    _mm_storel_epi64((__m128i *)(q + 8 * j), _mm_packs_epi16(p, p));
                }
                __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
                s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
                sum = _mm_cvtsi128_si32(s4);
#else
                for (int j = 0; j < B; j++) {
                    float a = xb[j] < 0 ? -xb[j] : xb[j];
                    if (a > amax) amax = a;
                }
                const float id = amax > 0 ? 127.0f / amax : 0.0f;
                for (int j = 0; j < B; j++) {
                    q[j] = (int8_t)__builtin_nearbyintf(xb[j] * id); // round to nearest even, like cvtps
                    sum += q[j];
                }
#endif
                for (int g = 0; g < B / 4; g++) {
                    uint32_t u;
                    memcpy(&u, q + 4 * g, 4);
                    u ^= 0x80808080u; // q + 128 as unsigned bytes
                    memcpy(blk + (g * 16 + r) * 4, &u, 4);
                }
                dx[r] = amax / 127.0f;
                sx[r] = dx[r] * (float)sum;
            }
        }
    }
}

// MARK: - Weight rows

/// One decoded weight row: levels[k] (signed), and per block d, m, c = −128 · Σ levels.
typedef struct {
    int8_t *levels;
    float *d, *m;
    int32_t *c;
} ck_wrow;


#if defined(__AVX2__)
/// Σ of 32 unsigned bytes.
static inline int ck_sum_u8(__m256i v) {
    __m256i s = _mm256_sad_epu8(v, _mm256_setzero_si256());
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (int)(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
}

/// The AVX2 decoder (same levels and sums as the portable one below); returns 0 for types it does not cover.
static int ck_decode_row_avx2(ck_type type, const uint8_t *row, int k, ck_wrow w) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: {
        const int five = type == CK_Q5_0 || type == CK_Q5_1, withMin = type == CK_Q4_1 || type == CK_Q5_1;
        const int bytes = five ? (withMin ? 24 : 22) : (withMin ? 20 : 18), header = withMin ? 4 : 2;
        const int offset = withMin ? 0 : (five ? 16 : 8);
        const __m256i off = _mm256_set1_epi8((char)offset);
        for (int b = 0; b < k / 32; b++) {
            const uint8_t *blk = row + (size_t)bytes * b;
            __m256i q;
            if (five) {
                uint32_t qh;
                memcpy(&qh, blk + header, 4);
                q = _mm256_or_si256(ck_nibbles(blk + header + 4), ck_bits_to_0x10(qh));
            } else {
                q = ck_nibbles(blk + header);
            }
            _mm256_storeu_si256((__m256i *)(w.levels + 32 * b), _mm256_sub_epi8(q, off));
            w.d[b] = ck_half(blk);
            w.m[b] = withMin ? ck_half(blk + 2) : 0;
            w.c[b] = -128 * (ck_sum_u8(q) - 32 * offset);
        }
        return 1;
    }
    case CK_Q8_0:
        for (int b = 0; b < k / 32; b++) {
            const uint8_t *blk = row + 34 * b;
            __m256i q = _mm256_loadu_si256((const __m256i *)(blk + 2));
            _mm256_storeu_si256((__m256i *)(w.levels + 32 * b), q);
            // Σ signed = Σ (q + 128) − 32 · 128.
            w.c[b] = -128 * (ck_sum_u8(_mm256_xor_si256(q, _mm256_set1_epi8((char)0x80))) - 32 * 128);
            w.d[b] = ck_half(blk);
            w.m[b] = 0;
        }
        return 1;
    case CK_Q4_K: case CK_Q5_K: {
        const int fiveBit = type == CK_Q5_K, bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
        for (int sb = 0; sb < k / 256; sb++) {
            const uint8_t *blk = row + (size_t)bytes * sb;
            const float d = ck_half(blk), dmin = ck_half(blk + 2);
            __m256i qh = fiveBit ? _mm256_loadu_si256((const __m256i *)(blk + 16)) : _mm256_setzero_si256();
            for (int i = 0; i < 8; i++) {
                const int b = 8 * sb + i;
                __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + qsOff + 32 * (i / 2)));
                __m256i q = _mm256_and_si256((i & 1) ? _mm256_srli_epi16(raw, 4) : raw, low4);
                if (fiveBit) {
                    __m256i h = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(i)), _mm256_set1_epi8(1));
                    q = _mm256_or_si256(q, _mm256_slli_epi16(h, 4));
                }
                _mm256_storeu_si256((__m256i *)(w.levels + 32 * b), q);
                int sc, mn;
                ck_scale_min_k4(i, blk + 4, &sc, &mn);
                w.d[b] = d * (float)sc;
                w.m[b] = -dmin * (float)mn;
                w.c[b] = -128 * ck_sum_u8(q);
            }
        }
        return 1;
    }
    case CK_Q6_K: {
        const __m256i off = _mm256_set1_epi8(32);
        for (int sb = 0; sb < k / 256; sb++) {
            const uint8_t *blk = row + (size_t)210 * sb;
            const float d = ck_half(blk + 208);
            const int8_t *sc = (const int8_t *)(blk + 192);
            for (int n = 0; n < 2; n++) {
                __m256i levels[4];
                ck_q6k_levels(blk + 64 * n, blk + 128 + 32 * n, levels);
                for (int kk = 0; kk < 4; kk++) {
                    __m256i q = levels[kk];
                    _mm256_storeu_si256((__m256i *)(w.levels + 256 * sb + 128 * n + 32 * kk), _mm256_sub_epi8(q, off));
                    __m256i s = _mm256_sad_epu8(q, _mm256_setzero_si256()); // sums of 8 bytes in 4 u64 lanes
                    const int g = 8 * n + 2 * kk, b = 16 * sb + g;
                    int s0 = (int)(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1));
                    int s1 = (int)(_mm256_extract_epi64(s, 2) + _mm256_extract_epi64(s, 3));
                    w.d[b] = d * (float)sc[g];
                    w.d[b + 1] = d * (float)sc[g + 1];
                    w.m[b] = w.m[b + 1] = 0;
                    w.c[b] = -128 * (s0 - 16 * 32);
                    w.c[b + 1] = -128 * (s1 - 16 * 32);
                }
            }
        }
        return 1;
    }
    }
    return 0;
}
#endif

static void ck_decode_row(ck_type type, const uint8_t *row, int k, ck_wrow w, int level) {
#if defined(__AVX2__)
    if (level >= 1 && ck_decode_row_avx2(type, row, k, w)) return;
#endif
    (void)level;
    switch (type) {
    case CK_Q4_0: case CK_Q4_1: case CK_Q5_0: case CK_Q5_1: case CK_Q8_0: {
        const int nb = k / 32;
        for (int b = 0; b < nb; b++) {
            int8_t *out = w.levels + 32 * b;
            int sum = 0;
            const uint8_t *blk;
            w.m[b] = 0;
            switch (type) {
            case CK_Q4_0:
                blk = row + 18 * b;
                sum = ck_unpack_nibbles(blk + 2, NULL, 8, out);
                break;
            case CK_Q4_1:
                blk = row + 20 * b;
                sum = ck_unpack_nibbles(blk + 4, NULL, 0, out);
                w.m[b] = ck_half(blk + 2);
                break;
            case CK_Q5_0:
                blk = row + 22 * b;
                sum = ck_unpack_nibbles(blk + 6, blk + 2, 16, out);
                break;
            case CK_Q5_1:
                blk = row + 24 * b;
                sum = ck_unpack_nibbles(blk + 8, blk + 4, 0, out);
                w.m[b] = ck_half(blk + 2);
                break;
            default:
                blk = row + 34 * b;
                memcpy(out, blk + 2, 32);
                for (int j = 0; j < 32; j++) sum += out[j];
                break;
            }
            w.d[b] = ck_half(blk);
            w.c[b] = -128 * sum;
        }
        break;
    }
    case CK_Q4_K: case CK_Q5_K: {
        const int fiveBit = type == CK_Q5_K, bytes = fiveBit ? 176 : 144, qsOff = fiveBit ? 48 : 16;
        for (int sb = 0; sb < k / 256; sb++) {
            const uint8_t *blk = row + (size_t)bytes * sb;
            const float d = ck_half(blk), dmin = ck_half(blk + 2);
            uint8_t sc[8], mn[8];
            for (int i = 0; i < 8; i++) {
                int s, m;
                ck_scale_min_k4(i, blk + 4, &s, &m);
                sc[i] = (uint8_t)s;
                mn[i] = (uint8_t)m;
            }
            for (int i = 0; i < 8; i++) {
                const int b = 8 * sb + i;
                const uint8_t *qs = blk + qsOff + 32 * (i / 2);
                int8_t *out = w.levels + 32 * b;
                int sum = 0;
                for (int l = 0; l < 32; l++) {
                    int q = (i & 1) ? qs[l] >> 4 : qs[l] & 0x0F;
                    if (fiveBit) q |= ((blk[16 + l] >> i) & 1) << 4;
                    out[l] = (int8_t)q;
                    sum += q;
                }
                w.d[b] = d * (float)sc[i];
                w.m[b] = -dmin * (float)mn[i];
                w.c[b] = -128 * sum;
            }
        }
        break;
    }
    case CK_Q6_K:
        for (int sb = 0; sb < k / 256; sb++) {
            const uint8_t *blk = row + (size_t)210 * sb;
            const float d = ck_half(blk + 208);
            const int8_t *sc = (const int8_t *)(blk + 192);
            int8_t *out = w.levels + 256 * sb;
            for (int n = 0; n < 2; n++) {
                const uint8_t *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
                for (int kk = 0; kk < 4; kk++) {
                    for (int l = 0; l < 32; l++) {
                        uint8_t lb = ql[l + 32 * (kk & 1)];
                        int q = (kk < 2 ? lb & 0x0F : lb >> 4) | (((qh[l] >> (2 * kk)) & 3) << 4);
                        out[128 * n + 32 * kk + l] = (int8_t)(q - 32);
                    }
                }
            }
            for (int g = 0; g < 16; g++) {
                const int b = 16 * sb + g;
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += out[16 * g + j];
                w.d[b] = d * (float)sc[g];
                w.m[b] = 0;
                w.c[b] = -128 * sum;
            }
        }
        break;
    }
}

/// Per-thread scratch for CK_PANEL decoded weight rows (grown on demand, kept for the thread's life).
static _Thread_local uint8_t *ck_scratch = NULL;
static _Thread_local size_t ck_scratch_bytes = 0;

static int ck_tile_rows(int k, int nb, ck_wrow rows[CK_PANEL]) {
    const size_t levelBytes = ((size_t)k + 63) / 64 * 64, metaBytes = ((size_t)nb * 12 + 63) / 64 * 64;
    const size_t need = CK_PANEL * (levelBytes + metaBytes);
    if (ck_scratch_bytes < need) {
        free(ck_scratch);
        ck_scratch = aligned_alloc(64, need);
        ck_scratch_bytes = ck_scratch ? need : 0;
        if (!ck_scratch) return 0;
    }
    for (int i = 0; i < CK_PANEL; i++) {
        uint8_t *p = ck_scratch + (size_t)i * (levelBytes + metaBytes);
        rows[i].levels = (int8_t *)p;
        rows[i].d = (float *)(p + levelBytes);
        rows[i].m = rows[i].d + nb;
        rows[i].c = (int32_t *)(rows[i].m + nb);
    }
    return 1;
}

// MARK: - Portable kernel (the reference: same integer sums)

/// Blocks [0, nb) of the chunk whose input starts at xq (groups groupBytes apart), rows r … r + nr − 1, input rows
/// of groups grp0 and grp0 + 1; adds to `out` when `accumulate`.
static void ck_tile_scalar(const ck_wrow *w, int nr, int nb, size_t groupBytes, int B, const uint8_t *xq, int grp0,
                           int nx, float *out, size_t ldOut, int r, int accumulate) {
    const size_t xbs = ck_xblock_bytes(B);
    for (int i = 0; i < nr; i++) {
        for (int t = grp0 * 16; t < nx && t < grp0 * 16 + 32; t++) {
            const int grp = t / 16, lane = t % 16;
            float acc = 0;
            for (int b = 0; b < nb; b++) {
                const uint8_t *blk = xq + (size_t)grp * groupBytes + (size_t)b * xbs;
                const float *dx = (const float *)(blk + 16 * B), *sx = dx + 16;
                int isum = w[i].c[b];
                for (int j = 0; j < B; j++) {
                    isum += (int)blk[((j / 4) * 16 + lane) * 4 + j % 4] * (int)w[i].levels[b * B + j];
                }
                acc += (float)isum * (dx[lane] * w[i].d[b]) + sx[lane] * w[i].m[b];
            }
            float *o = out + (size_t)t * ldOut + r + i;
            *o = accumulate ? *o + acc : acc;
        }
    }
}

#if defined(__AVX2__)
// MARK: - AVX-512 VNNI kernel

#define CK_TILE512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,tune=znver4")))

/// CK_TR weight rows × NV · 16 input rows (groups grp, grp + 1) over all nb blocks; results into acc[i][v].
CK_TILE512 static inline __attribute__((always_inline))
void ck_tile_512(const ck_wrow *w, int nb, const int B, const uint8_t *x0, const uint8_t *x1, const int NV,
                 const int hasMin, __m512 acc[CK_TR][2]) {
    const size_t xbs = ck_xblock_bytes(B);
    const int G = B / 4;
    for (int i = 0; i < CK_TR; i++) for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (int b = 0; b < nb; b++) {
        const uint8_t *xb[2] = {x0 + (size_t)b * xbs, NV > 1 ? x1 + (size_t)b * xbs : x0};
        __m512i is[CK_TR][2];
        for (int i = 0; i < CK_TR; i++) {
            __m512i c = _mm512_set1_epi32(w[i].c[b]);
            for (int v = 0; v < NV; v++) is[i][v] = c;
        }
        for (int g = 0; g < G; g++) {
            __m512i xv[2];
            for (int v = 0; v < NV; v++) xv[v] = _mm512_loadu_si512((const void *)(xb[v] + 64 * g));
            for (int i = 0; i < CK_TR; i++) {
                int32_t wd;
                memcpy(&wd, w[i].levels + (size_t)b * B + 4 * g, 4);
                __m512i wv = _mm512_set1_epi32(wd);
                for (int v = 0; v < NV; v++) is[i][v] = _mm512_dpbusd_epi32(is[i][v], xv[v], wv);
            }
        }
        __m512 dx[2], sx[2];
        for (int v = 0; v < NV; v++) {
            dx[v] = _mm512_loadu_ps((const float *)(xb[v] + 16 * B));
            if (hasMin) sx[v] = _mm512_loadu_ps((const float *)(xb[v] + 16 * B + 64));
        }
        for (int i = 0; i < CK_TR; i++) {
            __m512 di = _mm512_set1_ps(w[i].d[b]);
            for (int v = 0; v < NV; v++) {
                acc[i][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is[i][v]), _mm512_mul_ps(dx[v], di), acc[i][v]);
            }
            if (hasMin) {
                __m512 mi = _mm512_set1_ps(w[i].m[b]);
                for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(sx[v], mi, acc[i][v]);
            }
        }
    }
}

/// A panel of nr ≤ CK_PANEL decoded weight rows against every input row: register tiles of CK_TR rows, results
/// gathered per 32 input rows so each output row gets its nr values written together (column-wise stores with a
/// power-of-two ldOut keep hitting the same L1 sets).
CK_TILE512 static void ck_tile_rows_512(const ck_wrow *w, int nr, int nb, size_t groupBytes, int B, int hasMin,
                                        const uint8_t *xq, int nx, float *out, size_t ldOut, int r, int accumulate) {
    const int groups = (nx + 15) / 16;
    float tmp[CK_PANEL][32] __attribute__((aligned(64)));
    for (int grp = 0; grp < groups; grp += 2) {
        const uint8_t *x0 = xq + (size_t)grp * groupBytes, *x1 = x0 + groupBytes;
        const int nv = groups - grp >= 2 ? 2 : 1;
        for (int tr = 0; tr < nr; tr += CK_TR) {
            __m512 acc[CK_TR][2];
            const ck_wrow *wt = w + tr;
            // Constant arguments let the compiler keep every accumulator in a register.
            if (B == 32) {
                if (nv == 2) {
                    if (hasMin) ck_tile_512(wt, nb, 32, x0, x1, 2, 1, acc); else ck_tile_512(wt, nb, 32, x0, x1, 2, 0, acc);
                } else {
                    if (hasMin) ck_tile_512(wt, nb, 32, x0, x1, 1, 1, acc); else ck_tile_512(wt, nb, 32, x0, x1, 1, 0, acc);
                }
            } else {
                if (nv == 2) ck_tile_512(wt, nb, 16, x0, x1, 2, 0, acc); else ck_tile_512(wt, nb, 16, x0, x1, 1, 0, acc);
            }
            for (int i = 0; i < CK_TR; i++) for (int v = 0; v < nv; v++) _mm512_store_ps(tmp[tr + i] + 16 * v, acc[i][v]);
        }
        const int t1 = (grp + 2) * 16 < nx ? (grp + 2) * 16 : nx;
        for (int t = grp * 16; t < t1; t++) {
            float *o = out + (size_t)t * ldOut + r;
            if (accumulate) {
                for (int i = 0; i < nr; i++) o[i] += tmp[i][t - grp * 16];
            } else {
                for (int i = 0; i < nr; i++) o[i] = tmp[i][t - grp * 16];
            }
        }
    }
}
#endif

// MARK: - Driver

/// Stored bytes per `per` values of a type (its block).
static void ck_type_block(ck_type type, int *per, int *bytes) {
    static const int sizes[8][2] = {{32, 18}, {32, 20}, {32, 22}, {32, 24}, {32, 34}, {256, 144}, {256, 176}, {256, 210}};
    *per = sizes[type][0];
    *bytes = sizes[type][1];
}

/// Bytes of quantized input kept hot per chunk of k (all input rows): the chunk's input stays in the L2 cache while
/// every weight panel of the thread passes over it, instead of streaming a long input row from L3 per panel.
#define CK_CHUNK_BYTES (320 * 1024)

void ck_tile_gemm(ck_type type, const void *w, size_t rowBytes, int r0, int r1, int k, const void *xq, int nx,
                  float *out, size_t ldOut, int level) {
    const int B = ck_tile_block(type), nb = k / B;
    const int hasMin = type == CK_Q4_1 || type == CK_Q5_1 || type == CK_Q4_K || type == CK_Q5_K;
    const uint8_t *base = (const uint8_t *)w;
    const size_t xbs = ck_xblock_bytes(B), groupBytes = (size_t)nb * xbs;
    const int groups = (nx + 15) / 16;
    int per, bytes;
    ck_type_block(type, &per, &bytes);
    // Chunk of blocks: a whole number of the type's blocks (256 values for K-quants), at least one.
    const int step = per / B;
    int chunk = (int)(CK_CHUNK_BYTES / ((size_t)groups * xbs)) / step * step;
    if (chunk < step) chunk = step;
    if (chunk > nb) chunk = nb;
    ck_wrow rows[CK_PANEL];
    if (!ck_tile_rows(chunk * B, chunk, rows)) {
        for (int t = 0; t < nx; t++) for (int r = r0; r < r1; r++) out[(size_t)t * ldOut + r] = __builtin_nanf("");
        return;
    }
    for (int kb = 0; kb < nb; kb += chunk) {
        const int cb = nb - kb < chunk ? nb - kb : chunk;
        const uint8_t *xc = (const uint8_t *)xq + (size_t)kb * xbs;
        const size_t rowOffset = (size_t)kb * B / per * bytes;
        for (int r = r0; r < r1; r += CK_PANEL) {
            const int nr = r1 - r < CK_PANEL ? r1 - r : CK_PANEL;
            const int padded = (nr + CK_TR - 1) / CK_TR * CK_TR;
            for (int i = 0; i < padded; i++) {
                if (i < nr) {
                    ck_decode_row(type, base + (size_t)(r + i) * rowBytes + rowOffset, cb * B, rows[i], level);
                } else { // padding rows of the last register tile: zero levels and scales
                    memset(rows[i].levels, 0, (size_t)cb * B);
                    memset(rows[i].d, 0, (size_t)cb * 4);
                    memset(rows[i].m, 0, (size_t)cb * 4);
                    memset(rows[i].c, 0, (size_t)cb * 4);
                }
            }
#if defined(__AVX2__)
            if (level >= 2) {
                ck_tile_rows_512(rows, nr, cb, groupBytes, B, hasMin, xc, nx, out, ldOut, r, kb > 0);
                continue;
            }
#endif
            for (int grp = 0; grp < groups; grp += 2) {
                ck_tile_scalar(rows, nr, cb, groupBytes, B, xc, grp, nx, out, ldOut, r, kb > 0);
            }
        }
    }
}
