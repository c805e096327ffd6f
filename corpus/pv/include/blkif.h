/*
 * The PV block device protocol (public/io/blkif.h, our own definitions) and
 * the xenbus states (public/io/xenbus.h), for the corpus's block frontend.
 *
 * A request slot holds one of three layouts, picked by `operation`:
 *   read/write/flush/barrier: up to 11 segments, each naming a granted
 *     4 KiB page and the sectors first_sect..last_sect (inclusive) in it;
 *   indirect: the segments live in up to 8 granted pages of 512
 *     blkif_request_segment each (feature-max-indirect-segments);
 *   discard: a sector range to forget (reads back as zeros).
 * The response echoes id and operation (for indirect: the wrapped one).
 */
#ifndef XENRR_BLKIF_H
#define XENRR_BLKIF_H

#include "rt.h"
#include "ring.h"

#define BLKIF_OP_READ              0
#define BLKIF_OP_WRITE             1
#define BLKIF_OP_WRITE_BARRIER     2
#define BLKIF_OP_FLUSH_DISKCACHE   3
#define BLKIF_OP_RESERVED_1        4
#define BLKIF_OP_DISCARD           5
#define BLKIF_OP_INDIRECT          6

#define BLKIF_MAX_SEGMENTS_PER_REQUEST        11
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST  8
#define BLKIF_DISCARD_SECURE                  1

#define BLKIF_RSP_EOPNOTSUPP  (-2)
#define BLKIF_RSP_ERROR       (-1)
#define BLKIF_RSP_OKAY        0

#define VDISK_CDROM      0x1
#define VDISK_REMOVABLE  0x2
#define VDISK_READONLY   0x4

#define SECTOR_SIZE 512
#define SECTORS_PER_PAGE (PAGE_SIZE / SECTOR_SIZE)
#define SEGS_PER_INDIRECT_FRAME (PAGE_SIZE / sizeof(struct blkif_request_segment))

struct blkif_request_segment {
    grant_ref_t gref;                /* [GST] a granted page of ours */
    uint8_t first_sect, last_sect;   /* [GST] sectors of that page, inclusive */
    uint16_t pad;
};
_Static_assert(sizeof(struct blkif_request_segment) == 8, "blkif_request_segment size");

struct blkif_request {
    uint8_t operation;               /* [GST] BLKIF_OP_* */
    uint8_t nr_segments;
    uint16_t handle;                 /* [GST] virtual-device */
    uint32_t pad;
    uint64_t id;                     /* [GST] echoed in the response */
    uint64_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request size");

struct blkif_request_indirect {
    uint8_t operation;               /* BLKIF_OP_INDIRECT */
    uint8_t indirect_op;             /* BLKIF_OP_READ or BLKIF_OP_WRITE */
    uint16_t nr_segments;
    uint32_t pad1;
    uint64_t id;
    uint64_t sector_number;
    uint16_t handle;
    uint16_t pad2;
    grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint32_t pad3;
};
_Static_assert(__builtin_offsetof(struct blkif_request_indirect, indirect_grefs) == 28, "indirect_grefs offset");
_Static_assert(sizeof(struct blkif_request_indirect) == 64, "blkif_request_indirect size");

struct blkif_request_discard {
    uint8_t operation;               /* BLKIF_OP_DISCARD */
    uint8_t flag;                    /* BLKIF_DISCARD_SECURE or 0 */
    uint16_t handle;
    uint32_t pad;
    uint64_t id;
    uint64_t sector_number;
    uint64_t nr_sectors;
};
_Static_assert(sizeof(struct blkif_request_discard) == 32, "blkif_request_discard size");

struct blkif_response {
    uint64_t id;                     /* [XEN] the request's */
    uint8_t operation;
    uint8_t pad;
    int16_t status;                  /* [XEN] BLKIF_RSP_* */
};
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response size");

DEFINE_RING_TYPES(blkif, struct blkif_request, struct blkif_response);

/* xenbus states, as written (decimal) to the "state" nodes. */
#define XenbusStateUnknown       0
#define XenbusStateInitialising  1
#define XenbusStateInitWait      2
#define XenbusStateInitialised   3
#define XenbusStateConnected     4
#define XenbusStateClosing       5
#define XenbusStateClosed        6

#endif /* XENRR_BLKIF_H */
