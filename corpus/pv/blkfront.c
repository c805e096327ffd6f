/*
 * blkfront: a PV block frontend for the disk the toolstack gave us
 * (device/vbd/<id>, backend in dom0), and a test of it.
 *
 * The handshake, as Linux 6.1's xen-blkfront does it: wait for the
 * backend's InitWait; read max-ring-page-order, multi-queue-max-queues and
 * feature-max-indirect-segments; grant the ring pages and allocate an
 * unbound port per queue; write ring-page-order and ring-ref<N> (or
 * ring-ref), multi-queue-num-queues and queue-<N>/... (or the keys at the
 * top), event-channel, protocol x86_64-abi, feature-persistent; state
 * Initialised; wait for Connected; read sectors, info, sector-size and the
 * features; state Connected. Closing: state Closing, wait for the backend
 * to close; state Closed, wait for Closed; then every grant the backend had
 * mapped must be free again, and the rings and ports go.
 *
 * The test (console lines to check: "blkfront: session N: ... ok",
 * "blkfront: done, ..."):
 *   session 1 (2-page ring, one queue, persistent grants): reads checked
 *     against the image's pattern (one 11-page request; a ring full of
 *     1-page requests); an 11-page write, a flush, the write read back; an
 *     indirect read of 64 pages; an indirect write of 64 pages read back
 *     indirectly; a barrier write; a discard that reads back as zeros; a
 *     partial-page read; requests the backend must refuse (past the end,
 *     an unknown operation, a bad segment, no segments, an indirect flush).
 *   session 2 (one-page rings, two queues, no persistent grants), after a
 *     full close and reconnect: everything session 1 wrote is still there,
 *     read through both queues.
 *   bench (cmdline bench-mib=N): N MiB written then read back in 64-page
 *     indirect requests, twice; the data is made and checked unless
 *     bench-check=0 (then only the I/O path runs).
 *   read-only (cmdline readonly=1, for a disk of mode "r"): info says
 *     VDISK_READONLY, no flush/barrier/discard offered, reads work, and
 *     writes, flushes, barriers and discards are refused.
 * Before each step the backend's state is read: a backend that went away
 * (a restart) is reconnected to, and the step goes on.
 */
#include "blkfront.h"
#include "hypercall.h"

static struct blkdev dev;
static char ring_pages[MAX_QUEUES][MAX_RING_PAGES * PAGE_SIZE] __page_aligned_bss;
static unsigned int session, reconnects;

/* ---- xenstore helpers ------------------------------------------------------------- */

static int read_ulong(const char *dir, const char *key, unsigned long *out)
{
    char path[160], buf[32];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    int n = xs_read(path, buf, sizeof(buf));
    if (n < 0)
        return n;
    return parse_ulong(buf, out) ? -XEN_EINVAL : 0;
}

static unsigned long read_default(const char *dir, const char *key, unsigned long dflt)
{
    unsigned long v;
    return read_ulong(dir, key, &v) ? dflt : v;
}

static void write_key(const char *dir, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void write_key(const char *dir, const char *key, const char *fmt, ...)
{
    char path[160], val[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof(val), fmt, ap);
    va_end(ap);
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    int rc = xs_write(path, val);
    if (rc < 0)
        panic("blkfront: writing %s: %d", path, rc);
}

int blk_backend_state(struct blkdev *d)
{
    return (int)read_default(d->be, "state", XenbusStateUnknown);
}

static void set_state(struct blkdev *d, int state)
{
    write_key(d->fe, "state", "%d", state);
}

/* Waits until the backend's state is within [lo, hi] (the watch fires at once, then on changes). */
static int wait_backend(struct blkdev *d, int lo, int hi)
{
    char path[160], fired[160];
    snprintf(path, sizeof(path), "%s/state", d->be);
    if (xs_watch(path, "be") < 0)
        panic("blkfront: watch %s", path);
    int st;
    for (;;) {
        xs_wait_watch("be", fired, sizeof(fired));
        st = blk_backend_state(d);
        if (st >= lo && st <= hi)
            break;
    }
    xs_unwatch(path, "be");
    return st;
}

/* ---- connect / disconnect ----------------------------------------------------------- */

static void setup_queue(struct blkdev *d, unsigned int q)
{
    struct blk_queue *bq = &d->q[q];
    struct blkif_sring *s = (struct blkif_sring *)ring_pages[q];
    memset(ring_pages[q], 0, sizeof(ring_pages[q]));
    SRING_INIT(s);
    FRONT_RING_INIT(&bq->ring, s, PAGE_SIZE << d->order);
    for (unsigned int i = 0; i < (1u << d->order); i++)
        bq->ring_ref[i] = gnttab_grant_access((domid_t)d->backend_id, virt_to_mfn(ring_pages[q] + i * PAGE_SIZE), 0);
    long p = evtchn_alloc_unbound((domid_t)d->backend_id);
    if (p < 0)
        panic("blkfront: alloc_unbound: %ld", p);
    bq->port = (evtchn_port_t)p;
    evtchn_unmask(bq->port);   /* only to end sched_block: WAIT_UNTIL re-checks the ring */
}

static void write_queue(struct blkdev *d, unsigned int q, const char *dir)
{
    if (d->order == 0)
        write_key(dir, "ring-ref", "%u", d->q[q].ring_ref[0]);
    else
        for (unsigned int i = 0; i < (1u << d->order); i++) {
            char key[16];
            snprintf(key, sizeof(key), "ring-ref%u", i);
            write_key(dir, key, "%u", d->q[q].ring_ref[i]);
        }
    write_key(dir, "event-channel", "%u", d->q[q].port);
}

void blk_connect(struct blkdev *d, unsigned int order, unsigned int queues, int persistent)
{
    set_state(d, XenbusStateInitialising);
    wait_backend(d, XenbusStateInitWait, XenbusStateInitWait);
    unsigned long max_order = read_default(d->be, "max-ring-page-order", 0);
    unsigned long max_queues = read_default(d->be, "multi-queue-max-queues", 1);
    d->order = order < max_order ? order : (unsigned int)max_order;
    d->nr_queues = queues < max_queues ? queues : (unsigned int)max_queues;
    if (d->order > MAX_RING_ORDER || d->nr_queues == 0 || d->nr_queues > MAX_QUEUES)
        panic("blkfront: ring order %u, %u queues", d->order, d->nr_queues);
    for (unsigned int q = 0; q < d->nr_queues; q++)
        setup_queue(d, q);

    if (d->order > 0)
        write_key(d->fe, "ring-page-order", "%u", d->order);
    if (d->nr_queues == 1)
        write_queue(d, 0, d->fe);
    else {
        write_key(d->fe, "multi-queue-num-queues", "%u", d->nr_queues);
        for (unsigned int q = 0; q < d->nr_queues; q++) {
            char dir[96];
            snprintf(dir, sizeof(dir), "%s/queue-%u", d->fe, q);
            write_queue(d, q, dir);
        }
    }
    write_key(d->fe, "protocol", "x86_64-abi");
    write_key(d->fe, "feature-persistent", "%d", persistent);
    set_state(d, XenbusStateInitialised);

    int st = wait_backend(d, XenbusStateConnected, XenbusStateClosed);
    if (st != XenbusStateConnected)
        panic("blkfront: backend went to state %d instead of Connected", st);
    if (read_ulong(d->be, "sectors", &d->sectors) || read_ulong(d->be, "info", &d->info) || read_ulong(d->be, "sector-size", &d->sector_size))
        panic("blkfront: backend published no sectors/info/sector-size");
    d->flush = (int)read_default(d->be, "feature-flush-cache", 0);
    d->barrier = (int)read_default(d->be, "feature-barrier", 0);
    d->discard = (int)read_default(d->be, "feature-discard", 0);
    d->max_indirect = read_default(d->be, "feature-max-indirect-segments", 0);
    d->persistent = persistent && read_default(d->be, "feature-persistent", 0);
    d->want_persistent = persistent;
    set_state(d, XenbusStateConnected);
    /* Kept while connected: io_complete looks at it while waiting for responses. */
    char path[160];
    snprintf(path, sizeof(path), "%s/state", d->be);
    xs_watch(path, "bes");
    printk("blkfront: connected: %lu sectors of %lu bytes, info %lu, %u-page rings, %u queues, flush %d barrier %d discard %d, "
           "%lu indirect segments, persistent grants %d\n",
           d->sectors, d->sector_size, d->info, 1u << d->order, d->nr_queues, d->flush, d->barrier, d->discard,
           d->max_indirect, d->persistent);
}

void blk_disconnect(struct blkdev *d)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/state", d->be);
    xs_unwatch(path, "bes");
    while (xs_watch_fired("bes"))
        xs_wait_watch("bes", NULL, 0);
    set_state(d, XenbusStateClosing);
    wait_backend(d, XenbusStateClosing, XenbusStateClosed);
    set_state(d, XenbusStateClosed);
    wait_backend(d, XenbusStateClosed, XenbusStateClosed);
    for (unsigned int q = 0; q < d->nr_queues; q++) {
        for (unsigned int i = 0; i < (1u << d->order); i++)
            if (!gnttab_end_access(d->q[q].ring_ref[i]))
                panic("blkfront: ring page %u of queue %u still mapped after the backend closed", i, q);
        evtchn_close(d->q[q].port);
    }
    /* This connection's keys go: the next one may use another ring size or queue count. */
    static const char *const keys[] = { "ring-page-order", "ring-ref", "ring-ref0", "ring-ref1", "ring-ref2", "ring-ref3",
                                        "event-channel", "multi-queue-num-queues", "queue-0", "queue-1" };
    for (unsigned int k = 0; k < ARRAY_SIZE(keys); k++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", d->fe, keys[k]);
        xs_rm(path);
    }
}

void blk_recover(struct blkdev *d)
{
    printk("blkfront: backend in state %d: reconnecting\n", blk_backend_state(d));
    reconnects++;
    blk_disconnect(d);
    blk_connect(d, d->order, d->nr_queues, d->want_persistent);
}

/* The backend went away (it restarted) between requests: connect again. */
static void ensure_connected(struct blkdev *d)
{
    if (blk_backend_state(d) != XenbusStateConnected)
        blk_recover(d);
}

/* ---- checking data ---------------------------------------------------------------- */

static void fill(unsigned int page, unsigned int npages, unsigned int tag, uint64_t sector)
{
    for (unsigned int p = 0; p < npages; p++)
        for (unsigned int s = 0; s < SECTORS_PER_PAGE; s++)
            for (unsigned int i = 0; i < SECTOR_SIZE; i++)
                blk_data[page + p][s * SECTOR_SIZE + i] = (char)write_byte(tag, sector + p * SECTORS_PER_PAGE + s, i);
}

/* tag 0: the image's pattern; 255: zeros; else a write's pattern. */
static void check(const char *what, unsigned int page, unsigned int nsect, unsigned int tag, uint64_t sector)
{
    for (unsigned int k = 0; k < nsect; k++) {
        const uint8_t *b = (const uint8_t *)blk_data[page + k / SECTORS_PER_PAGE] + (k % SECTORS_PER_PAGE) * SECTOR_SIZE;
        for (unsigned int i = 0; i < SECTOR_SIZE; i++) {
            uint8_t want = tag == 0 ? disk_byte(sector + k, i) : tag == 255 ? 0 : write_byte(tag, sector + k, i);
            if (b[i] != want)
                panic("blkfront: %s: sector %lu byte %u is 0x%02x, expected 0x%02x", what, sector + k, i, b[i], want);
        }
    }
}

static void clear(unsigned int page, unsigned int npages)
{
    memset(blk_data[page], 0xee, (size_t)npages * PAGE_SIZE);
}

static void expect_ok(const char *what, unsigned int q)
{
    if (io_complete(&dev, q, BLKIF_RSP_OKAY, -1))
        panic("blkfront: %s failed", what);
}

/* Reads `nsect` sectors at `sector` into page 0.. (11 pages a request) and checks them. */
static void read_check(const char *what, unsigned int q, uint64_t sector, unsigned int nsect, unsigned int tag)
{
    clear(0, (nsect + SECTORS_PER_PAGE - 1) / SECTORS_PER_PAGE);
    for (unsigned int done = 0; done < nsect; done += 88)
        io_queue_rw(&dev, q, BLKIF_OP_READ, sector + done, nsect - done < 88 ? nsect - done : 88, done / SECTORS_PER_PAGE);
    expect_ok(what, q);
    check(what, 0, nsect, tag, sector);
}

/* ---- the test ----------------------------------------------------------------------- */

static void step(const char *what)
{
    ensure_connected(&dev);
    printk("blkfront: session %u: %s\n", session, what);
}

static void session1(void)
{
    step("reads");
    read_check("11-page read", 0, 0, 88, 0);
    clear(0, 32);
    for (unsigned int k = 0; k < 32; k++)
        io_queue_rw(&dev, 0, BLKIF_OP_READ, 88 + 8 * k, 8, k);
    expect_ok("32 one-page reads", 0);
    check("32 one-page reads", 0, 256, 0, 88);

    step("write, flush, read back");
    fill(0, 11, 1, 1000);
    io_queue_rw(&dev, 0, BLKIF_OP_WRITE, 1000, 88, 0);
    expect_ok("11-page write", 0);
    io_queue_rw(&dev, 0, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0);
    expect_ok("flush", 0);
    read_check("read of the write", 0, 1000, 88, 1);

    step("indirect read and write");
    clear(0, 64);
    io_queue_indirect(&dev, 0, BLKIF_OP_READ, 2048, 64, 0);
    expect_ok("indirect read", 0);
    check("indirect read", 0, 512, 0, 2048);
    fill(0, 64, 2, 4096);
    io_queue_indirect(&dev, 0, BLKIF_OP_WRITE, 4096, 64, 0);
    expect_ok("indirect write", 0);
    clear(0, 64);
    io_queue_indirect(&dev, 0, BLKIF_OP_READ, 4096, 64, 0);
    expect_ok("indirect read of the write", 0);
    check("indirect read of the write", 0, 512, 2, 4096);

    step("barrier, discard, partial page");
    fill(0, 1, 3, 3000);
    io_queue_rw(&dev, 0, BLKIF_OP_WRITE_BARRIER, 3000, 8, 0);
    expect_ok("barrier write", 0);
    read_check("read of the barrier write", 0, 3000, 8, 3);
    io_queue_discard(&dev, 0, 1000, 8);
    expect_ok("discard", 0);
    read_check("read of the discarded sectors", 0, 1000, 8, 255);
    read_check("read past the discard", 0, 1008, 80, 1);
    clear(0, 1);
    struct blkif_request part = { .operation = BLKIF_OP_READ, .nr_segments = 1, .handle = (uint16_t)dev.devid, .sector_number = 500 };
    /* part's segment names grant 0, never mapped: every request made from it below is refused first. */
    io_queue_rw(&dev, 0, BLKIF_OP_READ, 500, 4, 0);   /* sectors 500..503 into sectors 0..3 of page 0 */
    expect_ok("partial-page read", 0);
    check("partial-page read", 0, 4, 0, 500);

    step("requests the backend refuses");
    io_queue_rw(&dev, 0, BLKIF_OP_READ, dev.sectors - 4, 8, 0);
    if (io_complete(&dev, 0, BLKIF_RSP_ERROR, BLKIF_OP_READ))
        panic("blkfront: a read past the end was not refused");
    part.operation = BLKIF_OP_RESERVED_1;
    io_queue_raw(&dev, 0, &part);
    if (io_complete(&dev, 0, BLKIF_RSP_EOPNOTSUPP, BLKIF_OP_RESERVED_1))
        panic("blkfront: an unknown operation was not refused with EOPNOTSUPP");
    part.operation = BLKIF_OP_READ;
    part.seg[0].first_sect = 5;
    part.seg[0].last_sect = 2;
    io_queue_raw(&dev, 0, &part);
    part.nr_segments = 0;
    io_queue_raw(&dev, 0, &part);
    if (io_complete(&dev, 0, BLKIF_RSP_ERROR, BLKIF_OP_READ))
        panic("blkfront: a bad segment or an empty read was not refused");
    struct blkif_request_indirect ind = { .operation = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_FLUSH_DISKCACHE, .nr_segments = 1 };
    io_queue_raw(&dev, 0, (const struct blkif_request *)&ind);
    if (io_complete(&dev, 0, BLKIF_RSP_ERROR, BLKIF_OP_FLUSH_DISKCACHE))
        panic("blkfront: an indirect flush was not refused");
    printk("blkfront: session 1 ok\n");
}

static void session2(void)
{
    step("what session 1 wrote");
    read_check("session 1's write, queue 0", 0, 1008, 80, 1);
    read_check("session 1's discard, queue 1", dev.nr_queues - 1, 1000, 8, 255);
    clear(0, 64);
    io_queue_indirect(&dev, dev.nr_queues - 1, BLKIF_OP_READ, 4096, 64, 0);
    expect_ok("indirect read, last queue", dev.nr_queues - 1);
    check("session 1's indirect write", 0, 512, 2, 4096);
    read_check("session 1's barrier write", 0, 3000, 8, 3);
    read_check("untouched sectors", 0, 5000, 88, 0);
    printk("blkfront: session 2 ok\n");
}

/* A read-only disk ("r"): reads work, every kind of write is refused. */
static void session_ro(void)
{
    step("read-only disk");
    if (!(dev.info & VDISK_READONLY) || dev.flush || dev.barrier || dev.discard)
        panic("blkfront: a read-only disk advertises info %lu flush %d barrier %d discard %d", dev.info, dev.flush,
              dev.barrier, dev.discard);
    read_check("read", 0, 0, 88, 0);
    fill(0, 1, 6, 100);
    io_queue_rw(&dev, 0, BLKIF_OP_WRITE, 100, 8, 0);
    io_queue_indirect(&dev, 0, BLKIF_OP_WRITE, 200, 2, 0);
    io_queue_rw(&dev, 0, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0);
    io_queue_rw(&dev, 0, BLKIF_OP_WRITE_BARRIER, 100, 8, 0);
    if (io_complete(&dev, 0, BLKIF_RSP_ERROR, -1))
        panic("blkfront: a write to a read-only disk was not refused");
    io_queue_discard(&dev, 0, 100, 8);
    if (io_complete(&dev, 0, BLKIF_RSP_ERROR, -1))
        panic("blkfront: a discard on a read-only disk was not refused");
    read_check("read after the refused writes", 0, 96, 112, 0);
    printk("blkfront: read-only disk ok\n");
}

static void bench(unsigned long mib, int checked)
{
    step("bench");
    unsigned long sectors = mib << 11;
    unsigned int per = 64 * SECTORS_PER_PAGE;   /* one 64-page indirect request */
    if (sectors > dev.sectors)
        sectors = dev.sectors - dev.sectors % per;
    for (unsigned int tag = 4; tag <= 5; tag++) {
        for (unsigned long s = 0; s + per <= sectors; s += per) {
            if (checked)
                fill(0, 64, tag, s);
            io_queue_indirect(&dev, 0, BLKIF_OP_WRITE, s, 64, 0);
            expect_ok("bench write", 0);
        }
        for (unsigned long s = 0; s + per <= sectors; s += per) {
            io_queue_indirect(&dev, 0, BLKIF_OP_READ, s, 64, 0);
            expect_ok("bench read", 0);
            if (checked)
                check("bench read", 0, per, tag, s);
        }
    }
    printk("blkfront: bench: %lu MiB written and read back twice%s\n", sectors >> 11, checked ? ", checked" : "");
}

static void find_device(void)
{
    char list[256];
    int self = xs_self_domid();
    int n = xs_directory("device/vbd", list, sizeof(list));
    if (n <= 0)
        panic("blkfront: no device/vbd (%d): the scenario gives this domain no disk", n);
    if (parse_ulong(list, &dev.devid))
        panic("blkfront: device/vbd/%s is not a device id", list);
    snprintf(dev.fe, sizeof(dev.fe), "/local/domain/%d/device/vbd/%lu", self, dev.devid);
    if (read_ulong(dev.fe, "backend-id", &dev.backend_id))
        panic("blkfront: %s/backend-id missing", dev.fe);
    char path[160];
    snprintf(path, sizeof(path), "%s/backend", dev.fe);
    if (xs_read(path, dev.be, sizeof(dev.be)) < 0)
        panic("blkfront: %s missing", path);
    printk("blkfront: device vbd/%lu (virtual-device %lu), backend %s in domain %lu\n", dev.devid,
           read_default(dev.fe, "virtual-device", 0), dev.be, dev.backend_id);
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();
    find_device();
    gnttab_init();
    io_init(&dev);
    unsigned long mib = cmdline_uint("bench-mib", 0);

    session = 1;
    blk_connect(&dev, 1, 1, 1);
    if (cmdline_uint("readonly", 0)) {
        session_ro();
    } else {
        session1();
        blk_disconnect(&dev);
        session = 2;
        blk_connect(&dev, 0, 2, 0);
        session2();
        if (mib)
            bench(mib, (int)cmdline_uint("bench-check", 1));
    }
    blk_disconnect(&dev);
    printk("blkfront: done, %lu requests, %lu KiB read, %lu KiB written, %u reconnects, all data verified\n", dev.requests,
           dev.bytes_read >> 10, dev.bytes_written >> 10, reconnects);
    xen_shutdown(SHUTDOWN_poweroff);
}
