// The machine's per-core peaks quoted in docs/performance.md (optional tooling, not part of the build):
// 24 independent chains of AVX-512 VNNI vpdpbusd (64 int8 multiply-adds each) and of 512-bit FP32 FMAs.
//   clang -O2 scripts/peak-ops.c -o /tmp/peak-ops && chrt -f 10 /tmp/peak-ops
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) int main(void) {
    const long n = 200000000;
    __m512i a[24], x = _mm512_set1_epi8(1), y = _mm512_set1_epi8(2);
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_epi32(i);
    double t = now();
    for (long k = 0; k < n / 24; k++)
        for (int i = 0; i < 24; i++) a[i] = _mm512_dpbusd_epi32(a[i], x, y);
    t = now() - t;
    int s = 0;
    for (int i = 0; i < 24; i++) s += _mm512_reduce_add_epi32(a[i]);
    printf("%.2f G vpdpbusd/s = %.0f G int8 op/s per core (check %d)\n", n / t / 1e9, n / t * 128 / 1e9, s & 1);
    __m512 f[24], fx = _mm512_set1_ps(1.0001f);
    for (int i = 0; i < 24; i++) f[i] = _mm512_set1_ps((float)i);
    t = now();
    for (long k = 0; k < n / 24; k++)
        for (int i = 0; i < 24; i++) f[i] = _mm512_fmadd_ps(f[i], fx, fx);
    t = now() - t;
    float fs = 0;
    for (int i = 0; i < 24; i++) fs += _mm512_reduce_add_ps(f[i]);
    printf("%.2f G FMA zmm/s = %.0f GFLOP/s per core (check %d)\n", n / t / 1e9, n / t * 32 / 1e9, fs > 0);
    return 0;
}
