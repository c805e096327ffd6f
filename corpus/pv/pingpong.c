/*
 * pingpong: two domains bounce an interdomain event back and forth.
 *
 *   ping (cmdline "role=ping peer=<pong>"):
 *     allocates an unbound port for the peer, publishes it at
 *     /local/domain/<self>/data/pingpong/port readable by the peer, and replies to
 *     every event it receives. After the first event it reads the round
 *     count from /local/domain/<peer>/data/pingpong/rounds and stops when that many
 *     events have arrived.
 *   pong (cmdline "role=pong peer=<ping> rounds=N"):
 *     publishes N at /local/domain/<self>/data/pingpong/rounds, watches for ping's
 *     port, binds to it, sends the first event and sends again on each reply
 *     until N replies have arrived.
 *
 * Strict alternation means at most one event is in flight per direction, so
 * no event is lost to 2-level coalescing and both counts end at exactly N.
 *
 * Console lines to check: "ping: done, N events received, N replies sent"
 * and "pong: done, N round trips".
 */
#include "rt.h"

static evtchn_port_t port;
static volatile unsigned long received, sent;
static unsigned long rounds;   /* pong: from the command line; ping: from xenstore */

/* ping: every event gets a reply. */
static void ping_event(evtchn_port_t p, void *data)
{
    (void)data;
    received++;
    evtchn_send(p);
    sent++;
}

/* pong: every reply triggers the next round until `rounds` are done. */
static void pong_event(evtchn_port_t p, void *data)
{
    (void)data;
    received++;
    if (sent < rounds) {
        evtchn_send(p);
        sent++;
    }
}

static void xs_check(int rc, const char *what, const char *path)
{
    if (rc < 0)
        panic("xenstore %s %s: %d", what, path, rc);
}

/* Waits until `received` reaches each tenth of `rounds`, printing progress. */
static void wait_rounds(const char *role)
{
    unsigned long step = rounds >= 10 ? rounds / 10 : 1;
    for (unsigned long mark = step; mark < rounds; mark += step) {
        WAIT_UNTIL(received >= mark);
        printk("%s: %lu/%lu\n", role, mark, rounds);
    }
    WAIT_UNTIL(received >= rounds);
}

static void run_ping(int self, int peer)
{
    char path[64], buf[32];
    const char *perms[2];
    char owner[16], reader[16];

    long p = evtchn_alloc_unbound((domid_t)peer);
    if (p < 0)
        panic("alloc_unbound(%d): %ld", peer, p);
    port = (evtchn_port_t)p;
    evtchn_bind_handler(port, ping_event, NULL);
    events_enable();

    snprintf(path, sizeof(path), "/local/domain/%d/data/pingpong/port", self);
    snprintf(buf, sizeof(buf), "%u", port);
    xs_check(xs_write(path, buf), "write", path);
    snprintf(owner, sizeof(owner), "n%d", self);
    snprintf(reader, sizeof(reader), "r%d", peer);
    perms[0] = owner;
    perms[1] = reader;
    xs_check(xs_set_perms(path, perms, 2), "set_perms", path);
    printk("ping: port %u for domain %d published at %s\n", port, peer, path);

    WAIT_UNTIL(received >= 1);
    snprintf(path, sizeof(path), "/local/domain/%d/data/pingpong/rounds", peer);
    xs_check(xs_read(path, buf, sizeof(buf)), "read", path);
    if (parse_ulong(buf, &rounds) || rounds == 0)
        panic("bad round count \"%s\"", buf);
    printk("ping: first event arrived; pong wants %lu rounds\n", rounds);

    wait_rounds("ping");
    printk("ping: done, %lu events received, %lu replies sent\n", received, sent);
}

static void run_pong(int self, int peer)
{
    char path[64], buf[32], fired[64];
    const char *perms[2];
    char owner[16], reader[16];
    unsigned long remote;

    rounds = cmdline_uint("rounds", 100);
    snprintf(path, sizeof(path), "/local/domain/%d/data/pingpong/rounds", self);
    snprintf(buf, sizeof(buf), "%lu", rounds);
    xs_check(xs_write(path, buf), "write", path);
    snprintf(owner, sizeof(owner), "n%d", self);
    snprintf(reader, sizeof(reader), "r%d", peer);
    perms[0] = owner;
    perms[1] = reader;
    xs_check(xs_set_perms(path, perms, 2), "set_perms", path);

    /* The watch fires once at registration and again on every change
     * (including ping's set_perms); retry the read each time. */
    snprintf(path, sizeof(path), "/local/domain/%d/data/pingpong/port", peer);
    xs_check(xs_watch(path, "pp"), "watch", path);
    for (;;) {
        xs_wait_watch("pp", fired, sizeof(fired));
        if (xs_read(path, buf, sizeof(buf)) >= 0 && parse_ulong(buf, &remote) == 0)
            break;
    }
    xs_check(xs_unwatch(path, "pp"), "unwatch", path);

    long p = evtchn_bind_interdomain((domid_t)peer, (evtchn_port_t)remote);
    if (p < 0)
        panic("bind_interdomain(%d, %lu): %ld", peer, remote, p);
    port = (evtchn_port_t)p;
    printk("pong: bound local port %u to domain %d port %lu; %lu rounds\n", port, peer, remote,
           rounds);
    evtchn_bind_handler(port, pong_event, NULL);
    events_enable();

    /* Count the first send before it can be answered. */
    events_disable();
    sent = 1;
    evtchn_send(port);
    events_enable();

    wait_rounds("pong");
    printk("pong: done, %lu round trips\n", received);
}

void kmain(start_info_t *si)
{
    static const struct role roles[] = { { "ping", run_ping }, { "pong", run_pong } };
    (void)si;
    run_roles("pingpong", "role=ping|pong peer=<domid> [rounds=N]", roles, ARRAY_SIZE(roles));
}
