#include "CKernels.h"
#include <math.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

int ck_scan_ge(const float *x, int n, float t) {
    int j = 0;
#if defined(__AVX2__)
    const __m256 tv = _mm256_set1_ps(t);
    for (; j + 32 <= n; j += 32) {
        __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(x + j + 8)),
                                 _mm256_max_ps(_mm256_loadu_ps(x + j + 16), _mm256_loadu_ps(x + j + 24)));
        if (_mm256_movemask_ps(_mm256_cmp_ps(m, tv, _CMP_GE_OQ))) return j;
    }
#endif
    for (; j < n; j += 32) {
        int end = j + 32 < n ? j + 32 : n;
        for (int e = j; e < end; e++) if (x[e] >= t) return j;
    }
    return n;
}

int ck_scan_rows_ge(const float *tile, int rows, int cols, int first, int from, const float *t) {
    int i = from;
#if defined(__AVX2__)
    const __m256 t0 = _mm256_loadu_ps(t), t1 = _mm256_loadu_ps(t + 8);
    for (; i + 8 <= rows; i += 8) {
        const float *p = tile + (size_t)i * cols + first;
        __m256 m0 = _mm256_loadu_ps(p), m1 = _mm256_loadu_ps(p + 8);
        for (int u = 1; u < 8; u++) {
            m0 = _mm256_max_ps(m0, _mm256_loadu_ps(p + (size_t)u * cols));
            m1 = _mm256_max_ps(m1, _mm256_loadu_ps(p + (size_t)u * cols + 8));
        }
        int hit = _mm256_movemask_ps(_mm256_cmp_ps(m0, t0, _CMP_GE_OQ)) | _mm256_movemask_ps(_mm256_cmp_ps(m1, t1, _CMP_GE_OQ));
        if (hit) return i;
    }
#endif
    for (; i < rows; i += 8) {
        int end = i + 8 < rows ? i + 8 : rows;
        for (int r = i; r < end; r++)
            for (int e = 0; e < 16; e++) if (tile[(size_t)r * cols + first + e] >= t[e]) return i;
    }
    return rows;
}

size_t ck_dot_tile_pack_floats(int cols, int dim) { return (size_t)((cols + 15) / 16) * 16 * (size_t)dim; }

/* b (cols × dim, row-major) into panels of 16 columns: pack[p · 16 · dim + k · 16 + e] = b[(16p + e) · dim + k], zero
   past the last column. Then per panel a 4-row × 16-column register block: for each k, the 16 panel values times
   each row's a[k] broadcast, accumulated in order over k. */
void ck_dot_tile(const float *a, int rows, const float *b, int cols, int dim, float *c, int ldc, float *pack) {
    int panels = (cols + 15) / 16;
    for (int p = 0; p < panels; p++) {
        float *dst = pack + (size_t)p * 16 * dim;
        for (int e = 0; e < 16; e++) {
            int j = p * 16 + e;
            if (j < cols) {
                const float *src = b + (size_t)j * dim;
                for (int k = 0; k < dim; k++) dst[(size_t)k * 16 + e] = src[k];
            } else {
                for (int k = 0; k < dim; k++) dst[(size_t)k * 16 + e] = 0;
            }
        }
    }
    for (int p = 0; p < panels; p++) {
        const float *panel = pack + (size_t)p * 16 * dim;
        int j0 = p * 16, width = cols - j0 < 16 ? cols - j0 : 16;
        int i = 0;
#if defined(__AVX2__) && defined(__FMA__)
        for (; i + 4 <= rows; i += 4) {
            const float *a0 = a + (size_t)i * dim, *a1 = a0 + dim, *a2 = a1 + dim, *a3 = a2 + dim;
            __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
            __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(), c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
            for (int k = 0; k < dim; k++) {
                __m256 b0 = _mm256_loadu_ps(panel + (size_t)k * 16), b1 = _mm256_loadu_ps(panel + (size_t)k * 16 + 8);
                __m256 x = _mm256_broadcast_ss(a0 + k);
                c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
                x = _mm256_broadcast_ss(a1 + k);
                c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
                x = _mm256_broadcast_ss(a2 + k);
                c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
                x = _mm256_broadcast_ss(a3 + k);
                c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
            }
            float out[4][16];
            _mm256_storeu_ps(out[0], c00); _mm256_storeu_ps(out[0] + 8, c01);
            _mm256_storeu_ps(out[1], c10); _mm256_storeu_ps(out[1] + 8, c11);
            _mm256_storeu_ps(out[2], c20); _mm256_storeu_ps(out[2] + 8, c21);
            _mm256_storeu_ps(out[3], c30); _mm256_storeu_ps(out[3] + 8, c31);
            for (int r = 0; r < 4; r++)
                for (int e = 0; e < width; e++) c[(size_t)(i + r) * ldc + j0 + e] = out[r][e];
        }
        for (; i < rows; i++) {
            const float *ar = a + (size_t)i * dim;
            __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();
            for (int k = 0; k < dim; k++) {
                __m256 x = _mm256_broadcast_ss(ar + k);
                c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(panel + (size_t)k * 16), c0);
                c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(panel + (size_t)k * 16 + 8), c1);
            }
            float out[16];
            _mm256_storeu_ps(out, c0); _mm256_storeu_ps(out + 8, c1);
            for (int e = 0; e < width; e++) c[(size_t)i * ldc + j0 + e] = out[e];
        }
#else
        for (; i < rows; i++) {
            const float *ar = a + (size_t)i * dim;
            for (int e = 0; e < width; e++) {
                float s = 0;
                for (int k = 0; k < dim; k++) s = fmaf(ar[k], panel[(size_t)k * 16 + e], s);
                c[(size_t)i * ldc + j0 + e] = s;
            }
        }
#endif
    }
}
