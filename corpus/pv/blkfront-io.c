/*
 * blkfront's requests: building slots on a queue's ring, publishing them
 * (ordering points 1 and 3 of include/ring.h), and collecting responses
 * (points 2 and 4). One request per slot; ids count up per queue and the
 * response must carry the id and operation of a request in flight.
 */
#include "blkfront.h"
#include "hypercall.h"

char blk_data[DATA_PAGES][PAGE_SIZE] __page_aligned_bss;
static grant_ref_t data_ref[DATA_PAGES];
static char indirect_page[MAX_QUEUES][BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST][PAGE_SIZE] __page_aligned_bss;
static grant_ref_t indirect_ref[MAX_QUEUES][BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

/* Requests published and not answered, per queue: the response's expected
 * operation, and a copy of the slot to issue again after a reconnection. */
#define MAX_INFLIGHT 128
static struct { uint64_t id; uint8_t op; unsigned long bytes; struct blkif_request req; } inflight[MAX_QUEUES][MAX_INFLIGHT];
static unsigned int nr_inflight[MAX_QUEUES];

void io_init(struct blkdev *d)
{
    for (unsigned int i = 0; i < DATA_PAGES; i++)
        data_ref[i] = gnttab_grant_access((domid_t)d->backend_id, virt_to_mfn(blk_data[i]), 0);
    for (unsigned int q = 0; q < MAX_QUEUES; q++)
        for (unsigned int k = 0; k < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; k++)
            /* read-write, as Linux's blkfront grants them: a backend with persistent grants maps every grant so */
            indirect_ref[q][k] = gnttab_grant_access((domid_t)d->backend_id, virt_to_mfn(indirect_page[q][k]), 0);
}

/* Copies of the slots queued since the last push, taken at the push. */
static void shadow(struct blk_queue *bq, unsigned int q)
{
    for (ring_idx_t i = bq->ring.sring->req_prod; i != bq->ring.req_prod_pvt; i++) {
        const struct blkif_request *req = RING_GET_REQUEST(&bq->ring, i);
        for (unsigned int k = 0; k < nr_inflight[q]; k++)
            if (inflight[q][k].id == req->id)
                inflight[q][k].req = *req;
    }
}

static struct blkif_request *next_slot(struct blkdev *d, unsigned int q, uint8_t op)
{
    struct blk_queue *bq = &d->q[q];
    if (RING_FREE_REQUESTS(&bq->ring) == 0 || nr_inflight[q] == MAX_INFLIGHT)
        panic("blkfront: queue %u is full", q);
    struct blkif_request *req = RING_GET_REQUEST(&bq->ring, bq->ring.req_prod_pvt);
    memset(req, 0, sizeof(*req));
    req->operation = op;
    req->id = (uint64_t)q << 32 | bq->id++;
    inflight[q][nr_inflight[q]].id = req->id;
    inflight[q][nr_inflight[q]].op = op;
    inflight[q][nr_inflight[q]].bytes = 0;
    nr_inflight[q]++;
    bq->ring.req_prod_pvt++;
    d->requests++;
    return req;
}

/* Segments of `nsect` sectors over whole data pages from `page` on. */
static unsigned int fill_segments(struct blkif_request_segment *seg, unsigned int nsect, unsigned int page)
{
    unsigned int n = 0;
    for (; nsect > 0; n++) {
        unsigned int here = nsect < SECTORS_PER_PAGE ? nsect : SECTORS_PER_PAGE;
        seg[n].gref = data_ref[page + n];
        seg[n].first_sect = 0;
        seg[n].last_sect = (uint8_t)(here - 1);
        nsect -= here;
    }
    return n;
}

/* The data a request moves, counted when it is answered OKAY. */
static void count(unsigned int q, unsigned long bytes)
{
    inflight[q][nr_inflight[q] - 1].bytes = bytes;
}

void io_queue_rw(struct blkdev *d, unsigned int q, int op, uint64_t sector, unsigned int nsect, unsigned int page)
{
    struct blkif_request *req = next_slot(d, q, (uint8_t)op);
    req->handle = (uint16_t)d->devid;
    req->sector_number = sector;
    req->nr_segments = (uint8_t)fill_segments(req->seg, nsect, page);
    if (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
        panic("blkfront: %u sectors do not fit one request", nsect);
    count(q, (unsigned long)nsect * SECTOR_SIZE);
}

void io_queue_indirect(struct blkdev *d, unsigned int q, int op, uint64_t sector, unsigned int nseg, unsigned int page)
{
    unsigned int pages = (nseg + SEGS_PER_INDIRECT_FRAME - 1) / SEGS_PER_INDIRECT_FRAME;
    if (nseg == 0 || nseg > d->max_indirect || pages > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
        panic("blkfront: %u indirect segments (backend takes %lu)", nseg, d->max_indirect);
    struct blkif_request_segment *segs = (struct blkif_request_segment *)indirect_page[q];
    fill_segments(segs, nseg * SECTORS_PER_PAGE, page);
    struct blkif_request_indirect *req = (struct blkif_request_indirect *)next_slot(d, q, BLKIF_OP_INDIRECT);
    req->indirect_op = (uint8_t)op;
    req->nr_segments = (uint16_t)nseg;
    req->sector_number = sector;
    req->handle = (uint16_t)d->devid;
    for (unsigned int k = 0; k < pages; k++)
        req->indirect_grefs[k] = indirect_ref[q][k];
    inflight[q][nr_inflight[q] - 1].op = (uint8_t)op;   /* answered with the wrapped operation */
    count(q, (unsigned long)nseg * PAGE_SIZE);
}

void io_queue_discard(struct blkdev *d, unsigned int q, uint64_t sector, uint64_t nsect)
{
    struct blkif_request_discard *req = (struct blkif_request_discard *)next_slot(d, q, BLKIF_OP_DISCARD);
    req->handle = (uint16_t)d->devid;
    req->sector_number = sector;
    req->nr_sectors = nsect;
}

void io_queue_raw(struct blkdev *d, unsigned int q, const struct blkif_request *tmpl)
{
    struct blkif_request *req = next_slot(d, q, tmpl->operation);
    uint64_t id = req->id;
    *req = *tmpl;
    req->id = id;
}

/* Ordering points 1 and 3: publish, then notify iff req_event is in (old, new]. */
static void push(struct blk_queue *bq)
{
    ring_idx_t old = bq->ring.sring->req_prod;
    ring_idx_t new = bq->ring.req_prod_pvt;
    wmb();
    WRITE_ONCE(bq->ring.sring->req_prod, new);
    mb();
    if (RING_NEED_NOTIFY(new, old, READ_ONCE(bq->ring.sring->req_event)))
        evtchn_send(bq->port);
}

/* Ordering point 4 for responses; run with events disabled by WAIT_UNTIL. */
static struct blk_queue *waiting;
static int responses_ready(void)
{
    int more;
    RING_FINAL_CHECK_FOR_RESPONSES(&waiting->ring, more);
    return more;
}

/* Ordering point 4, and a look at the backend's state watch (never blocks). */
static int wake_up(void)
{
    return responses_ready() || xs_watch_fired("bes");
}

/* Every request in flight on every queue, on the rings of a new connection. */
static void reissue(struct blkdev *d)
{
    for (unsigned int q = 0; q < d->nr_queues; q++) {
        struct blk_queue *bq = &d->q[q];
        for (unsigned int k = 0; k < nr_inflight[q]; k++)
            *RING_GET_REQUEST(&bq->ring, bq->ring.req_prod_pvt++) = inflight[q][k].req;
        push(bq);
    }
}

unsigned int io_complete(struct blkdev *d, unsigned int q, int want_status, int want_op)
{
    struct blk_queue *bq = &d->q[q];
    unsigned int bad = 0;
    evtchn_port_t store = xen_start_info->store_evtchn;

    shadow(bq, q);
    push(bq);
    /* The store port may end sched_block too while we wait: the backend's state can change under us. */
    evtchn_unmask(store);
    while (nr_inflight[q] > 0) {
        waiting = bq;
        WAIT_UNTIL(wake_up());
        if (xs_watch_fired("bes")) {
            xs_wait_watch("bes", NULL, 0);
            if (blk_backend_state(d) != XenbusStateConnected) {
                blk_recover(d);
                reissue(d);
                bq = &d->q[q];
            }
            continue;
        }
        while (RING_HAS_UNCONSUMED_RESPONSES(&bq->ring)) {
            rmb();   /* rsp_prod before the slots it covers */
            struct blkif_response rsp = *RING_GET_RESPONSE(&bq->ring, bq->ring.rsp_cons);
            bq->ring.rsp_cons++;
            unsigned int k = 0;
            while (k < nr_inflight[q] && inflight[q][k].id != rsp.id)
                k++;
            if (k == nr_inflight[q])
                panic("blkfront: queue %u: response id 0x%lx matches no request in flight", q, rsp.id);
            int op = want_op >= 0 ? want_op : inflight[q][k].op;
            if (rsp.status == BLKIF_RSP_OKAY && op == BLKIF_OP_READ)
                d->bytes_read += inflight[q][k].bytes;
            else if (rsp.status == BLKIF_RSP_OKAY)
                d->bytes_written += inflight[q][k].bytes;
            if (rsp.operation != op || rsp.status != want_status) {
                printk("blkfront: request 0x%lx: operation %u status %d, expected operation %d status %d\n", rsp.id,
                       rsp.operation, rsp.status, op, want_status);
                bad++;
            }
            inflight[q][k] = inflight[q][--nr_inflight[q]];
        }
    }
    evtchn_mask(store);
    return bad;
}
