/*
 * Shared request/response rings for split drivers, in the manner of Xen's
 * public/io/ring.h (same page layout and protocol rules; our own macros).
 *
 * Page layout: a 64-byte header {req_prod, req_event, rsp_prod, rsp_event,
 * padding} then ring[], an array of entries, each a union of the request and
 * the response type (a request's slot is the one its response comes back
 * in). The entry count is what fits after the header rounded down to a power
 * of two, so slot = index & (entries - 1).
 *
 * Who writes what:
 *   frontend: request slots, req_prod, rsp_event; private req_prod_pvt, rsp_cons
 *   backend:  response slots, rsp_prod, req_event; private rsp_prod_pvt, req_cons
 * Indices are free-running u32s; every comparison is on u32 differences.
 *
 * Ordering points (the driver's push functions follow 1 and 3 by hand):
 * 1. Publication: fill slots [prod, prod_pvt), wmb(), store prod = prod_pvt.
 *    A consumer reads an index, rmb(), then the slots below it.
 * 2. Consumption: copy a slot to private memory before trusting it (the
 *    peer can still rewrite it).
 * 3. Notify decision: old = shared prod; publish as in 1; mb() (the new
 *    prod must be visible before we read the peer's event index); notify iff
 *    RING_NEED_NOTIFY(new, old, event): the event index lies in (old, new].
 * 4. Going idle (RING_FINAL_CHECK_*): nothing unconsumed -> store
 *    event = cons + 1, mb(), look again. Pairs with the mb() of 3: either
 *    the producer sees the new event index and notifies, or we see its new
 *    prod on the second look.
 */
#ifndef XENRR_RING_H
#define XENRR_RING_H

#include "rt.h"

typedef uint32_t ring_idx_t;

#define RING_HEADER_SIZE 64

/* Entries of `entry_size` bytes after the header of one page, rounded down
 * to a power of two (a compile-time constant for constant sizes). */
#define RING_ENTRIES_FOR(bytes, entry_size) (1u << (31 - __builtin_clz((unsigned)(((bytes) - RING_HEADER_SIZE) / (entry_size)))))

/*
 * DEFINE_RING_TYPES(tag, req_t, rsp_t) declares
 *   union tag##_sring_entry, struct tag##_sring (the shared page),
 *   struct tag##_front_ring and struct tag##_back_ring (private state).
 */
#define DEFINE_RING_TYPES(tag, req_t, rsp_t)                                         \
    union tag##_sring_entry {                                                        \
        req_t req;                                                                   \
        rsp_t rsp;                                                                   \
    };                                                                               \
    struct tag##_sring {                                                             \
        ring_idx_t req_prod, req_event;                                              \
        ring_idx_t rsp_prod, rsp_event;                                              \
        uint8_t pad[RING_HEADER_SIZE - 4 * sizeof(ring_idx_t)];                      \
        union tag##_sring_entry ring[];                                              \
    };                                                                               \
    struct tag##_front_ring {                                                        \
        ring_idx_t req_prod_pvt, rsp_cons;                                           \
        unsigned int nr_ents;                                                        \
        struct tag##_sring *sring;                                                   \
    };                                                                               \
    struct tag##_back_ring {                                                         \
        ring_idx_t rsp_prod_pvt, req_cons;                                           \
        unsigned int nr_ents;                                                        \
        struct tag##_sring *sring;                                                   \
    };                                                                               \
    _Static_assert(__builtin_offsetof(struct tag##_sring, ring) == RING_HEADER_SIZE, \
                   #tag " ring header size")

/* Frontend only, before granting the page: empty ring, both events at 1. */
#define SRING_INIT(s)                                 \
    do {                                              \
        memset((s)->pad, 0, sizeof((s)->pad));        \
        (s)->req_prod = (s)->rsp_prod = 0;            \
        (s)->req_event = (s)->rsp_event = 1;          \
    } while (0)

#define FRONT_RING_INIT(r, s, page_bytes)                                          \
    do {                                                                           \
        (r)->req_prod_pvt = 0;                                                     \
        (r)->rsp_cons = 0;                                                         \
        (r)->nr_ents = RING_ENTRIES_FOR(page_bytes, sizeof((s)->ring[0]));         \
        (r)->sring = (s);                                                          \
    } while (0)

/* Backend, on attaching to a page the frontend initialised (empty ring). */
#define BACK_RING_INIT(r, s, page_bytes)                                           \
    do {                                                                           \
        (r)->rsp_prod_pvt = 0;                                                     \
        (r)->req_cons = 0;                                                         \
        (r)->nr_ents = RING_ENTRIES_FOR(page_bytes, sizeof((s)->ring[0]));         \
        (r)->sring = (s);                                                          \
    } while (0)

#define RING_SIZE(r) ((r)->nr_ents)
#define RING_SLOT(r, idx) (&(r)->sring->ring[(idx) & (RING_SIZE(r) - 1)])
#define RING_GET_REQUEST(r, idx) (&RING_SLOT(r, idx)->req)
#define RING_GET_RESPONSE(r, idx) (&RING_SLOT(r, idx)->rsp)

/* Frontend: slots it may still fill (responses not yet consumed count as used). */
#define RING_FREE_REQUESTS(r) (RING_SIZE(r) - ((r)->req_prod_pvt - (r)->rsp_cons))

/* Frontend: responses published and not consumed. Read rmb() before the slots. */
#define RING_HAS_UNCONSUMED_RESPONSES(r) ((ring_idx_t)(READ_ONCE((r)->sring->rsp_prod) - (r)->rsp_cons))

/* Backend: requests published and not consumed, bounded by the free
 * response slots so a runaway req_prod cannot make us overrun. */
#define RING_HAS_UNCONSUMED_REQUESTS(r)                                                       \
    ({                                                                                        \
        ring_idx_t _reqs = READ_ONCE((r)->sring->req_prod) - (r)->req_cons;                   \
        ring_idx_t _rsps = RING_SIZE(r) - ((r)->req_cons - (r)->rsp_prod_pvt);                \
        _reqs < _rsps ? _reqs : _rsps;                                                        \
    })

/* The notify rule of ordering point 3: the peer's event index lies in
 * (old, new], i.e. it asked to be woken at a slot this push published. */
#define RING_NEED_NOTIFY(new, old, event) ((ring_idx_t)((new) - (event)) < (ring_idx_t)((new) - (old)))

/* Ordering point 4, backend: sets `more` to the unconsumed request count,
 * arming req_event first when there is none. */
#define RING_FINAL_CHECK_FOR_REQUESTS(r, more)                             \
    do {                                                                   \
        (more) = RING_HAS_UNCONSUMED_REQUESTS(r);                          \
        if (more)                                                          \
            break;                                                         \
        WRITE_ONCE((r)->sring->req_event, (r)->req_cons + 1);              \
        mb();                                                              \
        (more) = RING_HAS_UNCONSUMED_REQUESTS(r);                          \
    } while (0)

/* Ordering point 4, frontend: the same for responses and rsp_event. */
#define RING_FINAL_CHECK_FOR_RESPONSES(r, more)                            \
    do {                                                                   \
        (more) = RING_HAS_UNCONSUMED_RESPONSES(r);                         \
        if (more)                                                          \
            break;                                                         \
        WRITE_ONCE((r)->sring->rsp_event, (r)->rsp_cons + 1);              \
        mb();                                                              \
        (more) = RING_HAS_UNCONSUMED_RESPONSES(r);                         \
    } while (0)

#endif /* XENRR_RING_H */
