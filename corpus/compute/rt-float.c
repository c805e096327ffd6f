/*
 * Exact decimal output of binary64 and binary32 values for the compute
 * guests (see rt.h), with integer arithmetic only: the runtime is built with
 * -mgeneral-regs-only, so values arrive as their encodings.
 *
 * A finite value m * 2^q is turned into the integer m * 2^q (q >= 0) or
 * m * 5^-q with the decimal point -q places from the right (q < 0), held
 * in base 10^9 limbs, then rounded to the requested number of significant
 * digits, ties to even: the same text as glibc's printf("%.16e") for a
 * double and printf("%.8e") for a float (in the default rounding mode),
 * which the native build checks on every value it prints.
 */
#include "rt.h"

#if !defined(XENRR_FLAT) && !defined(XENRR_PV)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#endif

#define LIMB 1000000000u
/* 2^53 * 5^1074 has 767 decimal digits: 86 limbs; 2^53 * 2^971 has 309. */
#define LIMBS 90

/* a[0..n) (little-endian base 10^9) *= f, f < 2^31; returns the new length. */
static int mul_small(u32 *a, int n, u32 f)
{
    u64 carry = 0;
    for (int i = 0; i < n; i++) {
        u64 t = (u64)a[i] * f + carry;
        a[i] = (u32)(t % LIMB);
        carry = t / LIMB;
    }
    while (carry) {
        a[n++] = (u32)(carry % LIMB);
        carry /= LIMB;
    }
    return n;
}

/*
 * The text of m * 2^q (m > 0) with `prec` significant digits in out
 * ("d.ddd...e+XX", sign included), NUL-terminated; returns its length.
 */
static int format_dec(char *out, int neg, u64 m, int q, int prec)
{
    u32 big[LIMBS];
    char dig[LIMBS * 9 + 2];
    int n = 0;
    do {
        big[n++] = (u32)(m % LIMB);
        m /= LIMB;
    } while (m);
    int dexp = 0;
    for (int k = q; k > 0; k -= 29)
        n = mul_small(big, n, 1u << (k > 29 ? 29 : k));
    if (q < 0) {
        dexp = q;
        for (int k = -q; k > 0; k -= 13) {
            u32 f = 1;
            for (int j = 0; j < (k > 13 ? 13 : k); j++)
                f *= 5;
            n = mul_small(big, n, f);
        }
    }
    /* decimal digits, most significant first, no leading zeros */
    int len = 0;
    char top[10];
    int t = 0;
    for (u32 v = big[n - 1]; v; v /= 10)
        top[t++] = (char)('0' + v % 10);
    while (t)
        dig[len++] = top[--t];
    for (int i = n - 2; i >= 0; i--)
        for (u32 p = LIMB / 10, v = big[i]; p; p /= 10)
            dig[len++] = (char)('0' + (v / p) % 10);
    int e10 = len - 1 + dexp;
    if (len > prec) {
        int up = dig[prec] > '5';
        if (dig[prec] == '5') {
            up = (dig[prec - 1] - '0') & 1;
            for (int i = prec + 1; i < len && !up; i++)
                up = dig[i] != '0';
        }
        len = prec;
        if (up) {
            int i = prec - 1;
            while (i >= 0 && dig[i] == '9')
                dig[i--] = '0';
            if (i < 0) {
                dig[0] = '1';
                e10++;
            } else {
                dig[i]++;
            }
        }
    }
    while (len < prec)
        dig[len++] = '0';
    int o = 0;
    if (neg)
        out[o++] = '-';
    out[o++] = dig[0];
    out[o++] = '.';
    for (int i = 1; i < prec; i++)
        out[o++] = dig[i];
    out[o++] = 'e';
    out[o++] = e10 < 0 ? '-' : '+';
    int ae = e10 < 0 ? -e10 : e10;
    if (ae >= 100)
        out[o++] = (char)('0' + ae / 100);
    out[o++] = (char)('0' + ae / 10 % 10);
    out[o++] = (char)('0' + ae % 10);
    out[o] = 0;
    return o;
}

/* Text of a value given as sign, exponent field, fraction and format parameters. */
static void format_any(char *out, int neg, int e, u64 frac, int emax, int fbits, int bias, int prec)
{
    if (e == emax) {
        const char *s = frac ? "nan" : "inf";
        int o = 0;
        if (neg)
            out[o++] = '-';
        while (*s)
            out[o++] = *s++;
        out[o] = 0;
        return;
    }
    if (e == 0 && frac == 0) {
        int o = 0;
        if (neg)
            out[o++] = '-';
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 1; i < prec; i++)
            out[o++] = '0';
        out[o++] = 'e';
        out[o++] = '+';
        out[o++] = '0';
        out[o++] = '0';
        out[o] = 0;
        return;
    }
    u64 m = e == 0 ? frac : frac | (1ull << fbits);
    format_dec(out, neg, m, (e == 0 ? 1 : e) - bias - fbits, prec);
}

#if !defined(XENRR_FLAT) && !defined(XENRR_PV)
/* Native build: every printed value must read as glibc prints it. */
static void against_libc(const char *ours, const char *libc, const char *fmt)
{
    if (strcmp(ours, libc) != 0) {
        fprintf(stderr, "rt-float: %s prints %s, glibc %s\n", fmt, ours, libc);
        exit(1);
    }
}
#endif

void print_f64(u64 bits)
{
    char s[40];
    format_any(s, (int)(bits >> 63), (int)(bits >> 52) & 0x7ff, bits & ((1ull << 52) - 1), 0x7ff, 52, 1023, 17);
#if !defined(XENRR_FLAT) && !defined(XENRR_PV)
    char ref[64];
    double d;
    memcpy(&d, &bits, 8);
    snprintf(ref, sizeof ref, "%.16e", d);
    against_libc(s, ref, "%.16e");
#endif
    puts_(s);
}

void print_f32(u32 bits)
{
    char s[32];
    format_any(s, (int)(bits >> 31), (int)(bits >> 23) & 0xff, bits & ((1u << 23) - 1), 0xff, 23, 127, 9);
#if !defined(XENRR_FLAT) && !defined(XENRR_PV)
    char ref[64];
    float f;
    memcpy(&f, &bits, 4);
    snprintf(ref, sizeof ref, "%.8e", (double)f);
    against_libc(s, ref, "%.8e");
#endif
    puts_(s);
}

void print_label_f64(const char *label, u64 bits)
{
    puts_(label);
    putch('=');
    print_f64(bits);
    puts_(" 0x");
    print_hex64(bits);
    print_nl();
}

void print_label_f32(const char *label, u32 bits)
{
    puts_(label);
    putch('=');
    print_f32(bits);
    puts_(" 0x");
    print_hex32(bits);
    print_nl();
}
