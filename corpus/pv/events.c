/*
 * 2-level event channels: the upcall dispatcher, port masking, and the
 * event_channel_op wrappers.
 *
 * Xen marks an event by setting evtchn_pending[port]; if the port is not
 * masked it also sets bit port/64 of vcpu_info.evtchn_pending_sel and
 * evtchn_upcall_pending, and (if evtchn_upcall_mask is clear) bounces us to
 * hypervisor_callback (entry.S), which calls do_event_upcall().
 *
 * Ports without a handler stay masked: the console and xenstore ports are
 * driven by polling their pending bit (console.c, xenstore.c).
 */
#include "rt.h"
#include "hypercall.h"

#define NR_HANDLED_PORTS 256

extern char hypervisor_callback[];   /* entry.S */

static struct {
    evtchn_handler_t fn;
    void *data;
} port_handlers[NR_HANDLED_PORTS];

static unsigned long unhandled_events;

/* ---- atomic bit operations on shared_info words (port -> word, bit) ------------- */

static inline int sync_test_and_clear_bit(unsigned int nr, uint64_t *words)
{
    uint64_t *w = &words[nr / 64];
    unsigned char old;
    __asm__ volatile("lock btrq %2, %1; setc %0"
                     : "=q"(old), "+m"(*w)
                     : "r"((uint64_t)(nr % 64))
                     : "memory", "cc");
    return old;
}

static inline int sync_test_and_set_bit(unsigned int nr, uint64_t *words)
{
    uint64_t *w = &words[nr / 64];
    unsigned char old;
    __asm__ volatile("lock btsq %2, %1; setc %0"
                     : "=q"(old), "+m"(*w)
                     : "r"((uint64_t)(nr % 64))
                     : "memory", "cc");
    return old;
}

static inline int sync_test_bit(unsigned int nr, const uint64_t *words)
{
    return (READ_ONCE(words[nr / 64]) >> (nr % 64)) & 1;
}

static inline vcpu_info_t *vcpu0(void)
{
    return &HYPERVISOR_shared_info->vcpu_info[0];
}

/* ---- virtual interrupt flag ----------------------------------------------------- */

/* Any hypercall returns through Xen's pending-upcall check; xen_version is
 * the cheapest (Linux's xen_force_evtchn_callback). */
static void force_evtchn_callback(void)
{
    HYPERVISOR_xen_version(XENVER_version, NULL);
}

void events_disable(void)
{
    WRITE_ONCE(vcpu0()->evtchn_upcall_mask, 1);
    barrier();
}

void events_enable(void)
{
    vcpu_info_t *v = vcpu0();

    WRITE_ONCE(v->evtchn_upcall_mask, 0);
    /* Unmask before looking at pending (store->load): an event posted in
     * between either sees the clear mask and upcalls us itself, or is seen
     * here. */
    mb();
    if (READ_ONCE(v->evtchn_upcall_pending))
        force_evtchn_callback();
}

unsigned int events_save_disable(void)
{
    unsigned int old = READ_ONCE(vcpu0()->evtchn_upcall_mask);
    events_disable();
    return old;
}

void events_restore(unsigned int saved)
{
    if (saved)
        events_disable();
    else
        events_enable();
}

/* ---- dispatch --------------------------------------------------------------------- */

/* Called by entry.S with evtchn_upcall_mask == 1 (set by Xen). */
void do_event_upcall(struct cpu_regs *regs)
{
    shared_info_t *s = HYPERVISOR_shared_info;
    vcpu_info_t *v = vcpu0();
    (void)regs;

    do {
        WRITE_ONCE(v->evtchn_upcall_pending, 0);
        /* Clear upcall_pending before taking pending_sel (xchg is a full
         * barrier): Xen sets them in the opposite order, so anything we miss
         * below re-raises upcall_pending and we go round again. */
        uint64_t sel = __atomic_exchange_n(&v->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
        while (sel) {
            unsigned int word = bsf64(sel);
            sel &= sel - 1;
            uint64_t bits;
            while ((bits = READ_ONCE(s->evtchn_pending[word]) & ~READ_ONCE(s->evtchn_mask[word]))) {
                evtchn_port_t port = word * 64 + bsf64(bits);
                /* Clear before handling: a new event during the handler
                 * sets it again and is seen on the next pass. */
                sync_test_and_clear_bit(port, s->evtchn_pending);
                if (port < NR_HANDLED_PORTS && port_handlers[port].fn)
                    port_handlers[port].fn(port, port_handlers[port].data);
                else
                    unhandled_events++;
            }
        }
    } while (READ_ONCE(v->evtchn_upcall_pending));
}

/* ---- masking ------------------------------------------------------------------------ */

void events_init(void)
{
    shared_info_t *s = HYPERVISOR_shared_info;

    for (unsigned int i = 0; i < ARRAY_SIZE(s->evtchn_mask); i++)
        WRITE_ONCE(s->evtchn_mask[i], ~0UL);

    struct callback_register cb = {
        .type = CALLBACKTYPE_event,
        .flags = 0,
        .address = (uint64_t)hypervisor_callback,
    };
    long rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
    if (rc)
        panic("callback_op(register event) failed: %ld", rc);
}

void evtchn_mask(evtchn_port_t port)
{
    sync_test_and_set_bit(port, HYPERVISOR_shared_info->evtchn_mask);
}

/*
 * Unmask without a hypercall, as Linux's 2-level code does on the bound vCPU:
 * an event that arrived while masked left only its pending bit, so we
 * propagate it to pending_sel/upcall_pending ourselves.
 */
void evtchn_unmask(evtchn_port_t port)
{
    shared_info_t *s = HYPERVISOR_shared_info;
    vcpu_info_t *v = vcpu0();
    unsigned int saved = events_save_disable();

    sync_test_and_clear_bit(port, s->evtchn_mask);
    /* (the locked btr orders the unmask before the pending test) */
    if (sync_test_bit(port, s->evtchn_pending) &&
        !sync_test_and_set_bit(port / 64, &v->evtchn_pending_sel))
        WRITE_ONCE(v->evtchn_upcall_pending, 1);
    events_restore(saved);   /* delivers it now if events were enabled */
}

int evtchn_test_and_clear_pending(evtchn_port_t port)
{
    return sync_test_and_clear_bit(port, HYPERVISOR_shared_info->evtchn_pending);
}

void evtchn_bind_handler(evtchn_port_t port, evtchn_handler_t handler, void *data)
{
    if (port >= NR_HANDLED_PORTS)
        panic("event channel port %u beyond the handler table", port);
    port_handlers[port].data = data;
    WRITE_ONCE(port_handlers[port].fn, handler);
    evtchn_unmask(port);
}

/* ---- event_channel_op ---------------------------------------------------------------- */

long evtchn_bind_virq(uint32_t virq)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    return rc ? rc : (long)op.port;
}

long evtchn_alloc_unbound(domid_t remote_dom)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    return rc ? rc : (long)op.port;
}

long evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    return rc ? rc : (long)op.local_port;
}

long evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

long evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}
