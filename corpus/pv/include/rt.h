/*
 * The xenrr PV guest runtime: everything a corpus kernel (corpus/pv/<name>.c)
 * may call. A kernel defines `void kmain(start_info_t *si)`, calls
 * rt_init() first, and ends with xen_shutdown(); kmain must not return.
 *
 * Single vCPU (vCPU 0) throughout. "Events" are Xen's virtual interrupts:
 * vcpu_info.evtchn_upcall_mask is the interrupt flag.
 */
#ifndef XENRR_RT_H
#define XENRR_RT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "xen-abi.h"

#define PAGE_SIZE 4096UL
#define __page_aligned_bss __attribute__((section(".bss.page_aligned"), aligned(4096)))
#define __noreturn __attribute__((noreturn))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- barriers (x86-64 TSO; no SSE fences in this corpus) ----------------------- */
/* Compiler barrier: enough to order load->load, store->store, load->store. */
#define barrier() __asm__ volatile("" ::: "memory")
#define rmb() barrier()
#define wmb() barrier()
/* Full barrier (store->load): a locked no-op, as Linux does on x86-64. */
#define mb() __asm__ volatile("lock addl $0, -4(%%rsp)" ::: "memory", "cc")

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* ---- setup.c ---------------------------------------------------------------------- */
extern start_info_t *xen_start_info;         /* saved by head.S from %rsi */
extern shared_info_t *HYPERVISOR_shared_info;

/*
 * Brings up the runtime: console ring, trap table, shared_info mapping,
 * event upcall (all ports masked, events still disabled), xenstore ring.
 * Prints nothing. Panics on failure.
 */
void rt_init(void);

/* Shuts the domain down (SHUTDOWN_*) after draining the console ring. */
__noreturn void xen_shutdown(unsigned int reason);
/* Prints "PANIC: ..." and shuts down with SHUTDOWN_crash. */
__noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* P2M lookup: the MFN behind a VA of ours (VA == PFN << 12). */
uint64_t virt_to_mfn(const void *va);
/* M2P lookup through Xen's read-only table at MACH2PHYS_VIRT_START. */
void *mfn_to_virt(uint64_t mfn);

/* Command line (start_info.cmd_line) "key=value" words. */
int cmdline_str(const char *key, char *buf, size_t len);   /* 0 or -XEN_ENOENT */
unsigned long cmdline_uint(const char *key, unsigned long dflt);

/*
 * The kmain of a two-domain kernel: rt_init, read `role=` and `peer=` from
 * the command line, announce "<prog>: domain D, role R, peer P", run the
 * matching side with (self, peer), then power off. Panics with `usage` on a
 * bad command line.
 */
struct role { const char *name; void (*run)(int self, int peer); };
__noreturn void run_roles(const char *prog, const char *usage, const struct role *roles, size_t n);

/* ---- console.c ---------------------------------------------------------------------- */
void console_init(void);
void console_write(const char *s, size_t len);
/* Waits (yielding) until the backend has consumed everything written. */
void console_flush(void);
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- traps.c ------------------------------------------------------------------------ */
/*
 * Register frame built by entry.S: our GPR pushes, then the vector and error
 * code (0 when the CPU pushes none), then the hardware-style frame from Xen's
 * bounce. Handlers may change any field, notably rip; the return path hands
 * rip/cs/rflags/rsp/ss back to HYPERVISOR_iret.
 */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;        /* 0-19, or EVENT_VECTOR for the upcall */
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;            /* bits 32-39: upcall mask before the event */
    uint64_t rflags;        /* IF = !(upcall mask before the event) */
    uint64_t rsp;
    uint64_t ss;
};
#define EVENT_VECTOR 0x100

typedef void (*trap_handler_t)(struct cpu_regs *regs);

/* set_trap_table with entry.S's stubs for vectors 0-19. */
void traps_init(void);
/* Installs a handler for one vector (NULL: back to the default, which prints
 * and crashes the domain). */
void trap_set_handler(unsigned int vector, trap_handler_t handler);
const char *trap_name(unsigned int vector);
/* Reads one byte at addr; returns 1 if that raised #PF (then skipped), else 0. */
int probe_read_faults(const volatile void *addr);

/* ---- events.c ------------------------------------------------------------------------- */
typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);

/* Masks every port and registers the upcall entry; events stay disabled. */
void events_init(void);
/* Virtual interrupt flag: upcall_mask = 0 / 1. Enabling delivers anything
 * already pending. events_save_disable returns the previous mask. */
void events_enable(void);
void events_disable(void);
unsigned int events_save_disable(void);
void events_restore(unsigned int saved);

/* Attaches a handler (run from the upcall, events disabled) and unmasks. */
void evtchn_bind_handler(evtchn_port_t port, evtchn_handler_t handler, void *data);
void evtchn_mask(evtchn_port_t port);
void evtchn_unmask(evtchn_port_t port);
/* Returns whether the port's pending bit was set, clearing it. */
int evtchn_test_and_clear_pending(evtchn_port_t port);

/* Hypercall wrappers: a port (>= 0) or a negative Xen errno. */
long evtchn_bind_virq(uint32_t virq);
long evtchn_alloc_unbound(domid_t remote_dom);
long evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port);
long evtchn_send(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);

/* ---- time.c ------------------------------------------------------------------------------ */
/* Xen system time in ns (vcpu_time_info scaled with the TSC). */
uint64_t xen_system_time(void);
long timer_stop_periodic(void);
/* One-shot VIRQ_TIMER at an absolute system time (VCPUOP_set_singleshot_timer). */
long timer_set_singleshot(uint64_t deadline_ns);
void sched_yield(void);
/* SCHEDOP_poll on one port; deadline 0 = none. Call with events disabled. */
long sched_poll_port(evtchn_port_t port, uint64_t deadline_ns);
/*
 * SCHEDOP_block: sleep until an event is pending. Call with events disabled
 * after checking the wake-up condition; Xen re-enables events atomically
 * (no lost wake-up) and the upcall runs before this returns. Returns with
 * events enabled.
 */
void sched_block(void);

/* Sleeps until `cond` holds; `cond` is re-evaluated with events disabled.
 * Returns with events enabled. */
#define WAIT_UNTIL(cond)                  \
    do {                                  \
        for (;;) {                        \
            events_disable();             \
            if (cond)                     \
                break;                    \
            sched_block();                \
        }                                 \
        events_enable();                  \
    } while (0)

/* ---- xenstore.c ------------------------------------------------------------------------- */
void xenstore_init(void);
/* All return >= 0 on success or a negative errno (XS_ERROR strings mapped
 * to XEN_E*). Paths are absolute or relative to /local/domain/<self>/. */
int xs_read(const char *path, char *buf, size_t len);   /* length, NUL-terminated */
int xs_write(const char *path, const char *value);
/* Removes a node and everything below it. */
int xs_rm(const char *path);
/* Entries NUL-separated into buf; returns their count. */
int xs_directory(const char *path, char *buf, size_t len);
/* perms: e.g. {"n1", "r2"}: owner 1 with no access for others, 2 may read. */
int xs_set_perms(const char *path, const char *const *perms, unsigned int n);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
/* Blocks until a watch event with this token arrives; copies its path. */
void xs_wait_watch(const char *token, char *path, size_t len);
/* Whether a watch event with this token has arrived (not taken: xs_wait_watch
 * takes it). Never blocks: callable with events disabled. */
int xs_watch_fired(const char *token);
/* Our domid, from the relative path "domid". */
int xs_self_domid(void);

/* ---- gnttab.c ------------------------------------------------------------------------------ */
/* GNTTABOP_setup_table(1 frame) and map our table; needed only to grant. */
void gnttab_init(void);
/* Grants `domid` access to `mfn`; returns the grant reference. */
grant_ref_t gnttab_grant_access(domid_t domid, uint64_t mfn, int readonly);
/* Revokes a grant unless the grantee still has it mapped: 1 done, 0 busy. */
int gnttab_end_access(grant_ref_t ref);
/* Whether Xen marks the grant mapped (GTF_reading/GTF_writing) right now. */
int gnttab_in_use(grant_ref_t ref);
/* Maps (domid, ref) at `va` (GNTMAP_host_map); status GNTST_* , *handle out. */
int gnttab_map(void *va, domid_t domid, grant_ref_t ref, int readonly, grant_handle_t *handle);
int gnttab_unmap(void *va, grant_handle_t handle);
/* GNTTABOP_copy of `len` bytes from (domid, ref, offset 0) into our page `dst`. */
int gnttab_copy_from(domid_t domid, grant_ref_t ref, void *dst, uint16_t len);

/* ---- lib.c ------------------------------------------------------------------------------------ */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strncpy_z(char *dst, const char *src, size_t size);   /* always NUL-terminates */
/* Parses a decimal (or 0x hex) number; returns 0 on success. */
int parse_ulong(const char *s, unsigned long *out);
unsigned int bsf64(uint64_t x);   /* index of the lowest set bit; x != 0 */

/* ---- provided by each kernel -------------------------------------------------------------- */
void kmain(start_info_t *si);

#endif /* XENRR_RT_H */
