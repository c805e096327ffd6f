/*
 * fpspecial: the corners of SSE floating point, one instruction at a time
 * (part of the fpconv guest). Every pair of a table of binary64 values
 * (signed zeros, denormals, the normal limits, ones, infinities, quiet and
 * signalling NaNs) through add, sub, mul, div, min, max, cvtsd2ss and
 * cvttsd2si, and every value through sqrt and the conversions, under
 * several MXCSR settings (round to nearest, down, up and toward zero; DAZ
 * and FTZ), each result together with the exception flags the operation
 * raised (all exceptions masked: flags only, no #XM). The functions are
 * noipa, so gcc can fold nothing: each operation is the instruction, run
 * on the value.
 */
#include "rt.h"

#define NOIPA __attribute__((noipa))

static double d_of(u64 b)
{
    double d;
    __builtin_memcpy(&d, &b, 8);
    return d;
}

static u64 bits64(double d)
{
    u64 b;
    __builtin_memcpy(&b, &d, 8);
    return b;
}

static u32 bits32(float f)
{
    u32 b;
    __builtin_memcpy(&b, &f, 4);
    return b;
}

static u32 flags_now(void)
{
    u32 m;
    __asm__ volatile("stmxcsr %0" : "=m"(m)::"memory");
    return m & 0x3f;
}

static void mxcsr_set(u32 m)
{
    __asm__ volatile("ldmxcsr %0" ::"m"(m) : "memory");
}

static const u64 VALUES[] = {
    0x0000000000000000ull, 0x8000000000000000ull, /* +-0 */
    0x0000000000000001ull, 0x800fffffffffffffull, /* smallest and largest denormals */
    0x0010000000000000ull, 0x7fefffffffffffffull, /* smallest and largest normals */
    0x3ff0000000000000ull, 0xbff8000000000000ull, /* 1, -1.5 */
    0x3ca0000000000000ull, 0x4340000000000001ull, /* 2^-53, 2^54 + 2 */
    0x41dfffffffe00000ull, 0xc1e0000000000000ull, /* 2^31 - 1, -2^31 */
    0x47efffffe0000000ull, 0x36a0000000000000ull, /* float max, float denormal min */
    0x7ff0000000000000ull, 0xfff0000000000000ull, /* +-inf */
    0x7ff8000000000000ull, 0xfff4000000000abcull, /* QNaN, SNaN with payload */
};
#define NV ((int)(sizeof VALUES / sizeof VALUES[0]))

static const u32 MODES[] = {0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0, 0x1fc0, 0x9f80};
#define NM ((int)(sizeof MODES / sizeof MODES[0]))

static NOIPA double op_add(double a, double b) { return a + b; }
static NOIPA double op_sub(double a, double b) { return a - b; }
static NOIPA double op_mul(double a, double b) { return a * b; }
static NOIPA double op_div(double a, double b) { return a / b; }
static NOIPA double op_min(double a, double b) { return a < b ? a : b; }
static NOIPA double op_max(double a, double b) { return a > b ? a : b; }
static NOIPA double op_sqrt(double a) { return __builtin_sqrt(a); }
static NOIPA float op_d2f(double a) { return (float)a; }
static NOIPA double op_f2d(float a) { return (double)a; }
static NOIPA i32 op_d2i(double a) { return (i32)a; }
static NOIPA i64 op_d2l(double a) { return __builtin_lrint(a); }
static NOIPA int op_lt(double a, double b) { return a < b; }
static NOIPA int op_eq(double a, double b) { return a == b; }

static u64 h;
static void mix(u64 v)
{
    h = (h ^ v) * 0x100000001B3ull;
}

/* One operation under MXCSR m: its result bits and the flags it raised go into the digest. */
#define RUN(m, expr, bitsfn)                  \
    do {                                      \
        mxcsr_set(m);                         \
        u64 r_ = (u64)(bitsfn(expr));         \
        u32 f_ = flags_now();                 \
        mxcsr_set(0x1f80);                    \
        mix(r_);                              \
        mix(f_);                              \
    } while (0)
#define ID(x) (x)

/* Lines printed for a few landmarks: "what=result flags=xx". */
static void show(const char *what, u64 r, u32 f)
{
    puts_(what);
    putch('=');
    print_f64(r);
    puts_(" 0x");
    print_hex64(r);
    puts_(" flags=0x");
    print_hex8((u8)f);
    print_nl();
}

static void landmark(const char *what, u32 m, double (*fn)(double, double), u64 a, u64 b)
{
    mxcsr_set(m);
    u64 r = bits64(fn(d_of(a), d_of(b)));
    u32 f = flags_now();
    mxcsr_set(0x1f80);
    show(what, r, f);
}

int fp_special_values(void)
{
    static const char *const digests[] = {"add", "sub", "mul", "div", "min", "max", "cmp"};
    for (int op = 0; op < 7; op++) {
        h = 0xcbf29ce484222325ull;
        for (int mi = 0; mi < NM; mi++)
            for (int i = 0; i < NV; i++)
                for (int j = 0; j < NV; j++) {
                    double a = d_of(VALUES[i]), b = d_of(VALUES[j]);
                    u32 m = MODES[mi];
                    switch (op) {
                    case 0: RUN(m, op_add(a, b), bits64); break;
                    case 1: RUN(m, op_sub(a, b), bits64); break;
                    case 2: RUN(m, op_mul(a, b), bits64); break;
                    case 3: RUN(m, op_div(a, b), bits64); break;
                    case 4: RUN(m, op_min(a, b), bits64); break;
                    case 5: RUN(m, op_max(a, b), bits64); break;
                    default: RUN(m, op_lt(a, b) * 2 + op_eq(a, b), ID); break;
                    }
                }
        print_label_hex64(digests[op], h);
    }
    h = 0xcbf29ce484222325ull;
    for (int mi = 0; mi < NM; mi++)
        for (int i = 0; i < NV; i++) {
            double a = d_of(VALUES[i]);
            u32 m = MODES[mi];
            RUN(m, op_sqrt(a), bits64);
            RUN(m, op_d2f(a), bits32);
            RUN(m, op_f2d(op_d2f(a)), bits64);
            RUN(m, op_d2i(a), (u32));
            RUN(m, op_d2l(a), (u64));
        }
    print_label_hex64("unary", h);

    landmark("inf-inf", 0x1f80, op_sub, VALUES[14], VALUES[14]);
    landmark("0/0", 0x1f80, op_div, VALUES[0], VALUES[0]);
    landmark("1/-0", 0x1f80, op_div, VALUES[6], VALUES[1]);
    landmark("snan+1", 0x1f80, op_add, VALUES[17], VALUES[6]);
    landmark("qnan*snan", 0x1f80, op_mul, VALUES[16], VALUES[17]);
    landmark("0-0 down", 0x3f80, op_sub, VALUES[0], VALUES[0]);
    landmark("max*max up", 0x5f80, op_mul, VALUES[5], VALUES[5]);
    landmark("max*max zero", 0x7f80, op_mul, VALUES[5], VALUES[5]);
    landmark("dmin*0.5", 0x1f80, op_mul, VALUES[2], 0x3fe0000000000000ull);
    landmark("nmin*0.5 ftz", 0x9f80, op_mul, VALUES[4], 0x3fe0000000000000ull);
    landmark("dmax+dmin daz", 0x1fc0, op_add, VALUES[3], VALUES[2]);
    landmark("1+2^-53", 0x1f80, op_add, VALUES[6], VALUES[8]);
    landmark("1+2^-53 up", 0x5f80, op_add, VALUES[6], VALUES[8]);
    landmark("min(nan,1)", 0x1f80, op_min, VALUES[16], VALUES[6]);
    landmark("min(1,nan)", 0x1f80, op_min, VALUES[6], VALUES[16]);
    landmark("max(-0,+0)", 0x1f80, op_max, VALUES[1], VALUES[0]);
    mxcsr_set(0x1f80);
    u32 ff = bits32(op_d2f(d_of(VALUES[5])));
    u32 f = flags_now();
    mxcsr_set(0x1f80);
    print_label_f32("float(dmax)", ff);
    puts_("float(dmax) flags=0x");
    print_hex8((u8)f);
    print_nl();
    return 0;
}
