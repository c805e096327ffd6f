/*
 * netfront's device: the xenbus handshake and the tx/rx rings.
 *
 * Handshake (Linux 6.1 xen-netfront): wait for the backend's InitWait; read
 * feature-rx-copy (required), feature-split-event-channels,
 * multi-queue-max-queues; per queue grant the tx and rx ring pages and
 * allocate one unbound port (or a tx and an rx one); write, for one queue
 * at the top, for several under queue-N/ after multi-queue-num-queues:
 * tx-ring-ref, rx-ring-ref, event-channel (or event-channel-tx/-rx); then
 * request-rx-copy=1, feature-rx-notify=1, feature-sg=1, feature-gso-tcpv4=0;
 * state Connected; wait for the backend's Connected (netback holds it until
 * the hotplug script ran). The rx buffers are posted before Connected, so
 * frames can arrive at once.
 * Closing: state Closing, wait for the backend's Closing or Closed; state
 * Closed, wait for Closed; then the ring pages and every buffer must be
 * free of mappings (gnttab_end_access), the ports go, and so do this
 * connection's keys (the next may use other queues or channels).
 */
#include "netfront.h"
#include "hypercall.h"

static char tx_ring_page[MAX_QUEUES][PAGE_SIZE] __page_aligned_bss;
static char rx_ring_page[MAX_QUEUES][PAGE_SIZE] __page_aligned_bss;
static char tx_buf[MAX_QUEUES][TX_BUFS][PAGE_SIZE] __page_aligned_bss;
static char rx_buf[MAX_QUEUES][RX_BUFS][PAGE_SIZE] __page_aligned_bss;

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

static void write_key(const char *dir, const char *key, unsigned long v)
{
    char path[160], val[24];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(val, sizeof(val), "%lu", v);
    int rc = xs_write(path, val);
    if (rc < 0)
        panic("netfront: writing %s: %d", path, rc);
}

static int wait_backend(struct netdev *d, int lo, int hi)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/state", d->be);
    if (xs_watch(path, "be") < 0)
        panic("netfront: watch %s", path);
    int st;
    for (;;) {
        xs_wait_watch("be", NULL, 0);
        st = (int)read_default(d->be, "state", XenbusStateUnknown);
        if (st >= lo && st <= hi)
            break;
    }
    xs_unwatch(path, "be");
    return st;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

void net_find(struct netdev *d)
{
    char list[128], path[160], mac[32];
    int self = xs_self_domid();
    if (xs_directory("device/vif", list, sizeof(list)) <= 0)
        panic("netfront: no device/vif: the scenario gives this domain no vif");
    if (parse_ulong(list, &d->devid))
        panic("netfront: device/vif/%s is not a device id", list);
    snprintf(d->fe, sizeof(d->fe), "/local/domain/%d/device/vif/%lu", self, d->devid);
    if (read_ulong(d->fe, "backend-id", &d->backend_id))
        panic("netfront: %s/backend-id missing", d->fe);
    snprintf(path, sizeof(path), "%s/backend", d->fe);
    if (xs_read(path, d->be, sizeof(d->be)) < 0)
        panic("netfront: %s missing", path);
    snprintf(path, sizeof(path), "%s/mac", d->fe);
    if (xs_read(path, mac, sizeof(mac)) != 17)
        panic("netfront: %s missing or malformed", path);
    for (int i = 0; i < ETH_ALEN; i++) {
        int hi = hexval(mac[3 * i]), lo = hexval(mac[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && mac[3 * i + 2] != ':'))
            panic("netfront: bad mac %s", mac);
        d->mac[i] = (uint8_t)(hi << 4 | lo);
    }
}

static evtchn_port_t alloc_port(struct netdev *d)
{
    long p = evtchn_alloc_unbound((domid_t)d->backend_id);
    if (p < 0)
        panic("netfront: alloc_unbound: %ld", p);
    evtchn_unmask((evtchn_port_t)p);   /* only to end sched_block: waits re-check the rings */
    return (evtchn_port_t)p;
}

/* Ordering points 1 and 3 for rx requests: publish, notify iff the backend asked. */
static void push_rx(struct netq *q)
{
    ring_idx_t old = q->rx.sring->req_prod, new = q->rx.req_prod_pvt;
    wmb();
    WRITE_ONCE(q->rx.sring->req_prod, new);
    mb();
    if (RING_NEED_NOTIFY(new, old, READ_ONCE(q->rx.sring->req_event)))
        evtchn_send(q->rx_port);
}

static void post_rx(struct netq *q, uint16_t id)
{
    struct netif_rx_request *r = RING_GET_REQUEST(&q->rx, q->rx.req_prod_pvt++);
    r->id = id;
    r->gref = q->rx_buf_ref[id];
}

static void setup_queue(struct netdev *d, unsigned int n)
{
    struct netq *q = &d->q[n];
    struct netif_tx_sring *ts = (struct netif_tx_sring *)tx_ring_page[n];
    struct netif_rx_sring *rs = (struct netif_rx_sring *)rx_ring_page[n];
    memset(tx_ring_page[n], 0, PAGE_SIZE);
    memset(rx_ring_page[n], 0, PAGE_SIZE);
    SRING_INIT(ts);
    SRING_INIT(rs);
    FRONT_RING_INIT(&q->tx, ts, PAGE_SIZE);
    FRONT_RING_INIT(&q->rx, rs, PAGE_SIZE);
    domid_t be = (domid_t)d->backend_id;
    q->tx_ref = gnttab_grant_access(be, virt_to_mfn(tx_ring_page[n]), 0);
    q->rx_ref = gnttab_grant_access(be, virt_to_mfn(rx_ring_page[n]), 0);
    for (unsigned int i = 0; i < TX_BUFS; i++)
        q->tx_buf_ref[i] = gnttab_grant_access(be, virt_to_mfn(tx_buf[n][i]), 1);
    for (unsigned int i = 0; i < RX_BUFS; i++)
        q->rx_buf_ref[i] = gnttab_grant_access(be, virt_to_mfn(rx_buf[n][i]), 0);
    q->tx_port = alloc_port(d);
    q->rx_port = d->split ? alloc_port(d) : q->tx_port;
    q->tx_next = 0;
    for (uint16_t i = 0; i < RX_BUFS; i++)
        post_rx(q, i);
    wmb();
    q->rx.sring->req_prod = q->rx.req_prod_pvt;
}

static void write_queue(struct netdev *d, unsigned int n, const char *dir)
{
    struct netq *q = &d->q[n];
    write_key(dir, "tx-ring-ref", q->tx_ref);
    write_key(dir, "rx-ring-ref", q->rx_ref);
    if (d->split) {
        write_key(dir, "event-channel-tx", q->tx_port);
        write_key(dir, "event-channel-rx", q->rx_port);
    } else
        write_key(dir, "event-channel", q->tx_port);
}

void net_connect(struct netdev *d, int split, unsigned int queues)
{
    write_key(d->fe, "state", XenbusStateInitialising);
    wait_backend(d, XenbusStateInitWait, XenbusStateInitWait);
    if (!read_default(d->be, "feature-rx-copy", 0))
        panic("netfront: backend does not offer feature-rx-copy");
    d->split = split && read_default(d->be, "feature-split-event-channels", 0);
    unsigned long max = read_default(d->be, "multi-queue-max-queues", 1);
    d->nq = queues < max ? queues : (unsigned int)max;
    if (d->nq == 0 || d->nq > MAX_QUEUES)
        panic("netfront: %u queues", d->nq);
    for (unsigned int n = 0; n < d->nq; n++)
        setup_queue(d, n);
    if (d->nq == 1)
        write_queue(d, 0, d->fe);
    else {
        write_key(d->fe, "multi-queue-num-queues", d->nq);
        for (unsigned int n = 0; n < d->nq; n++) {
            char dir[96];
            snprintf(dir, sizeof(dir), "%s/queue-%u", d->fe, n);
            write_queue(d, n, dir);
        }
    }
    write_key(d->fe, "request-rx-copy", 1);
    write_key(d->fe, "feature-rx-notify", 1);
    write_key(d->fe, "feature-sg", 1);
    write_key(d->fe, "feature-gso-tcpv4", 0);
    write_key(d->fe, "state", XenbusStateConnected);
    int st = wait_backend(d, XenbusStateConnected, XenbusStateClosed);
    if (st != XenbusStateConnected)
        panic("netfront: backend went to state %d instead of Connected", st);
}

void net_disconnect(struct netdev *d)
{
    write_key(d->fe, "state", XenbusStateClosing);
    wait_backend(d, XenbusStateClosing, XenbusStateClosed);
    write_key(d->fe, "state", XenbusStateClosed);
    wait_backend(d, XenbusStateClosed, XenbusStateClosed);
    for (unsigned int n = 0; n < d->nq; n++) {
        struct netq *q = &d->q[n];
        if (!gnttab_end_access(q->tx_ref) || !gnttab_end_access(q->rx_ref))
            panic("netfront: a ring page of queue %u is still mapped after the backend closed", n);
        for (unsigned int i = 0; i < TX_BUFS; i++)
            if (!gnttab_end_access(q->tx_buf_ref[i]))
                panic("netfront: tx buffer %u of queue %u still in use", i, n);
        for (unsigned int i = 0; i < RX_BUFS; i++)
            if (!gnttab_end_access(q->rx_buf_ref[i]))
                panic("netfront: rx buffer %u of queue %u still in use", i, n);
        evtchn_close(q->tx_port);
        if (d->split)
            evtchn_close(q->rx_port);
    }
    static const char *const keys[] = { "tx-ring-ref", "rx-ring-ref", "event-channel", "event-channel-tx", "event-channel-rx",
                                        "multi-queue-num-queues", "queue-0", "queue-1" };
    for (unsigned int k = 0; k < ARRAY_SIZE(keys); k++) {
        char path[160];
        snprintf(path, sizeof(path), "%s/%s", d->fe, keys[k]);
        xs_rm(path);
    }
}

/* ---- tx ------------------------------------------------------------------------------- */

static struct netdev *waiting;
static struct netq *waiting_q;
static int tx_done(void)
{
    int more;
    if (waiting_q->tx.rsp_cons == waiting_q->tx.req_prod_pvt)
        return 1;
    RING_FINAL_CHECK_FOR_RESPONSES(&waiting_q->tx, more);
    return more;
}

/* The queue the next packet goes out on: packets alternate over the queues. */
static struct netq *tx_queue(struct netdev *d)
{
    return &d->q[d->tx_id % d->nq];
}

/* Publishes queue q's tx requests, then takes responses until all are in: the first bad status, or OKAY. */
static int tx_complete(struct netdev *d, struct netq *q)
{
    ring_idx_t old = q->tx.sring->req_prod, new = q->tx.req_prod_pvt;
    wmb();
    WRITE_ONCE(q->tx.sring->req_prod, new);
    mb();
    if (RING_NEED_NOTIFY(new, old, READ_ONCE(q->tx.sring->req_event)))
        evtchn_send(q->tx_port);
    int status = NETIF_RSP_OKAY;
    while (q->tx.rsp_cons != q->tx.req_prod_pvt) {
        waiting_q = q;
        WAIT_UNTIL(tx_done());
        while (RING_HAS_UNCONSUMED_RESPONSES(&q->tx)) {
            rmb();
            struct netif_tx_response r = *RING_GET_RESPONSE(&q->tx, q->tx.rsp_cons);
            q->tx.rsp_cons++;
            if (r.status != NETIF_RSP_OKAY && r.status != NETIF_RSP_NULL && status == NETIF_RSP_OKAY)
                status = r.status;
        }
    }
    /* All in: rsp_event = rsp_cons + 1, so the backend's next tx push notifies
     * (as Linux's xennet_tx_buf_gc leaves it); blocking with it stale is a lost wake-up. */
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, more);
    (void)more;
    if (status == NETIF_RSP_OKAY)
        d->tx_packets++;
    else
        d->tx_errors++;
    return status;
}

static struct netif_tx_request *tx_slot(struct netq *q)
{
    return &RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++)->req;
}

int net_send(struct netdev *d, const void *frame, unsigned int len, unsigned int frags, uint16_t flags)
{
    if (frags == 0 || frags > TX_BUFS || len > FRAME_MAX * frags)
        panic("netfront: %u bytes in %u slots", len, frags);
    struct netq *q = tx_queue(d);
    unsigned int n = (unsigned int)(q - d->q);
    unsigned int per = (len + frags - 1) / frags, done = 0;
    for (unsigned int k = 0; k < frags; k++) {
        unsigned int m = len - done < per ? len - done : per;
        unsigned int page = q->tx_next++ % TX_BUFS;
        memcpy(tx_buf[n][page], (const char *)frame + done, m);
        struct netif_tx_request *r = tx_slot(q);
        r->gref = q->tx_buf_ref[page];
        r->offset = 0;
        r->flags = (uint16_t)((k == 0 ? flags : 0) | (k + 1 < frags ? NETTXF_more_data : 0));
        r->id = d->tx_id++;
        r->size = (uint16_t)(k == 0 ? len : m);
        done += m;
    }
    return tx_complete(d, q);
}

int net_send_gso(struct netdev *d, const void *frame, unsigned int len, uint16_t mss)
{
    if (len > PAGE_SIZE)
        panic("netfront: a %u-byte super-frame does not fit one page", len);
    struct netq *q = tx_queue(d);
    unsigned int page = q->tx_next++ % TX_BUFS;
    memcpy(tx_buf[q - d->q][page], frame, len);
    struct netif_tx_request *r = tx_slot(q);
    r->gref = q->tx_buf_ref[page];
    r->offset = 0;
    r->flags = NETTXF_extra_info | NETTXF_csum_blank | NETTXF_data_validated;
    r->id = d->tx_id++;
    r->size = (uint16_t)len;
    struct netif_extra_info *x = &RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++)->extra;
    memset(x, 0, sizeof(*x));
    x->type = XEN_NETIF_EXTRA_TYPE_GSO;
    x->u.gso.size = mss;
    x->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    return tx_complete(d, q);
}

int net_send_bad(struct netdev *d, grant_ref_t gref, unsigned int len)
{
    struct netq *q = tx_queue(d);
    struct netif_tx_request *r = tx_slot(q);
    r->gref = gref;
    r->offset = 0;
    r->flags = 0;
    r->id = d->tx_id++;
    r->size = (uint16_t)len;
    return tx_complete(d, q);
}

/* ---- rx ------------------------------------------------------------------------------- */

/* The first queue with an rx response waiting, or NULL. */
static struct netq *rx_queue(struct netdev *d)
{
    for (unsigned int n = 0; n < d->nq; n++)
        if (RING_HAS_UNCONSUMED_RESPONSES(&d->q[n].rx))
            return &d->q[n];
    return NULL;
}

static uint64_t rx_deadline;
static int rx_ready(void)
{
    for (unsigned int n = 0; n < waiting->nq; n++) {
        int more;
        RING_FINAL_CHECK_FOR_RESPONSES(&waiting->q[n].rx, more);
        if (more)
            return 1;
    }
    return xen_system_time() >= rx_deadline;
}

int net_recv(struct netdev *d, void *buf, unsigned int cap, uint64_t deadline_ns, uint16_t *flags)
{
    waiting = d;
    rx_deadline = deadline_ns;
    timer_set_singleshot(deadline_ns);
    WAIT_UNTIL(rx_ready());
    struct netq *q = rx_queue(d);
    if (q == NULL)
        return -1;
    unsigned int n = (unsigned int)(q - d->q);
    unsigned int len = 0;
    int bad = 0;
    *flags = 0;
    for (int more = 1; more;) {
        WAIT_UNTIL(RING_HAS_UNCONSUMED_RESPONSES(&q->rx));
        rmb();
        struct netif_rx_response r = *RING_GET_RESPONSE(&q->rx, q->rx.rsp_cons);
        q->rx.rsp_cons++;
        if (r.id >= RX_BUFS)
            panic("netfront: rx response id %u", r.id);
        if (len == 0)
            *flags = r.flags;
        more = (r.flags & NETRXF_more_data) != 0;
        if (r.flags & NETRXF_extra_info)
            panic("netfront: rx extra info without gso");
        if (r.status < 0 || r.offset + r.status > (int)PAGE_SIZE)
            bad = 1;
        else if (len + (unsigned int)r.status <= cap) {
            memcpy((char *)buf + len, rx_buf[n][r.id] + r.offset, (size_t)r.status);
            len += (unsigned int)r.status;
        }
        post_rx(q, r.id);
    }
    push_rx(q);
    if (bad)
        panic("netfront: rx error status");
    d->rx_packets++;
    return (int)len;
}
