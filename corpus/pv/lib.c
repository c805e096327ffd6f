/*
 * Freestanding string and number helpers. gcc may emit calls to memset,
 * memcpy, memmove and memcmp on its own, so these must exist; they are kept
 * out of loop-to-libcall pattern matching so that memset cannot become a call
 * to itself.
 */
#include "rt.h"

#define NO_LIBCALL __attribute__((optimize("no-tree-loop-distribute-patterns")))

NO_LIBCALL void *memset(void *s, int c, size_t n)
{
    unsigned char *p = s;
    while (n--)
        *p++ = (unsigned char)c;
    return s;
}

NO_LIBCALL void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_LIBCALL void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

NO_LIBCALL int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

NO_LIBCALL size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

NO_LIBCALL size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            break;
    }
    return 0;
}

char *strncpy_z(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    if (size == 0)
        return dst;
    for (; i + 1 < size && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
    return dst;
}

int parse_ulong(const char *s, unsigned long *out)
{
    unsigned long v = 0, base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -XEN_EINVAL;
    for (; *s; s++) {
        unsigned long d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return -XEN_EINVAL;
        if (d >= base)
            return -XEN_EINVAL;
        v = v * base + d;
    }
    *out = v;
    return 0;
}

/* Plain bsf: gcc's __builtin_ctzl may emit `rep bsf` (tzcnt). */
unsigned int bsf64(uint64_t x)
{
    uint64_t r;
    __asm__("bsf %1, %0" : "=r"(r) : "rm"(x) : "cc");
    return (unsigned int)r;
}
