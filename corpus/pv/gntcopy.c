/*
 * gntcopy: sharing a page through the grant table.
 *
 *   granter (cmdline "role=granter peer=<mapper>"):
 *     fills a page with a pattern, grants it read-write to the peer, allocates
 *     an unbound port, publishes gref and port under
 *     /local/domain/<self>/data/gntcopy/ (readable by the peer), waits for the
 *     peer's event, then checks the word the peer wrote through its mapping
 *     and revokes the grant (which must not be mapped any more).
 *   mapper (cmdline "role=mapper peer=<granter>"):
 *     reads gref and port, maps the grant at a VA of its own
 *     (GNTMAP_host_map), checks the pattern, writes MAPPER_MAGIC into word 0,
 *     copies the page with GNTTABOP_copy and checks the copy, unmaps, restores
 *     its own page at that VA, and signals the granter.
 *
 * Console lines to check: "mapper: mapped page pattern ok",
 * "mapper: GNTTABOP_copy pattern ok", "mapper: unmapped",
 * "granter: mapper wrote 0x600dcafe", "granter: grant revoked".
 */
#include "rt.h"
#include "hypercall.h"

#define MAPPER_MAGIC 0x600dcafeU

static char shared_page[PAGE_SIZE] __page_aligned_bss;   /* granter's granted page */
static char map_page[PAGE_SIZE] __page_aligned_bss;      /* mapper: VA the grant goes to */
static char copy_page[PAGE_SIZE] __page_aligned_bss;     /* mapper: GNTTABOP_copy target */

static volatile unsigned int events_seen;

static void on_event(evtchn_port_t port, void *data)
{
    (void)port, (void)data;
    events_seen++;
}

static uint8_t pattern(unsigned int i)
{
    return (uint8_t)(i * 13 + 7 + (i >> 8));
}

/* Number of bytes in p[from, PAGE_SIZE) that differ from the pattern. */
static unsigned int count_bad(const volatile uint8_t *p, unsigned int from)
{
    unsigned int bad = 0;
    for (unsigned int i = from; i < PAGE_SIZE; i++)
        bad += p[i] != pattern(i);
    return bad;
}

static void publish(const char *dir, const char *key, unsigned long value, int self, int peer)
{
    char path[80], buf[24], owner[16], reader[16];
    const char *perms[2] = { owner, reader };

    snprintf(path, sizeof(path), "%s/%s", dir, key);
    snprintf(buf, sizeof(buf), "%lu", value);
    snprintf(owner, sizeof(owner), "n%d", self);
    snprintf(reader, sizeof(reader), "r%d", peer);
    int rc = xs_write(path, buf);
    if (rc >= 0)
        rc = xs_set_perms(path, perms, 2);
    if (rc < 0)
        panic("publishing %s: %d", path, rc);
}

static void run_granter(int self, int peer)
{
    char dir[64];

    gnttab_init();
    for (unsigned int i = 0; i < PAGE_SIZE; i++)
        shared_page[i] = (char)pattern(i);
    grant_ref_t ref = gnttab_grant_access((domid_t)peer, virt_to_mfn(shared_page), 0);

    long p = evtchn_alloc_unbound((domid_t)peer);
    if (p < 0)
        panic("alloc_unbound(%d): %ld", peer, p);
    evtchn_bind_handler((evtchn_port_t)p, on_event, NULL);
    events_enable();

    /* gref first: the mapper waits for "port" and then reads both. */
    snprintf(dir, sizeof(dir), "/local/domain/%d/data/gntcopy", self);
    publish(dir, "gref", ref, self, peer);
    publish(dir, "port", (unsigned long)p, self, peer);
    printk("granter: granted mfn 0x%lx to domain %d as gref %u, port %ld\n",
           virt_to_mfn(shared_page), peer, ref, p);

    WAIT_UNTIL(events_seen >= 1);
    uint32_t word0 = READ_ONCE(*(volatile uint32_t *)shared_page);
    unsigned int bad = count_bad((const volatile uint8_t *)shared_page, 4);
    printk("granter: mapper wrote 0x%x, %u other bytes changed\n", word0, bad);
    if (word0 != MAPPER_MAGIC || bad)
        panic("granter: shared page not as expected");

    if (!gnttab_end_access(ref))
        panic("granter: grant %u still mapped by the peer", ref);
    printk("granter: grant revoked\n");
}

static void read_key(const char *dir, const char *key, unsigned long *out)
{
    char path[80], buf[24];
    snprintf(path, sizeof(path), "%s/%s", dir, key);
    int rc = xs_read(path, buf, sizeof(buf));
    if (rc < 0 || parse_ulong(buf, out))
        panic("reading %s: %d", path, rc);
}

static void run_mapper(int self, int peer)
{
    char dir[64], path[80], fired[80], buf[24];
    unsigned long ref, remote;
    grant_handle_t handle;
    (void)self;

    snprintf(dir, sizeof(dir), "/local/domain/%d/data/gntcopy", peer);
    snprintf(path, sizeof(path), "%s/port", dir);
    if (xs_watch(path, "gc") < 0)
        panic("watch %s", path);
    for (;;) {
        xs_wait_watch("gc", fired, sizeof(fired));
        if (xs_read(path, buf, sizeof(buf)) >= 0)
            break;
    }
    xs_unwatch(path, "gc");
    read_key(dir, "port", &remote);
    read_key(dir, "gref", &ref);

    long p = evtchn_bind_interdomain((domid_t)peer, (evtchn_port_t)remote);
    if (p < 0)
        panic("bind_interdomain(%d, %lu): %ld", peer, remote, p);
    printk("mapper: gref %lu, port %lu from domain %d (local port %ld)\n", ref, remote, peer, p);

    int st = gnttab_map(map_page, (domid_t)peer, (grant_ref_t)ref, 0, &handle);
    if (st != GNTST_okay)
        panic("map_grant_ref: %d", st);
    unsigned int bad = count_bad((const volatile uint8_t *)map_page, 0);
    printk("mapper: mapped gref %lu at %p: %s (%u bad bytes)\n", ref, map_page,
           bad ? "pattern BAD" : "mapped page pattern ok", bad);
    if (bad)
        panic("mapper: mapped page differs");

    st = gnttab_copy_from((domid_t)peer, (grant_ref_t)ref, copy_page, PAGE_SIZE);
    if (st != GNTST_okay)
        panic("GNTTABOP_copy: %d", st);
    bad = count_bad((const volatile uint8_t *)copy_page, 0);
    printk("mapper: %s (%u bad bytes)\n", bad ? "GNTTABOP_copy pattern BAD" : "GNTTABOP_copy pattern ok",
           bad);
    if (bad)
        panic("mapper: copied page differs");

    WRITE_ONCE(*(volatile uint32_t *)map_page, MAPPER_MAGIC);

    st = gnttab_unmap(map_page, handle);
    if (st != GNTST_okay)
        panic("unmap_grant_ref: %d", st);
    /* Unmapping leaves the PTE empty (Xen does not restore what the map
     * replaced): the VA must fault until we put our own page back. */
    if (!probe_read_faults(map_page))
        panic("mapper: %p still mapped after unmap_grant_ref", map_page);
    uint64_t pte = (virt_to_mfn(map_page) << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED |
                   _PAGE_DIRTY;
    long rc = HYPERVISOR_update_va_mapping((unsigned long)map_page, pte, UVMF_INVLPG);
    if (rc)
        panic("update_va_mapping(restore): %ld", rc);
    uint32_t own = READ_ONCE(*(volatile uint32_t *)map_page);
    printk("mapper: unmapped (the VA faulted); own page back at %p (word 0 = 0x%x)\n", map_page, own);
    if (own != 0)
        panic("mapper: own page shows the granted data");

    evtchn_send((evtchn_port_t)p);
    printk("mapper: signalled the granter\n");
}

void kmain(start_info_t *si)
{
    static const struct role roles[] = { { "granter", run_granter }, { "mapper", run_mapper } };
    (void)si;
    run_roles("gntcopy", "role=granter|mapper peer=<domid>", roles, ARRAY_SIZE(roles));
}
