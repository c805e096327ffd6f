/*
 * The corpus's PV block frontend: the xenbus handshake (blkfront.c) and
 * the request helpers (blkfront-io.c) the test program in blkfront.c uses.
 * It speaks blkif as Linux 6.1's xen-blkfront negotiates it: multi-page
 * rings (ring-page-order, ring-ref<N>), several queues (queue-<N>/...),
 * persistent grants, indirect descriptors, flush, barrier and discard.
 */
#ifndef XENRR_BLKFRONT_H
#define XENRR_BLKFRONT_H

#include "blkif.h"

#define MAX_RING_ORDER 2            /* rings of up to 4 pages */
#define MAX_RING_PAGES (1u << MAX_RING_ORDER)
#define MAX_QUEUES 2
#define DATA_PAGES 64               /* granted data buffers, 256 KiB */

struct blk_queue {
    struct blkif_front_ring ring;
    grant_ref_t ring_ref[MAX_RING_PAGES];
    evtchn_port_t port;
    unsigned long id;               /* the next request id of this queue */
};

struct blkdev {
    char fe[64];                    /* our device directory, /local/domain/D/device/vbd/N */
    char be[96];                    /* the backend's */
    unsigned long devid, backend_id;
    /* this connection */
    unsigned int order, nr_queues;
    int persistent;                 /* both sides offered feature-persistent */
    int want_persistent;            /* we offered it */
    struct blk_queue q[MAX_QUEUES];
    /* what the backend published */
    unsigned long sectors, sector_size, info, max_indirect;
    int flush, barrier, discard;
    /* counters */
    unsigned long requests, bytes_read, bytes_written;
};

/* The data buffers, each granted (read-write) to the backend once. */
extern char blk_data[DATA_PAGES][PAGE_SIZE];

/* ---- blkfront.c: xenbus ----------------------------------------------------------- */
/* Connects (Initialising .. Connected) with a ring of 2^order pages per
 * queue, `queues` queues (both capped by what the backend offers). */
void blk_connect(struct blkdev *d, unsigned int order, unsigned int queues, int persistent);
/* Closing then Closed, once the backend followed; rings and channels go. */
void blk_disconnect(struct blkdev *d);
int blk_backend_state(struct blkdev *d);
/* The backend left Connected (it restarted): close our side and connect
 * again with the same rings and queues; requests in flight are lost until
 * issued again (io_complete does). */
void blk_recover(struct blkdev *d);

/* ---- blkfront-io.c ------------------------------------------------------------------ */
void io_init(struct blkdev *d);
/* A read or write (or flush/barrier) of `nsect` sectors at `sector`, into
 * or from data pages from `page` on, whole pages (a last partial one). */
void io_queue_rw(struct blkdev *d, unsigned int q, int op, uint64_t sector, unsigned int nsect, unsigned int page);
/* The same through one indirect page: `nseg` whole data pages. */
void io_queue_indirect(struct blkdev *d, unsigned int q, int op, uint64_t sector, unsigned int nseg, unsigned int page);
void io_queue_discard(struct blkdev *d, unsigned int q, uint64_t sector, uint64_t nsect);
/* A hand-made request slot (for the error cases). */
void io_queue_raw(struct blkdev *d, unsigned int q, const struct blkif_request *req);
/* Publishes the queued requests, notifies if the backend asked, waits for
 * every response; returns how many had a status other than `want` (and
 * prints them). */
unsigned int io_complete(struct blkdev *d, unsigned int q, int want_status, int want_op);

/* The disk image's pattern, as corpus/disks.mjs writes it. */
static inline uint8_t disk_byte(uint64_t sector, unsigned int i)
{
    return (uint8_t)(sector * 151 + i * 7 + (sector >> 8) * 3 + (i >> 5));
}
/* What this program writes: a pattern per write `tag`. */
static inline uint8_t write_byte(unsigned int tag, uint64_t sector, unsigned int i)
{
    return (uint8_t)(tag * 61 + sector * 29 + i * 13);
}

#endif /* XENRR_BLKFRONT_H */
