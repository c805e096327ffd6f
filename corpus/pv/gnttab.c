/*
 * Grant tables, version 1.
 *
 * Granting: our table is one frame that Xen hands us with
 * GNTTABOP_setup_table; we map it at gnttab_page and fill grant_entry_v1
 * slots from GNTTAB_NR_RESERVED_ENTRIES up. Mapping and copying other
 * domains' grants needs no table of our own.
 */
#include "rt.h"
#include "hypercall.h"

#define NR_GRANT_ENTRIES (PAGE_SIZE / sizeof(struct grant_entry_v1))

static char gnttab_page[PAGE_SIZE] __page_aligned_bss;
static struct grant_entry_v1 *gnttab;
static grant_ref_t next_ref = GNTTAB_NR_RESERVED_ENTRIES;

void gnttab_init(void)
{
    xen_pfn_t frame = 0;
    struct gnttab_setup_table op = {
        .dom = DOMID_SELF,
        .nr_frames = 1,
        .frame_list = &frame,
    };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &op, 1);
    if (rc || op.status != GNTST_okay)
        panic("GNTTABOP_setup_table: rc %ld status %d", rc, op.status);

    uint64_t pte = (frame << 12) | _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
    rc = HYPERVISOR_update_va_mapping((unsigned long)gnttab_page, pte, UVMF_INVLPG);
    if (rc)
        panic("update_va_mapping(grant table) failed: %ld", rc);
    gnttab = (struct grant_entry_v1 *)gnttab_page;
}

grant_ref_t gnttab_grant_access(domid_t domid, uint64_t mfn, int readonly)
{
    if (!gnttab)
        panic("gnttab_grant_access before gnttab_init");
    if (next_ref >= NR_GRANT_ENTRIES)
        panic("out of grant entries");
    grant_ref_t ref = next_ref++;
    struct grant_entry_v1 *e = &gnttab[ref];

    WRITE_ONCE(e->domid, domid);
    WRITE_ONCE(e->frame, (uint32_t)mfn);
    /* Publication point: domid and frame must be visible before the flags
     * that make the entry valid, or Xen could honour a half-written grant. */
    wmb();
    WRITE_ONCE(e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)));
    return ref;
}

int gnttab_end_access(grant_ref_t ref)
{
    struct grant_entry_v1 *e = &gnttab[ref];
    uint16_t flags = READ_ONCE(e->flags);

    /* Atomically clear the entry unless Xen marks it mapped (a plain store
     * could race with Xen setting GTF_reading/GTF_writing for a new map). */
    for (;;) {
        if (flags & (GTF_reading | GTF_writing))
            return 0;
        uint16_t seen = __sync_val_compare_and_swap(&e->flags, flags, (uint16_t)GTF_invalid);
        if (seen == flags)
            return 1;
        flags = seen;
    }
}

int gnttab_in_use(grant_ref_t ref)
{
    return (READ_ONCE(gnttab[ref].flags) & (GTF_reading | GTF_writing)) != 0;
}

int gnttab_map(void *va, domid_t domid, grant_ref_t ref, int readonly, grant_handle_t *handle)
{
    struct gnttab_map_grant_ref op = {
        .host_addr = (uint64_t)va,
        .flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
        .ref = ref,
        .dom = domid,
    };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    if (rc)
        return (int)rc;
    *handle = op.handle;
    return op.status;
}

int gnttab_unmap(void *va, grant_handle_t handle)
{
    struct gnttab_unmap_grant_ref op = {
        .host_addr = (uint64_t)va,
        .dev_bus_addr = 0,
        .handle = handle,
    };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    return rc ? (int)rc : op.status;
}

int gnttab_copy_from(domid_t domid, grant_ref_t ref, void *dst, uint16_t len)
{
    struct gnttab_copy op = {
        .source = { .u.ref = ref, .domid = domid, .offset = 0 },
        .dest = {
            .u.gmfn = virt_to_mfn(dst),
            .domid = DOMID_SELF,
            .offset = (uint16_t)((uintptr_t)dst & (PAGE_SIZE - 1)),
        },
        .len = len,
        .flags = GNTCOPY_source_gref,
    };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_copy, &op, 1);
    return rc ? (int)rc : op.status;
}
