/**
 * public/memory.h: HYPERVISOR_memory_op(cmd, arg): grow and shrink a
 * domain's memory, look up the M2P, map special frames into the physmap,
 * and read the pseudo-physical memory map.
 */

/** arg = xen_memory_reservation; returns the number of extents done. */
export const XENMEM_increase_reservation = 0;
export const XENMEM_decrease_reservation = 1;
/** Returns the highest MFN of mapped RAM; arg NULL; never fails. */
export const XENMEM_maximum_ram_page = 2;
/** arg = xen_memory_domain; return pages (current / maximum) or -errno. */
export const XENMEM_current_reservation = 3;
export const XENMEM_maximum_reservation = 4;
/** arg = xen_machphys_mfn_list. */
export const XENMEM_machphys_mfn_list = 5;
export const XENMEM_populate_physmap = 6;
/** arg = xen_add_to_physmap (translated guests only). */
export const XENMEM_add_to_physmap = 7;
/** arg = xen_memory_map: the domain's pseudo-physical e820 map. */
export const XENMEM_memory_map = 9;
/** arg = xen_memory_map: the host's real e820 map (privileged). */
export const XENMEM_machine_memory_map = 10;
/** arg = xen_memory_exchange. PV only. */
export const XENMEM_exchange = 11;
/** arg = xen_machphys_mapping: where the M2P is mapped. */
export const XENMEM_machphys_mapping = 12;
/** arg = xen_foreign_memory_map (toolstack). */
export const XENMEM_set_memory_map = 13;
/** arg = xen_memory_domain; returns the highest GFN in use. */
export const XENMEM_maximum_gpfn = 14;
export const XENMEM_remove_from_physmap = 15;
export const XENMEM_set_pod_target = 16;
export const XENMEM_get_pod_target = 17;
export const XENMEM_get_sharing_freed_pages = 18;
export const XENMEM_get_sharing_shared_pages = 19;
export const XENMEM_paging_op = 20;
export const XENMEM_access_op = 21;
export const XENMEM_sharing_op = 22;
export const XENMEM_add_to_physmap_batch = 23;
export const XENMEM_claim_pages = 24;
export const XENMEM_machphys_compat_mfn_list = 25;
export const XENMEM_get_vnumainfo = 26;
export const XENMEM_reserved_device_memory_map = 27;
export const XENMEM_acquire_resource = 28;

/** xen_memory_reservation.mem_flags: bits 0-7 = address bits, 8-15 = node + 1. */
/** XENMEMF_get_address_bits(flags) = flags & this: the highest machine address bit an allocation may use (0: any). */
export const XENMEMF_address_bits_mask = 0xff;
export const XENMEMF_populate_on_demand = 1 << 16;
export const XENMEMF_exact_node_request = 1 << 17;
export const XENMEMF_vnode = 1 << 18;

/**
 * struct xen_memory_reservation: guest-written, except that Xen writes the
 * extent_start array: the MFNs allocated by increase_reservation, the
 * GMFNs allocated by populate_physmap (whose IN values are GPFNs);
 * decrease_reservation reads GMFNs from it.
 */
export const xen_memory_reservation = {
  size: 32,
  extent_start: 0, // guest handle to xen_pfn_t[nr_extents]
  nr_extents: 8, // ulong
  extent_order: 16, // u32: each extent is 2^order pages
  mem_flags: 20, // u32: XENMEMF_*
  domid: 24, // domid_t: DOMID_SELF unless privileged
} as const;

/**
 * struct xen_memory_exchange: `in` and `out` guest-written (out.extent_start
 * is overwritten by Xen with the new GMFNs); nr_exchanged written by Xen
 * and must be 0 on entry.
 */
export const xen_memory_exchange = { size: 72, in: 0, out: 32, nr_exchanged: 64 } as const;

/** struct xen_memory_domain: guest-written. */
export const xen_memory_domain = { size: 2, domid: 0 } as const;

/** IN max_extents, extent_start; OUT the array (MFNs of 2 MiB M2P chunks), nr_extents. */
export const xen_machphys_mfn_list = { size: 24, max_extents: 0, extent_start: 8, nr_extents: 16 } as const;

/** Written by Xen. */
export const xen_machphys_mapping = { size: 24, v_start: 0, v_end: 8, max_mfn: 16 } as const;

/** xen_add_to_physmap.space. */
export const XENMAPSPACE_shared_info = 0;
export const XENMAPSPACE_grant_table = 1;
export const XENMAPSPACE_gmfn = 2;
export const XENMAPSPACE_gmfn_range = 3;
export const XENMAPSPACE_gmfn_foreign = 4;
export const XENMAPSPACE_dev_mmio = 5;
/** ORed into idx for XENMAPSPACE_grant_table: map a v2 status frame. */
export const XENMAPIDX_grant_table_status = 0x80000000;

/** Guest-written. */
export const xen_add_to_physmap = {
  size: 24,
  domid: 0, // domid_t
  size_: 2, // u16 `size`: pages, for XENMAPSPACE_gmfn_range
  space: 4, // u32: XENMAPSPACE_*
  idx: 8, // ulong: index in the space
  gpfn: 16, // xen_pfn_t: where it appears
} as const;

/** IN everything but errs; OUT errs[] (per-index error codes). */
export const xen_add_to_physmap_batch = {
  size: 32,
  domid: 0,
  space: 2, // u16
  size_: 4, // u16 `size`
  u: 6,
  u_foreign_domid: 6,
  u_res0: 6,
  idxs: 8,
  gpfns: 16,
  errs: 24,
} as const;

/** Guest-written. */
export const xen_remove_from_physmap = { size: 16, domid: 0, gpfn: 8 } as const;

/**
 * struct xen_memory_map: IN nr_entries = capacity of buffer, buffer; OUT
 * nr_entries = entries written (e820entry each).
 */
export const xen_memory_map = { size: 16, nr_entries: 0, buffer: 8 } as const;

/** struct xen_foreign_memory_map: toolstack-written (XENMEM_set_memory_map). */
export const xen_foreign_memory_map = {
  size: 24,
  domid: 0,
  map: 8,
  map_nr_entries: 8,
  map_buffer: 16,
} as const;

/**
 * One memory-map entry as XENMEM_memory_map writes it: the packed BIOS
 * INT 15h E820 format. Not declared in Xen's public headers; the layout
 * test checks it against a packed C struct of the BIOS format.
 */
export const e820entry = {
  size: 20,
  addr: 0, // u64
  size_: 8, // u64 `size`
  type: 16, // u32: E820_*
} as const;
/** e820entry.type (the same numbers as XEN_HVM_MEMMAP_TYPE_* in arch-x86/hvm/start_info.h). */
export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;
export const E820_NVS = 4;
export const E820_UNUSABLE = 5;
