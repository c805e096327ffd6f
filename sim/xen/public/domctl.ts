/**
 * public/domctl.h: HYPERVISOR_domctl(struct xen_domctl *), the toolstack's
 * per-domain control interface. Privileged: a domU gets -EPERM. Xen
 * rejects a call whose interface_version is not its own
 * XEN_DOMCTL_INTERFACE_VERSION with -EACCES, so the value below is the one
 * a toolstack built against Xen 4.17 headers sends.
 */

/** Xen 4.17 (later releases bump it). */
export const XEN_DOMCTL_INTERFACE_VERSION = 0x15;

export const XEN_DOMCTL_createdomain = 1;
export const XEN_DOMCTL_destroydomain = 2;
export const XEN_DOMCTL_pausedomain = 3;
export const XEN_DOMCTL_unpausedomain = 4;
export const XEN_DOMCTL_getdomaininfo = 5;
export const XEN_DOMCTL_setvcpuaffinity = 9;
export const XEN_DOMCTL_shadow_op = 10;
export const XEN_DOMCTL_max_mem = 11;
export const XEN_DOMCTL_setvcpucontext = 12;
export const XEN_DOMCTL_getvcpucontext = 13;
export const XEN_DOMCTL_getvcpuinfo = 14;
export const XEN_DOMCTL_max_vcpus = 15;
export const XEN_DOMCTL_scheduler_op = 16;
export const XEN_DOMCTL_setdomainhandle = 17;
export const XEN_DOMCTL_setdebugging = 18;
export const XEN_DOMCTL_hypercall_init = 22;
export const XEN_DOMCTL_settimeoffset = 24;
export const XEN_DOMCTL_resumedomain = 27;
export const XEN_DOMCTL_set_address_size = 35;
export const XEN_DOMCTL_get_address_size = 36;
export const XEN_DOMCTL_set_target = 46;
export const XEN_DOMCTL_set_virq_handler = 66;
export const XEN_DOMCTL_soft_reset = 79;
export const XEN_DOMCTL_get_cpu_policy = 82;
export const XEN_DOMCTL_set_cpu_policy = 83;

/**
 * struct xen_domctl: caller-written header; Xen writes results into the
 * union member of `cmd` (and, for createdomain, the new id into `domain`).
 */
export const xen_domctl = {
  size: 144,
  cmd: 0, // u32: XEN_DOMCTL_*
  interface_version: 4, // u32: XEN_DOMCTL_INTERFACE_VERSION
  domain: 8, // domid_t
  u: 16, // 128-byte union of the per-command structs
} as const;

/** xen_domctl_createdomain.flags. */
export const XEN_DOMCTL_CDF_hvm = 1 << 0;
export const XEN_DOMCTL_CDF_hap = 1 << 1;
export const XEN_DOMCTL_CDF_s3_integrity = 1 << 2;
export const XEN_DOMCTL_CDF_oos_off = 1 << 3;
export const XEN_DOMCTL_CDF_xs_domain = 1 << 4;
export const XEN_DOMCTL_CDF_iommu = 1 << 5;
export const XEN_DOMCTL_CDF_nested_virt = 1 << 6;
export const XEN_DOMCTL_CDF_vpmu = 1 << 7;

/** struct xen_domctl_createdomain: caller-written (IN only). */
export const xen_domctl_createdomain = {
  size: 64,
  ssidref: 0,
  handle: 4, // xen_domain_handle_t
  flags: 20, // XEN_DOMCTL_CDF_*
  iommu_opts: 24,
  max_vcpus: 28,
  max_evtchn_port: 32,
  max_grant_frames: 36, // i32, < 0 = Xen's default
  max_maptrack_frames: 40, // i32
  grant_opts: 44, // low 4 bits: grant table version
  vmtrace_size: 48,
  cpupool_id: 52,
  arch: 56, // struct xen_arch_domainconfig
  arch_emulation_flags: 56,
  arch_misc_flags: 60,
} as const;

/** xen_domctl_getdomaininfo.flags. */
export const XEN_DOMINF_dying = 1 << 0;
export const XEN_DOMINF_hvm_guest = 1 << 1;
export const XEN_DOMINF_shutdown = 1 << 2;
export const XEN_DOMINF_paused = 1 << 3;
export const XEN_DOMINF_blocked = 1 << 4;
export const XEN_DOMINF_running = 1 << 5;
export const XEN_DOMINF_debugged = 1 << 6;
export const XEN_DOMINF_xs_domain = 1 << 7;
export const XEN_DOMINF_hap = 1 << 8;
/** The guest's SHUTDOWN_* reason sits in flags >> 16, 8 bits. */
export const XEN_DOMINF_shutdownmask = 255;
export const XEN_DOMINF_shutdownshift = 16;

/** struct xen_domctl_getdomaininfo: written by Xen (OUT only). */
export const xen_domctl_getdomaininfo = {
  size: 112,
  domain: 0, // domid_t
  flags: 4, // u32: XEN_DOMINF_*
  tot_pages: 8,
  max_pages: 16,
  outstanding_pages: 24,
  shr_pages: 32,
  paged_pages: 40,
  shared_info_frame: 48, // GMFN of shared_info
  cpu_time: 56, // ns
  nr_online_vcpus: 64, // u32
  max_vcpu_id: 68, // u32
  ssidref: 72,
  handle: 76, // xen_domain_handle_t
  cpupool: 92,
  gpaddr_bits: 96, // u8
  arch_config: 104,
} as const;

/** struct xen_domctl_max_mem: caller-written. */
export const xen_domctl_max_mem = { size: 8, max_memkb: 0 } as const;
