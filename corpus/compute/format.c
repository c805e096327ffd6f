/*
 * format: a printf-style formatter written from scratch, self-checked
 * against expected strings, then used to print a page of formatted lines and
 * to format a large batch of lines into memory (hashed, not printed).
 *
 * Supported: flags "-0+ #", width and precision (digits or '*'), length
 * modifiers hh h l ll z, conversions d i u x X o b c s p %.
 * %p prints "(nil)" for NULL, otherwise 0x followed by lowercase hex.
 * %s prints "(null)" for NULL. %b is binary. An unknown conversion is
 * printed verbatim, including its '%'.
 */
#include <stdarg.h>

#include "rt.h"

typedef void (*sink_fn)(void *ctx, char c);

/* Output destination writing into a fixed buffer (always NUL-terminated). */
struct bufsink {
    char *p;
    size_t len;
    size_t cap;
};

static void buf_put(void *ctx, char c)
{
    struct bufsink *b = ctx;
    if (b->len + 1 < b->cap)
        b->p[b->len] = c;
    b->len++;
}

static void console_put(void *ctx, char c)
{
    (void)ctx;
    putch(c);
}

/* Hashing destination: FNV-1a over the bytes. */
struct hashsink {
    u64 h;
    u64 n;
};

static void hash_put(void *ctx, char c)
{
    struct hashsink *s = ctx;
    s->h = (s->h ^ (u8)c) * 0x100000001B3ull;
    s->n++;
}

enum {
    F_LEFT = 1,
    F_ZERO = 2,
    F_PLUS = 4,
    F_SPACE = 8,
    F_ALT = 16,
};

enum {
    LEN_INT,
    LEN_CHAR,
    LEN_SHORT,
    LEN_LONG,
    LEN_LLONG,
    LEN_SIZE,
};

struct out {
    sink_fn put;
    void *ctx;
    int count;
};

static void emit(struct out *o, char c)
{
    o->put(o->ctx, c);
    o->count++;
}

static void emit_n(struct out *o, char c, int n)
{
    while (n-- > 0)
        emit(o, c);
}

/* Digits of v in base (2..16), least significant first; returns the count. */
static int to_digits(u64 v, unsigned base, int upper, char *out)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    do {
        out[n++] = dig[v % base];
        v /= base;
    } while (v);
    return n;
}

static void format_int(struct out *o, u64 mag, int neg, unsigned base, int upper, int flags, int width,
                       int prec, char conv)
{
    char digits[72];
    int nd;
    if (prec == 0 && mag == 0)
        nd = 0;
    else
        nd = to_digits(mag, base, upper, digits);

    char sign = 0;
    if (neg)
        sign = '-';
    else if (conv == 'd' && (flags & F_PLUS))
        sign = '+';
    else if (conv == 'd' && (flags & F_SPACE))
        sign = ' ';

    const char *prefix = "";
    if (flags & F_ALT) {
        if (conv == 'x' && mag)
            prefix = upper ? "0X" : "0x";
        else if (conv == 'b' && mag)
            prefix = "0b";
        else if (conv == 'o' && (prec <= nd))
            prec = nd + 1; /* force a leading zero */
    }
    if (conv == 'p')
        prefix = "0x";
    int plen = (int)strlen(prefix);

    int zeros = prec > nd ? prec - nd : 0;
    int body = (sign ? 1 : 0) + plen + zeros + nd;
    int pad = width > body ? width - body : 0;

    if (!(flags & F_LEFT) && (flags & F_ZERO) && prec < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!(flags & F_LEFT))
        emit_n(o, ' ', pad);
    if (sign)
        emit(o, sign);
    for (int i = 0; i < plen; i++)
        emit(o, prefix[i]);
    emit_n(o, '0', zeros);
    while (nd > 0)
        emit(o, digits[--nd]);
    if (flags & F_LEFT)
        emit_n(o, ' ', pad);
}

static void format_str(struct out *o, const char *s, int flags, int width, int prec)
{
    if (!s)
        s = "(null)";
    int n = 0;
    while (s[n] && (prec < 0 || n < prec))
        n++;
    int pad = width > n ? width - n : 0;
    if (!(flags & F_LEFT))
        emit_n(o, ' ', pad);
    for (int i = 0; i < n; i++)
        emit(o, s[i]);
    if (flags & F_LEFT)
        emit_n(o, ' ', pad);
}

static int vfmt(sink_fn put, void *ctx, const char *f, va_list ap)
{
    struct out o = {put, ctx, 0};
    while (*f) {
        if (*f != '%') {
            emit(&o, *f++);
            continue;
        }
        const char *start = f++;
        int flags = 0;
        for (;; f++) {
            if (*f == '-')
                flags |= F_LEFT;
            else if (*f == '0')
                flags |= F_ZERO;
            else if (*f == '+')
                flags |= F_PLUS;
            else if (*f == ' ')
                flags |= F_SPACE;
            else if (*f == '#')
                flags |= F_ALT;
            else
                break;
        }
        int width = 0;
        if (*f == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = width == -2147483647 - 1 ? 0 : -width;
            }
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                width = width * 10 + (*f++ - '0');
        }
        int prec = -1;
        if (*f == '.') {
            f++;
            prec = 0;
            if (*f == '*') {
                prec = va_arg(ap, int);
                if (prec < 0)
                    prec = -1;
                f++;
            } else {
                while (*f >= '0' && *f <= '9')
                    prec = prec * 10 + (*f++ - '0');
            }
        }
        int len = LEN_INT;
        switch (*f) {
        case 'h':
            f++;
            len = LEN_SHORT;
            if (*f == 'h') {
                f++;
                len = LEN_CHAR;
            }
            break;
        case 'l':
            f++;
            len = LEN_LONG;
            if (*f == 'l') {
                f++;
                len = LEN_LLONG;
            }
            break;
        case 'z':
            f++;
            len = LEN_SIZE;
            break;
        default:
            break;
        }

        char conv = *f;
        if (conv)
            f++;
        i64 sv;
        u64 uv;
        switch (conv) {
        case 'd':
        case 'i':
            switch (len) {
            case LEN_CHAR:
                sv = (signed char)va_arg(ap, int);
                break;
            case LEN_SHORT:
                sv = (short)va_arg(ap, int);
                break;
            case LEN_LONG:
                sv = va_arg(ap, long);
                break;
            case LEN_LLONG:
                sv = va_arg(ap, long long);
                break;
            case LEN_SIZE:
                sv = (i64)va_arg(ap, size_t);
                break;
            default:
                sv = va_arg(ap, int);
                break;
            }
            format_int(&o, sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10, 0, flags, width, prec, 'd');
            break;
        case 'u':
        case 'x':
        case 'X':
        case 'o':
        case 'b':
            switch (len) {
            case LEN_CHAR:
                uv = (unsigned char)va_arg(ap, unsigned);
                break;
            case LEN_SHORT:
                uv = (unsigned short)va_arg(ap, unsigned);
                break;
            case LEN_LONG:
                uv = va_arg(ap, unsigned long);
                break;
            case LEN_LLONG:
                uv = va_arg(ap, unsigned long long);
                break;
            case LEN_SIZE:
                uv = va_arg(ap, size_t);
                break;
            default:
                uv = va_arg(ap, unsigned);
                break;
            }
            {
                unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : conv == 'b' ? 2 : 16;
                char c = conv == 'X' ? 'x' : conv;
                format_int(&o, uv, 0, base, conv == 'X', flags, width, prec, c);
            }
            break;
        case 'p': {
            void *p = va_arg(ap, void *);
            if (!p)
                format_str(&o, "(nil)", flags, width, -1);
            else
                format_int(&o, (u64)(uintptr_t)p, 0, 16, 0, flags, width, prec, 'p');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            int pad = width > 1 ? width - 1 : 0;
            if (!(flags & F_LEFT))
                emit_n(&o, ' ', pad);
            emit(&o, c);
            if (flags & F_LEFT)
                emit_n(&o, ' ', pad);
            break;
        }
        case 's':
            format_str(&o, va_arg(ap, const char *), flags, width, prec);
            break;
        case '%':
            emit(&o, '%');
            break;
        default:
            /* Unknown or missing conversion: copy the directive verbatim. */
            while (start < f)
                emit(&o, *start++);
            break;
        }
    }
    return o.count;
}

static int fmt_console(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vfmt(console_put, 0, f, ap);
    va_end(ap);
    return n;
}

static int fmt_buf(char *buf, size_t cap, const char *f, ...)
{
    struct bufsink b = {buf, 0, cap};
    va_list ap;
    va_start(ap, f);
    int n = vfmt(buf_put, &b, f, ap);
    va_end(ap);
    if (cap)
        buf[b.len < cap ? b.len : cap - 1] = 0;
    return n;
}

static int fmt_hash(struct hashsink *h, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vfmt(hash_put, h, f, ap);
    va_end(ap);
    return n;
}

static int fails;

/* Formats into a buffer and compares with want; prints a FAIL line on mismatch. */
static void expect(const char *want, const char *f, ...)
{
    char buf[160];
    struct bufsink b = {buf, 0, sizeof buf};
    va_list ap;
    va_start(ap, f);
    int n = vfmt(buf_put, &b, f, ap);
    va_end(ap);
    buf[b.len < sizeof buf ? b.len : sizeof buf - 1] = 0;
    if (strcmp(buf, want) != 0 || n != (int)strlen(want)) {
        fails++;
        fmt_console("FAIL fmt \"%s\": got \"%s\" (%d), want \"%s\"\n", f, buf, n, want);
    }
}

static void self_check(void)
{
    expect("42", "%d", 42);
    expect("-42", "%d", -42);
    expect("   42", "%5d", 42);
    expect("42   |", "%-5d|", 42);
    expect("00042", "%05d", 42);
    expect("-0042", "%05d", -42);
    expect("+42", "%+d", 42);
    expect(" 42", "% d", 42);
    expect("  007", "%5.3d", 7);
    expect("", "%.0d", 0);
    expect("-2147483648", "%d", -2147483647 - 1);
    expect("2147483647", "%i", 2147483647);
    expect("4294967295", "%u", 4294967295u);
    expect("-9223372036854775808", "%ld", (long)(-9223372036854775807ll - 1));
    expect("9223372036854775807", "%lld", 9223372036854775807ll);
    expect("18446744073709551615", "%lu", 18446744073709551615ul);
    expect("8000000000000000", "%lx", 0x8000000000000000ul);
    expect("DEADBEEF", "%X", 0xDEADBEEFu);
    expect("0xdeadbeef", "%#x", 0xDEADBEEFu);
    expect("0", "%#x", 0u);
    expect("0x0000ff", "%#08x", 255u);
    expect("777", "%o", 511u);
    expect("0777", "%#o", 511u);
    expect("101010", "%b", 42u);
    expect("44", "%hhd", 300);
    expect("-56", "%hhd", 200);
    expect("4464", "%hd", 70000);
    expect("65535", "%hu", -1);
    expect("ffffffffffffffff", "%zx", (size_t)-1);
    expect("x", "%c", 'x');
    expect("  x|x  ", "%3c|%-3c", 'x', 'x');
    expect("hello", "%s", "hello");
    expect("  hello", "%7s", "hello");
    expect("hello  |", "%-7s|", "hello");
    expect("hel", "%.3s", "hello");
    expect("(null)", "%s", (const char *)0);
    expect("(nil)", "%p", (void *)0);
    expect("0xdeadbeef", "%p", (void *)(uintptr_t)0xDEADBEEFu);
    expect("0xffff800000001000", "%p", (void *)(uintptr_t)0xFFFF800000001000ull);
    expect("100%", "%d%%", 100);
    expect("   -7", "%*d", 5, -7);
    expect("-7   |", "%*d|", -5, -7);
    expect("  abc", "%*.*s", 5, 3, "abcdef");
    expect("%y", "%y");
    expect("a%", "a%");
}

static const char *const names[] = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
};

int guest_main(void)
{
    self_check();

    fmt_console("format: page of formatted lines\n");
    fmt_console("%-6s|%8s|%10s|%18s|%6s\n", "n", "n^2", "n^3 hex", "-n^7", "name");
    for (int i = -3; i < 20; i++) {
        i64 n = i;
        i64 n7 = n * n * n * n * n * n * n;
        fmt_console("%-6d|%8ld|%#10lx|%18lld|%6s\n", i, n * n, (unsigned long)(n * n * n) & 0xFFFFFFFFul, -n7,
                    names[(i < 0 ? -i : i) % 10]);
    }
    fmt_console("limits: %ld %ld %lu\n", (long)(-9223372036854775807ll - 1), 9223372036854775807l,
                18446744073709551615ul);
    fmt_console("limits: %d %d %u %hd %hhu\n", -2147483647 - 1, 2147483647, 4294967295u, (short)-32768,
                (unsigned char)255);
    fmt_console("hex: [%x] [%X] [%08x] [%-8x] [%#lx] [%#o] [%b]\n", 0xabcu, 0xabcu, 0xabcu, 0xabcu,
                0xFFFF800000000000ul, 8u, 0x55u);
    fmt_console("pointers: %p %p %p\n", (void *)0, (void *)(uintptr_t)0x100000,
                (void *)(uintptr_t)0xFFFFFFFF80000000ull);
    fmt_console("chars: [%c%c%c] [%5c] [%-5c]\n", 'a', 'b', 'c', '*', '*');
    fmt_console("strings: [%10s] [%-10s] [%.2s] [%s]\n", "right", "left", "truncate", (const char *)0);
    fmt_console("percent: 100%% done, %d%% left\n", 0);

    /* Powers of three in four bases. */
    u64 p = 1;
    for (int e = 0; e <= 40; e += 4) {
        fmt_console("3^%-2d = %20lu = %16lx = %27lo\n", e, p, p, p);
        p *= 81;
    }

    /* A large batch into a hashing sink. */
    struct hashsink hs = {0xCBF29CE484222325ull, 0};
    rng_t r;
    rng_seed(&r, 0x5EED);
    i64 signed_sum = 0;
    for (int i = 0; i < 3000; i++) {
        u64 v = rng_next(&r);
        i64 sv = (i64)v >> (v & 63);
        signed_sum += sv >> 8;
        fmt_hash(&hs, "%5d %-12ld|%016lx|%+d|%s\n", i, sv, v, (int)(v >> 40) - 8388608, names[v % 10]);
        fmt_hash(&hs, "[%*d] [%-*.*s] [%#o] [%hhx] [%c]\n", (int)(v % 13), (int)(v >> 50), (int)(v % 9), 4,
                 names[(v >> 8) % 10], (unsigned)(v >> 20) & 0777, (unsigned)v, (char)('A' + v % 26));
    }
    fmt_console("batch: bytes=%lu hash=%016lx sum=%ld\n", hs.n, hs.h, signed_sum);

    char small[8];
    int n = fmt_buf(small, sizeof small, "%s-%d", "overflow", 12345);
    fmt_console("truncated: \"%s\" needed %d\n", small, n);
    if (n != 14 || strcmp(small, "overflo") != 0)
        fails++;

    fmt_console(fails ? "format: FAILED (%d)\n" : "format: ok\n", fails);
    return fails ? 1 : 0;
}
