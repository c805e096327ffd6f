/*
 * The PV network device protocol (public/io/netif.h, our own definitions)
 * for the corpus's network frontend: a tx ring (we transmit: requests name
 * granted pages holding packet data) and an rx ring (we post empty granted
 * pages, the backend fills them), both one page.
 *
 * tx: a packet is one request, or several chained with NETTXF_more_data;
 *   the first request's size is the whole packet, later ones their own
 *   fragment; NETTXF_extra_info makes the next slot a netif_extra_info.
 *   Each request gets a response with its id: NETIF_RSP_OKAY, _ERROR
 *   (bad grant, bad packet), _DROPPED, or _NULL for an extra-info slot.
 * rx: each response lands in the slot of a request it used; status is the
 *   byte count of that slot (data at `offset`) or an error; more_data
 *   chains slots of one frame.
 */
#ifndef XENRR_NETIF_H
#define XENRR_NETIF_H

#include "rt.h"
#include "ring.h"
#include "xenbus.h"

#define NETTXF_csum_blank      (1u << 0)
#define NETTXF_data_validated  (1u << 1)
#define NETTXF_more_data       (1u << 2)
#define NETTXF_extra_info      (1u << 3)

#define NETRXF_data_validated  (1u << 0)
#define NETRXF_csum_blank      (1u << 1)
#define NETRXF_more_data       (1u << 2)
#define NETRXF_extra_info      (1u << 3)

#define XEN_NETIF_EXTRA_TYPE_GSO       1
#define XEN_NETIF_EXTRA_TYPE_MCAST_ADD 2
#define XEN_NETIF_EXTRA_FLAG_MORE      1
#define XEN_NETIF_GSO_TYPE_TCPV4       1

#define NETIF_RSP_DROPPED  (-2)
#define NETIF_RSP_ERROR    (-1)
#define NETIF_RSP_OKAY     0
#define NETIF_RSP_NULL     1

struct netif_tx_request {
    grant_ref_t gref;     /* [GST] page holding the data */
    uint16_t offset;      /* [GST] where it starts */
    uint16_t flags;       /* [GST] NETTXF_* */
    uint16_t id;          /* [GST] echoed in the response */
    uint16_t size;        /* [GST] packet (first slot) or fragment size */
};
_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request size");

struct netif_extra_info {
    uint8_t type;         /* XEN_NETIF_EXTRA_TYPE_* */
    uint8_t flags;        /* XEN_NETIF_EXTRA_FLAG_* */
    union {
        struct { uint16_t size; uint8_t type; uint8_t pad; uint16_t features; } gso;
        struct { uint8_t addr[6]; } mcast;
        uint16_t pad[3];
    } u;
};
_Static_assert(sizeof(struct netif_extra_info) == 8, "netif_extra_info size");

struct netif_tx_response {
    uint16_t id;
    int16_t status;       /* [XEN] NETIF_RSP_* */
};

struct netif_rx_request {
    uint16_t id;          /* [GST] echoed in the response */
    uint16_t pad;
    grant_ref_t gref;     /* [GST] an empty page of ours */
};

struct netif_rx_response {
    uint16_t id;
    uint16_t offset;      /* [XEN] data start in the page */
    uint16_t flags;       /* [XEN] NETRXF_* */
    int16_t status;       /* [XEN] bytes, or NETIF_RSP_* */
};

union netif_tx_slot {
    struct netif_tx_request req;
    struct netif_extra_info extra;
};

DEFINE_RING_TYPES(netif_tx, union netif_tx_slot, struct netif_tx_response);
DEFINE_RING_TYPES(netif_rx, struct netif_rx_request, struct netif_rx_response);

#endif /* XENRR_NETIF_H */
