/* Runtime for the xenrr compute guests; see rt.h. */
#include "rt.h"

#if defined(XENRR_FLAT)

void putch(char c)
{
    __asm__ volatile("outb %0, %1" ::"a"(c), "Nd"((unsigned short)0xE9));
}

void rt_flush(void)
{
}

#elif defined(XENRR_PV)

/* From the PV runtime (corpus/pv/include/rt.h, which cannot be included
 * here: it declares the mem helpers under their plain names). */
void console_write(const char *s, size_t len);

/*
 * Line-buffered: each complete line (or a full buffer) goes to the PV console
 * ring in one console_write, so the console holds everything printed up to
 * the last newline even if the guest dies later. Bytes pass through
 * unchanged ("\n" stays "\n").
 */
static char out_buf[256];
static size_t out_len;

void rt_flush(void)
{
    if (out_len)
        console_write(out_buf, out_len);
    out_len = 0;
}

void putch(char c)
{
    out_buf[out_len++] = c;
    if (c == '\n' || out_len == sizeof out_buf)
        rt_flush();
}

#else /* native */

#include <unistd.h>

static char out_buf[1 << 20];
static size_t out_len;

void rt_flush(void)
{
    size_t off = 0;
    while (off < out_len) {
        ssize_t w = write(1, out_buf + off, out_len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    out_len = 0;
}

void putch(char c)
{
    if (out_len == sizeof out_buf)
        rt_flush();
    out_buf[out_len++] = c;
}

#endif

#if defined(XENRR_FLAT) || defined(XENRR_PV)

/* Natively these come from libc. */

/* Bulk copy: 8 bytes at a time with rep movsq, then the tail with rep movsb. */
void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t q = n >> 3;
    size_t r = n & 7;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(r) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

/* Overlap-safe copy; copies backwards (direction flag set) when dst is above src. */
void *memmove(void *dst, const void *src, size_t n)
{
    if (n == 0 || dst == src)
        return dst;
    if ((uintptr_t)dst < (uintptr_t)src || (uintptr_t)dst >= (uintptr_t)src + n)
        return memcpy(dst, src, n);
    void *d = (u8 *)dst + n - 1;
    const void *s = (const u8 *)src + n - 1;
    __asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory", "cc");
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a;
    const u8 *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (int)(u8)*a - (int)(u8)*b;
}

#endif

void puts_(const char *s)
{
    while (*s)
        putch(*s++);
}

void putsn(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        putch(s[i]);
}

void print_nl(void)
{
    putch('\n');
}

void print_u64(u64 v)
{
    char buf[24];
    int i = 0;
    do {
        buf[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (i > 0)
        putch(buf[--i]);
}

void print_i64(i64 v)
{
    if (v < 0) {
        putch('-');
        print_u64(-(u64)v);
    } else {
        print_u64((u64)v);
    }
}

static const char hexdigits[] = "0123456789abcdef";

static void print_hex_n(u64 v, int digits)
{
    for (int i = digits - 1; i >= 0; i--)
        putch(hexdigits[(v >> (i * 4)) & 15]);
}

void print_hex64(u64 v)
{
    print_hex_n(v, 16);
}

void print_hex32(u32 v)
{
    print_hex_n(v, 8);
}

void print_hex8(u8 v)
{
    print_hex_n(v, 2);
}

void print_label_u64(const char *label, u64 v)
{
    puts_(label);
    putch('=');
    print_u64(v);
    print_nl();
}

void print_label_hex64(const char *label, u64 v)
{
    puts_(label);
    puts_("=0x");
    print_hex64(v);
    print_nl();
}

void rng_seed(rng_t *r, u64 seed)
{
    r->s = seed ? seed : 0x9E3779B97F4A7C15ull;
}

u64 rng_next(rng_t *r)
{
    u64 x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

u32 rng_below(rng_t *r, u32 bound)
{
    return (u32)((rng_next(r) >> 32) % bound);
}

int check(int ok, const char *what)
{
    if (ok)
        return 0;
    puts_("FAIL ");
    puts_(what);
    print_nl();
    return 1;
}
