/**
 * public/sysctl.h: HYPERVISOR_sysctl(struct xen_sysctl *), host-wide
 * control. Privileged. Xen answers -EACCES when interface_version is not
 * its XEN_SYSCTL_INTERFACE_VERSION (checked before the privilege check).
 */

/** Xen 4.17. */
export const XEN_SYSCTL_INTERFACE_VERSION = 0x15;

export const XEN_SYSCTL_readconsole = 1;
export const XEN_SYSCTL_tbuf_op = 2;
export const XEN_SYSCTL_physinfo = 3;
export const XEN_SYSCTL_sched_id = 4;
export const XEN_SYSCTL_perfc_op = 5;
export const XEN_SYSCTL_getdomaininfolist = 6;
export const XEN_SYSCTL_debug_keys = 7;
export const XEN_SYSCTL_getcpuinfo = 8;
export const XEN_SYSCTL_availheap = 9;
export const XEN_SYSCTL_get_pmstat = 10;
export const XEN_SYSCTL_cpu_hotplug = 11;
export const XEN_SYSCTL_pm_op = 12;
export const XEN_SYSCTL_page_offline_op = 14;
export const XEN_SYSCTL_lockprof_op = 15;
export const XEN_SYSCTL_cputopoinfo = 16;
export const XEN_SYSCTL_numainfo = 17;
export const XEN_SYSCTL_cpupool_op = 18;
export const XEN_SYSCTL_scheduler_op = 19;
export const XEN_SYSCTL_coverage_op = 20;
export const XEN_SYSCTL_psr_cmt_op = 21;
export const XEN_SYSCTL_pcitopoinfo = 22;
export const XEN_SYSCTL_psr_alloc = 23;
export const XEN_SYSCTL_get_cpu_levelling_caps = 25;
export const XEN_SYSCTL_get_cpu_featureset = 26;
export const XEN_SYSCTL_livepatch_op = 27;
export const XEN_SYSCTL_get_cpu_policy = 29;

/** struct xen_sysctl: caller-written header; Xen writes the `cmd`'s union member. */
export const xen_sysctl = {
  size: 136,
  cmd: 0, // u32: XEN_SYSCTL_*
  interface_version: 4, // u32: XEN_SYSCTL_INTERFACE_VERSION
  u: 8, // 128-byte union
} as const;

/**
 * getdomaininfolist: IN first_domain, max_domains, buffer (guest array of
 * xen_domctl_getdomaininfo); OUT the array, num_domains.
 */
export const xen_sysctl_getdomaininfolist = {
  size: 24,
  first_domain: 0,
  max_domains: 4,
  buffer: 8,
  num_domains: 16,
} as const;

/** xen_sysctl_physinfo.capabilities. */
export const XEN_SYSCTL_PHYSCAP_hvm = 1 << 0;
export const XEN_SYSCTL_PHYSCAP_pv = 1 << 1;
export const XEN_SYSCTL_PHYSCAP_directio = 1 << 2;
export const XEN_SYSCTL_PHYSCAP_hap = 1 << 3;
export const XEN_SYSCTL_PHYSCAP_shadow = 1 << 4;
export const XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share = 1 << 5;
export const XEN_SYSCTL_PHYSCAP_vmtrace = 1 << 6;
export const XEN_SYSCTL_PHYSCAP_vpmu = 1 << 7;
export const XEN_SYSCTL_PHYSCAP_gnttab_v1 = 1 << 8;
export const XEN_SYSCTL_PHYSCAP_gnttab_v2 = 1 << 9;

/** struct xen_sysctl_physinfo: written by Xen. */
export const xen_sysctl_physinfo = {
  size: 112,
  threads_per_core: 0,
  cores_per_socket: 4,
  nr_cpus: 8,
  max_cpu_id: 12,
  nr_nodes: 16,
  max_node_id: 20,
  cpu_khz: 24,
  capabilities: 28,
  arch_capabilities: 32,
  total_pages: 40,
  free_pages: 48,
  scrub_pages: 56,
  outstanding_pages: 64,
  max_mfn: 72,
  hw_cap: 80, // u32[8]
  hw_cap_stride: 4,
} as const;
