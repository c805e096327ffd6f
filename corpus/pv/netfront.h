/*
 * The corpus's PV network frontend: the xenbus handshake and the rings
 * (netfront.c), and the bits of Ethernet, ARP, IPv4, ICMP and UDP the test
 * program speaks (netfront-ip.c). It negotiates as Linux 6.1's
 * xen-netfront does for one queue: rx-copy, feature-rx-notify,
 * scatter-gather, one event channel (or split tx/rx ones when asked).
 */
#ifndef XENRR_NETFRONT_H
#define XENRR_NETFRONT_H

#include "netif.h"

#define TX_BUFS 16           /* granted (read-only) tx pages per queue, used in turn */
#define RX_BUFS 32           /* granted rx pages per queue, always posted */
#define MAX_QUEUES 2
#define ETH_ALEN 6
#define FRAME_MAX 4096

/* One queue: a tx and an rx ring, their channel(s), their buffers. */
struct netq {
    struct netif_tx_front_ring tx;
    struct netif_rx_front_ring rx;
    grant_ref_t tx_ref, rx_ref;
    evtchn_port_t tx_port, rx_port;
    grant_ref_t tx_buf_ref[TX_BUFS], rx_buf_ref[RX_BUFS];
    unsigned int tx_next;    /* next tx page */
};

struct netdev {
    char fe[64];             /* /local/domain/D/device/vif/N */
    char be[96];
    unsigned long devid, backend_id;
    uint8_t mac[ETH_ALEN];
    int split;               /* split event channels: tx_port != rx_port */
    unsigned int nq;         /* queues of this connection */
    struct netq q[MAX_QUEUES];
    uint16_t tx_id;          /* packets go out on queue tx_id % nq */
    /* counters */
    unsigned long tx_packets, rx_packets, tx_errors;
};

/* ---- netfront.c ------------------------------------------------------------------ */
void net_find(struct netdev *d);
/* Initialising .. Connected, `split`: ask for split event channels if
 * offered; `queues`: as many queues as that, capped by the backend's offer. */
void net_connect(struct netdev *d, int split, unsigned int queues);
/* Closing, then Closed after the backend; every grant must be free again. */
void net_disconnect(struct netdev *d);
/* Transmits `len` bytes of `frame` in `frags` tx slots (more_data chained;
 * extra `flags` on the first), waits for every response: returns the first
 * status that is not NETIF_RSP_OKAY, else NETIF_RSP_OKAY. */
int net_send(struct netdev *d, const void *frame, unsigned int len, unsigned int frags, uint16_t flags);
/* A TCP super-frame in one data slot and a GSO extra slot (MSS `mss`, TCPv4),
 * checksum left to the backend: the first bad status, or NETIF_RSP_OKAY. */
int net_send_gso(struct netdev *d, const void *frame, unsigned int len, uint16_t mss);
/* A one-slot packet naming grant `gref` of ours that the backend may not use: its status. */
int net_send_bad(struct netdev *d, grant_ref_t gref, unsigned int len);
/* The next received frame into buf (at most `cap` bytes): its length, or -1
 * when none came by `deadline_ns` (system time). `*flags`: its NETRXF_*. */
int net_recv(struct netdev *d, void *buf, unsigned int cap, uint64_t deadline_ns, uint16_t *flags);

/* ---- netfront-ip.c ------------------------------------------------------------ */
uint16_t be16(const uint8_t *p);
uint32_t be32(const uint8_t *p);
void put16(uint8_t *p, uint16_t v);
void put32(uint8_t *p, uint32_t v);
uint16_t inet_csum(const uint8_t *p, unsigned int len, uint32_t sum);
int parse_ip(const char *s, uint32_t *out);
void fmt_ip(char *buf, size_t len, uint32_t ip);
void fmt_mac(char *buf, size_t len, const uint8_t *mac);

#endif /* XENRR_NETFRONT_H */
