/**
 * public/version.h: HYPERVISOR_xen_version(cmd, arg). Every command returns
 * 0 on success and writes its answer into `arg`, except XENVER_version and
 * XENVER_pagesize (answer in the return value) and XENVER_build_id (returns
 * the byte count). String answers are fixed-size, NUL-padded char arrays.
 */

/** Returns (major << 16) | minor; arg NULL. */
export const XENVER_version = 0;
/** arg = xen_extraversion_t, e.g. ".0" or "-rc". */
export const XENVER_extraversion = 1;
export const xen_extraversion_t = { size: 16 } as const;
export const XEN_EXTRAVERSION_LEN = 16;

/** arg = xen_compile_info. */
export const XENVER_compile_info = 2;
export const xen_compile_info = {
  size: 144,
  compiler: 0,
  compiler_sizeof: 64,
  compile_by: 64,
  compile_by_sizeof: 16,
  compile_domain: 80,
  compile_domain_sizeof: 32,
  compile_date: 112,
  compile_date_sizeof: 32,
} as const;

/** arg = xen_capabilities_info_t: space-separated, e.g. "xen-3.0-x86_64 ...". */
export const XENVER_capabilities = 3;
export const xen_capabilities_info_t = { size: 1024 } as const;
export const XEN_CAPABILITIES_INFO_LEN = 1024;

/** arg = xen_changeset_info_t. */
export const XENVER_changeset = 4;
export const xen_changeset_info_t = { size: 64 } as const;
export const XEN_CHANGESET_INFO_LEN = 64;

/** arg = xen_platform_parameters: start of the hypervisor hole. */
export const XENVER_platform_parameters = 5;
export const xen_platform_parameters = { size: 8, virt_start: 0 } as const;

/** arg = xen_feature_info: IN submap_idx; OUT submap (XENFEAT_ bits 32*idx..). */
export const XENVER_get_features = 6;
export const xen_feature_info = { size: 8, submap_idx: 0, submap: 4 } as const;

/** Returns the page size; arg NULL. */
export const XENVER_pagesize = 7;
/** arg = xen_domain_handle_t (see ../xen.ts): the domain's UUID, set by the toolstack. */
export const XENVER_guest_handle = 8;
/** arg = xen_commandline_t: Xen's own command line (privileged). */
export const XENVER_commandline = 9;
export const xen_commandline_t = { size: 1024 } as const;
/** arg = xen_build_id: IN len = room in buf; returns bytes written (or the size, with len 0). */
export const XENVER_build_id = 10;
export const xen_build_id = { size: 4, len: 0, buf: 4 } as const;
