/*
 * ringpair: a tiny split block driver between two domains. The backend
 * serves reads from a RAM disk; the frontend issues them over a shared ring
 * (include/ring.h, blkif request/response layout) and checks every sector.
 *
 *   front (cmdline "role=front peer=<back> requests=N burst=B"):
 *     under /local/domain/<self>/data/vbd/0/ publishes backend-id and state
 *     Initialising; once the backend's state (/local/domain/<back>/data/
 *     vbd-back/<self>/0/state) is InitWait, initialises and grants the ring
 *     page and a data page (8 sector buffers), allocates an unbound port,
 *     publishes ring-ref, data-ref, requests, event-channel and state
 *     Initialised; once the backend is Connected, goes Connected and issues
 *     N one-sector reads in bursts of B (at most 8 in flight, the last burst
 *     being N mod B), each into its own sector buffer, and checks id, status
 *     and data of every response. Then it unplugs: Closing; when the
 *     backend is Closing, it ends its grants and goes Closed.
 *   back (cmdline "role=back peer=<front>"):
 *     fills its RAM disk with a pattern, goes Initialising then InitWait,
 *     waits for the frontend to be Initialised, maps the ring, binds the
 *     port, goes Connected, and answers each request with one GNTTABOP_copy
 *     into the frontend's data page, until it has served N requests. When
 *     the frontend is Closing it unmaps the ring and goes Closing, and when
 *     the frontend is Closed, Closed.
 *   The state machine is blkif.h's (public/io/blkif.h, "STATE DIAGRAMS"); both
 *   sides follow the final-check rules of ring.h after every batch, as
 *   Linux's blkfront and blkback do.
 *
 * The device directories live under data/ because a guest cannot create
 * device/ or backend/ entries (the toolstack owns those); the machine's ring
 * tracker and the protocol checks know this layout as well as the real one.
 *
 * The ports have no handler: an event only ends sched_block inside
 * WAIT_UNTIL, which re-checks the ring (the upcall drops the pending bit).
 *
 * Console lines to check: "front: done, N requests, N sectors verified",
 * "front: closed", "back: done, N requests served" and "back: closed".
 *
 * Build switches (corpus/build.mjs builds each variant into build/corpus/pv/
 * bugs/ and bisect/; each bug changes exactly one noipa function):
 *   RINGPAIR_BUG_LOST_WAKEUP     front_push_requests treats req_event == new
 *                                as "not reached": a burst ending exactly at
 *                                req_event (a lone request to an idle
 *                                backend) is not notified; both sides sleep.
 *   RINGPAIR_BUG_MASKED_PORT     back_bind_port leaves the bound port masked
 *                                (events_init masks all): the backend never
 *                                wakes for the first request.
 *   RINGPAIR_BUG_RSP_OFF_BY_ONE  back_push_responses publishes rsp_prod one
 *                                past its last response: the frontend reads
 *                                an unwritten slot and panics on its id.
 *   RINGPAIR_BUG_NO_FINAL_CHECK  back_requests_ready never re-arms
 *                                req_event: the backend sleeps after the
 *                                first batch with req_event behind req_prod,
 *                                so the next push is not notified.
 *   RINGPAIR_BUG_GRANT_LEAK      front_end_grants forgets the data page: the
 *                                frontend closes still granting it.
 *   RINGPAIR_BUG_MAP_LEAK        back_disconnect tests "mapped" the wrong way
 *                                round and skips the unmap: the backend
 *                                closes still mapping the ring.
 *   RINGPAIR_BUG_XENBUS_SKIP     back_announce goes Connected instead of
 *                                InitWait: connected before the frontend
 *                                has published its ring (the run survives).
 *   VERSION=1..8                 the bisect sequence of frontend versions:
 *                                each adds a harmless change; version 6
 *                                introduces the lost wake-up. Without it the
 *                                source is version 8 minus that bug.
 */
#include "rt.h"
#include "hypercall.h"
#include "ring.h"

#ifndef VERSION
#define VERSION 8
#elif VERSION >= 6
#define RINGPAIR_BUG_LOST_WAKEUP 1   /* introduced by v6 */
#endif

/* Functions a bug switch changes: never inlined or analysed into callers,
 * so the rest of the image is identical between good and bad builds. */
#define __buggable __attribute__((noinline, noipa))

/* ---- protocol: the blkif ring layout (public/io/blkif.h) -------------------------- */

#define SECTOR_SIZE 512
#define SECTORS_PER_PAGE (PAGE_SIZE / SECTOR_SIZE)
#define BLKIF_OP_READ 0
#define BLKIF_RSP_OKAY 0
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_MAX_SEGMENTS 11

/* The xenbus states of either end of the device (public/io/xenbus.h). */
enum xenbus_state {
    XenbusStateUnknown, XenbusStateInitialising, XenbusStateInitWait, XenbusStateInitialised,
    XenbusStateConnected, XenbusStateClosing, XenbusStateClosed,
};

struct blkif_segment {
    grant_ref_t gref;           /* a frontend page granted to the backend */
    uint8_t first_sect, last_sect;   /* sectors of that page, inclusive */
    uint16_t pad;
};

struct blkif_request {
    uint8_t operation;          /* BLKIF_OP_* */
    uint8_t nr_segments;
    uint16_t handle;
    uint32_t pad;
    uint64_t id;                /* echoed in the response */
    uint64_t sector_number;
    struct blkif_segment seg[BLKIF_MAX_SEGMENTS];
};
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request size");

struct blkif_response {
    uint64_t id;
    uint8_t operation;
    uint8_t pad;
    int16_t status;             /* BLKIF_RSP_* */
};
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response size");

DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);

/* ---- the workload ----------------------------------------------------------------------- */

#define DISK_SECTORS 64
#define MAX_INFLIGHT SECTORS_PER_PAGE   /* one sector buffer per request in flight */
#define REQ_ID_BASE 0x7e000UL          /* ids are REQ_ID_BASE + request number */
#if VERSION >= 3
#define PROGRESS_STEP 16                /* v3: progress every 16 requests */
#else
#define PROGRESS_STEP 10
#endif
#if VERSION >= 4
#define SECTOR_STRIDE 13                /* v4: another walk over the disk */
#else
#define SECTOR_STRIDE 7
#endif

static uint8_t disk_byte(uint64_t sector, unsigned int i)
{
    return (uint8_t)(sector * 37 + i * 11 + (i >> 7));
}

/* Both sides: the shared ring page (front: ours, back: the front's, mapped here). */
static char ring_page[PAGE_SIZE] __page_aligned_bss;
static evtchn_port_t port;

/* ---- frontend --------------------------------------------------------------------------- */

static char data_page[PAGE_SIZE] __page_aligned_bss;
static struct blkif_front_ring front;
static grant_ref_t data_ref;
static struct {
    uint64_t id, sector;
    int busy;
} inflight[MAX_INFLIGHT];

static void xs_check(int rc, const char *what, const char *path)
{
    if (rc < 0)
        panic("xenstore %s %s: %d", what, path, rc);
}

/* Writes dir/key = value, owned by us and readable by the peer. */
static void publish(const char *dir, const char *key, unsigned long value, int self, int peer)
{
    char path[96], buf[24], owner[16], reader[16];
    const char *perms[2] = { owner, reader };

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(buf, sizeof(buf), "%lu", value);
    snprintf(owner, sizeof(owner), "n%d", self);
    snprintf(reader, sizeof(reader), "r%d", peer);
    xs_check(xs_write(path, buf), "write", path);
    xs_check(xs_set_perms(path, perms, 2), "set_perms", path);
}

/* Our end's xenbus state: dir/state (created readable by the peer). */
static void switch_state(const char *dir, enum xenbus_state state, int self, int peer)
{
    char path[96];
    static int created;

    snprintf(path, sizeof(path), "%s/state", dir);
    if (!created++) {
        publish(dir, "state", state, self, peer);
        return;
    }
    char buf[4];
    snprintf(buf, sizeof(buf), "%d", (int)state);
    xs_check(xs_write(path, buf), "write", path);
}

/* Blocks until the peer's state at `path` is between lo and hi, and returns
 * it (the watch fires at registration and on every change, so a state
 * already there is seen too). */
static enum xenbus_state wait_state(const char *path, enum xenbus_state lo, enum xenbus_state hi)
{
    char buf[24], fired[96];
    unsigned long v = XenbusStateUnknown;

    xs_check(xs_watch(path, "rp"), "watch", path);
    for (;;) {
        xs_wait_watch("rp", fired, sizeof(fired));
        if (xs_read(path, buf, sizeof(buf)) >= 0 && !parse_ulong(buf, &v) && v >= lo && v <= hi)
            break;
    }
    xs_check(xs_unwatch(path, "rp"), "unwatch", path);
    return (enum xenbus_state)v;
}

/*
 * Ordering points 1 and 3 of ring.h for requests: publish req_prod, then
 * decide whether the backend asked to be woken. Returns 1 to notify.
 */
static __buggable int front_push_requests(struct blkif_front_ring *r)
{
    ring_idx_t old = r->sring->req_prod;   /* only we write req_prod */
    ring_idx_t new = r->req_prod_pvt;

    wmb();   /* request slots before the index that publishes them */
    WRITE_ONCE(r->sring->req_prod, new);
    mb();    /* req_prod visible before we read req_event (pairs with the final check) */
    ring_idx_t event = READ_ONCE(r->sring->req_event);
#ifndef RINGPAIR_BUG_LOST_WAKEUP
    return RING_NEED_NOTIFY(new, old, event);   /* event in (old, new] */
#else
    return old < event && event < new;          /* BUG: misses event == new */
#endif
}

/* Puts request number `i` (not yet published) on the ring. */
static void front_queue_read(unsigned long i)
{
    unsigned int slot = i % MAX_INFLIGHT;
    uint64_t sector = (i * SECTOR_STRIDE) % DISK_SECTORS;

    /* a stale buffer must not pass the check */
    memset(data_page + slot * SECTOR_SIZE, 0, SECTOR_SIZE);
    inflight[slot].id = REQ_ID_BASE + i;
    inflight[slot].sector = sector;
    inflight[slot].busy = 1;

    struct blkif_request *req = RING_GET_REQUEST(&front, front.req_prod_pvt);
    req->operation = BLKIF_OP_READ;
    req->nr_segments = 1;
    req->handle = 0;
    req->id = REQ_ID_BASE + i;
    req->sector_number = sector;
    req->seg[0].gref = data_ref;
    req->seg[0].first_sect = (uint8_t)slot;
    req->seg[0].last_sect = (uint8_t)slot;
    front.req_prod_pvt++;
}

/* The in-flight slot answering to `id`, or -1. */
static int front_find_inflight(uint64_t id)
{
#if VERSION >= 7
    /* v7: ids map straight to their slot */
    unsigned int slot = (unsigned int)((id - REQ_ID_BASE) % MAX_INFLIGHT);
    return id >= REQ_ID_BASE && inflight[slot].busy && inflight[slot].id == id ? (int)slot : -1;
#else
    for (unsigned int k = 0; k < MAX_INFLIGHT; k++)
        if (inflight[k].busy && inflight[k].id == id)
            return (int)k;
    return -1;
#endif
}

/* Whether sector buffer `slot` holds disk sector `sector`. */
static int front_sector_ok(unsigned int slot, uint64_t sector)
{
    const uint8_t *p = (const uint8_t *)data_page + slot * SECTOR_SIZE;
#if VERSION >= 5
    /* v5: compare against a rebuilt copy */
    static uint8_t want[SECTOR_SIZE];
    for (unsigned int i = 0; i < SECTOR_SIZE; i++)
        want[i] = disk_byte(sector, i);
    return memcmp(p, want, SECTOR_SIZE) == 0;
#else
    for (unsigned int i = 0; i < SECTOR_SIZE; i++)
        if (p[i] != disk_byte(sector, i))
            return 0;
    return 1;
#endif
}

/* Ordering point 4 for responses; run with events disabled by WAIT_UNTIL. */
static int front_responses_ready(void)
{
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
    return more;
}

/* Consumes and checks every published response, until the final check
 * (which leaves rsp_event armed, as blkfront's interrupt handler does)
 * finds none; returns how many. */
static unsigned long front_collect_responses(void)
{
    unsigned long n = 0;

    do {
    while (RING_HAS_UNCONSUMED_RESPONSES(&front)) {
        rmb();   /* rsp_prod before the slots it covers */
        struct blkif_response rsp = *RING_GET_RESPONSE(&front, front.rsp_cons);
        ring_idx_t at = front.rsp_cons++;
        int slot = front_find_inflight(rsp.id);
        if (slot < 0)
            panic("front: response %u carries id 0x%lx, which matches no request in flight", at,
                  rsp.id);
        if (rsp.operation != BLKIF_OP_READ || rsp.status != BLKIF_RSP_OKAY)
            panic("front: request 0x%lx failed: operation %u status %d", rsp.id, rsp.operation,
                  rsp.status);
        if (!front_sector_ok((unsigned int)slot, inflight[slot].sector))
            panic("front: request 0x%lx: sector %lu data wrong", rsp.id, inflight[slot].sector);
        inflight[slot].busy = 0;
        n++;
    }
    } while (front_responses_ready());
    return n;
}

/* Ends one grant to the backend; gnttab_end_access refuses one the backend
 * still maps (that mapping is the backend's to drop). Not static: a build
 * that never calls it keeps it (and its string) all the same. */
void front_end_grant(grant_ref_t ref)
{
    if (!gnttab_end_access(ref))
        printk("front: grant %u still mapped by the backend\n", ref);
}

/* Ends our grants to the backend as the device closes. */
static __buggable void front_end_grants(grant_ref_t ring_ref)
{
    front_end_grant(ring_ref);
#ifndef RINGPAIR_BUG_GRANT_LEAK
    front_end_grant(data_ref);
#endif
}

/* Allocates the port the backend binds to; left unmasked so it wakes us. */
static void front_alloc_port(int peer)
{
    long p = evtchn_alloc_unbound((domid_t)peer);
    if (p < 0)
        panic("alloc_unbound(%d): %ld", peer, p);
    port = (evtchn_port_t)p;
    evtchn_unmask(port);
}

static void run_front(int self, int peer)
{
    char dir[64], path[96];
    unsigned long requests = cmdline_uint("requests", 64);
    unsigned long burst = cmdline_uint("burst", 4);

    if (requests == 0 || burst == 0 || burst > MAX_INFLIGHT)
        panic("front: need requests >= 1 and 1 <= burst <= %lu", (unsigned long)MAX_INFLIGHT);
#if VERSION >= 2
    printk("ringpair: frontend v%d\n", VERSION);   /* v2: says which version runs */
#endif

    /* The device: ours under data/vbd/0, the backend's under its data/vbd-back/<us>/0. */
    snprintf(dir, sizeof(dir), "/local/domain/%d/data/vbd/0", self);
    snprintf(path, sizeof(path), "/local/domain/%d/data/vbd-back/%d/0/state", peer, self);
    publish(dir, "backend-id", (unsigned long)peer, self, peer);
    switch_state(dir, XenbusStateInitialising, self, peer);
    wait_state(path, XenbusStateInitWait, XenbusStateConnected);

    struct blkif_sring *s = (struct blkif_sring *)ring_page;
    SRING_INIT(s);
    FRONT_RING_INIT(&front, s, PAGE_SIZE);
    gnttab_init();
    grant_ref_t ring_ref = gnttab_grant_access((domid_t)peer, virt_to_mfn(ring_page), 0);
    data_ref = gnttab_grant_access((domid_t)peer, virt_to_mfn(data_page), 0);
    front_alloc_port(peer);

    publish(dir, "ring-ref", ring_ref, self, peer);
    publish(dir, "data-ref", data_ref, self, peer);
    publish(dir, "requests", requests, self, peer);
#if VERSION >= 8
    xs_check(xs_write("data/vbd/0/protocol", "x86_64-abi"), "write", "protocol");   /* v8 */
#endif
    publish(dir, "event-channel", port, self, peer);
    switch_state(dir, XenbusStateInitialised, self, peer);
    printk("front: ring gref %u, data gref %u, port %u; %lu requests in bursts of %lu, %u slots\n",
           ring_ref, data_ref, port, requests, burst, RING_SIZE(&front));

    wait_state(path, XenbusStateConnected, XenbusStateConnected);
    switch_state(dir, XenbusStateConnected, self, peer);
    printk("front: backend connected\n");

    unsigned long issued = 0, done = 0, mark = PROGRESS_STEP;
    while (done < requests) {
        unsigned long n = burst;
        if (n > requests - issued)
            n = requests - issued;
        if (n > MAX_INFLIGHT - (issued - done))
            n = MAX_INFLIGHT - (issued - done);
        if (n > 0) {
            while (n--)
                front_queue_read(issued++);
            if (front_push_requests(&front))
                evtchn_send(port);
        }
        WAIT_UNTIL(front_responses_ready());
        done += front_collect_responses();
        for (; mark <= done && mark < requests; mark += PROGRESS_STEP)
            printk("front: %lu/%lu requests done\n", mark, requests);
    }
    printk("front: done, %lu requests, %lu sectors verified\n", done, done);

    /* Unplug: Closing; the backend disconnects and says Closing; we end our grants and close. */
    switch_state(dir, XenbusStateClosing, self, peer);
    wait_state(path, XenbusStateClosing, XenbusStateClosed);
    front_end_grants(ring_ref);
    switch_state(dir, XenbusStateClosed, self, peer);
    printk("front: closed\n");
}

/* ---- backend ------------------------------------------------------------------------------ */

static char disk[DISK_SECTORS * SECTOR_SIZE] __page_aligned_bss;
static struct blkif_back_ring back;

/* Binds the frontend's port. events_init left every port masked. */
static __buggable evtchn_port_t back_bind_port(int peer, unsigned long remote)
{
    long p = evtchn_bind_interdomain((domid_t)peer, (evtchn_port_t)remote);
    if (p < 0)
        panic("bind_interdomain(%d, %lu): %ld", peer, remote, p);
#ifndef RINGPAIR_BUG_MASKED_PORT
    evtchn_unmask((evtchn_port_t)p);
#endif
    return (evtchn_port_t)p;
}

/*
 * Ordering points 1 and 3 of ring.h for responses: publish rsp_prod, then
 * decide whether the frontend asked to be woken. Returns 1 to notify.
 */
static __buggable int back_push_responses(struct blkif_back_ring *r)
{
    ring_idx_t old = r->sring->rsp_prod;   /* only we write rsp_prod */
#ifndef RINGPAIR_BUG_RSP_OFF_BY_ONE
    ring_idx_t new = r->rsp_prod_pvt;
#else
    ring_idx_t new = r->rsp_prod_pvt + 1;   /* BUG: one past the last response */
#endif

    wmb();   /* response slots before the index that publishes them */
    WRITE_ONCE(r->sring->rsp_prod, new);
    mb();    /* rsp_prod visible before we read rsp_event */
    return RING_NEED_NOTIFY(new, old, READ_ONCE(r->sring->rsp_event));
}

/* Ordering point 4 for requests: after every batch, and (with events
 * disabled by WAIT_UNTIL) before sleeping. */
static __buggable int back_requests_ready(void)
{
#ifndef RINGPAIR_BUG_NO_FINAL_CHECK
    int more;
    RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
    return more;
#else
    return RING_HAS_UNCONSUMED_REQUESTS(&back);   /* BUG: req_event never re-armed */
#endif
}

/* Probe: publish what the frontend may want, then wait for it (InitWait). */
static __buggable void back_announce(const char *dir, int self, int peer)
{
    switch_state(dir, XenbusStateInitialising, self, peer);
#ifndef RINGPAIR_BUG_XENBUS_SKIP
    switch_state(dir, XenbusStateInitWait, self, peer);
#else
    switch_state(dir, XenbusStateConnected, self, peer);   /* BUG: connected before the frontend is */
#endif
}

/* Unmaps the frontend's ring page (not static: see front_end_grant). */
__attribute__((noinline)) void back_unmap_ring(grant_handle_t handle)
{
    int st = gnttab_unmap(ring_page, handle);
    if (st != GNTST_okay)
        panic("back: unmap_grant_ref: %d", st);
}

static int ring_mapped;   /* the backend maps the frontend's ring page */

/* The frontend is closing: let go of its ring. */
static __buggable void back_disconnect(grant_handle_t handle)
{
#ifndef RINGPAIR_BUG_MAP_LEAK
    if (ring_mapped)
#else
    if (!ring_mapped)   /* BUG: inverted test: the ring page stays mapped */
#endif
        back_unmap_ring(handle);
    ring_mapped = 0;
}

/* Serves one request (already copied out of the ring); a BLKIF_RSP_* status. */
static int back_do_read(const struct blkif_request *req, int peer)
{
    if (req->operation != BLKIF_OP_READ || req->nr_segments != 1)
        return BLKIF_RSP_ERROR;
    const struct blkif_segment *seg = &req->seg[0];
    if (seg->first_sect > seg->last_sect || seg->last_sect >= SECTORS_PER_PAGE)
        return BLKIF_RSP_ERROR;
    unsigned int count = seg->last_sect - seg->first_sect + 1u;
    if (req->sector_number >= DISK_SECTORS || DISK_SECTORS - req->sector_number < count)
        return BLKIF_RSP_ERROR;

    for (unsigned int k = 0; k < count; k++) {
        const char *src = disk + (req->sector_number + k) * SECTOR_SIZE;
        struct gnttab_copy op = {
            .source = { .u.gmfn = virt_to_mfn(src), .domid = DOMID_SELF,
                        .offset = (uint16_t)((uintptr_t)src & (PAGE_SIZE - 1)) },
            .dest = { .u.ref = seg->gref, .domid = (domid_t)peer,
                      .offset = (uint16_t)((seg->first_sect + k) * SECTOR_SIZE) },
            .len = SECTOR_SIZE,
            .flags = GNTCOPY_dest_gref,
        };
        long rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, &op, 1);
        if (rc || op.status != GNTST_okay)
            return BLKIF_RSP_ERROR;
    }
    return BLKIF_RSP_OKAY;
}

static void read_key(const char *dir, const char *key, unsigned long *out)
{
    char path[96], buf[24];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    int rc = xs_read(path, buf, sizeof(buf));
    if (rc < 0 || parse_ulong(buf, out))
        panic("back: reading %s: %d", path, rc);
}

static void run_back(int self, int peer)
{
    char dir[64], bdir[64], path[96];
    unsigned long ring_ref, remote, total;
    grant_handle_t handle;

    for (unsigned int s = 0; s < DISK_SECTORS; s++)
        for (unsigned int i = 0; i < SECTOR_SIZE; i++)
            disk[s * SECTOR_SIZE + i] = (char)disk_byte(s, i);

    /* The device: ours under data/vbd-back/<front>/0, the frontend's under its data/vbd/0. */
    snprintf(bdir, sizeof(bdir), "/local/domain/%d/data/vbd-back/%d/0", self, peer);
    snprintf(dir, sizeof(dir), "/local/domain/%d/data/vbd/0", peer);
    snprintf(path, sizeof(path), "%s/state", dir);
    back_announce(bdir, self, peer);
    wait_state(path, XenbusStateInitialised, XenbusStateConnected);
    read_key(dir, "ring-ref", &ring_ref);
    read_key(dir, "requests", &total);
    read_key(dir, "event-channel", &remote);

    int st = gnttab_map(ring_page, (domid_t)peer, (grant_ref_t)ring_ref, 0, &handle);
    if (st != GNTST_okay)
        panic("back: map_grant_ref(ring %lu): %d", ring_ref, st);
    ring_mapped = 1;
    BACK_RING_INIT(&back, (struct blkif_sring *)ring_page, PAGE_SIZE);
    port = back_bind_port(peer, remote);

    switch_state(bdir, XenbusStateConnected, self, peer);
    printk("back: connected to domain %d: ring gref %lu, port %u (remote %lu), %lu requests\n", peer,
           ring_ref, port, remote, total);

    /* As blkback: after every batch the final check re-arms req_event; sleep only when it finds nothing. */
    unsigned long served = 0;
    int more = 0;
    while (served < total) {
        if (!more)
            WAIT_UNTIL(back_requests_ready());
        while (RING_HAS_UNCONSUMED_REQUESTS(&back)) {
            rmb();   /* req_prod before the slots it covers */
            struct blkif_request req = *RING_GET_REQUEST(&back, back.req_cons);
            back.req_cons++;
            /* the response reuses the slot just copied out */
            struct blkif_response *rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt);
            rsp->id = req.id;
            rsp->operation = req.operation;
            rsp->status = (int16_t)back_do_read(&req, peer);
            back.rsp_prod_pvt++;
            served++;
        }
        if (back_push_responses(&back))
            evtchn_send(port);
        more = back_requests_ready();
    }
    printk("back: done, %lu requests served\n", served);

    /* Unplug, as netback: on the frontend's Closing, disconnect and say Closing; on its Closed, Closed. */
    wait_state(path, XenbusStateClosing, XenbusStateClosed);
    back_disconnect(handle);
    switch_state(bdir, XenbusStateClosing, self, peer);
    wait_state(path, XenbusStateClosed, XenbusStateClosed);
    switch_state(bdir, XenbusStateClosed, self, peer);
    printk("back: closed\n");
}

void kmain(start_info_t *si)
{
    static const struct role roles[] = { { "front", run_front }, { "back", run_back } };
    (void)si;
    run_roles("ringpair", "role=front|back peer=<domid> [requests=N burst=B]", roles, ARRAY_SIZE(roles));
}
