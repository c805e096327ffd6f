/*
 * crc32: table-driven checksums over a generated 256 KiB buffer: CRC-32
 * (bytewise, slicing-by-4 and bitwise), CRC-32C, CRC-16/CCITT-FALSE,
 * CRC-64/XZ and Adler-32, each also checked against its "123456789" vector.
 *
 * The buffer is buf[i] = (u8)(x_i >> 16) with x_0 = 1 and
 * x_{i+1} = x_i * 1103515245 + 12345 (mod 2^32), evaluated before each byte.
 */
#include "rt.h"

#define BUF_SIZE (256 * 1024)
#define BLOCK 4096
#define WINDOW 40001

static u8 buf[BUF_SIZE];
static u32 crc32_tab[4][256];
static u32 crc32c_tab[256];
static u16 crc16_tab[256];
static u64 crc64_tab[256];

/* A volatile modulus keeps Adler-32's reductions as real div instructions. */
static volatile u32 adler_mod = 65521;

static void make_tables(void)
{
    for (u32 n = 0; n < 256; n++) {
        u32 c = n, d = n;
        u64 e = n;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
            d = (d & 1) ? (d >> 1) ^ 0x82F63B78u : d >> 1;
            e = (e & 1) ? (e >> 1) ^ 0xC96C5795D7870F42ull : e >> 1;
        }
        crc32_tab[0][n] = c;
        crc32c_tab[n] = d;
        crc64_tab[n] = e;

        u16 f = (u16)(n << 8);
        for (int k = 0; k < 8; k++)
            f = (u16)((f & 0x8000) ? (f << 1) ^ 0x1021 : f << 1);
        crc16_tab[n] = f;
    }
    for (u32 n = 0; n < 256; n++) {
        u32 c = crc32_tab[0][n];
        for (int t = 1; t < 4; t++) {
            c = crc32_tab[0][c & 0xFF] ^ (c >> 8);
            crc32_tab[t][n] = c;
        }
    }
}

static u32 crc32_update(u32 crc, const u8 *p, size_t n)
{
    crc = ~crc;
    while (n--)
        crc = crc32_tab[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static u32 crc32_slice4(u32 crc, const u8 *p, size_t n)
{
    crc = ~crc;
    while (n && ((uintptr_t)p & 3)) {
        crc = crc32_tab[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
        n--;
    }
    while (n >= 4) {
        u32 w;
        memcpy(&w, p, 4);
        crc ^= w;
        crc = crc32_tab[3][crc & 0xFF] ^ crc32_tab[2][(crc >> 8) & 0xFF] ^
              crc32_tab[1][(crc >> 16) & 0xFF] ^ crc32_tab[0][crc >> 24];
        p += 4;
        n -= 4;
    }
    while (n--)
        crc = crc32_tab[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

static u32 crc32_bitwise(u32 crc, const u8 *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) {
            u32 mask = -(crc & 1);
            crc = (crc >> 1) ^ (0xEDB88320u & mask);
        }
    }
    return ~crc;
}

static u32 crc32c(const u8 *p, size_t n)
{
    u32 crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = crc32c_tab[(u8)(crc ^ p[i])] ^ (crc >> 8);
    return ~crc;
}

static u16 crc16_ccitt(const u8 *p, size_t n)
{
    u16 crc = 0xFFFF;
    for (size_t i = 0; i < n; i++)
        crc = (u16)((crc << 8) ^ crc16_tab[(u8)((crc >> 8) ^ p[i])]);
    return crc;
}

static u64 crc64_xz(const u8 *p, size_t n)
{
    u64 crc = ~0ull;
    for (size_t i = 0; i < n; i++)
        crc = crc64_tab[(u8)(crc ^ p[i])] ^ (crc >> 8);
    return ~crc;
}

static u32 adler32(const u8 *p, size_t n)
{
    u32 m = adler_mod;
    u32 a = 1, b = 0;
    while (n) {
        size_t chunk = n < 5552 ? n : 5552;
        n -= chunk;
        while (chunk--) {
            a += *p++;
            b += a;
        }
        a %= m;
        b %= m;
    }
    return (b << 16) | a;
}

typedef u32 (*sum32_fn)(const u8 *, size_t);

static u32 crc32_plain(const u8 *p, size_t n)
{
    return crc32_update(0, p, n);
}

static u32 crc16_wide(const u8 *p, size_t n)
{
    return crc16_ccitt(p, n);
}

static u32 crc64_low(const u8 *p, size_t n)
{
    return (u32)crc64_xz(p, n);
}

struct algo {
    const char *name;
    sum32_fn fn;
    u32 check; /* value for "123456789" */
};

static const struct algo algos[] = {
    {"crc32", crc32_plain, 0xCBF43926u},
    {"crc32c", crc32c, 0xE3069283u},
    {"crc16-ccitt", crc16_wide, 0x29B1u},
    {"crc64-xz.lo", crc64_low, 0xDF1939FAu},
    {"adler32", adler32, 0x091E01DEu},
};

#define NALGOS (sizeof algos / sizeof algos[0])

static void fill_buffer(void)
{
    u32 x = 1;
    for (size_t i = 0; i < BUF_SIZE; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (u8)(x >> 16);
    }
}

int guest_main(void)
{
    static const u8 vec[] = "123456789";
    int fails = 0;

    make_tables();
    fill_buffer();

    puts_("crc: check vectors\n");
    for (unsigned i = 0; i < NALGOS; i++) {
        u32 v = algos[i].fn(vec, 9);
        puts_("  ");
        puts_(algos[i].name);
        puts_("(\"123456789\") = ");
        print_hex32(v);
        print_nl();
        fails += check(v == algos[i].check, algos[i].name);
    }
    {
        u64 v = crc64_xz(vec, 9);
        puts_("  crc64-xz(\"123456789\") = ");
        print_hex64(v);
        print_nl();
        fails += check(v == 0x995DC9BBDF1939FAull, "crc64-xz");
    }

    puts_("crc: 256 KiB buffer\n");
    u32 whole[NALGOS];
    for (unsigned i = 0; i < NALGOS; i++) {
        whole[i] = algos[i].fn(buf, BUF_SIZE);
        puts_("  ");
        puts_(algos[i].name);
        puts_(" = ");
        print_hex32(whole[i]);
        print_nl();
    }
    u64 c64 = crc64_xz(buf, BUF_SIZE);
    puts_("  crc64-xz = ");
    print_hex64(c64);
    print_nl();

    /* An odd-aligned, odd-length window: table vs slicing-by-4 vs bitwise. */
    u32 s4 = crc32_slice4(0, buf + 1, WINDOW);
    u32 bw = crc32_bitwise(0, buf + 1, WINDOW);
    u32 bt = crc32_update(0, buf + 1, WINDOW);
    puts_("  crc32[1..1+WINDOW] table=");
    print_hex32(bt);
    puts_(" slice4=");
    print_hex32(s4);
    puts_(" bitwise=");
    print_hex32(bw);
    print_nl();
    fails += check(s4 == bt && bw == bt, "crc32 variants agree");

    /* Incremental CRC over blocks must equal the one-shot CRC. */
    u32 inc = 0;
    u32 blockx = 0;
    for (size_t off = 0; off < BUF_SIZE; off += BLOCK) {
        inc = crc32_update(inc, buf + off, BLOCK);
        u32 b = crc32_slice4(0, buf + off, BLOCK);
        blockx ^= (b << (off / BLOCK % 32)) | (b >> (32 - off / BLOCK % 32) % 32);
        if (off / BLOCK < 4) {
            puts_("  block ");
            print_u64(off / BLOCK);
            puts_(" crc32=");
            print_hex32(b);
            print_nl();
        }
    }
    puts_("  incremental crc32=");
    print_hex32(inc);
    puts_(" block xor-rot=");
    print_hex32(blockx);
    print_nl();
    fails += check(inc == whole[0], "incremental crc32");

    /* Flip one bit at a time in a small window; every flip must change the CRC. */
    u32 distinct = 0;
    u32 acc = 0;
    u32 base = crc32_update(0, buf, 512);
    for (unsigned bit = 0; bit < 256; bit++) {
        buf[bit / 8] ^= (u8)(1u << (bit % 8));
        u32 v = crc32_update(0, buf, 512);
        buf[bit / 8] ^= (u8)(1u << (bit % 8));
        if (v != base)
            distinct++;
        acc += v;
    }
    puts_("  bit flips detected=");
    print_u64(distinct);
    puts_(" acc=");
    print_hex32(acc);
    print_nl();
    fails += check(distinct == 256, "bit flips detected");

    puts_(fails ? "crc: FAILED\n" : "crc: ok\n");
    return fails ? 1 : 0;
}
