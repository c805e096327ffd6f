/**
 * public/io/ring.h: the shared request/response ring every split driver
 * (blkif, netif, ...) builds with DEFINE_RING_TYPES(tag, request, response).
 *
 * Layout. One shared page (or 2^order pages) starts with a 64-byte header
 * (`sring` below) followed by `ring[]`, an array of entries; an entry is a
 * union of the request and the response type, so a request's slot is the
 * one its response comes back in.
 *
 * Size rule (__RING_SIZE / __CONST_RING_SIZE): the number of entries is
 * (bytes - offsetof(ring)) / sizeof(entry), rounded DOWN to a power of two,
 * so that slot = index & (entries - 1). For one 4 KiB page:
 * blkif 112-byte entries -> 36 -> 32; netif tx 12 -> 336 -> 256; netif rx
 * 8 -> 504 -> 256 (BLK_RING_SIZE, NET_TX_RING_SIZE, NET_RX_RING_SIZE).
 *
 * Roles and who writes what:
 * - frontend: produces requests, consumes responses. Writes request slots,
 *   `req_prod` and `rsp_event`. Private: req_prod_pvt, rsp_cons.
 * - backend: consumes requests, produces responses. Writes response slots,
 *   `rsp_prod` and `req_event`. Private: req_cons, rsp_prod_pvt.
 * - Indices (RING_IDX = u32) run freely and wrap modulo 2^32; every
 *   comparison is on u32 differences. They are never reset while connected.
 * - Only the frontend initialises the shared page (SHARED_RING_INIT):
 *   req_prod = rsp_prod = 0, req_event = rsp_event = 1, padding zeroed,
 *   before it grants the page and advertises it in xenstore.
 * - Flow control is by counting only: the frontend keeps at most
 *   `entries` requests outstanding (free = entries - (req_prod_pvt -
 *   rsp_cons)), which is what keeps responses from overwriting requests
 *   the backend has not read.
 *
 * Ordering points (the producer side is the same for requests and
 * responses, with the roles swapped):
 * 1. Publication (RING_PUSH_REQUESTS / RING_PUSH_RESPONSES): the producer
 *    fills slots [prod, prod_pvt), then a write barrier, then stores
 *    prod = prod_pvt. The consumer may read a slot only after it has read a
 *    producer index covering it, and must order that read of the index
 *    before its reads of the slot (read barrier). The index store is the
 *    single publication point: a consumer seeing prod = n sees slots < n.
 * 2. Consumption: a consumer should copy a slot to private memory before
 *    checking it (RING_COPY_REQUEST), because the other side can still
 *    rewrite it. A backend bounds what it believes: unconsumed requests =
 *    min(req_prod - req_cons, entries - (req_cons - rsp_prod_pvt)), and a
 *    req_prod more than `entries` ahead of rsp_prod_pvt means a broken
 *    frontend (RING_REQUEST_PROD_OVERFLOW); likewise rsp_prod more than
 *    `entries` ahead of rsp_cons means a broken backend.
 * 3. Notify decision (RING_PUSH_*_AND_CHECK_NOTIFY): old = shared prod,
 *    new = prod_pvt; write barrier; store prod = new; FULL barrier (the
 *    peer must be able to see the new prod before we look at its event
 *    index); then notify the peer's event channel iff
 *    (u32)(new - event) < (u32)(new - old), i.e. iff the peer's event index
 *    (req_event for requests, rsp_event for responses) lies in (old, new].
 * 4. Going idle (RING_FINAL_CHECK_FOR_REQUESTS on the backend,
 *    RING_FINAL_CHECK_FOR_RESPONSES on the frontend): if anything is
 *    unconsumed, keep working. Otherwise store event = cons + 1 ("wake me
 *    for the very next one"), FULL barrier, and look again: work that was
 *    published between the first look and the event store is found here.
 *    This barrier pairs with the producer's barrier in 3: either the
 *    producer sees the new event index and notifies, or the consumer sees
 *    the new producer index in its second look. A consumer that wants
 *    batching sets the event further ahead instead of cons + 1.
 *
 * In xenrr the backends run inside the single simulation thread, so there
 * is no real concurrency; these points are where a guest's stores become
 * meaningful to the other side, and where traces record ring transactions.
 */

/** Ring protocols always count in 4 KiB pages, whatever the guest's page size. */
export const XEN_PAGE_SHIFT = 12;

/**
 * The sring header. `size` here is the header's size, i.e. the offset of
 * ring[0] (the C struct itself is declared page-sized by its users).
 */
export const sring = {
  size: 64,
  req_prod: 0, // RING_IDX, frontend-written
  req_event: 4, // RING_IDX, backend-written
  rsp_prod: 8, // RING_IDX, backend-written
  rsp_event: 12, // RING_IDX, frontend-written
  ring: 64, // first entry
} as const;
