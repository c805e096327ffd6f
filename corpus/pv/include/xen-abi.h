/*
 * The slice of Xen's public ABI (x86-64 PV) that the xenrr corpus guests
 * use. Our own definitions; names and numbers follow xen/include/public so
 * that `grep EVTCHNOP_send` finds both. Layouts are checked with
 * _Static_assert against the offsets in /work/shared/xen-pv64-facts.md.
 *
 * Who writes what: [XEN] fields are written by the hypervisor or a backend,
 * [GST] by this guest.
 *
 * The constant part is usable from assembly (__ASSEMBLER__).
 */
#ifndef XENRR_XEN_ABI_H
#define XENRR_XEN_ABI_H

/* ---- ELF notes (elfnote.h), name "Xen" ------------------------------------ */
#define XEN_ELFNOTE_ENTRY           1
#define XEN_ELFNOTE_HYPERCALL_PAGE  2
#define XEN_ELFNOTE_VIRT_BASE       3
#define XEN_ELFNOTE_PADDR_OFFSET    4
#define XEN_ELFNOTE_XEN_VERSION     5
#define XEN_ELFNOTE_GUEST_OS        6
#define XEN_ELFNOTE_GUEST_VERSION   7
#define XEN_ELFNOTE_LOADER          8
#define XEN_ELFNOTE_PAE_MODE        9
#define XEN_ELFNOTE_FEATURES        10

/* ---- hypercall numbers (xen.h); slot nr is at hypercall_page + 32*nr ------ */
#define __HYPERVISOR_set_trap_table      0
#define __HYPERVISOR_mmu_update          1
#define __HYPERVISOR_set_timer_op        15
#define __HYPERVISOR_update_va_mapping   14
#define __HYPERVISOR_xen_version         17
#define __HYPERVISOR_console_io          18
/* console_io commands */
#define CONSOLEIO_write                  0
#define __HYPERVISOR_grant_table_op      20
#define __HYPERVISOR_iret                23
#define __HYPERVISOR_vcpu_op             24
#define __HYPERVISOR_mmuext_op           26
#define __HYPERVISOR_sched_op            29
#define __HYPERVISOR_callback_op         30
#define __HYPERVISOR_event_channel_op    32

/* Flat selectors in Xen's part of every GDT (64-bit PV kernel == user). */
#define FLAT_KERNEL_CS   0xe033
#define FLAT_KERNEL_SS   0xe02b

/* iret_context.flags: the frame came from a syscall (rcx/r11 not restored). */
#define VGCF_in_syscall  0x100

/* ---- errno values Xen returns (negated) ------------------------------------ */
#define XEN_EPERM    1
#define XEN_ENOENT   2
#define XEN_EIO      5
#define XEN_EAGAIN   11
#define XEN_ENOMEM   12
#define XEN_EACCES   13
#define XEN_EFAULT   14
#define XEN_EBUSY    16
#define XEN_EEXIST   17
#define XEN_EINVAL   22
#define XEN_ENOSPC   28
#define XEN_ENOSYS   38
#define XEN_ETIMEDOUT 110

/* ---- sched_op (sched.h) ------------------------------------------------------ */
#define SCHEDOP_yield     0
#define SCHEDOP_block     1   /* implicitly clears vcpu_info.evtchn_upcall_mask */
#define SCHEDOP_shutdown  2
#define SCHEDOP_poll      3

#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot   1
#define SHUTDOWN_suspend  2
#define SHUTDOWN_crash    3

/* ---- event_channel_op (event_channel.h) ------------------------------------ */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq        1
#define EVTCHNOP_close            3
#define EVTCHNOP_send             4
#define EVTCHNOP_status           5
#define EVTCHNOP_alloc_unbound    6
#define EVTCHNOP_unmask           9

#define VIRQ_TIMER 0

/* ---- vcpu_op (vcpu.h) -------------------------------------------------------- */
#define VCPUOP_set_periodic_timer    6
#define VCPUOP_stop_periodic_timer   7
#define VCPUOP_set_singleshot_timer  8
#define VCPUOP_stop_singleshot_timer 9
#define VCPU_SSHOTTMR_future         1   /* -ETIME if the deadline has passed */

/* ---- callback_op (callback.h) ------------------------------------------------ */
#define CALLBACKOP_register     0
#define CALLBACKTYPE_event      0
#define CALLBACKTYPE_failsafe   1
#define CALLBACKF_mask_events   1

/* ---- xen_version (version.h) ------------------------------------------------- */
#define XENVER_version      0   /* returns (major << 16) | minor */
#define XENVER_extraversion 1   /* fills char[16] */

/* ---- update_va_mapping flags and PTE bits ----------------------------------- */
#define UVMF_NONE        0
#define UVMF_TLB_FLUSH   1
#define UVMF_INVLPG      2

#define _PAGE_PRESENT  0x001
#define _PAGE_RW       0x002
#define _PAGE_USER     0x004
#define _PAGE_ACCESSED 0x020
#define _PAGE_DIRTY    0x040

/* ---- grant_table_op (grant_table.h) ----------------------------------------- */
#define GNTTABOP_map_grant_ref    0
#define GNTTABOP_unmap_grant_ref  1
#define GNTTABOP_setup_table      2
#define GNTTABOP_copy             5
#define GNTTABOP_query_size       6

#define GTF_invalid         0
#define GTF_permit_access   1
#define GTF_type_mask       3
#define GTF_readonly        (1u << 2)   /* [GST] */
#define GTF_reading         (1u << 3)   /* [XEN] mapped for reading by domid */
#define GTF_writing         (1u << 4)   /* [XEN] mapped for writing by domid */

#define GNTMAP_device_map   (1u << 0)
#define GNTMAP_host_map     (1u << 1)
#define GNTMAP_readonly     (1u << 2)

#define GNTCOPY_source_gref (1u << 0)
#define GNTCOPY_dest_gref   (1u << 1)

#define GNTST_okay          0

/* Entries 0..7 are reserved for the toolstack (console, xenstore, ...). */
#define GNTTAB_NR_RESERVED_ENTRIES 8

#define DOMID_SELF 0x7ff0

/* ---- xenstore wire protocol (io/xs_wire.h) ----------------------------------- */
#define XS_DIRECTORY          1
#define XS_READ               2
#define XS_GET_PERMS          3
#define XS_WATCH              4
#define XS_UNWATCH            5
#define XS_TRANSACTION_START  6
#define XS_TRANSACTION_END    7
#define XS_WRITE              11
#define XS_MKDIR              12
#define XS_RM                 13
#define XS_SET_PERMS          14
#define XS_WATCH_EVENT        15
#define XS_ERROR              16

#define XENSTORE_RING_SIZE    1024
#define XENSTORE_PAYLOAD_MAX  4096
#define MASK_XENSTORE_IDX(i)  ((i) & (XENSTORE_RING_SIZE - 1))

/* ---- console ring (io/console.h) --------------------------------------------- */
#define XENCONS_IN_SIZE   1024
#define XENCONS_OUT_SIZE  2048
#define MASK_XENCONS_IDX(i, size) ((i) & ((size) - 1))

/* ---- Xen-owned virtual memory ------------------------------------------------- */
/* Read-only M2P table: m2p[mfn] == pfn. */
#define MACH2PHYS_VIRT_START 0xFFFF800000000000UL

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

typedef uint16_t domid_t;
typedef uint32_t evtchn_port_t;
typedef uint32_t grant_ref_t;
typedef uint32_t grant_handle_t;
typedef uint64_t xen_pfn_t;

#define XENRR_CHECK(type, field, off) \
    _Static_assert(offsetof(type, field) == (off), #type "." #field " offset")

/* start_info: built by the domain builder, VA passed in %rsi at entry. [XEN] */
struct start_info {
    char magic[32];             /* "xen-3.0-x86_64" */
    uint64_t nr_pages;
    uint64_t shared_info;       /* machine address of shared_info */
    uint32_t flags;             /* SIF_* */
    uint64_t store_mfn;
    uint32_t store_evtchn;
    union {
        struct {
            uint64_t mfn;
            uint32_t evtchn;
        } domU;
        struct {
            uint32_t info_off;
            uint32_t info_size;
        } dom0;
    } console;
    uint64_t pt_base;           /* VA of the L4 */
    uint64_t nr_pt_frames;
    uint64_t mfn_list;          /* VA of the P2M: mfn_list[pfn] == mfn */
    uint64_t mod_start;
    uint64_t mod_len;
    char cmd_line[1024];
    uint64_t first_p2m_pfn;
    uint64_t nr_p2m_frames;
};
typedef struct start_info start_info_t;
XENRR_CHECK(start_info_t, nr_pages, 32);
XENRR_CHECK(start_info_t, shared_info, 40);
XENRR_CHECK(start_info_t, flags, 48);
XENRR_CHECK(start_info_t, store_mfn, 56);
XENRR_CHECK(start_info_t, store_evtchn, 64);
XENRR_CHECK(start_info_t, console.domU.mfn, 72);
XENRR_CHECK(start_info_t, console.domU.evtchn, 80);
XENRR_CHECK(start_info_t, pt_base, 88);
XENRR_CHECK(start_info_t, mfn_list, 104);
XENRR_CHECK(start_info_t, cmd_line, 128);
_Static_assert(sizeof(start_info_t) == 1168, "start_info size");

#define SIF_PRIVILEGED  1
#define SIF_INITDOMAIN  2

/* Per-vCPU time; version is odd while Xen updates it. [XEN] */
struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;     /* TSC at the last update */
    uint64_t system_time;       /* ns since boot at the last update */
    uint32_t tsc_to_system_mul; /* ns = ((tsc delta << shift) * mul) >> 32 */
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};
_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info size");

struct arch_vcpu_info {
    uint64_t cr2;               /* [XEN] faulting address of the last #PF */
    uint64_t pad;
};

struct vcpu_info {
    uint8_t evtchn_upcall_pending;  /* [XEN] set, [GST] cleared by the upcall */
    uint8_t evtchn_upcall_mask;     /* [GST] virtual "interrupts disabled" */
    uint64_t evtchn_pending_sel;    /* [XEN] set, [GST] xchg'd to 0; bit i = word i */
    struct arch_vcpu_info arch;
    struct vcpu_time_info time;
};
typedef struct vcpu_info vcpu_info_t;
XENRR_CHECK(vcpu_info_t, evtchn_upcall_mask, 1);
XENRR_CHECK(vcpu_info_t, evtchn_pending_sel, 8);
XENRR_CHECK(vcpu_info_t, arch.cr2, 16);
XENRR_CHECK(vcpu_info_t, time, 32);
_Static_assert(sizeof(vcpu_info_t) == 64, "vcpu_info size");

#define XEN_LEGACY_MAX_VCPUS 32

/* shared_info: a Xen-owned frame the guest maps itself. */
struct shared_info {
    vcpu_info_t vcpu_info[XEN_LEGACY_MAX_VCPUS];
    uint64_t evtchn_pending[64];    /* 2-level ABI: bit N = port N; [XEN] set */
    uint64_t evtchn_mask[64];       /* [GST] */
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
    uint32_t wc_sec_hi;
    uint64_t arch[6];               /* max_pfn, pfn_to_mfn_frame_list_list, ... */
};
typedef struct shared_info shared_info_t;
XENRR_CHECK(shared_info_t, evtchn_pending, 2048);
XENRR_CHECK(shared_info_t, evtchn_mask, 2560);
XENRR_CHECK(shared_info_t, wc_version, 3072);
XENRR_CHECK(shared_info_t, wc_sec_hi, 3084);
XENRR_CHECK(shared_info_t, arch, 3088);

#define EVTCHN_2L_NR_CHANNELS 4096

/* set_trap_table entry; a list ends at address == 0. */
struct trap_info {
    uint8_t vector;
    uint8_t flags;      /* bits 0-1: DPL; bit 2: mask events on entry */
    uint16_t cs;
    uint64_t address;
};
_Static_assert(sizeof(struct trap_info) == 16, "trap_info size");
#define TI_SET_DPL(ti, dpl) ((ti)->flags = ((ti)->flags & ~3) | (dpl))
#define TI_SET_IF(ti, on)   ((ti)->flags = ((ti)->flags & ~4) | ((on) ? 4 : 0))

struct callback_register {
    uint16_t type;      /* CALLBACKTYPE_* */
    uint16_t flags;     /* CALLBACKF_* */
    uint64_t address;
};
_Static_assert(sizeof(struct callback_register) == 16, "callback_register size");

struct sched_shutdown {
    uint32_t reason;    /* SHUTDOWN_* */
};

struct sched_poll {
    evtchn_port_t *ports;
    uint32_t nr_ports;
    uint64_t timeout;   /* absolute system time in ns; 0 = none */
};
XENRR_CHECK(struct sched_poll, nr_ports, 8);
XENRR_CHECK(struct sched_poll, timeout, 16);

struct vcpu_set_singleshot_timer {
    uint64_t timeout_abs_ns;    /* absolute system time */
    uint32_t flags;             /* VCPU_SSHOTTMR_* */
};
_Static_assert(sizeof(struct vcpu_set_singleshot_timer) == 16, "singleshot size");

/* ---- event channel ops ------------------------------------------------------- */
struct evtchn_alloc_unbound {
    domid_t dom, remote_dom;    /* IN: dom = DOMID_SELF, remote_dom = peer */
    evtchn_port_t port;         /* OUT */
};
XENRR_CHECK(struct evtchn_alloc_unbound, port, 4);

struct evtchn_bind_interdomain {
    domid_t remote_dom;         /* IN */
    evtchn_port_t remote_port;  /* IN */
    evtchn_port_t local_port;   /* OUT */
};
XENRR_CHECK(struct evtchn_bind_interdomain, remote_port, 4);
XENRR_CHECK(struct evtchn_bind_interdomain, local_port, 8);

struct evtchn_bind_virq {
    uint32_t virq;              /* IN */
    uint32_t vcpu;              /* IN */
    evtchn_port_t port;         /* OUT */
};

struct evtchn_send {
    evtchn_port_t port;
};

struct evtchn_unmask {
    evtchn_port_t port;
};

struct evtchn_close {
    evtchn_port_t port;
};

struct evtchn_status {
    domid_t dom;                /* IN */
    evtchn_port_t port;         /* IN */
    uint32_t status;            /* OUT: EVTCHNSTAT_* */
    uint32_t vcpu;
    union {
        struct { domid_t dom; } unbound;
        struct { domid_t dom; evtchn_port_t port; } interdomain;
        uint32_t pirq;
        uint32_t virq;
    } u;
};
XENRR_CHECK(struct evtchn_status, status, 8);
XENRR_CHECK(struct evtchn_status, u, 16);
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status size");

#define EVTCHNSTAT_closed       0
#define EVTCHNSTAT_unbound      1
#define EVTCHNSTAT_interdomain  2
#define EVTCHNSTAT_virq         4

/* ---- grant tables -------------------------------------------------------------- */
/* v1 grant entry in our own table. The granter writes domid and frame, then
 * flags last; Xen sets GTF_reading/GTF_writing while the grant is mapped. */
struct grant_entry_v1 {
    uint16_t flags;     /* [GST] GTF_type, GTF_readonly; [XEN] GTF_reading/writing */
    domid_t domid;      /* [GST] who may access */
    uint32_t frame;     /* [GST] the granted frame (an MFN for a PV guest) */
};
_Static_assert(sizeof(struct grant_entry_v1) == 8, "grant_entry_v1 size");

struct gnttab_setup_table {
    domid_t dom;                /* IN: DOMID_SELF */
    uint32_t nr_frames;         /* IN */
    int16_t status;             /* OUT: GNTST_* */
    xen_pfn_t *frame_list;      /* IN: where Xen writes the frame MFNs */
};
XENRR_CHECK(struct gnttab_setup_table, nr_frames, 4);
XENRR_CHECK(struct gnttab_setup_table, status, 8);
XENRR_CHECK(struct gnttab_setup_table, frame_list, 16);

struct gnttab_map_grant_ref {
    uint64_t host_addr;         /* IN: VA to map at (GNTMAP_host_map) */
    uint32_t flags;             /* IN: GNTMAP_* */
    grant_ref_t ref;            /* IN */
    domid_t dom;                /* IN: the granting domain */
    int16_t status;             /* OUT */
    grant_handle_t handle;      /* OUT */
    uint64_t dev_bus_addr;      /* OUT */
};
XENRR_CHECK(struct gnttab_map_grant_ref, flags, 8);
XENRR_CHECK(struct gnttab_map_grant_ref, ref, 12);
XENRR_CHECK(struct gnttab_map_grant_ref, dom, 16);
XENRR_CHECK(struct gnttab_map_grant_ref, status, 18);
XENRR_CHECK(struct gnttab_map_grant_ref, handle, 20);
XENRR_CHECK(struct gnttab_map_grant_ref, dev_bus_addr, 24);

struct gnttab_unmap_grant_ref {
    uint64_t host_addr;         /* IN */
    uint64_t dev_bus_addr;      /* IN */
    grant_handle_t handle;      /* IN */
    int16_t status;             /* OUT */
};
XENRR_CHECK(struct gnttab_unmap_grant_ref, handle, 16);
XENRR_CHECK(struct gnttab_unmap_grant_ref, status, 20);

struct gnttab_copy_ptr {
    union {
        grant_ref_t ref;        /* with GNTCOPY_{source,dest}_gref */
        xen_pfn_t gmfn;         /* otherwise (an MFN for a PV guest) */
    } u;
    domid_t domid;
    uint16_t offset;
};
struct gnttab_copy {
    struct gnttab_copy_ptr source, dest;
    uint16_t len;
    uint16_t flags;             /* GNTCOPY_* */
    int16_t status;             /* OUT */
};
XENRR_CHECK(struct gnttab_copy, dest, 16);
XENRR_CHECK(struct gnttab_copy, len, 32);
XENRR_CHECK(struct gnttab_copy, status, 36);
_Static_assert(sizeof(struct gnttab_copy) == 40, "gnttab_copy size");

/* ---- rings ----------------------------------------------------------------------- */
/* PV console page. Indices are free-running; the guest produces `out`. */
struct xencons_interface {
    char in[XENCONS_IN_SIZE];
    char out[XENCONS_OUT_SIZE];
    uint32_t in_cons, in_prod;      /* in: [XEN] produces, [GST] consumes */
    uint32_t out_cons, out_prod;    /* out: [GST] produces, [XEN] consumes */
};
XENRR_CHECK(struct xencons_interface, out, 1024);
XENRR_CHECK(struct xencons_interface, in_cons, 3072);
XENRR_CHECK(struct xencons_interface, out_cons, 3080);
XENRR_CHECK(struct xencons_interface, out_prod, 3084);

/* xenstore page: requests go out on req[], replies and watch events come
 * back on rsp[]. Free-running indices, MASK_XENSTORE_IDX. */
struct xenstore_domain_interface {
    char req[XENSTORE_RING_SIZE];
    char rsp[XENSTORE_RING_SIZE];
    uint32_t req_cons, req_prod;    /* [XEN] consumes, [GST] produces */
    uint32_t rsp_cons, rsp_prod;    /* [GST] consumes, [XEN] produces */
    uint32_t server_features;
    uint32_t connection;
    uint32_t error;
    uint32_t evtchn_port;
};
XENRR_CHECK(struct xenstore_domain_interface, req_cons, 2048);
XENRR_CHECK(struct xenstore_domain_interface, rsp_cons, 2056);
XENRR_CHECK(struct xenstore_domain_interface, rsp_prod, 2060);

/* Header of every xenstore message; `len` payload bytes follow. */
struct xsd_sockmsg {
    uint32_t type;      /* XS_* */
    uint32_t req_id;    /* echoed in the reply */
    uint32_t tx_id;     /* 0: no transaction */
    uint32_t len;
};
_Static_assert(sizeof(struct xsd_sockmsg) == 16, "xsd_sockmsg size");

#endif /* !__ASSEMBLER__ */
#endif /* XENRR_XEN_ABI_H */
