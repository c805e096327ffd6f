/*
 * sha256: SHA-256 (FIPS 180-4) of the standard test vectors, of generated
 * messages, and of a digest chain, with one-shot and incremental hashing
 * cross-checked.
 *
 * Generated message gen(len, seed): x = seed (u32); for each byte
 * x ^= x << 13; x ^= x >> 17; x ^= x << 5; byte = (u8)x.
 */
#include "rt.h"

struct sha256 {
    u32 h[8];
    u64 total;
    u32 fill;
    u8 block[64];
};

static const u32 K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static u32 rotr(u32 x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static u32 load_be32(const u8 *p)
{
    return ((u32)p[0] << 24) | ((u32)p[1] << 16) | ((u32)p[2] << 8) | p[3];
}

static void store_be32(u8 *p, u32 v)
{
    p[0] = (u8)(v >> 24);
    p[1] = (u8)(v >> 16);
    p[2] = (u8)(v >> 8);
    p[3] = (u8)v;
}

static void compress(u32 h[8], const u8 *blk)
{
    u32 w[64];
    for (int i = 0; i < 16; i++)
        w[i] = load_be32(blk + 4 * i);
    for (int i = 16; i < 64; i++) {
        u32 s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        u32 s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    u32 a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        u32 S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
        u32 ch = (e & f) ^ (~e & g);
        u32 t1 = hh + S1 + ch + K[i] + w[i];
        u32 S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
        u32 maj = (a & b) ^ (a & c) ^ (b & c);
        u32 t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

static void sha256_init(struct sha256 *s)
{
    static const u32 iv[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };
    memcpy(s->h, iv, sizeof iv);
    s->total = 0;
    s->fill = 0;
}

static void sha256_update(struct sha256 *s, const u8 *p, size_t n)
{
    s->total += n;
    if (s->fill) {
        size_t take = 64 - s->fill;
        if (take > n)
            take = n;
        memcpy(s->block + s->fill, p, take);
        s->fill += (u32)take;
        p += take;
        n -= take;
        if (s->fill < 64)
            return;
        compress(s->h, s->block);
        s->fill = 0;
    }
    while (n >= 64) {
        compress(s->h, p);
        p += 64;
        n -= 64;
    }
    if (n) {
        memcpy(s->block, p, n);
        s->fill = (u32)n;
    }
}

static void sha256_final(struct sha256 *s, u8 out[32])
{
    u64 bits = s->total * 8;
    s->block[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, 64 - s->fill);
        compress(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    for (int i = 0; i < 8; i++)
        s->block[56 + i] = (u8)(bits >> (56 - 8 * i));
    compress(s->h, s->block);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, s->h[i]);
}

static void sha256_oneshot(const u8 *p, size_t n, u8 out[32])
{
    struct sha256 s;
    sha256_init(&s);
    sha256_update(&s, p, n);
    sha256_final(&s, out);
}

static void digest_hex(const u8 d[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[d[i] >> 4];
        out[2 * i + 1] = hx[d[i] & 15];
    }
    out[64] = 0;
}

static void print_digest(const char *label, const u8 d[32])
{
    char hex[65];
    digest_hex(d, hex);
    puts_("sha256(");
    puts_(label);
    puts_(") = ");
    puts_(hex);
    print_nl();
}

static u8 msg[50000];

static void gen(u8 *p, size_t n, u32 seed)
{
    u32 x = seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (u8)x;
    }
}

struct vector {
    const char *msg;
    const char *hex;
};

static const struct vector vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
};

static const u32 gen_lengths[] = {1, 55, 56, 63, 64, 65, 127, 1000, 50000};

int guest_main(void)
{
    int fails = 0;
    u8 d[32], d2[32];
    char hex[65];

    for (unsigned i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *m = vectors[i].msg;
        sha256_oneshot((const u8 *)m, strlen(m), d);
        puts_("sha256(\"");
        puts_(m);
        puts_("\") = ");
        digest_hex(d, hex);
        puts_(hex);
        print_nl();
        fails += check(strcmp(hex, vectors[i].hex) == 0, "standard vector");
    }

    for (unsigned i = 0; i < sizeof gen_lengths / sizeof gen_lengths[0]; i++) {
        u32 len = gen_lengths[i];
        gen(msg, len, len + 1);
        sha256_oneshot(msg, len, d);
        /* Same message fed in irregular chunk sizes. */
        struct sha256 s;
        sha256_init(&s);
        size_t off = 0;
        u32 step = 1;
        while (off < len) {
            size_t take = len - off < step ? len - off : step;
            sha256_update(&s, msg + off, take);
            off += take;
            step = step * 3 % 97 + 1;
        }
        sha256_final(&s, d2);
        fails += check(memcmp(d, d2, 32) == 0, "incremental == one-shot");
        char label[32];
        char *q = label;
        const char *pre = "gen len=";
        while (*pre)
            *q++ = *pre++;
        char num[12];
        int nd = 0;
        u32 v = len;
        do {
            num[nd++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (nd)
            *q++ = num[--nd];
        *q = 0;
        print_digest(label, d);
    }

    /* Digest chain: d <- sha256(d || be32(i)), 1000 times from 32 zero bytes. */
    memset(d, 0, sizeof d);
    for (u32 i = 0; i < 1000; i++) {
        u8 in[36];
        memcpy(in, d, 32);
        store_be32(in + 32, i);
        sha256_oneshot(in, sizeof in, d);
    }
    print_digest("chain 1000", d);

    puts_(fails ? "sha256: FAILED\n" : "sha256: ok\n");
    return fails ? 1 : 0;
}
