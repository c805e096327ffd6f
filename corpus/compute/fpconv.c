/*
 * fpconv: SSE/SSE2 floating point beyond multiply-add, as gcc -O2 compiles
 * it (built with SSE allowed, like simd, and -fno-math-errno so sqrt is an
 * instruction): conversions between int32, float and double in vectorized
 * loops (cvtdq2ps cvttps2dq cvtps2pd cvtpd2ps cvtdq2pd cvttpd2dq) and with
 * 64-bit integers (cvtsi2sdq, cvttsd2siq), lrint under all four MXCSR
 * rounding modes (cvtsd2si, cvtss2si), a histogram of float samples
 * (cvttss2si), square roots, divisions, minimum/maximum and compares
 * (sqrtps/pd, divps/pd, minps/maxpd, cmpltps), an argmax with
 * branches on comisd, and the corner cases: infinities, NaNs, signed
 * zeros, denormals with and without DAZ/FTZ, and the exception flags each
 * computation leaves in MXCSR (fpspecial.c). Each vectorized loop is
 * checked against a scalar loop the compiler is told not to vectorize.
 * Out-of-range conversions give the instructions' integer indefinite (C
 * leaves them undefined; gcc emits the instruction either way).
 */
#include "rt.h"

#define N 2048
#define BINS 64
#define ROUNDS 8

#define SCALAR __attribute__((noinline, optimize("no-tree-vectorize")))
#define KERNEL __attribute__((noinline))

static i32 ia[N] __attribute__((aligned(16)));
static float fa[N] __attribute__((aligned(16)));
static float fb[N] __attribute__((aligned(16)));
static float fo[N] __attribute__((aligned(16)));
static double da[N] __attribute__((aligned(16)));
static double db[N] __attribute__((aligned(16)));
static double dout[N] __attribute__((aligned(16)));
static u32 hist[BINS];

static u64 f64_bits(double d)
{
    u64 b;
    __builtin_memcpy(&b, &d, 8);
    return b;
}

static double f64_of(u64 b)
{
    double d;
    __builtin_memcpy(&d, &b, 8);
    return d;
}

static float f32_of(u32 b)
{
    float f;
    __builtin_memcpy(&f, &b, 4);
    return f;
}

static u32 get_mxcsr(void)
{
    u32 m;
    __asm__ volatile("stmxcsr %0" : "=m"(m)::"memory");
    return m;
}

static void set_mxcsr(u32 m)
{
    __asm__ volatile("ldmxcsr %0" ::"m"(m) : "memory");
}

static u64 h;
static void mix(u64 v)
{
    h = (h ^ v) * 0x100000001B3ull;
}

/* Inputs: integers of every size, floats and doubles of wide range (some huge: conversion overflow). */
static void fill(u64 seed)
{
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < N; i++) {
        u64 x = rng_next(&r);
        int shift = (int)(x & 31);
        ia[i] = (i32)(x >> 32) >> shift;
        fa[i] = (float)((i32)(x >> 8) >> 8) * f32_of((u32)(100 + (x >> 58) * 2) << 23); /* 2^(-27..+99) */
        fb[i] = (float)(i32)(rng_next(&r) >> 40) * 0x1p-24f;                              /* [0, 1) */
        da[i] = (double)((i64)rng_next(&r) >> 11) * f64_of((u64)(1000 + (x >> 56) * 3) << 52);
        db[i] = (double)((i64)rng_next(&r) >> 11) * 0x1p-20;
    }
}

/* ---- conversions (vectorized) and their scalar references ---- */

static KERNEL void cvt_i2f(float *o, const i32 *a) { for (int i = 0; i < N; i++) o[i] = (float)a[i]; }
static SCALAR void ref_i2f(float *o, const i32 *a) { for (int i = 0; i < N; i++) o[i] = (float)a[i]; }
static KERNEL void cvt_f2i(i32 *o, const float *a) { for (int i = 0; i < N; i++) o[i] = (i32)a[i]; }
static SCALAR void ref_f2i(i32 *o, const float *a) { for (int i = 0; i < N; i++) o[i] = (i32)a[i]; }
static KERNEL void cvt_f2d(double *o, const float *a) { for (int i = 0; i < N; i++) o[i] = (double)a[i]; }
static SCALAR void ref_f2d(double *o, const float *a) { for (int i = 0; i < N; i++) o[i] = (double)a[i]; }
static KERNEL void cvt_d2f(float *o, const double *a) { for (int i = 0; i < N; i++) o[i] = (float)a[i]; }
static SCALAR void ref_d2f(float *o, const double *a) { for (int i = 0; i < N; i++) o[i] = (float)a[i]; }
static KERNEL void cvt_i2d(double *o, const i32 *a) { for (int i = 0; i < N; i++) o[i] = (double)a[i]; }
static SCALAR void ref_i2d(double *o, const i32 *a) { for (int i = 0; i < N; i++) o[i] = (double)a[i]; }
static KERNEL void cvt_d2i(i32 *o, const double *a) { for (int i = 0; i < N; i++) o[i] = (i32)a[i]; }
static SCALAR void ref_d2i(i32 *o, const double *a) { for (int i = 0; i < N; i++) o[i] = (i32)a[i]; }

/* ---- arithmetic kernels (vectorized) ---- */

static KERNEL void k_sqrt32(float *o, const float *a) { for (int i = 0; i < N; i++) o[i] = __builtin_sqrtf(a[i] < 0 ? -a[i] : a[i]); }
static SCALAR void r_sqrt32(float *o, const float *a) { for (int i = 0; i < N; i++) o[i] = __builtin_sqrtf(a[i] < 0 ? -a[i] : a[i]); }
static KERNEL void k_sqrt64(double *o, const double *a) { for (int i = 0; i < N; i++) o[i] = __builtin_sqrt(a[i] * a[i]); }
static SCALAR void r_sqrt64(double *o, const double *a) { for (int i = 0; i < N; i++) o[i] = __builtin_sqrt(a[i] * a[i]); }
static KERNEL void k_div32(float *o, const float *a, const float *b) { for (int i = 0; i < N; i++) o[i] = a[i] / b[i]; }
static SCALAR void r_div32(float *o, const float *a, const float *b) { for (int i = 0; i < N; i++) o[i] = a[i] / b[i]; }
static KERNEL void k_div64(double *o, const double *a, const double *b) { for (int i = 0; i < N; i++) o[i] = a[i] / b[i]; }
static SCALAR void r_div64(double *o, const double *a, const double *b) { for (int i = 0; i < N; i++) o[i] = a[i] / b[i]; }
static KERNEL void k_min32(float *o, const float *a, const float *b) { for (int i = 0; i < N; i++) o[i] = a[i] < b[i] ? a[i] : b[i]; }
static SCALAR void r_min32(float *o, const float *a, const float *b) { for (int i = 0; i < N; i++) o[i] = a[i] < b[i] ? a[i] : b[i]; }
static KERNEL void k_max64(double *o, const double *a, const double *b) { for (int i = 0; i < N; i++) o[i] = a[i] > b[i] ? a[i] : b[i]; }
static SCALAR void r_max64(double *o, const double *a, const double *b) { for (int i = 0; i < N; i++) o[i] = a[i] > b[i] ? a[i] : b[i]; }
static KERNEL u32 k_count_lt32(const float *a, const float *b) { u32 n = 0; for (int i = 0; i < N; i++) n += a[i] < b[i]; return n; }
static SCALAR u32 r_count_lt32(const float *a, const float *b) { u32 n = 0; for (int i = 0; i < N; i++) n += a[i] < b[i]; return n; }
static KERNEL u32 k_count_le64(const double *a, const double *b) { u32 n = 0; for (int i = 0; i < N; i++) n += a[i] <= b[i]; return n; }
static SCALAR u32 r_count_le64(const double *a, const double *b) { u32 n = 0; for (int i = 0; i < N; i++) n += a[i] <= b[i]; return n; }

/* index of the largest |x| (first of equals): scalar, branches on comisd */
static KERNEL int argmax_abs(const double *a)
{
    int best = 0;
    double m = -1;
    for (int i = 0; i < N; i++) {
        double x = a[i] < 0 ? -a[i] : a[i];
        if (x > m) {
            m = x;
            best = i;
        }
    }
    return best;
}

/* histogram of [0, 1) samples: bin = (int)(x * 64), cvttss2si */
static KERNEL void histogram(const float *a)
{
    for (int i = 0; i < BINS; i++)
        hist[i] = 0;
    for (int i = 0; i < N; i++)
        hist[(int)(a[i] * (float)BINS)]++;
}

/* lrint (cvtsd2si, cvtss2si) and a sum, both by MXCSR.RC; noinline so that nothing moves across the mode change */
static KERNEL i64 rint_sum(const double *a, const float *b, double *sum)
{
    i64 n = 0;
    double s = 0;
    for (int i = 0; i < N; i++) {
        n += __builtin_lrint(a[i]) + __builtin_lrintf(b[i] * 1000.0f);
        s += a[i] * 0.1;
    }
    *sum = s;
    return n;
}

/* 64-bit integer <-> double, and u64 -> double (gcc's sequence around cvtsi2sdq) */
static KERNEL u64 i64_round_trip(const double *a)
{
    u64 acc = 0;
    for (int i = 0; i < N; i++) {
        double x = a[i] * 0x1p20;
        i64 v = (i64)x;
        acc = acc * 31 + (u64)v + f64_bits((double)v) + f64_bits((double)(u64)(v * 0x9e3779b1));
    }
    return acc;
}

/* FNV-1a digests of an array's encodings */
static u64 bits_of_array32(const void *p)
{
    u64 g = 0xcbf29ce484222325ull;
    const u32 *w = p;
    for (int i = 0; i < N; i++)
        g = (g ^ w[i]) * 0x100000001B3ull;
    return g;
}

static u64 bits_of_array64(const double *p)
{
    u64 g = 0xcbf29ce484222325ull;
    for (int i = 0; i < N; i++)
        g = (g ^ f64_bits(p[i])) * 0x100000001B3ull;
    return g;
}

/* fpspecial.c */
int fp_special_values(void);

int guest_main(void)
{
    int bad = 0;
    static i32 io[N], ir[N];
    static float fr[N];
    static double dr[N];
    h = 0xcbf29ce484222325ull;
    for (int round = 0; round < ROUNDS; round++) {
        int show = round == 0;
        fill(0xf10a7c0full + (u64)round);
#define CMP32(k, r, name) do { u64 x = bits_of_array32(k), y = bits_of_array32(r); mix(x); if (show) print_label_hex64(name, x); bad |= check(x == y, name); } while (0)
#define CMP64(k, r, name) do { u64 x = bits_of_array64(k), y = bits_of_array64(r); mix(x); if (show) print_label_hex64(name, x); bad |= check(x == y, name); } while (0)
        cvt_i2f(fo, ia); ref_i2f(fr, ia); CMP32(fo, fr, "i2f");
        cvt_f2i(io, fa); ref_f2i(ir, fa); CMP32(io, ir, "f2i");
        cvt_f2d(dout, fa); ref_f2d(dr, fa); CMP64(dout, dr, "f2d");
        cvt_d2f(fo, da); ref_d2f(fr, da); CMP32(fo, fr, "d2f");
        cvt_i2d(dout, ia); ref_i2d(dr, ia); CMP64(dout, dr, "i2d");
        cvt_d2i(io, db); ref_d2i(ir, db); CMP32(io, ir, "d2i");
        k_sqrt32(fo, fa); r_sqrt32(fr, fa); CMP32(fo, fr, "sqrt32");
        k_sqrt64(dout, db); r_sqrt64(dr, db); CMP64(dout, dr, "sqrt64");
        k_div32(fo, fa, fb); r_div32(fr, fa, fb); CMP32(fo, fr, "div32");
        k_div64(dout, da, db); r_div64(dr, da, db); CMP64(dout, dr, "div64");
        k_min32(fo, fa, fb); r_min32(fr, fa, fb); CMP32(fo, fr, "min32");
        k_max64(dout, da, db); r_max64(dr, da, db); CMP64(dout, dr, "max64");
        u32 lt = k_count_lt32(fa, fb), le = k_count_le64(da, db);
        bad |= check(lt == r_count_lt32(fa, fb) && le == r_count_le64(da, db), "compare counts");
        int am = argmax_abs(da);
        histogram(fb);
        u64 hh = 0;
        for (int i = 0; i < BINS; i++)
            hh = hh * 131 + hist[i];
        u64 rt = i64_round_trip(da);
        mix(lt);
        mix(le);
        mix((u64)am);
        mix(hh);
        mix(rt);
        if (show) {
            print_label_u64("lt32", lt);
            print_label_u64("le64", le);
            print_label_u64("argmax", (u64)am);
            print_label_f64("max", f64_bits(da[am]));
            print_label_u64("hist[0]", hist[0]);
            print_label_u64("hist[63]", hist[BINS - 1]);
            print_label_hex64("hist", hh);
            print_label_hex64("i64", rt);
        }
        /* the four rounding modes: integers, sums and the flags they raised */
        for (u32 rc = 0; rc < 4; rc++) {
            double sum;
            set_mxcsr(0x1f80 | rc << 13);
            i64 n = rint_sum(db, fb, &sum);
            u32 flags = get_mxcsr() & 0x3f;
            set_mxcsr(0x1f80);
            mix((u64)n);
            mix(f64_bits(sum));
            mix(flags);
            if (show) {
                static const char *const names[] = {"rint nearest", "rint down", "rint up", "rint zero"};
                puts_(names[rc]);
                puts_(": ");
                print_i64(n);
                puts_(" sum=");
                print_f64(f64_bits(sum));
                puts_(" flags=0x");
                print_hex8((u8)flags);
                print_nl();
            }
        }
        if (show)
            print_label_hex64("round 0", h);
    }
    print_label_hex64("rounds", h);
    bad |= fp_special_values();
    if (bad)
        return 1;
    puts_("fpconv: ok\n");
    return 0;
}
