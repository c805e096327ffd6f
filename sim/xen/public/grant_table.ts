/**
 * public/grant_table.h: grant tables and HYPERVISOR_grant_table_op(cmd,
 * args, count) (args is an array of `count` structs of the cmd's type).
 *
 * A domain's grant table is an array of entries in frames it shares with
 * Xen; entry number = grant reference. An entry lets one other domain map
 * or copy one of the granter's frames.
 *
 * Ordering rules for the granting guest (v1):
 * - To publish an entry: write domid and frame, then a write barrier, then
 *   flags (with the type). Xen never looks at domid/frame of an entry whose
 *   flags say GTF_invalid, so flags is the publication point.
 * - To revoke an unused GTF_permit_access entry: read flags, check that
 *   neither GTF_reading nor GTF_writing is set, then cmpxchg flags to 0; if
 *   the cmpxchg fails, the entry is (again) in use.
 * - GTF_accept_transfer: Xen sets GTF_transfer_committed, later writes the
 *   frame and then ORs in GTF_transfer_completed; the guest must leave the
 *   entry alone between the two.
 * - read-only <-> writable: cmpxchg in GTF_readonly while GTF_writing is
 *   clear; clearing it may be a plain atomic bit clear.
 */

/** Entries 0..7 survive a version change and may be pre-filled by tools. */
export const GNTTAB_NR_RESERVED_ENTRIES = 8;
/** Grant of the console ring to the console backend (dom0). */
export const GNTTAB_RESERVED_CONSOLE = 0;
/** Grant of the xenstore ring to xenstored. */
export const GNTTAB_RESERVED_XENSTORE = 1;

/**
 * struct grant_entry_v1. flags: type and GTF_readonly by the guest,
 * GTF_reading/GTF_writing/transfer bits by Xen. domid and frame: guest
 * (frame: Xen for a completed transfer).
 */
export const grant_entry_v1 = {
  size: 8,
  flags: 0, // u16: GTF_*
  domid: 2, // domid_t: the domain granted access
  frame: 4, // u32: GFN the grantee may map (or receive into)
} as const;

// grant_entry flags: type in bits 0-1.
export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_type_mask = 3;
// Subflags for permit_access / transitive.
export const _GTF_readonly = 2;
export const GTF_readonly = 1 << 2;
/** Set by Xen while the grantee holds a mapping / a copy is running. */
export const _GTF_reading = 3;
export const GTF_reading = 1 << 3;
export const _GTF_writing = 4;
export const GTF_writing = 1 << 4;
export const _GTF_PWT = 5;
export const GTF_PWT = 1 << 5;
export const _GTF_PCD = 6;
export const GTF_PCD = 1 << 6;
export const _GTF_PAT = 7;
export const GTF_PAT = 1 << 7;
/** v2 only: grant a byte range, copy-only. */
export const _GTF_sub_page = 8;
export const GTF_sub_page = 1 << 8;
// Subflags for accept_transfer (written by Xen).
export const _GTF_transfer_committed = 2;
export const GTF_transfer_committed = 1 << 2;
export const _GTF_transfer_completed = 3;
export const GTF_transfer_completed = 1 << 3;

/** struct grant_entry_header: the prefix v1 and v2 entries share. */
export const grant_entry_header = { size: 4, flags: 0, domid: 2 } as const;

/**
 * union grant_entry_v2 (16 bytes). In v2 the GTF_reading/GTF_writing status
 * moves out into a separate array of grant_status_t (u16) frames
 * (GNTTABOP_get_status_frames).
 */
export const grant_entry_v2 = {
  size: 16,
  hdr: 0,
  hdr_flags: 0,
  hdr_domid: 2,
  full_page_frame: 8, // u64
  sub_page_page_off: 4, // u16
  sub_page_length: 6, // u16
  sub_page_frame: 8, // u64
  transitive_trans_domid: 4, // domid_t
  transitive_gref: 8, // grant_ref_t
} as const;
export const grant_status_t = { size: 2 } as const;

export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;
export const GNTTABOP_swap_grant_ref = 11;
export const GNTTABOP_cache_flush = 12;

/**
 * map_grant_ref: IN host_addr (VA, or PTE machine address with
 * GNTMAP_contains_pte), flags (GNTMAP_*), ref, dom (the granter);
 * OUT status (GNTST_*), handle (for unmap), dev_bus_addr.
 */
export const gnttab_map_grant_ref = {
  size: 32,
  host_addr: 0, // u64
  flags: 8, // u32
  ref: 12, // grant_ref_t
  dom: 16, // domid_t
  status: 18, // i16
  handle: 20, // grant_handle_t (u32)
  dev_bus_addr: 24, // u64
} as const;

/** unmap_grant_ref: IN host_addr, dev_bus_addr (0 = ignore), handle; OUT status. */
export const gnttab_unmap_grant_ref = {
  size: 24,
  host_addr: 0,
  dev_bus_addr: 8,
  handle: 16,
  status: 20,
} as const;

/**
 * setup_table: IN dom (DOMID_SELF unless privileged), nr_frames,
 * frame_list (guest array of xen_pfn_t); OUT status, and Xen writes
 * nr_frames frame numbers (MFNs for PV) into frame_list.
 */
export const gnttab_setup_table = {
  size: 24,
  dom: 0,
  nr_frames: 4, // u32
  status: 8, // i16
  frame_list: 16, // guest handle
} as const;

/** dump_table: IN dom; OUT status. Debug output on Xen's console. */
export const gnttab_dump_table = { size: 4, dom: 0, status: 2 } as const;

/** transfer: IN mfn, domid, ref; OUT status. The page is gone even on failure (except GNTST_bad_page). */
export const gnttab_transfer = { size: 24, mfn: 0, domid: 8, ref: 12, status: 16 } as const;

/** GNTTABOP_copy flags: the source / dest is a grant ref rather than a GMFN. */
export const _GNTCOPY_source_gref = 0;
export const GNTCOPY_source_gref = 1 << 0;
export const _GNTCOPY_dest_gref = 1;
export const GNTCOPY_dest_gref = 1 << 1;

/** struct gnttab_copy_ptr: one side of a copy. */
export const gnttab_copy_ptr = {
  size: 16,
  u: 0,
  u_ref: 0, // grant_ref_t (with GNTCOPY_*_gref)
  u_gmfn: 0, // xen_pfn_t (otherwise)
  domid: 8,
  offset: 10, // u16: byte offset in the frame
} as const;

/** copy: IN source, dest, len, flags; OUT status. Must not cross a page. */
export const gnttab_copy = {
  size: 40,
  source: 0,
  source_u_ref: 0,
  source_u_gmfn: 0,
  source_domid: 8,
  source_offset: 10,
  dest: 16,
  dest_u_ref: 16,
  dest_u_gmfn: 16,
  dest_domid: 24,
  dest_offset: 26,
  len: 32, // u16
  flags: 34, // u16: GNTCOPY_*
  status: 36, // i16
} as const;

/** query_size: IN dom; OUT nr_frames, max_nr_frames, status. */
export const gnttab_query_size = { size: 16, dom: 0, nr_frames: 4, max_nr_frames: 8, status: 12 } as const;

/** unmap_and_replace: IN host_addr, new_addr, handle; OUT status. */
export const gnttab_unmap_and_replace = { size: 24, host_addr: 0, new_addr: 8, handle: 16, status: 20 } as const;

/** set_version: IN version (1 or 2), OUT the version now in force. Only while no grant is in use. */
export const gnttab_set_version = { size: 4, version: 0 } as const;

/** get_status_frames (v2): IN nr_frames, dom, frame_list; OUT status, frames. */
export const gnttab_get_status_frames = { size: 16, nr_frames: 0, dom: 4, status: 6, frame_list: 8 } as const;

/** get_version: IN dom; OUT version. */
export const gnttab_get_version = { size: 8, dom: 0, pad: 2, version: 4 } as const;

/** swap_grant_ref: IN ref_a, ref_b; OUT status. */
export const gnttab_swap_grant_ref = { size: 12, ref_a: 0, ref_b: 4, status: 8 } as const;

/** cache_flush: IN a (bus address, or ref with GNTTAB_CACHE_SOURCE_GREF), offset, length, op. */
export const gnttab_cache_flush = {
  size: 16,
  a: 0,
  a_dev_bus_addr: 0,
  a_ref: 0,
  offset: 8,
  length: 10,
  op: 12,
} as const;
export const GNTTAB_CACHE_CLEAN = 1 << 0;
export const GNTTAB_CACHE_INVAL = 1 << 1;
export const GNTTAB_CACHE_SOURCE_GREF = 0x80000000;

/** gnttab_map_grant_ref.flags. */
export const _GNTMAP_device_map = 0;
export const GNTMAP_device_map = 1 << 0;
export const _GNTMAP_host_map = 1;
export const GNTMAP_host_map = 1 << 1;
export const _GNTMAP_readonly = 2;
export const GNTMAP_readonly = 1 << 2;
/** With host_map: the mapping is usable from guest user mode too. */
export const _GNTMAP_application_map = 3;
export const GNTMAP_application_map = 1 << 3;
/** host_addr is the machine address of the PTE to write, not a VA. */
export const _GNTMAP_contains_pte = 4;
export const GNTMAP_contains_pte = 1 << 4;
export const _GNTMAP_guest_avail0 = 16;
export const GNTMAP_guest_avail_mask = 0xffff0000;

/** Per-op status codes (negative = error), in the ops' `status` fields. */
export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;
