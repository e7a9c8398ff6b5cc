#include "CKernels.h"
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
