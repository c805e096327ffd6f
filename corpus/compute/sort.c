/*
 * sort: sorts pseudo-random arrays of several widths and distributions with
 * quicksort (64-bit), a generic comparator-driven heapsort (32-bit, records),
 * LSD radix sort (32-bit), and bottom-up mergesort (16-bit, records), then
 * prints checksums and sample elements and cross-checks the results.
 */
#include "rt.h"

#define N64 4096
#define N32 4096
#define N16 4096
#define NREC 1024
#define ROUNDS 1

typedef int (*cmp_fn)(const void *, const void *);

/* A record of mixed-width fields; 24 bytes, so copies are not register-sized. */
struct rec {
    u32 key;
    u16 seq;
    u8 tag;
    i8 delta;
    char name[16];
};

static u64 a64[N64];
static i32 s32[N32];
static u32 r32[N32];
static u32 radix_tmp[N32];
static i16 a16[N16];
static i16 tmp16[N16];
static struct rec recs[NREC];
static struct rec rtmp[NREC];

static u64 rotl64(u64 x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static u64 mix(u64 h, u64 v)
{
    return rotl64(h ^ v, 23) * 0x100000001B3ull + 0x9E37u;
}

/* ---- 64-bit quicksort ---------------------------------------------------- */

static void insertion_u64(u64 *a, long n)
{
    for (long i = 1; i < n; i++) {
        u64 v = a[i];
        long j = i;
        while (j > 0 && a[j - 1] > v)
            j--;
        if (j != i) {
            memmove(&a[j + 1], &a[j], (size_t)(i - j) * sizeof *a);
            a[j] = v;
        }
    }
}

static u64 median3(u64 a, u64 b, u64 c)
{
    if (a < b) {
        if (b < c)
            return b;
        return a < c ? c : a;
    }
    if (a < c)
        return a;
    return b < c ? c : b;
}

static unsigned qs_depth, qs_max_depth;

static void quicksort_u64(u64 *a, long n)
{
    qs_depth++;
    if (qs_depth > qs_max_depth)
        qs_max_depth = qs_depth;
    while (n > 12) {
        u64 pivot = median3(a[0], a[n / 2], a[n - 1]);
        long i = -1;
        long j = n;
        for (;;) {
            do
                i++;
            while (a[i] < pivot);
            do
                j--;
            while (a[j] > pivot);
            if (i >= j)
                break;
            u64 t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        long left = j + 1;
        /* Recurse into the smaller half, iterate over the larger one. */
        if (left < n - left) {
            quicksort_u64(a, left);
            a += left;
            n -= left;
        } else {
            quicksort_u64(a + left, n - left);
            n = left;
        }
    }
    insertion_u64(a, n);
    qs_depth--;
}

/* ---- generic heapsort ------------------------------------------------------ */

static void swap_bytes(u8 *x, u8 *y, size_t sz)
{
    for (size_t k = 0; k < sz; k++) {
        u8 t = x[k];
        x[k] = y[k];
        y[k] = t;
    }
}

static void sift_down(u8 *base, size_t root, size_t n, size_t sz, cmp_fn cmp)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(base + child * sz, base + (child + 1) * sz) < 0)
            child++;
        if (cmp(base + root * sz, base + child * sz) >= 0)
            return;
        swap_bytes(base + root * sz, base + child * sz, sz);
        root = child;
    }
}

static void heapsort_generic(void *vbase, size_t n, size_t sz, cmp_fn cmp)
{
    u8 *base = vbase;
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift_down(base, i, n, sz, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap_bytes(base, base + end * sz, sz);
        sift_down(base, 0, end, sz, cmp);
    }
}

static int cmp_i32(const void *a, const void *b)
{
    i32 x = *(const i32 *)a;
    i32 y = *(const i32 *)b;
    return (x > y) - (x < y);
}

static int cmp_u32(const void *a, const void *b)
{
    u32 x = *(const u32 *)a;
    u32 y = *(const u32 *)b;
    return (x > y) - (x < y);
}

static int cmp_rec_key_desc(const void *a, const void *b)
{
    const struct rec *x = a;
    const struct rec *y = b;
    if (x->key != y->key)
        return x->key < y->key ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int cmp_rec_tag(const void *a, const void *b)
{
    const struct rec *x = a;
    const struct rec *y = b;
    return (int)x->tag - (int)y->tag;
}

/* ---- LSD radix sort (unsigned 32-bit, 8-bit digits) ----------------------- */

static void radix_sort_u32(u32 *a, u32 *tmp, size_t n)
{
    u32 count[256];
    for (unsigned shift = 0; shift < 32; shift += 8) {
        /* Fixed-size builtin: gcc expands it inline (rep stosq). */
        __builtin_memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++)
            count[(u8)(a[i] >> shift)]++;
        u32 sum = 0;
        for (unsigned d = 0; d < 256; d++) {
            u32 c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[(u8)(a[i] >> shift)]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* ---- bottom-up mergesort --------------------------------------------------- */

static void mergesort_i16(i16 *a, i16 *tmp, size_t n)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
        }
        memcpy(a, tmp, n * sizeof *a);
    }
}

/* Stable record mergesort with a comparator; struct copies by assignment. */
static void mergesort_rec(struct rec *a, struct rec *tmp, size_t n, cmp_fn cmp)
{
    if (n < 2)
        return;
    size_t mid = n / 2;
    mergesort_rec(a, tmp, mid, cmp);
    mergesort_rec(a + mid, tmp, n - mid, cmp);
    size_t i = 0, j = mid, k = 0;
    while (i < mid && j < n) {
        if (cmp(&a[j], &a[i]) < 0)
            tmp[k++] = a[j++];
        else
            tmp[k++] = a[i++];
    }
    while (i < mid)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    for (k = 0; k < n; k++)
        a[k] = tmp[k];
}

/* ---- data generation --------------------------------------------------------- */

static const char *const kind_names[] = {
    "random", "sorted", "reversed", "equal", "sawtooth", "organ", "few", "nearly",
};

static u64 gen_value(rng_t *r, unsigned kind, long i, long n)
{
    switch (kind) {
    case 0:
        return rng_next(r);
    case 1:
        return (u64)i * 0x10001ull;
    case 2:
        return (u64)(n - i) << 20;
    case 3:
        return 0x5555AAAA5555AAAAull;
    case 4:
        return (u64)(i % 97) * 1000003u;
    case 5:
        return (u64)(i < n / 2 ? i : n - i);
    case 6:
        return rng_next(r) % 7;
    case 7:
        return (u64)i + ((i % 64 == 0) ? rng_next(r) % 1000 : 0);
    default:
        return 0;
    }
}

static void make_record(struct rec *p, rng_t *r, u16 seq)
{
    static const char syll[][4] = {"ka", "lo", "mi", "nu", "re", "sa", "to", "vi"};
    p->key = rng_below(r, 200);
    p->seq = seq;
    p->tag = (u8)rng_below(r, 16);
    p->delta = (i8)(rng_next(r) >> 56);
    memset(p->name, 0, sizeof p->name);
    unsigned len = 0;
    unsigned parts = 2 + rng_below(r, 5);
    for (unsigned k = 0; k < parts; k++) {
        const char *s = syll[rng_below(r, 8)];
        while (*s)
            p->name[len++] = *s++;
    }
}

/* ---- driver ---------------------------------------------------------------- */

static int sorted_u64(const u64 *a, long n)
{
    for (long i = 1; i < n; i++)
        if (a[i - 1] > a[i])
            return 0;
    return 1;
}

int guest_main(void)
{
    int fails = 0;
    rng_t r;
    u64 total = 0;

    puts_("sort: 64-bit quicksort\n");
    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned kind = 0; kind < 8; kind++) {
            rng_seed(&r, 0x1234567ull + kind * 7919u + round * 104729u);
            for (long i = 0; i < N64; i++)
                a64[i] = gen_value(&r, kind, i, N64);
            u64 sum_before = 0;
            for (long i = 0; i < N64; i++)
                sum_before += a64[i];
            qs_depth = qs_max_depth = 0;
            quicksort_u64(a64, N64);
            u64 sum_after = 0, h = 0;
            for (long i = 0; i < N64; i++) {
                sum_after += a64[i];
                h = mix(h, a64[i]);
            }
            fails += check(sorted_u64(a64, N64), "u64 sorted");
            fails += check(sum_before == sum_after, "u64 sum preserved");
            total = mix(total, h);
            if (round == 0) {
                puts_("  ");
                puts_(kind_names[kind]);
                puts_(" hash=");
                print_hex64(h);
                puts_(" min=");
                print_hex64(a64[0]);
                puts_(" mid=");
                print_hex64(a64[N64 / 2]);
                puts_(" max=");
                print_hex64(a64[N64 - 1]);
                puts_(" depth=");
                print_u64(qs_max_depth);
                print_nl();
            }
        }
    }

    puts_("sort: 32-bit heapsort vs radix sort\n");
    for (unsigned round = 0; round < ROUNDS; round++) {
        rng_seed(&r, 0xC0FFEEull + round);
        for (long i = 0; i < N32; i++) {
            u32 v = (u32)(rng_next(&r) >> 17);
            s32[i] = (i32)v;
            r32[i] = v;
        }
        heapsort_generic(s32, N32, sizeof s32[0], cmp_i32);
        /* Signed order puts negatives first; rotate them to the end so the
         * sequence matches the unsigned order of the same bit patterns. */
        long firstpos = 0;
        while (firstpos < N32 && s32[firstpos] < 0)
            firstpos++;
        radix_sort_u32(r32, radix_tmp, N32);
        int same = 1;
        for (long i = 0; i < N32; i++) {
            u32 want = (u32)s32[(i + firstpos) % N32];
            if (r32[i] != want)
                same = 0;
        }
        fails += check(same, "heapsort/radix agree");
        u64 h = 0;
        for (long i = 0; i < N32; i++)
            h = mix(h, r32[i]);
        total = mix(total, h);
        puts_("  round ");
        print_u64(round);
        puts_(" negatives=");
        print_u64((u64)firstpos);
        puts_(" smin=");
        print_i64(s32[0]);
        puts_(" smax=");
        print_i64(s32[N32 - 1]);
        puts_(" umid=");
        print_hex32(r32[N32 / 2]);
        puts_(" hash=");
        print_hex64(h);
        print_nl();

        /* Heapsort of the unsigned view must agree with radix too. */
        for (long i = 0; i < N32; i++)
            radix_tmp[i] = (u32)s32[(i * 7 + 3) % N32];
        heapsort_generic(radix_tmp, N32, sizeof radix_tmp[0], cmp_u32);
        fails += check(memcmp(radix_tmp, r32, sizeof r32) == 0, "u32 heapsort");
    }

    puts_("sort: 16-bit mergesort\n");
    rng_seed(&r, 0xBEEF);
    for (long i = 0; i < N16; i++)
        a16[i] = (i16)(rng_next(&r) >> 48);
    mergesort_i16(a16, tmp16, N16);
    {
        int ok = 1;
        i64 sum = 0;
        for (long i = 0; i < N16; i++) {
            sum += a16[i];
            if (i > 0 && a16[i - 1] > a16[i])
                ok = 0;
        }
        fails += check(ok, "i16 sorted");
        puts_("  sum=");
        print_i64(sum);
        puts_(" first=");
        print_i64(a16[0]);
        puts_(" q1=");
        print_i64(a16[N16 / 4]);
        puts_(" median=");
        print_i64(a16[N16 / 2]);
        puts_(" last=");
        print_i64(a16[N16 - 1]);
        print_nl();
        total = mix(total, (u64)sum);
    }

    puts_("sort: records\n");
    rng_seed(&r, 0xFACADE);
    for (unsigned i = 0; i < NREC; i++)
        make_record(&recs[i], &r, (u16)i);
    mergesort_rec(recs, rtmp, NREC, cmp_rec_tag);
    {
        int stable = 1;
        for (unsigned i = 1; i < NREC; i++) {
            if (recs[i - 1].tag > recs[i].tag)
                stable = 0;
            if (recs[i - 1].tag == recs[i].tag && recs[i - 1].seq > recs[i].seq)
                stable = 0;
        }
        fails += check(stable, "record mergesort stable");
    }
    heapsort_generic(recs, NREC, sizeof recs[0], cmp_rec_key_desc);
    {
        int ok = 1;
        i64 dsum = 0;
        for (unsigned i = 0; i < NREC; i++) {
            dsum += recs[i].delta;
            if (i > 0 && cmp_rec_key_desc(&recs[i - 1], &recs[i]) > 0)
                ok = 0;
        }
        fails += check(ok, "record heapsort");
        for (unsigned i = 0; i < NREC; i += NREC / 8) {
            puts_("  key=");
            print_u64(recs[i].key);
            puts_(" tag=");
            print_u64(recs[i].tag);
            puts_(" seq=");
            print_u64(recs[i].seq);
            puts_(" name=");
            puts_(recs[i].name);
            print_nl();
        }
        puts_("  delta sum=");
        print_i64(dsum);
        print_nl();
        total = mix(total, (u64)dsum);
    }

    print_label_hex64("sort checksum", total);
    puts_(fails ? "sort: FAILED\n" : "sort: ok\n");
    return fails ? 1 : 0;
}
