// The CPU's own multiply-add rate, beside lavapipe's (bench/probes/fma-peak.mjs): 16
// independent 8-wide f32 accumulators per thread, acc = acc·x + c, as a separate multiply and
// add (what lavapipe emits for WGSL's fma) or as one fused multiply-add. bench/RESULTS.md,
// nineteenth session. Run (one and two threads):
//   gcc -O2 -mavx2 -mfma -o /tmp/peak-muladd bench/probes/native-peak.c -lpthread && /tmp/peak-muladd 1 && /tmp/peak-muladd 2
//   gcc -O2 -mavx2 -mfma -DFUSED -o /tmp/peak-fma bench/probes/native-peak.c -lpthread && /tmp/peak-fma 1 && /tmp/peak-fma 2
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ACC 16
#define ITER 50000000L

static float sink[8 * 64];

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *run(void *arg) {
  __m256 a[ACC], x = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
  for (int j = 0; j < ACC; j++) a[j] = _mm256_set1_ps((float)j);
  for (long i = 0; i < ITER; i++)
    for (int j = 0; j < ACC; j++) {
#ifdef FUSED
      a[j] = _mm256_fmadd_ps(a[j], x, c);
#else
      __m256 m = _mm256_mul_ps(a[j], x);
      __asm__("" : "+x"(m)); // keep the compiler from fusing them
      a[j] = _mm256_add_ps(m, c);
#endif
    }
  __m256 s = a[0];
  for (int j = 1; j < ACC; j++) s = _mm256_add_ps(s, a[j]);
  _mm256_storeu_ps(sink + 8 * (long)arg, s);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 64) { fprintf(stderr, "threads: 1 to 64\n"); return 2; }
  pthread_t th[64];
  double t0 = now();
  for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, run, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double s = now() - t0;
  printf("%s, %d thread(s): %.1f GFLOP/s\n",
#ifdef FUSED
         "fused multiply-add",
#else
         "multiply then add",
#endif
         threads, 2.0 * 8 * ACC * ITER * threads / s / 1e9);
  return 0;
}
