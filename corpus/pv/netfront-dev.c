/*
 * netfront's device: the xenbus handshake and the tx/rx rings.
 *
 * Handshake (Linux 6.1 xen-netfront, one queue): wait for the backend's
 * InitWait; read feature-rx-copy (required), feature-split-event-channels;
 * grant the tx and rx ring pages; allocate one unbound port (or a tx and an
 * rx one); write tx-ring-ref, rx-ring-ref, event-channel (or
 * event-channel-tx/-rx), request-rx-copy=1, feature-rx-notify=1,
 * feature-sg=1, feature-gso-tcpv4=0; state Connected; wait for the backend's
 * Connected (netback holds it until the hotplug script ran). The rx buffers
 * are posted before Connected, so frames can arrive at once.
 * Closing: state Closing, wait for the backend's Closing or Closed; state
 * Closed, wait for Closed; then the ring pages and every buffer must be
 * free of mappings (gnttab_end_access), and the ports go.
 */
#include "netfront.h"
#include "hypercall.h"

static char tx_ring_page[PAGE_SIZE] __page_aligned_bss;
static char rx_ring_page[PAGE_SIZE] __page_aligned_bss;
static char tx_buf[TX_BUFS][PAGE_SIZE] __page_aligned_bss;
static char rx_buf[RX_BUFS][PAGE_SIZE] __page_aligned_bss;

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
static void push_rx(struct netdev *d)
{
    ring_idx_t old = d->rx.sring->req_prod, new = d->rx.req_prod_pvt;
    wmb();
    WRITE_ONCE(d->rx.sring->req_prod, new);
    mb();
    if (RING_NEED_NOTIFY(new, old, READ_ONCE(d->rx.sring->req_event)))
        evtchn_send(d->rx_port);
}

static void post_rx(struct netdev *d, uint16_t id)
{
    struct netif_rx_request *r = RING_GET_REQUEST(&d->rx, d->rx.req_prod_pvt++);
    r->id = id;
    r->gref = d->rx_buf_ref[id];
}

void net_connect(struct netdev *d, int split)
{
    write_key(d->fe, "state", XenbusStateInitialising);
    wait_backend(d, XenbusStateInitWait, XenbusStateInitWait);
    if (!read_default(d->be, "feature-rx-copy", 0))
        panic("netfront: backend does not offer feature-rx-copy");
    d->split = split && read_default(d->be, "feature-split-event-channels", 0);

    struct netif_tx_sring *ts = (struct netif_tx_sring *)tx_ring_page;
    struct netif_rx_sring *rs = (struct netif_rx_sring *)rx_ring_page;
    memset(tx_ring_page, 0, PAGE_SIZE);
    memset(rx_ring_page, 0, PAGE_SIZE);
    SRING_INIT(ts);
    SRING_INIT(rs);
    FRONT_RING_INIT(&d->tx, ts, PAGE_SIZE);
    FRONT_RING_INIT(&d->rx, rs, PAGE_SIZE);
    domid_t be = (domid_t)d->backend_id;
    d->tx_ref = gnttab_grant_access(be, virt_to_mfn(tx_ring_page), 0);
    d->rx_ref = gnttab_grant_access(be, virt_to_mfn(rx_ring_page), 0);
    for (unsigned int i = 0; i < TX_BUFS; i++)
        d->tx_buf_ref[i] = gnttab_grant_access(be, virt_to_mfn(tx_buf[i]), 1);
    for (unsigned int i = 0; i < RX_BUFS; i++)
        d->rx_buf_ref[i] = gnttab_grant_access(be, virt_to_mfn(rx_buf[i]), 0);
    d->tx_port = alloc_port(d);
    d->rx_port = d->split ? alloc_port(d) : d->tx_port;
    for (uint16_t i = 0; i < RX_BUFS; i++)
        post_rx(d, i);
    wmb();
    d->rx.sring->req_prod = d->rx.req_prod_pvt;

    write_key(d->fe, "tx-ring-ref", d->tx_ref);
    write_key(d->fe, "rx-ring-ref", d->rx_ref);
    if (d->split) {
        write_key(d->fe, "event-channel-tx", d->tx_port);
        write_key(d->fe, "event-channel-rx", d->rx_port);
    } else
        write_key(d->fe, "event-channel", d->tx_port);
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
    if (!gnttab_end_access(d->tx_ref) || !gnttab_end_access(d->rx_ref))
        panic("netfront: a ring page is still mapped after the backend closed");
    for (unsigned int i = 0; i < TX_BUFS; i++)
        if (!gnttab_end_access(d->tx_buf_ref[i]))
            panic("netfront: tx buffer %u still in use", i);
    for (unsigned int i = 0; i < RX_BUFS; i++)
        if (!gnttab_end_access(d->rx_buf_ref[i]))
            panic("netfront: rx buffer %u still in use", i);
    evtchn_close(d->tx_port);
    if (d->split)
        evtchn_close(d->rx_port);
}

/* ---- tx ------------------------------------------------------------------------------- */

static struct netdev *waiting;
static int tx_done(void)
{
    int more;
    if (waiting->tx.rsp_cons == waiting->tx.req_prod_pvt)
        return 1;
    RING_FINAL_CHECK_FOR_RESPONSES(&waiting->tx, more);
    return more;
}

/* Publishes the queued tx requests, then takes responses until all are in: the first bad status, or OKAY. */
static int tx_complete(struct netdev *d)
{
    ring_idx_t old = d->tx.sring->req_prod, new = d->tx.req_prod_pvt;
    wmb();
    WRITE_ONCE(d->tx.sring->req_prod, new);
    mb();
    if (RING_NEED_NOTIFY(new, old, READ_ONCE(d->tx.sring->req_event)))
        evtchn_send(d->tx_port);
    int status = NETIF_RSP_OKAY;
    while (d->tx.rsp_cons != d->tx.req_prod_pvt) {
        waiting = d;
        WAIT_UNTIL(tx_done());
        while (RING_HAS_UNCONSUMED_RESPONSES(&d->tx)) {
            rmb();
            struct netif_tx_response r = *RING_GET_RESPONSE(&d->tx, d->tx.rsp_cons);
            d->tx.rsp_cons++;
            if (r.status != NETIF_RSP_OKAY && r.status != NETIF_RSP_NULL && status == NETIF_RSP_OKAY)
                status = r.status;
        }
    }
    if (status == NETIF_RSP_OKAY)
        d->tx_packets++;
    else
        d->tx_errors++;
    return status;
}

int net_send(struct netdev *d, const void *frame, unsigned int len, unsigned int frags, uint16_t flags)
{
    if (frags == 0 || frags > TX_BUFS || len > FRAME_MAX * frags)
        panic("netfront: %u bytes in %u slots", len, frags);
    unsigned int per = (len + frags - 1) / frags, done = 0;
    for (unsigned int k = 0; k < frags; k++) {
        unsigned int n = len - done < per ? len - done : per;
        unsigned int page = d->tx_next++ % TX_BUFS;
        memcpy(tx_buf[page], (const char *)frame + done, n);
        struct netif_tx_request *r = &RING_GET_REQUEST(&d->tx, d->tx.req_prod_pvt++)->req;
        r->gref = d->tx_buf_ref[page];
        r->offset = 0;
        r->flags = (uint16_t)((k == 0 ? flags : 0) | (k + 1 < frags ? NETTXF_more_data : 0));
        r->id = d->tx_id++;
        r->size = (uint16_t)(k == 0 ? len : n);
        done += n;
    }
    return tx_complete(d);
}

int net_send_gso(struct netdev *d, const void *frame, unsigned int len, uint16_t mss)
{
    if (len > PAGE_SIZE)
        panic("netfront: a %u-byte super-frame does not fit one page", len);
    unsigned int page = d->tx_next++ % TX_BUFS;
    memcpy(tx_buf[page], frame, len);
    struct netif_tx_request *r = &RING_GET_REQUEST(&d->tx, d->tx.req_prod_pvt++)->req;
    r->gref = d->tx_buf_ref[page];
    r->offset = 0;
    r->flags = NETTXF_extra_info | NETTXF_csum_blank | NETTXF_data_validated;
    r->id = d->tx_id++;
    r->size = (uint16_t)len;
    struct netif_extra_info *x = &RING_GET_REQUEST(&d->tx, d->tx.req_prod_pvt++)->extra;
    memset(x, 0, sizeof(*x));
    x->type = XEN_NETIF_EXTRA_TYPE_GSO;
    x->u.gso.size = mss;
    x->u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    return tx_complete(d);
}

int net_send_bad(struct netdev *d, grant_ref_t gref, unsigned int len)
{
    struct netif_tx_request *r = &RING_GET_REQUEST(&d->tx, d->tx.req_prod_pvt++)->req;
    r->gref = gref;
    r->offset = 0;
    r->flags = 0;
    r->id = d->tx_id++;
    r->size = (uint16_t)len;
    return tx_complete(d);
}

/* ---- rx ------------------------------------------------------------------------------- */

static uint64_t rx_deadline;
static int rx_ready(void)
{
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&waiting->rx, more);
    return more || xen_system_time() >= rx_deadline;
}

int net_recv(struct netdev *d, void *buf, unsigned int cap, uint64_t deadline_ns, uint16_t *flags)
{
    waiting = d;
    rx_deadline = deadline_ns;
    timer_set_singleshot(deadline_ns);
    WAIT_UNTIL(rx_ready());
    if (!RING_HAS_UNCONSUMED_RESPONSES(&d->rx))
        return -1;
    unsigned int len = 0;
    int bad = 0;
    *flags = 0;
    for (int more = 1; more;) {
        WAIT_UNTIL(RING_HAS_UNCONSUMED_RESPONSES(&d->rx));
        rmb();
        struct netif_rx_response r = *RING_GET_RESPONSE(&d->rx, d->rx.rsp_cons);
        d->rx.rsp_cons++;
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
            memcpy((char *)buf + len, rx_buf[r.id] + r.offset, (size_t)r.status);
            len += (unsigned int)r.status;
        }
        post_rx(d, r.id);
    }
    push_rx(d);
    if (bad)
        panic("netfront: rx error status");
    d->rx_packets++;
    return (int)len;
}
