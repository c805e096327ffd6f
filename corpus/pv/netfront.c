/*
 * netfront: a PV network frontend on the vif the toolstack gave us
 * (device/vif/<id>, backend in dom0's netback), and a test of the path to
 * the virtual switch's built-in peer (and, optionally, another domain).
 *
 * Command line: ip=<our IPv4> (10.0.0.2), peer=<the peer's> (10.0.0.1),
 * also=<another guest's IPv4> (pinged too), serve=<n> (before powering off,
 * keep answering until n echo requests from others were answered),
 * split=1 (split event channels), queues=<n> (1 or 2), reconnect=0 (no
 * second session), bench-pkts=<n> (n UDP echoes, timed by
 * the bench), tcp=<n> (send the `also` guest one 3000-byte TCP super-frame
 * with GSO, MSS 1000, when n is 0; when n > 0, expect n segments of one
 * before powering off).
 *
 * The test (console lines to check: "netfront: ... ok", "netfront: done"):
 *   ARP for the peer; three ICMP echoes (56 bytes of data, checked); a
 *   1400-byte echo sent in three tx slots (NETTXF_more_data); a UDP echo on
 *   port 7 sent with NETTXF_csum_blank (the backend completes the
 *   checksum; the reply's checksum is checked); UDP to port 9 answered by
 *   ICMP port unreachable; a tx request naming a grant we never made,
 *   refused with NETIF_RSP_ERROR; 40 UDP echoes sent before any is
 *   received, with 32 rx buffers posted (netback holds the rest until we
 *   post again: rx flow control), all back in order. Then, unless
 *   reconnect=0, a full close and a second session with the other choice
 *   of event channels and two queues (queue-N/ keys): three echoes and a
 *   UDP echo over it. A frame the backend fails or drops is sent again
 *   (send_frame). Throughout, ARP requests and echo
 *   requests for our own address are answered, as a host's stack would.
 */
#include "netfront.h"
#include "hypercall.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define WAIT_NS 1000000000ull   /* 1 s of system time for any answer */

static struct netdev dev;
static uint32_t my_ip, peer_ip;
static unsigned long served, unexpected, tcp_segments, tcp_bytes;
static uint16_t ip_id = 1;
static uint8_t frame[FRAME_MAX], reply[FRAME_MAX];
static const uint8_t BROADCAST[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct { uint32_t ip; uint8_t mac[ETH_ALEN]; } arp_cache[8];
static unsigned int arp_entries;

static const uint8_t *arp_lookup(uint32_t ip)
{
    for (unsigned int i = 0; i < arp_entries; i++)
        if (arp_cache[i].ip == ip)
            return arp_cache[i].mac;
    return NULL;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, unsigned int len)
{
    uint32_t s = 0;
    for (int i = 12; i < 20; i += 2)
        s += be16(ip + i);
    return s + proto + len;
}

/* Ethernet + IPv4 headers to `ip` (whose MAC we know) for `l4len` bytes of protocol `proto`: the L4 offset. */
static unsigned int ip_header(uint8_t *f, uint32_t dst, uint8_t proto, unsigned int l4len)
{
    memcpy(f, arp_lookup(dst), ETH_ALEN);
    memcpy(f + 6, dev.mac, ETH_ALEN);
    put16(f + 12, ETHERTYPE_IPV4);
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 4, ip_id++);
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, my_ip);
    put32(ip + 16, dst);
    put16(ip + 10, inet_csum(ip, 20, 0));
    return 34;
}


/* Sends a frame; one the backend fails (NETIF_RSP_ERROR) or drops
 * (NETIF_RSP_DROPPED) -- a backend under fault injection does -- is said
 * and sent again, as a stack's retransmission would, up to TX_TRIES times. */
#define TX_TRIES 8
static void send_frame(const uint8_t *f, unsigned int len, unsigned int frags, uint16_t flags, const char *what)
{
    int st = NETIF_RSP_OKAY;
    for (unsigned int t = 0; t < TX_TRIES; t++) {
        st = net_send(&dev, f, len, frags, flags);
        if (st == NETIF_RSP_OKAY)
            return;
        if (st != NETIF_RSP_ERROR && st != NETIF_RSP_DROPPED)
            break;
        printk("netfront: %s: tx status %d (%s), sending it again\n", what, st, st == NETIF_RSP_ERROR ? "NETIF_RSP_ERROR" : "NETIF_RSP_DROPPED");
    }
    panic("netfront: %s: tx status %d", what, st);
}

/* Answers ARP and echo requests for our address; returns 1 if `f` was one. */
static int serve_frame(const uint8_t *f, unsigned int len)
{
    if (len >= 42 && be16(f + 12) == ETHERTYPE_ARP && be16(f + 20) == 1 && be32(f + 38) == my_ip) {
        memcpy(reply, f + 6, ETH_ALEN);
        memcpy(reply + 6, dev.mac, ETH_ALEN);
        put16(reply + 12, ETHERTYPE_ARP);
        memcpy(reply + 14, f + 14, 6);
        put16(reply + 20, 2);
        memcpy(reply + 22, dev.mac, ETH_ALEN);
        put32(reply + 28, my_ip);
        memcpy(reply + 32, f + 22, 10);
        send_frame(reply, 42, 1, 0, "arp reply");
        return 1;
    }
    if (len >= 42 && be16(f + 12) == ETHERTYPE_IPV4 && f[23] == 1 && be32(f + 30) == my_ip && f[34] == 8) {
        unsigned int l4 = be16(f + 16) - 20u;
        if (!arp_lookup(be32(f + 26)) && arp_entries < ARRAY_SIZE(arp_cache)) {
            arp_cache[arp_entries].ip = be32(f + 26);
            memcpy(arp_cache[arp_entries++].mac, f + 6, ETH_ALEN);
        }
        unsigned int o = ip_header(reply, be32(f + 26), 1, l4);
        memcpy(reply + o, f + 34, l4);
        reply[o] = 0;
        put16(reply + o + 2, 0);
        put16(reply + o + 2, inet_csum(reply + o, l4, 0));
        send_frame(reply, o + l4, 1, 0, "echo reply");
        served++;
        return 1;
    }
    if (len >= 54 && be16(f + 12) == ETHERTYPE_IPV4 && f[23] == 6 && be32(f + 30) == my_ip) {
        unsigned int l4 = be16(f + 16) - 20u;
        if (inet_csum(f + 14, 20, 0) != 0 || inet_csum(f + 34, l4, pseudo(f + 14, 6, l4)) != 0)
            panic("netfront: TCP segment %lu: bad checksum", tcp_segments);
        for (unsigned int i = 0; i < l4 - 20; i++)
            if (f[54 + i] != (uint8_t)((be32(f + 38) - 1 + i) * 13))
                panic("netfront: TCP segment %lu: data byte %u", tcp_segments, i);
        tcp_segments++;
        tcp_bytes += l4 - 20;
        return 1;
    }
    return 0;
}

/* One TCP super-frame of 3000 bytes to `ip`, sent with GSO (MSS 1000): the backend segments it for a frontend without GSO. */
static void tcp_gso(uint32_t ip)
{
    unsigned int l4 = 20 + 3000;
    unsigned int o = ip_header(frame, ip, 6, l4);
    memset(frame + o, 0, 20);
    put16(frame + o, 5000);
    put16(frame + o + 2, 5001);
    put32(frame + o + 4, 1);       /* sequence number 1: byte i of the stream is ((1 - 1 + i) * 13) */
    frame[o + 12] = 5 << 4;
    frame[o + 13] = 0x18;          /* ACK PSH */
    put16(frame + o + 14, 65535);
    for (unsigned int i = 0; i < 3000; i++)
        frame[o + 20 + i] = (uint8_t)(i * 13);
    int st = net_send_gso(&dev, frame, o + l4, 1000);
    if (st != NETIF_RSP_OKAY)
        panic("netfront: GSO super-frame: tx status %d", st);
}

typedef int (*match_fn)(const uint8_t *f, unsigned int len, const void *ctx);

/* The next frame `match` accepts (others are served or counted); its length, or -1 after WAIT_NS. */
static int wait_for(match_fn match, const void *ctx)
{
    uint64_t deadline = xen_system_time() + WAIT_NS;
    for (;;) {
        uint16_t flags;
        int n = net_recv(&dev, frame, sizeof(frame), deadline, &flags);
        if (n < 0)
            return -1;
        if (serve_frame(frame, (unsigned int)n))
            continue;
        if (match(frame, (unsigned int)n, ctx))
            return n;
        unexpected++;
    }
}

static int is_arp_reply(const uint8_t *f, unsigned int len, const void *ctx)
{
    return len >= 42 && be16(f + 12) == ETHERTYPE_ARP && be16(f + 20) == 2 && be32(f + 28) == *(const uint32_t *)ctx;
}

static void arp(uint32_t ip)
{
    char ips[16], macs[24];
    memcpy(frame, BROADCAST, ETH_ALEN);
    memcpy(frame + 6, dev.mac, ETH_ALEN);
    put16(frame + 12, ETHERTYPE_ARP);
    static const uint8_t hdr[6] = { 0, 1, 8, 0, 6, 4 };
    memcpy(frame + 14, hdr, 6);
    put16(frame + 20, 1);
    memcpy(frame + 22, dev.mac, ETH_ALEN);
    put32(frame + 28, my_ip);
    memset(frame + 32, 0, ETH_ALEN);
    put32(frame + 38, ip);
    send_frame(frame, 42, 1, 0, "arp request");
    fmt_ip(ips, sizeof(ips), ip);
    if (wait_for(is_arp_reply, &ip) < 0)
        panic("netfront: no ARP reply from %s", ips);
    arp_cache[arp_entries].ip = ip;
    memcpy(arp_cache[arp_entries].mac, frame + 22, ETH_ALEN);
    fmt_mac(macs, sizeof(macs), arp_cache[arp_entries++].mac);
    printk("netfront: arp: %s is-at %s\n", ips, macs);
}

struct echo { uint32_t from; uint16_t id, seq; unsigned int len; };

static int is_echo_reply(const uint8_t *f, unsigned int len, const void *ctx)
{
    const struct echo *e = ctx;
    return len >= 42 && be16(f + 12) == ETHERTYPE_IPV4 && f[23] == 1 && be32(f + 26) == e->from && f[34] == 0 &&
           be16(f + 38) == e->id && be16(f + 40) == e->seq;
}

static uint8_t pattern(uint16_t seq, unsigned int i)
{
    return (uint8_t)(seq * 31 + i * 7 + 3);
}

/* One ICMP echo of `data` bytes in `frags` tx slots; the reply's checksums and data checked. */
static void ping(uint32_t ip, uint16_t seq, unsigned int data, unsigned int frags)
{
    char ips[16];
    fmt_ip(ips, sizeof(ips), ip);
    unsigned int l4 = 8 + data;
    unsigned int o = ip_header(frame, ip, 1, l4);
    frame[o] = 8;
    frame[o + 1] = 0;
    put16(frame + o + 2, 0);
    put16(frame + o + 4, 0x7872);
    put16(frame + o + 6, seq);
    for (unsigned int i = 0; i < data; i++)
        frame[o + 8 + i] = pattern(seq, i);
    put16(frame + o + 2, inet_csum(frame + o, l4, 0));
    send_frame(frame, o + l4, frags, 0, "echo request");
    struct echo e = { ip, 0x7872, seq, data };
    int n = wait_for(is_echo_reply, &e);
    if (n < 0)
        panic("netfront: no echo reply from %s seq %u", ips, seq);
    if (inet_csum(frame + 14, 20, 0) != 0 || be16(frame + 16) != 20 + l4 || inet_csum(frame + 34, l4, 0) != 0)
        panic("netfront: echo reply from %s seq %u: bad length or checksum", ips, seq);
    for (unsigned int i = 0; i < data; i++)
        if (frame[42 + i] != pattern(seq, i))
            panic("netfront: echo reply from %s seq %u: data byte %u is 0x%02x", ips, seq, i, frame[42 + i]);
}

struct udp { uint32_t from; uint16_t port; };

static int is_udp_reply(const uint8_t *f, unsigned int len, const void *ctx)
{
    const struct udp *u = ctx;
    return len >= 42 && be16(f + 12) == ETHERTYPE_IPV4 && f[23] == 17 && be32(f + 26) == u->from && be16(f + 34) == u->port;
}

static int is_unreachable(const uint8_t *f, unsigned int len, const void *ctx)
{
    return len >= 70 && be16(f + 12) == ETHERTYPE_IPV4 && f[23] == 1 && be32(f + 26) == *(const uint32_t *)ctx && f[34] == 3 && f[35] == 3;
}

/* A UDP datagram to ip:port from port 4000; `offload`: checksum left to the backend (NETTXF_csum_blank). */
static unsigned int udp_send(uint32_t ip, uint16_t port, const char *text, int offload)
{
    unsigned int dlen = (unsigned int)strlen(text), l4 = 8 + dlen;
    unsigned int o = ip_header(frame, ip, 17, l4);
    put16(frame + o, 4000);
    put16(frame + o + 2, port);
    put16(frame + o + 4, (uint16_t)l4);
    put16(frame + o + 6, 0);
    memcpy(frame + o + 8, text, dlen);
    if (!offload) {
        uint16_t c = inet_csum(frame + o, l4, pseudo(frame + 14, 17, l4));
        put16(frame + o + 6, c ? c : 0xffff);
    }
    send_frame(frame, o + l4, 1, offload ? NETTXF_csum_blank | NETTXF_data_validated : 0, "udp");
    return dlen;
}

static void udp_echo(uint32_t ip, const char *text)
{
    char ips[16];
    fmt_ip(ips, sizeof(ips), ip);
    unsigned int dlen = udp_send(ip, 7, text, 1);
    struct udp u = { ip, 7 };
    int n = wait_for(is_udp_reply, &u);
    if (n < 0)
        panic("netfront: no UDP echo from %s", ips);
    unsigned int l4 = be16(frame + 38);
    if (l4 != 8 + dlen || be16(frame + 36) != 4000 || memcmp(frame + 42, text, dlen) != 0)
        panic("netfront: UDP echo from %s: wrong datagram", ips);
    if (be16(frame + 40) == 0 || inet_csum(frame + 34, l4, pseudo(frame + 14, 17, l4)) != 0)
        panic("netfront: UDP echo from %s: bad checksum", ips);
}

static void report_ping(uint32_t ip)
{
    char ips[16];
    fmt_ip(ips, sizeof(ips), ip);
    for (uint16_t seq = 1; seq <= 3; seq++)
        ping(ip, seq, 56, 1);
    printk("netfront: ping %s: 3 sent, 3 replies, data and checksums ok\n", ips);
}

static void timer_noop(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
}

void kmain(start_info_t *si)
{
    (void)si;
    rt_init();
    timer_stop_periodic();
    long tp = evtchn_bind_virq(VIRQ_TIMER);
    if (tp < 0)
        panic("netfront: bind_virq(VIRQ_TIMER): %ld", tp);
    evtchn_bind_handler((evtchn_port_t)tp, timer_noop, NULL);
    events_enable();
    char arg[32], ips[16], macs[24];
    if (cmdline_str("ip", arg, sizeof(arg)) || parse_ip(arg, &my_ip))
        my_ip = 0x0a000002;
    if (cmdline_str("peer", arg, sizeof(arg)) || parse_ip(arg, &peer_ip))
        peer_ip = 0x0a000001;
    uint32_t also = 0;
    if (!cmdline_str("also", arg, sizeof(arg)) && parse_ip(arg, &also))
        panic("netfront: also=%s is not an IPv4 address", arg);

    net_find(&dev);
    gnttab_init();
    fmt_ip(ips, sizeof(ips), my_ip);
    fmt_mac(macs, sizeof(macs), dev.mac);
    printk("netfront: device vif/%lu, mac %s, ip %s, backend %s in domain %lu\n", dev.devid, macs, ips, dev.be, dev.backend_id);
    int split = (int)cmdline_uint("split", 0);
    net_connect(&dev, split, (unsigned int)cmdline_uint("queues", 1));
    printk("netfront: connected, %u queue%s, %s event channel%s\n", dev.nq, dev.nq > 1 ? "s" : "", dev.split ? "split" : "one", dev.split ? "s" : "");

    unsigned long bench = cmdline_uint("bench-pkts", 0);
    arp(peer_ip);
    if (bench) {
        for (unsigned long i = 0; i < bench; i++)
            udp_echo(peer_ip, "xenrr bench datagram, 64 bytes of payload to carry through netback");
        printk("netfront: bench: %lu UDP echoes ok\n", bench);
    } else {
        fmt_ip(ips, sizeof(ips), peer_ip);
        report_ping(peer_ip);
        ping(peer_ip, 4, 1400, 3);
        printk("netfront: ping %s with 1400 bytes in 3 tx slots: reply ok\n", ips);
        udp_echo(peer_ip, "xenrr says hello");
        printk("netfront: udp echo %s:7, checksum offloaded: 'xenrr says hello' ok\n", ips);
        udp_send(peer_ip, 9, "anyone?", 0);
        if (wait_for(is_unreachable, &peer_ip) < 0)
            panic("netfront: no port unreachable for UDP to %s:9", ips);
        printk("netfront: udp %s:9: port unreachable ok\n", ips);
        int st = net_send_bad(&dev, 511, 60);
        if (st != NETIF_RSP_ERROR)
            panic("netfront: a tx request with a bad grant got status %d", st);
        printk("netfront: tx with a grant never made: status %d (NETIF_RSP_ERROR) ok\n", st);
        char text[32];
        for (unsigned int k = 0; k < 40; k++) {
            snprintf(text, sizeof(text), "datagram %u", k);
            udp_send(peer_ip, 7, text, 1);
        }
        struct udp u = { peer_ip, 7 };
        for (unsigned int k = 0; k < 40; k++) {
            snprintf(text, sizeof(text), "datagram %u", k);
            if (wait_for(is_udp_reply, &u) < 0 || memcmp(frame + 42, text, strlen(text)) != 0)
                panic("netfront: echo %u of 40 missing or out of order", k);
        }
        printk("netfront: 40 udp echoes in flight, %u rx buffers: all back in order ok\n", RX_BUFS);
        if (also) {
            arp(also);
            report_ping(also);
            if (cmdline_uint("tcp", 1) == 0) {
                tcp_gso(also);
                fmt_ip(ips, sizeof(ips), also);
                printk("netfront: TCP super-frame of 3000 bytes to %s sent with GSO, MSS 1000\n", ips);
            }
        }
    }
    unsigned long serve = cmdline_uint("serve", 0), tcp = cmdline_uint("tcp", 0);
    while (served < serve || tcp_segments < tcp) {
        uint16_t flags;
        int n = net_recv(&dev, frame, sizeof(frame), xen_system_time() + WAIT_NS, &flags);
        if (n < 0)
            panic("netfront: served %lu of %lu echo requests, %lu of %lu TCP segments, then nothing came", served, serve, tcp_segments, tcp);
        if (!serve_frame(frame, (unsigned int)n))
            unexpected++;
    }
    if (tcp)
        printk("netfront: %lu TCP segments, %lu bytes, data and checksums ok\n", tcp_segments, tcp_bytes);
    if (!bench && cmdline_uint("reconnect", 1)) {
        net_disconnect(&dev);
        net_connect(&dev, !split, 2);
        for (uint16_t seq = 11; seq <= 13; seq++)
            ping(peer_ip, seq, 56, 1);
        udp_echo(peer_ip, "and again");
        printk("netfront: reconnected with %u queues, %s event channel%s: 3 echoes and a UDP echo ok\n", dev.nq, dev.split ? "split" : "one",
               dev.split ? "s" : "");
    }
    net_disconnect(&dev);
    printk("netfront: done, %lu tx %lu rx packets, %lu echo requests answered, %lu unexpected frames\n", dev.tx_packets,
           dev.rx_packets, served, unexpected);
    xen_shutdown(SHUTDOWN_poweroff);
}
