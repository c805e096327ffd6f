/*
 * matmul: floating-point kernels as gcc -O2 compiles them with SSE/SSE2
 * (built without -mgeneral-regs-only, like simd): float and double matrix
 * products whose inner loop runs along a row (vectorized: mulps/addps,
 * mulpd/addpd), axpy and Horner polynomials over arrays (vectorized), and
 * dot products, which stay scalar and in source order without -ffast-math
 * (a reduction may not be reassociated: mulss/addss, mulsd/addsd).
 *
 * No fused multiply-add on x86-64's baseline and no reassociation: every
 * element is the same sequence of IEEE operations as in the source, so the
 * results are exact functions of the inputs (corpus/compute tests recompute
 * them). Inputs: xorshift64* (rt.c) scaled by powers of two, so that their
 * conversion to float/double is exact. Printed exactly (rt-float.c), with
 * an FNV-1a digest of every element's encoding.
 */
#include "rt.h"

#define N 48
#define V 1024
#define ROUNDS 6

static float fa[N][N] __attribute__((aligned(16)));
static float fb[N][N] __attribute__((aligned(16)));
static float fc[N][N] __attribute__((aligned(16)));
static double da[N][N] __attribute__((aligned(16)));
static double db[N][N] __attribute__((aligned(16)));
static double dc[N][N] __attribute__((aligned(16)));
static float fx[V] __attribute__((aligned(16)));
static float fy[V] __attribute__((aligned(16)));
static double dx[V] __attribute__((aligned(16)));
static double dy[V] __attribute__((aligned(16)));

/* Scalar references: never vectorized; must agree bit for bit. */
#define SCALAR __attribute__((noinline, optimize("no-tree-vectorize")))

static u32 f32_bits(float f)
{
    u32 b;
    __builtin_memcpy(&b, &f, 4);
    return b;
}

static u64 f64_bits(double d)
{
    u64 b;
    __builtin_memcpy(&b, &d, 8);
    return b;
}

/* float: a signed 24-bit integer / 2^23, in [-1, 1); double: a signed 53-bit integer / 2^52 */
static float rnd_f32(rng_t *r)
{
    return (float)((i32)(rng_next(r) >> 32) >> 8) * 0x1p-23f;
}

static double rnd_f64(rng_t *r)
{
    return (double)((i64)rng_next(r) >> 11) * 0x1p-52;
}

static void fill(u64 seed)
{
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            fa[i][j] = rnd_f32(&r);
            fb[i][j] = rnd_f32(&r);
            da[i][j] = rnd_f64(&r);
            db[i][j] = rnd_f64(&r);
        }
    for (int i = 0; i < V; i++) {
        fx[i] = rnd_f32(&r);
        fy[i] = rnd_f32(&r);
        dx[i] = rnd_f64(&r);
        dy[i] = rnd_f64(&r);
    }
}

static __attribute__((noinline)) void mm_f32(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            fc[i][j] = 0;
        for (int k = 0; k < N; k++) {
            float a = fa[i][k];
            for (int j = 0; j < N; j++)
                fc[i][j] += a * fb[k][j];
        }
    }
}

static __attribute__((noinline)) void mm_f64(void)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            dc[i][j] = 0;
        for (int k = 0; k < N; k++) {
            double a = da[i][k];
            for (int j = 0; j < N; j++)
                dc[i][j] += a * db[k][j];
        }
    }
}

static SCALAR int ref_mm_f32_agrees(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float s = 0;
            for (int k = 0; k < N; k++)
                s += fa[i][k] * fb[k][j];
            if (f32_bits(s) != f32_bits(fc[i][j]))
                return 0;
        }
    return 1;
}

static SCALAR int ref_mm_f64_agrees(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += da[i][k] * db[k][j];
            if (f64_bits(s) != f64_bits(dc[i][j]))
                return 0;
        }
    return 1;
}

static __attribute__((noinline)) float dot_f32(const float *a, const float *b)
{
    float s = 0;
    for (int i = 0; i < V; i++)
        s += a[i] * b[i];
    return s;
}

static __attribute__((noinline)) double dot_f64(const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < V; i++)
        s += a[i] * b[i];
    return s;
}

/* y = alpha * x + y */
static __attribute__((noinline)) void axpy_f32(float alpha, const float *x, float *y)
{
    for (int i = 0; i < V; i++)
        y[i] = alpha * x[i] + y[i];
}

static __attribute__((noinline)) void axpy_f64(double alpha, const double *x, double *y)
{
    for (int i = 0; i < V; i++)
        y[i] = alpha * x[i] + y[i];
}

/* y = ((0.25 x - 0.5) x + 1.5) x - 3 (Horner), in place */
static __attribute__((noinline)) void horner_f32(float *y)
{
    for (int i = 0; i < V; i++) {
        float x = y[i];
        y[i] = ((0.25f * x - 0.5f) * x + 1.5f) * x - 3.0f;
    }
}

static __attribute__((noinline)) void horner_f64(double *y)
{
    for (int i = 0; i < V; i++) {
        double x = y[i];
        y[i] = ((0.25 * x - 0.5) * x + 1.5) * x - 3.0;
    }
}

/* FNV-1a over the encodings */
static u64 digest32(const float *p, int n, u64 h)
{
    for (int i = 0; i < n; i++)
        h = (h ^ f32_bits(p[i])) * 0x100000001B3ull;
    return h;
}

static u64 digest64(const double *p, int n, u64 h)
{
    for (int i = 0; i < n; i++)
        h = (h ^ f64_bits(p[i])) * 0x100000001B3ull;
    return h;
}

#define FNV0 0xcbf29ce484222325ull

int guest_main(void)
{
    u64 all = FNV0;
    int bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        fill(0x6d61746d756cull + (u64)round);
        mm_f32();
        mm_f64();
        bad |= check(ref_mm_f32_agrees(), "mm32 vectorized = scalar");
        bad |= check(ref_mm_f64_agrees(), "mm64 vectorized = scalar");
        float fd = dot_f32(fx, fy);
        double dd = dot_f64(dx, dy);
        axpy_f32(fc[1][2], fx, fy);
        axpy_f64(dc[1][2], dx, dy);
        horner_f32(fy);
        horner_f64(dy);
        if (round == 0) {
            print_label_f32("mm32[0][0]", f32_bits(fc[0][0]));
            print_label_f32("mm32[17][31]", f32_bits(fc[17][31]));
            print_label_f32("mm32[47][47]", f32_bits(fc[N - 1][N - 1]));
            print_label_hex64("mm32", digest32(&fc[0][0], N * N, FNV0));
            print_label_f64("mm64[0][0]", f64_bits(dc[0][0]));
            print_label_f64("mm64[17][31]", f64_bits(dc[17][31]));
            print_label_f64("mm64[47][47]", f64_bits(dc[N - 1][N - 1]));
            print_label_hex64("mm64", digest64(&dc[0][0], N * N, FNV0));
            print_label_f32("dot32", f32_bits(fd));
            print_label_f64("dot64", f64_bits(dd));
            print_label_f32("poly32[5]", f32_bits(fy[5]));
            print_label_hex64("poly32", digest32(fy, V, FNV0));
            print_label_f64("poly64[5]", f64_bits(dy[5]));
            print_label_hex64("poly64", digest64(dy, V, FNV0));
        }
        all = digest32(&fc[0][0], N * N, all);
        all = digest64(&dc[0][0], N * N, all);
        all = digest32(fy, V, all);
        all = digest64(dy, V, all);
        all = (all ^ f32_bits(fd)) * 0x100000001B3ull;
        all = (all ^ f64_bits(dd)) * 0x100000001B3ull;
    }
    print_label_hex64("rounds", all);
    if (bad)
        return 1;
    puts_("matmul: ok\n");
    return 0;
}
