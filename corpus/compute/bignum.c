/*
 * bignum: multi-precision integer arithmetic two ways and cross-checked.
 *
 *  - 64-bit limbs: products via unsigned __int128 (mulq), carries via
 *    __builtin_add_overflow, schoolbook multiplication, and decimal
 *    conversion by 128/64-bit division (inline divq, no libgcc).
 *  - 32-bit limbs in base 10^9: 64-bit products split by constant division.
 *
 * Computes 1500!, 3^12000, 2^256, a Fibonacci number and a product of two
 * bignums; then Miller-Rabin primality tests on 64-bit numbers (mulq/divq)
 * and a signed/unsigned division table over every integer width.
 */
#include "rt.h"

#define MAXL 640   /* 64-bit limbs: 40960 bits, ~12300 decimal digits */
#define MAXD 1400  /* base-1e9 limbs: 12600 decimal digits */
#define MAXDIGITS 12800

typedef unsigned __int128 u128;

/* Little-endian 64-bit limbs; n == 0 means zero. */
struct big {
    u32 n;
    u64 l[MAXL];
};

/* Little-endian base-1e9 limbs. */
struct dec {
    u32 n;
    u32 l[MAXD];
};

static struct big A, B, C, T;
static struct dec DA, DB, DC;
static char s1[MAXDIGITS], s2[MAXDIGITS];

/* Quotient of (hi:lo) / d, remainder in *rem; requires hi < d. */
static u64 udiv128(u64 hi, u64 lo, u64 d, u64 *rem)
{
    u64 q, r;
    __asm__("divq %[d]" : "=a"(q), "=d"(r) : "0"(lo), "1"(hi), [d] "rm"(d) : "cc");
    *rem = r;
    return q;
}

/* (a * b) mod m for a, b < m. */
static u64 mulmod(u64 a, u64 b, u64 m)
{
    u64 q, r;
    __asm__("mulq %[b]\n\tdivq %[m]" : "=a"(q), "=&d"(r) : "0"(a), [b] "rm"(b), [m] "rm"(m) : "cc");
    (void)q;
    return r;
}

static void big_set(struct big *a, u64 v)
{
    a->n = v ? 1 : 0;
    a->l[0] = v;
}

static void big_copy(struct big *dst, const struct big *src)
{
    dst->n = src->n;
    memcpy(dst->l, src->l, src->n * sizeof(u64));
}

static void big_mul_small(struct big *a, u64 m)
{
    u64 carry = 0;
    for (u32 i = 0; i < a->n; i++) {
        u128 p = (u128)a->l[i] * m + carry;
        a->l[i] = (u64)p;
        carry = (u64)(p >> 64);
    }
    if (carry)
        a->l[a->n++] = carry;
}

/* c = a * b (schoolbook); c must not alias a or b. */
static void big_mul(struct big *c, const struct big *a, const struct big *b)
{
    u32 n = a->n + b->n;
    memset(c->l, 0, n * sizeof(u64));
    for (u32 i = 0; i < a->n; i++) {
        u64 carry = 0;
        u64 ai = a->l[i];
        for (u32 j = 0; j < b->n; j++) {
            u128 p = (u128)ai * b->l[j] + c->l[i + j] + carry;
            c->l[i + j] = (u64)p;
            carry = (u64)(p >> 64);
        }
        c->l[i + b->n] = carry;
    }
    while (n && c->l[n - 1] == 0)
        n--;
    c->n = n;
}

/* a += b */
static void big_add(struct big *a, const struct big *b)
{
    u32 n = a->n > b->n ? a->n : b->n;
    unsigned char carry = 0;
    for (u32 i = 0; i < n; i++) {
        u64 x = i < a->n ? a->l[i] : 0;
        u64 y = i < b->n ? b->l[i] : 0;
        u64 s;
        unsigned char c1 = __builtin_add_overflow(x, y, &s);
        unsigned char c2 = __builtin_add_overflow(s, (u64)carry, &s);
        a->l[i] = s;
        carry = c1 | c2;
    }
    a->n = n;
    if (carry)
        a->l[a->n++] = 1;
}

/* a /= d, returns remainder. */
static u64 big_divmod_small(struct big *a, u64 d)
{
    u64 rem = 0;
    for (u32 i = a->n; i-- > 0;)
        a->l[i] = udiv128(rem, a->l[i], d, &rem);
    while (a->n && a->l[a->n - 1] == 0)
        a->n--;
    return rem;
}

/* Decimal string of a (destroys a); returns the length. */
static u32 big_to_dec(struct big *a, char *out)
{
    const u64 chunk = 10000000000000000000ull; /* 10^19 */
    char tmp[MAXDIGITS];
    u32 len = 0;
    if (a->n == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    while (a->n) {
        u64 r = big_divmod_small(a, chunk);
        for (int k = 0; k < 19; k++) {
            tmp[len++] = (char)('0' + r % 10);
            r /= 10;
        }
    }
    while (len > 1 && tmp[len - 1] == '0')
        len--;
    for (u32 i = 0; i < len; i++)
        out[i] = tmp[len - 1 - i];
    out[len] = 0;
    return len;
}

static void dec_set(struct dec *a, u32 v)
{
    a->n = 0;
    while (v) {
        a->l[a->n++] = v % 1000000000u;
        v /= 1000000000u;
    }
}

static void dec_mul_small(struct dec *a, u32 m)
{
    u64 carry = 0;
    for (u32 i = 0; i < a->n; i++) {
        u64 p = (u64)a->l[i] * m + carry;
        a->l[i] = (u32)(p % 1000000000u);
        carry = p / 1000000000u;
    }
    while (carry) {
        a->l[a->n++] = (u32)(carry % 1000000000u);
        carry /= 1000000000u;
    }
}

static u32 dec_to_str(const struct dec *a, char *out)
{
    u32 len = 0;
    if (a->n == 0) {
        out[0] = '0';
        out[1] = 0;
        return 1;
    }
    for (u32 i = a->n; i-- > 0;) {
        u32 v = a->l[i];
        char d[9];
        for (int k = 8; k >= 0; k--) {
            d[k] = (char)('0' + v % 10);
            v /= 10;
        }
        int k = 0;
        if (i == a->n - 1)
            while (k < 8 && d[k] == '0')
                k++;
        for (; k < 9; k++)
            out[len++] = d[k];
    }
    out[len] = 0;
    return len;
}

static void print_wrapped(const char *s, u32 len)
{
    for (u32 i = 0; i < len; i += 100) {
        putsn(s + i, len - i < 100 ? len - i : 100);
        print_nl();
    }
}

static u32 digit_sum(const char *s)
{
    u32 sum = 0;
    while (*s)
        sum += (u32)(*s++ - '0');
    return sum;
}

static void print_summary(const char *label, const char *s, u32 len)
{
    puts_(label);
    puts_(": digits=");
    print_u64(len);
    puts_(" digitsum=");
    print_u64(digit_sum(s));
    puts_(" head=");
    putsn(s, len < 40 ? len : 40);
    puts_(" tail=");
    putsn(s + (len > 40 ? len - 40 : 0), len < 40 ? len : 40);
    print_nl();
}

/* ---- Miller-Rabin --------------------------------------------------------- */

static u64 powmod(u64 b, u64 e, u64 m)
{
    u64 r = 1 % m;
    b %= m;
    while (e) {
        if (e & 1)
            r = mulmod(r, b, m);
        b = mulmod(b, b, m);
        e >>= 1;
    }
    return r;
}

static int is_prime_u64(u64 n)
{
    static const u64 bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
    if (n < 2)
        return 0;
    for (unsigned i = 0; i < 12; i++) {
        if (n % bases[i] == 0)
            return n == bases[i];
    }
    u64 d = n - 1;
    unsigned s = (unsigned)__builtin_ctzll(d);
    d >>= s;
    for (unsigned i = 0; i < 12; i++) {
        u64 x = powmod(bases[i], d, n);
        if (x == 1 || x == n - 1)
            continue;
        int composite = 1;
        for (unsigned r = 1; r < s; r++) {
            x = mulmod(x, x, n);
            if (x == n - 1) {
                composite = 0;
                break;
            }
        }
        if (composite)
            return 0;
    }
    return 1;
}

/* ---- division table --------------------------------------------------------- */

static volatile i64 sdividends[] = {
    -9223372036854775807ll - 1, -1000000007, -77, -7, -1, 0, 1, 7, 77, 1000000007, 9223372036854775807ll,
};
static volatile i64 sdivisors[] = {-1000, -7, -3, -2, 2, 3, 7, 255, 65537};

static u64 hash_step(u64 h, u64 v)
{
    h ^= v;
    h *= 0x100000001B3ull;
    return h ^ (h >> 29);
}

static u64 division_table(int print)
{
    u64 h = 0xCBF29CE484222325ull;
    for (unsigned i = 0; i < sizeof sdividends / sizeof sdividends[0]; i++) {
        for (unsigned j = 0; j < sizeof sdivisors / sizeof sdivisors[0]; j++) {
            i64 a = sdividends[i];
            i64 b = sdivisors[j];
            i64 q64 = a / b, r64 = a % b;
            i32 q32 = (i32)a / (i32)b, r32 = (i32)a % (i32)b;
            i16 q16 = (i16)((i16)a / (i16)b), r16 = (i16)((i16)a % (i16)b);
            i8 q8 = (i8)((i8)a / (i8)(b | 1)), r8 = (i8)((i8)a % (i8)(b | 1));
            u64 uq64 = (u64)a / (u64)b, ur64 = (u64)a % (u64)b;
            u32 uq32 = (u32)a / (u32)b, ur32 = (u32)a % (u32)b;
            u16 uq16 = (u16)((u16)a / (u16)(b | 1));
            u8 uq8 = (u8)((u8)a / (u8)(b | 1));
            h = hash_step(h, (u64)q64);
            h = hash_step(h, (u64)r64);
            h = hash_step(h, (u64)(i64)q32 ^ ((u64)(u32)r32 << 32));
            h = hash_step(h, (u64)(u16)q16 | ((u64)(u16)r16 << 16) | ((u64)(u8)q8 << 32) | ((u64)(u8)r8 << 40));
            h = hash_step(h, uq64 ^ ur64 ^ uq32 ^ ((u64)ur32 << 32) ^ uq16 ^ ((u64)uq8 << 56));
            if (print && j % 3 == 0) {
                puts_("  ");
                print_i64(a);
                puts_(" / ");
                print_i64(b);
                puts_(" = ");
                print_i64(q64);
                puts_(" r ");
                print_i64(r64);
                puts_("; i32 ");
                print_i64(q32);
                puts_(" r ");
                print_i64(r32);
                puts_("; i16 ");
                print_i64(q16);
                puts_(" r ");
                print_i64(r16);
                puts_("; i8 ");
                print_i64(q8);
                puts_(" r ");
                print_i64(r8);
                puts_("; u64 ");
                print_u64(uq64);
                print_nl();
            }
        }
    }
    return h;
}

/* ---- driver ------------------------------------------------------------------- */

int guest_main(void)
{
    int fails = 0;
    u32 len1, len2;

    /* 100! in full. */
    big_set(&A, 1);
    for (u64 k = 2; k <= 100; k++)
        big_mul_small(&A, k);
    len1 = big_to_dec(&A, s1);
    puts_("100! = ");
    puts_(s1);
    print_nl();

    /* 1500! both ways; printed in full. */
    big_set(&A, 1);
    for (u64 k = 2; k <= 1500; k++)
        big_mul_small(&A, k);
    big_copy(&T, &A);
    len1 = big_to_dec(&T, s1);
    dec_set(&DA, 1);
    for (u32 k = 2; k <= 1500; k++)
        dec_mul_small(&DA, k);
    len2 = dec_to_str(&DA, s2);
    fails += check(len1 == len2 && strcmp(s1, s2) == 0, "1500! limb sizes agree");
    /* 1501! from copies of both (a whole-struct copy: rep movsq). */
    DC = DA;
    dec_mul_small(&DC, 1501);
    big_copy(&T, &A);
    big_mul_small(&T, 1501);
    len1 = big_to_dec(&T, s1);
    len2 = dec_to_str(&DC, s2);
    fails += check(len1 == len2 && strcmp(s1, s2) == 0, "1501! limb sizes agree");
    big_copy(&T, &A);
    len1 = big_to_dec(&T, s1);
    puts_("1500! =\n");
    print_wrapped(s1, len1);
    print_summary("1500!", s1, len1);

    /* 3^12000 by square-and-multiply with schoolbook products. */
    big_set(&B, 1);
    big_set(&C, 3);
    for (u32 e = 12000; e; e >>= 1) {
        if (e & 1) {
            big_mul(&T, &B, &C);
            big_copy(&B, &T);
        }
        if (e > 1) {
            big_mul(&T, &C, &C);
            big_copy(&C, &T);
        }
    }
    big_copy(&T, &B);
    len1 = big_to_dec(&T, s1);
    dec_set(&DB, 1);
    {
        u32 e = 12000;
        while (e >= 19) {
            dec_mul_small(&DB, 1162261467u); /* 3^19 */
            e -= 19;
        }
        while (e--)
            dec_mul_small(&DB, 3);
    }
    len2 = dec_to_str(&DB, s2);
    fails += check(len1 == len2 && strcmp(s1, s2) == 0, "3^12000 limb sizes agree");
    print_summary("3^12000", s1, len1);

    /* 1500! * 3^12000, cross-checked by reducing mod a few primes. */
    big_mul(&C, &A, &B);
    {
        static const u64 primes[] = {1000000007ull, 998244353ull, 18446744073709551557ull};
        for (unsigned i = 0; i < 3; i++) {
            u64 p = primes[i];
            big_copy(&T, &A);
            u64 ra = big_divmod_small(&T, p);
            big_copy(&T, &B);
            u64 rb = big_divmod_small(&T, p);
            big_copy(&T, &C);
            u64 rc = big_divmod_small(&T, p);
            puts_("  product mod ");
            print_u64(p);
            puts_(" = ");
            print_u64(rc);
            print_nl();
            fails += check(mulmod(ra, rb, p) == rc, "product residue");
        }
    }
    big_copy(&T, &C);
    len1 = big_to_dec(&T, s1);
    print_summary("1500!*3^12000", s1, len1);

    /* 2^256. */
    big_set(&A, 1);
    for (int i = 0; i < 8; i++)
        big_mul_small(&A, 1ull << 32);
    len1 = big_to_dec(&A, s1);
    puts_("2^256 = ");
    puts_(s1);
    print_nl();

    /* Fibonacci F(10000) by repeated addition: (x, y) = (F(i), F(i+1)). */
    {
        struct big *x = &A, *y = &B;
        big_set(x, 0);
        big_set(y, 1);
        for (u32 i = 0; i < 10000; i++) {
            big_add(x, y); /* x = F(i) + F(i+1) = F(i+2) */
            struct big *t = x;
            x = y;
            y = t;
        }
        len1 = big_to_dec(x, s1);
        print_summary("F(10000)", s1, len1);
    }

    /* Primes just below 2^62 and 2^64. */
    {
        u64 count = 0, last = 0, xsum = 0;
        for (u64 n = (1ull << 62) - 1; n > (1ull << 62) - 4000; n -= 2) {
            if (is_prime_u64(n)) {
                count++;
                xsum ^= n;
                if (!last)
                    last = n;
            }
        }
        puts_("primes below 2^62 in 4000: count=");
        print_u64(count);
        puts_(" largest=");
        print_u64(last);
        puts_(" xor=");
        print_hex64(xsum);
        print_nl();
        u64 p = ~0ull;
        while (!is_prime_u64(p))
            p--;
        puts_("largest 64-bit prime = ");
        print_u64(p);
        print_nl();
        fails += check(p == 18446744073709551557ull, "largest 64-bit prime");
        fails += check(!is_prime_u64(3215031751ull), "strong pseudoprime rejected");
    }

    puts_("division table:\n");
    u64 h = division_table(1);
    print_label_hex64("division hash", h);

    puts_(fails ? "bignum: FAILED\n" : "bignum: ok\n");
    return fails ? 1 : 0;
}
