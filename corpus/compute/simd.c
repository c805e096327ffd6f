/*
 * simd: integer loops that gcc -O2 vectorizes with SSE2 (built without
 * -mgeneral-regs-only, unlike the other guests), and a byte scanner written
 * with SSE2 vector builtins the way string functions are: sums of int16
 * arrays (punpck/psrad widening, paddd), byte histograms of equality
 * (pcmpeqb), minimum and maximum (pminub/pmaxub, pminsw/pmaxsw), saturating
 * mixes (paddusb, psubusw), absolute differences (psadbw), dot products
 * (pmaddwd), 32x32->64 products (pmuludq), shifts and shuffles, and a
 * strlen/memchr over every alignment (pcmpeqb + pmovmskb). Each result is
 * printed and checked against a plain scalar loop the compiler is told not
 * to vectorize.
 *
 * Data: xorshift64* (rt.c) from fixed seeds; the first round's results are
 * printed one by one, ROUNDS more as one digest.
 */
#include "rt.h"

#define N 4096
#define ROUNDS 12

typedef char v16qi __attribute__((vector_size(16)));
typedef short v8hi __attribute__((vector_size(16)));
typedef long long v2di __attribute__((vector_size(16)));
typedef int v4si __attribute__((vector_size(16)));

static i16 wa[N] __attribute__((aligned(16)));
static i16 wb[N] __attribute__((aligned(16)));
static u8 ba[N] __attribute__((aligned(16)));
static u8 bb[N] __attribute__((aligned(16)));
static u8 bout[N] __attribute__((aligned(16)));
static u32 da[N] __attribute__((aligned(16)));
static u64 qout[N] __attribute__((aligned(16)));
static char text[N + 64] __attribute__((aligned(16)));

/* Scalar references: never vectorized. */
#define SCALAR __attribute__((noinline, optimize("no-tree-vectorize")))

static void fill(u64 seed)
{
    rng_t r;
    rng_seed(&r, seed);
    for (int i = 0; i < N; i++) {
        u64 x = rng_next(&r);
        wa[i] = (i16)x;
        wb[i] = (i16)(x >> 16);
        ba[i] = (u8)(x >> 32);
        bb[i] = (u8)(x >> 40) & 0x3f;
        da[i] = (u32)(x >> 24);
    }
    /* runs of equal bytes and extremes for the compares and saturation */
    for (int i = 0; i < N; i += 97) ba[i] = bb[i] = 0;
    for (int i = 5; i < N; i += 89) ba[i] = 0xff;
}

static __attribute__((noinline)) i32 simd_sum16(const i16 *a)
{
    i32 s = 0;
    for (int i = 0; i < N; i++) s += a[i];
    return s;
}
static SCALAR i32 ref_sum16(const i16 *a)
{
    i32 s = 0;
    for (int i = 0; i < N; i++) s += a[i];
    return s;
}

static __attribute__((noinline)) u32 simd_count_eq(const u8 *a, u8 c)
{
    u32 n = 0;
    for (int i = 0; i < N; i++) n += a[i] == c;
    return n;
}
static SCALAR u32 ref_count_eq(const u8 *a, u8 c)
{
    u32 n = 0;
    for (int i = 0; i < N; i++) n += a[i] == c;
    return n;
}

static __attribute__((noinline)) void simd_minmax(const u8 *a, const i16 *w, u8 *mn, u8 *mx, i16 *wmn, i16 *wmx)
{
    u8 lo = 255, hi = 0;
    i16 wlo = 32767, whi = -32768;
    for (int i = 0; i < N; i++) {
        lo = a[i] < lo ? a[i] : lo;
        hi = a[i] > hi ? a[i] : hi;
    }
    for (int i = 0; i < N; i++) {
        wlo = w[i] < wlo ? w[i] : wlo;
        whi = w[i] > whi ? w[i] : whi;
    }
    *mn = lo, *mx = hi, *wmn = wlo, *wmx = whi;
}

/* Saturating add of bytes, then a difference of words floored at zero. */
static __attribute__((noinline)) void simd_mix(u8 *out, const u8 *a, const u8 *b)
{
    for (int i = 0; i < N; i++) {
        unsigned s = a[i] + b[i];
        out[i] = s > 255 ? 255 : (u8)s;
    }
}
static SCALAR u32 ref_mix_sum(const u8 *a, const u8 *b)
{
    u32 t = 0;
    for (int i = 0; i < N; i++) {
        unsigned s = a[i] + b[i];
        t += s > 255 ? 255 : s;
    }
    return t;
}

/* Sum of |a - b| over bytes: psadbw with the vector builtins. */
static __attribute__((noinline)) u64 simd_sad(const u8 *a, const u8 *b)
{
    v2di acc = {0, 0};
    for (int i = 0; i < N; i += 16)
        acc += (v2di)__builtin_ia32_psadbw128(*(const v16qi *)(a + i), *(const v16qi *)(b + i));
    return (u64)acc[0] + (u64)acc[1];
}
static SCALAR u64 ref_sad(const u8 *a, const u8 *b)
{
    u64 s = 0;
    for (int i = 0; i < N; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}

/* Dot product of int16 vectors: pmaddwd. */
static __attribute__((noinline)) i64 simd_dot(const i16 *a, const i16 *b)
{
    v4si acc = {0, 0, 0, 0};
    for (int i = 0; i < N; i += 8) {
        v4si p = __builtin_ia32_pmaddwd128(*(const v8hi *)(a + i), *(const v8hi *)(b + i));
        acc += p >> 8; /* psrad keeps the sum from overflowing */
    }
    return (i64)acc[0] + acc[1] + acc[2] + acc[3];
}
static SCALAR i64 ref_dot(const i16 *a, const i16 *b)
{
    i64 s = 0;
    for (int i = 0; i < N; i += 2) s += ((i32)a[i] * b[i] + (i32)a[i + 1] * b[i + 1]) >> 8;
    return s;
}

/* a[i] * a[i+1] >> 7 as 64-bit products, four at a time: pmuludq on the even and (shifted) odd dwords. */
static __attribute__((noinline)) void simd_widen(u64 *out, const u32 *a)
{
    typedef unsigned int v4su __attribute__((vector_size(16)));
    typedef unsigned long long v2du __attribute__((vector_size(16)));
    for (int i = 0; i < N; i += 4) {
        v4su x = *(const v4su *)(a + i);
        v4su y = __builtin_shuffle(x, *(const v4su *)(a + ((i + 4) & (N - 1))), (v4su){1, 2, 3, 4});
        v2du even = (v2du)__builtin_ia32_pmuludq128((v4si)x, (v4si)y) >> 7;
        v2du odd = (v2du)__builtin_ia32_pmuludq128((v4si)((v2du)x >> 32), (v4si)((v2du)y >> 32)) >> 7;
        *(v2du *)(out + i) = __builtin_shuffle(even, odd, (v2du){0, 2});
        *(v2du *)(out + i + 2) = __builtin_shuffle(even, odd, (v2du){1, 3});
    }
}
static SCALAR u64 ref_widen_xor(const u32 *a)
{
    u64 x = 0;
    for (int i = 0; i < N; i++) x ^= ((u64)a[i] * a[(i + 1) & (N - 1)]) >> 7 << (i & 7);
    return x;
}

/* strlen with aligned 16-byte loads, pcmpeqb and pmovmskb (reading past the end stays inside the aligned block). */
static __attribute__((noinline)) size_t simd_strlen(const char *s)
{
    const v16qi zero = {0};
    uintptr_t off = (uintptr_t)s & 15;
    const v16qi *p = (const v16qi *)(s - off);
    unsigned m = (unsigned)__builtin_ia32_pmovmskb128(*p == zero) >> off;
    if (m != 0) return (size_t)__builtin_ctz(m);
    for (;;) {
        p++;
        m = (unsigned)__builtin_ia32_pmovmskb128(*p == zero);
        if (m != 0) return (size_t)((const char *)p - s) + (size_t)__builtin_ctz(m);
    }
}
static SCALAR size_t ref_strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

int guest_main(void)
{
    int bad = 0;
    fill(0x5eed5eedu);

    i32 s16 = simd_sum16(wa);
    print_label_u64("sum16", (u64)(i64)s16);
    bad |= check(s16 == ref_sum16(wa), "sum16");

    u64 counts = 0;
    for (int c = 0; c < 256; c += 17) {
        u32 n = simd_count_eq(ba, (u8)c);
        bad |= check(n == ref_count_eq(ba, (u8)c), "count_eq");
        counts = counts * 31 + n;
    }
    print_label_hex64("count_eq", counts);

    u8 mn, mx;
    i16 wmn, wmx;
    simd_minmax(ba, wa, &mn, &mx, &wmn, &wmx);
    print_label_u64("min8", mn);
    print_label_u64("max8", mx);
    print_label_u64("min16", (u64)(i64)wmn);
    print_label_u64("max16", (u64)(i64)wmx);

    simd_mix(bout, ba, bb);
    u32 mix = 0;
    for (int i = 0; i < N; i++) mix += bout[i];
    print_label_u64("mix", mix);
    bad |= check(mix == ref_mix_sum(ba, bb), "mix");

    u64 sad = simd_sad(ba, bb);
    print_label_u64("sad", sad);
    bad |= check(sad == ref_sad(ba, bb), "sad");

    i64 dot = simd_dot(wa, wb);
    print_label_u64("dot", (u64)dot);
    bad |= check(dot == ref_dot(wa, wb), "dot");

    simd_widen(qout, da);
    u64 wx = 0;
    for (int i = 0; i < N; i++) wx ^= qout[i] << (i & 7);
    print_label_hex64("widen", wx);
    bad |= check(wx == ref_widen_xor(da), "widen");

    /* strlen from every start alignment, to every end alignment */
    u64 lens = 0;
    for (int i = 0; i < N + 64; i++) text[i] = (char)('a' + i % 23);
    for (int start = 0; start < 48; start++) {
        for (int len = 0; len < 70; len += 3) {
            text[start + len] = 0;
            size_t got = simd_strlen(text + start);
            bad |= check(got == ref_strlen(text + start) && got == (size_t)len, "strlen");
            lens += got * (u64)(start + 1);
            text[start + len] = (char)('a' + (start + len) % 23);
        }
    }
    print_label_u64("strlen", lens);

    /* More rounds from other seeds: one digest of every result, each checked against its reference. */
    u64 digest = 0;
    for (int round = 1; round <= ROUNDS; round++) {
        fill(0x5eed5eedu + (u64)round * 0x9e3779b9u);
        i32 s = simd_sum16(wa);
        u32 n = simd_count_eq(ba, (u8)round);
        simd_mix(bout, ba, bb);
        u32 m = 0;
        for (int i = 0; i < N; i++) m += bout[i];
        u64 d = simd_sad(ba, bb);
        i64 p = simd_dot(wa, wb);
        simd_widen(qout, da);
        u64 w = 0;
        for (int i = 0; i < N; i++) w ^= qout[i] << (i & 7);
        bad |= check(s == ref_sum16(wa) && n == ref_count_eq(ba, (u8)round) && m == ref_mix_sum(ba, bb) && d == ref_sad(ba, bb) &&
                         p == ref_dot(wa, wb) && w == ref_widen_xor(da),
                     "round");
        digest = (digest ^ (u64)(u32)s ^ ((u64)n << 32) ^ m ^ (d << 20) ^ (u64)p ^ w) * 0x100000001b3ull;
    }
    print_label_hex64("rounds", digest);

    puts_(bad ? "simd: FAILED\n" : "simd: ok\n");
    return bad;
}
