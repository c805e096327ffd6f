/*
 * xenstore client over the shared ring page (start_info.store_mfn/evtchn).
 *
 * One request at a time: write {xsd_sockmsg, payload} into req[], publish
 * req_prod, kick the store port, then read messages from rsp[] until the one
 * echoing our req_id arrives. XS_WATCH_EVENT messages may arrive in between
 * (or at any time); they are queued for xs_wait_watch().
 *
 * The store port stays masked (no upcall). To wait for the server we test
 * and clear its pending bit and, if it was clear, SCHEDOP_poll on it with
 * events disabled, so only the store port can wake us.
 */
#include "rt.h"
#include "hypercall.h"

#define WATCH_QUEUE_LEN 8

static struct xenstore_domain_interface *xs_intf;
static evtchn_port_t xs_port;
static uint32_t xs_req_id;

static char reply_buf[XENSTORE_PAYLOAD_MAX + 1];

static struct {
    int used;
    char token[32];
    char path[256];
} watch_queue[WATCH_QUEUE_LEN];

void xenstore_init(void)
{
    xs_intf = mfn_to_virt(xen_start_info->store_mfn);
    xs_port = xen_start_info->store_evtchn;
}

/* Sleeps until the server has signalled since the last call. */
static void xs_wait_server(void)
{
    unsigned int saved = events_save_disable();
    if (!evtchn_test_and_clear_pending(xs_port))
        sched_poll_port(xs_port, 0);
    events_restore(saved);
}

static void ring_put(const char *p, size_t len)
{
    struct xenstore_domain_interface *intf = xs_intf;

    while (len) {
        uint32_t cons = READ_ONCE(intf->req_cons);
        uint32_t prod = intf->req_prod;   /* only we write req_prod */
        /* req_cons before overwriting the slots it frees */
        barrier();
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (space == 0 || space > XENSTORE_RING_SIZE) {
            evtchn_send(xs_port);
            xs_wait_server();
            continue;
        }
        for (; space && len; space--, len--)
            intf->req[MASK_XENSTORE_IDX(prod++)] = *p++;
        /* request bytes before the req_prod that publishes them */
        wmb();
        WRITE_ONCE(intf->req_prod, prod);
    }
}

/* Reads len bytes of replies into p (NULL: discard them). */
static void ring_get(char *p, size_t len)
{
    struct xenstore_domain_interface *intf = xs_intf;

    while (len) {
        uint32_t prod = READ_ONCE(intf->rsp_prod);
        uint32_t cons = intf->rsp_cons;   /* only we write rsp_cons */
        /* rsp_prod before the bytes it covers */
        rmb();
        uint32_t avail = prod - cons;
        if (avail == 0 || avail > XENSTORE_RING_SIZE) {
            xs_wait_server();
            continue;
        }
        int was_full = avail == XENSTORE_RING_SIZE;
        for (; avail && len; avail--, len--, cons++) {
            char c = intf->rsp[MASK_XENSTORE_IDX(cons)];
            if (p)
                *p++ = c;
        }
        /* done reading the bytes before handing their slots back */
        mb();
        WRITE_ONCE(intf->rsp_cons, cons);
        if (was_full)
            evtchn_send(xs_port);   /* the server may be waiting for space */
    }
}

/* Receives one message; the payload is NUL-terminated in reply_buf. */
static void xs_recv(struct xsd_sockmsg *hdr)
{
    ring_get((char *)hdr, sizeof(*hdr));
    size_t take = hdr->len < XENSTORE_PAYLOAD_MAX ? hdr->len : XENSTORE_PAYLOAD_MAX;
    ring_get(reply_buf, take);
    ring_get(NULL, hdr->len - take);
    reply_buf[take] = '\0';
    hdr->len = take;
}

/* Queues a watch event ("path\0token\0"); the oldest is dropped when full. */
static void queue_watch_event(const struct xsd_sockmsg *hdr)
{
    const char *path = reply_buf;
    size_t plen = strnlen(path, hdr->len);
    const char *token = plen < hdr->len ? path + plen + 1 : "";
    unsigned int slot = 0;

    for (unsigned int i = 0; i < WATCH_QUEUE_LEN; i++) {
        if (!watch_queue[i].used) {
            slot = i;
            break;
        }
    }
    watch_queue[slot].used = 1;
    strncpy_z(watch_queue[slot].path, path, sizeof(watch_queue[slot].path));
    strncpy_z(watch_queue[slot].token, token, sizeof(watch_queue[slot].token));
}

static int xs_errno(const char *s)
{
    static const struct { const char *name; int err; } map[] = {
        { "ENOENT", XEN_ENOENT }, { "EACCES", XEN_EACCES }, { "EEXIST", XEN_EEXIST },
        { "EINVAL", XEN_EINVAL }, { "EAGAIN", XEN_EAGAIN }, { "ENOSPC", XEN_ENOSPC },
        { "ENOMEM", XEN_ENOMEM }, { "EPERM", XEN_EPERM }, { "EBUSY", XEN_EBUSY },
        { "ENOSYS", XEN_ENOSYS }, { "EIO", XEN_EIO },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(map); i++)
        if (strcmp(s, map[i].name) == 0)
            return -map[i].err;
    return -XEN_EIO;
}

/*
 * Sends a request whose payload is the concatenation of parts[0..n) (each
 * with its length given), waits for the reply. Returns the reply length
 * (payload in reply_buf) or a negative errno.
 */
static int xs_talk(uint32_t type, const char *const *parts, const size_t *lens, unsigned int n)
{
    struct xsd_sockmsg hdr = { .type = type, .req_id = ++xs_req_id, .tx_id = 0, .len = 0 };
    for (unsigned int i = 0; i < n; i++)
        hdr.len += lens[i];
    if (hdr.len > XENSTORE_PAYLOAD_MAX)
        return -XEN_EINVAL;

    ring_put((const char *)&hdr, sizeof(hdr));
    for (unsigned int i = 0; i < n; i++)
        ring_put(parts[i], lens[i]);
    evtchn_send(xs_port);

    for (;;) {
        struct xsd_sockmsg rsp;
        xs_recv(&rsp);
        if (rsp.type == XS_WATCH_EVENT) {
            queue_watch_event(&rsp);
            continue;
        }
        if (rsp.req_id != hdr.req_id)
            continue;   /* stale reply to an abandoned request */
        if (rsp.type == XS_ERROR)
            return xs_errno(reply_buf);
        return (int)rsp.len;
    }
}

/* Request with one NUL-terminated string argument (the path). */
static int xs_talk_path(uint32_t type, const char *path)
{
    const char *parts[1] = { path };
    size_t lens[1] = { strlen(path) + 1 };
    return xs_talk(type, parts, lens, 1);
}

int xs_read(const char *path, char *buf, size_t len)
{
    int n = xs_talk_path(XS_READ, path);
    if (n >= 0 && len)
        strncpy_z(buf, reply_buf, (size_t)n + 1 < len ? (size_t)n + 1 : len);
    return n;
}

int xs_write(const char *path, const char *value)
{
    const char *parts[2] = { path, value };
    size_t lens[2] = { strlen(path) + 1, strlen(value) };   /* value has no NUL */
    int n = xs_talk(XS_WRITE, parts, lens, 2);
    return n < 0 ? n : 0;
}

int xs_rm(const char *path)
{
    int n = xs_talk_path(XS_RM, path);
    return n < 0 ? n : 0;
}

int xs_directory(const char *path, char *buf, size_t len)
{
    int n = xs_talk_path(XS_DIRECTORY, path);
    if (n < 0)
        return n;
    int count = 0;
    for (int i = 0; i < n; i++)
        if (reply_buf[i] == '\0')
            count++;
    if (len)
        memcpy(buf, reply_buf, (size_t)n < len ? (size_t)n : len);
    return count;
}

int xs_set_perms(const char *path, const char *const *perms, unsigned int n)
{
    const char *parts[9];
    size_t lens[9];
    if (n > 8)
        return -XEN_EINVAL;
    parts[0] = path;
    lens[0] = strlen(path) + 1;
    for (unsigned int i = 0; i < n; i++) {
        parts[i + 1] = perms[i];
        lens[i + 1] = strlen(perms[i]) + 1;
    }
    int r = xs_talk(XS_SET_PERMS, parts, lens, n + 1);
    return r < 0 ? r : 0;
}

static int xs_watch_op(uint32_t type, const char *path, const char *token)
{
    const char *parts[2] = { path, token };
    size_t lens[2] = { strlen(path) + 1, strlen(token) + 1 };
    int r = xs_talk(type, parts, lens, 2);
    return r < 0 ? r : 0;
}

int xs_watch(const char *path, const char *token)
{
    return xs_watch_op(XS_WATCH, path, token);
}

int xs_unwatch(const char *path, const char *token)
{
    return xs_watch_op(XS_UNWATCH, path, token);
}

void xs_wait_watch(const char *token, char *path, size_t len)
{
    for (;;) {
        for (unsigned int i = 0; i < WATCH_QUEUE_LEN; i++) {
            if (watch_queue[i].used && strcmp(watch_queue[i].token, token) == 0) {
                if (len)
                    strncpy_z(path, watch_queue[i].path, len);
                watch_queue[i].used = 0;
                return;
            }
        }
        struct xsd_sockmsg msg;
        xs_recv(&msg);
        if (msg.type == XS_WATCH_EVENT)
            queue_watch_event(&msg);
    }
}

int xs_watch_fired(const char *token)
{
    struct xenstore_domain_interface *intf = xs_intf;

    for (;;) {
        for (unsigned int i = 0; i < WATCH_QUEUE_LEN; i++)
            if (watch_queue[i].used && strcmp(watch_queue[i].token, token) == 0)
                return 1;
        /* Take a message off the ring only when all of it is there (no waiting). */
        uint32_t cons = intf->rsp_cons;
        uint32_t avail = READ_ONCE(intf->rsp_prod) - cons;
        rmb();   /* rsp_prod before the bytes it covers */
        struct xsd_sockmsg hdr;
        if (avail < sizeof(hdr) || avail > XENSTORE_RING_SIZE)
            return 0;
        for (unsigned int k = 0; k < sizeof(hdr); k++)
            ((char *)&hdr)[k] = intf->rsp[MASK_XENSTORE_IDX(cons + k)];
        if (avail - sizeof(hdr) < hdr.len)
            return 0;
        xs_recv(&hdr);
        if (hdr.type == XS_WATCH_EVENT)
            queue_watch_event(&hdr);
    }
}

int xs_self_domid(void)
{
    char buf[16];
    unsigned long v;
    int n = xs_read("domid", buf, sizeof(buf));
    if (n < 0)
        return n;
    if (parse_ulong(buf, &v) || v > 0x7fef)
        return -XEN_EINVAL;
    return (int)v;
}
