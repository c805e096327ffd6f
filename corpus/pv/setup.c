/*
 * Runtime bring-up, shutdown, P2M/M2P lookups and the command line.
 */
#include "rt.h"
#include "hypercall.h"

start_info_t *xen_start_info;
shared_info_t *HYPERVISOR_shared_info;

/* The VA we map the (Xen-owned) shared_info frame at. The RAM page the
 * builder put here is simply no longer reachable. */
static char shared_info_page[PAGE_SIZE] __page_aligned_bss;

uint64_t virt_to_mfn(const void *va)
{
    const uint64_t *p2m = (const uint64_t *)xen_start_info->mfn_list;
    return p2m[(uintptr_t)va >> 12];
}

void *mfn_to_virt(uint64_t mfn)
{
    const uint64_t *m2p = (const uint64_t *)MACH2PHYS_VIRT_START;
    return (void *)(m2p[mfn] << 12);
}

static void map_shared_info(void)
{
    uint64_t pte = xen_start_info->shared_info | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED |
                   _PAGE_DIRTY;
    long rc = HYPERVISOR_update_va_mapping((unsigned long)shared_info_page, pte, UVMF_INVLPG);
    if (rc)
        panic("update_va_mapping(shared_info) failed: %ld", rc);
    HYPERVISOR_shared_info = (shared_info_t *)shared_info_page;
}

void rt_init(void)
{
    console_init();
    traps_init();
    map_shared_info();
    events_init();
    xenstore_init();
}

__noreturn void xen_shutdown(unsigned int reason)
{
    struct sched_shutdown op = { .reason = reason };

    console_flush();
    for (;;) {
        HYPERVISOR_sched_op(SCHEDOP_shutdown, &op);
        /* Not reached on Xen: the vCPU is descheduled for good. */
        sched_yield();
    }
}

__noreturn void panic(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk("PANIC: %s\n", msg);
    xen_shutdown(SHUTDOWN_crash);
}

/* Finds "key=" at the start of a space-separated word; returns the value. */
static const char *cmdline_find(const char *key, size_t *vlen)
{
    const char *p = xen_start_info->cmd_line;
    const char *end = p + strnlen(p, sizeof(xen_start_info->cmd_line));
    size_t klen = strlen(key);

    while (p < end) {
        while (p < end && *p == ' ')
            p++;
        const char *w = p;
        while (p < end && *p != ' ')
            p++;
        if ((size_t)(p - w) > klen && strncmp(w, key, klen) == 0 && w[klen] == '=') {
            *vlen = p - w - klen - 1;
            return w + klen + 1;
        }
    }
    return NULL;
}

int cmdline_str(const char *key, char *buf, size_t len)
{
    size_t vlen;
    const char *v = cmdline_find(key, &vlen);

    if (!v || len == 0)
        return -XEN_ENOENT;
    if (vlen >= len)
        vlen = len - 1;
    memcpy(buf, v, vlen);
    buf[vlen] = '\0';
    return 0;
}

unsigned long cmdline_uint(const char *key, unsigned long dflt)
{
    char buf[32];
    unsigned long v;

    if (cmdline_str(key, buf, sizeof(buf)) || parse_ulong(buf, &v))
        return dflt;
    return v;
}

__noreturn void run_roles(const char *prog, const char *usage, const struct role *roles, size_t n)
{
    char role[16];

    rt_init();
    int self = xs_self_domid();
    int peer = (int)cmdline_uint("peer", 0);
    if (self < 0)
        panic("cannot read own domid: %d", self);
    if (peer <= 0 || peer == self || cmdline_str("role", role, sizeof(role)))
        panic("usage: %s", usage);
    printk("%s: domain %d, role %s, peer %d\n", prog, self, role, peer);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(role, roles[i].name) == 0) {
            roles[i].run(self, peer);
            xen_shutdown(SHUTDOWN_poweroff);
        }
    }
    panic("unknown role \"%s\"", role);
}
