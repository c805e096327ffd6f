/**
 * public/arch-x86/xen-mca.h: HYPERVISOR_mca(struct xen_mc *), machine-check
 * architecture, the hardware domain's (xsm_do_mca, XSM_PRIV). Xen answers
 * -EACCES when interface_version is not XEN_MCA_INTERFACE_VERSION.
 */

export const __HYPERVISOR_mca = 48;
export const XEN_MCA_INTERFACE_VERSION = 0x01ecc003;

export const XEN_MC_fetch = 1;
export const XEN_MC_notifydomain = 2;
export const XEN_MC_physcpuinfo = 3;
export const XEN_MC_msrinject = 4;
export const XEN_MC_mceinject = 5;

/** mcinfo_logical_cpu.mc_msrvalues entries, and mc_cpu_caps words. */
export const __MC_MSR_ARRAYSIZE = 8;
export const MC_NCAPS = 7;

/** struct xen_mc: header, then the `cmd`'s union member. */
export const xen_mc = { size: 152, cmd: 0, interface_version: 4, u: 8 } as const;

/** XEN_MC_physcpuinfo: IN/OUT ncpus; IN info (guest array of ncpus mcinfo_logical_cpu, or null to ask the count). */
export const xen_mc_physcpuinfo = { size: 16, ncpus: 0, info: 8 } as const;

/** struct mcinfo_msr. */
export const mcinfo_msr = { size: 16, reg: 0, value: 8 } as const;

/** struct mcinfo_logical_cpu: one physical CPU as Xen saw it at boot (written by Xen). */
export const mcinfo_logical_cpu = {
  size: 304,
  mc_cpunr: 0,
  mc_chipid: 4,
  mc_coreid: 8, // u16
  mc_threadid: 10, // u16
  mc_apicid: 12,
  mc_clusterid: 16,
  mc_ncores: 20,
  mc_ncores_active: 24,
  mc_nthreads: 28,
  mc_cpuid_level: 32,
  mc_family: 36,
  mc_vendor: 40,
  mc_model: 44,
  mc_step: 48,
  mc_vendorid: 52, // char[16]
  mc_vendorid_sizeof: 16,
  mc_brandid: 68, // char[64]
  mc_cpu_caps: 132, // u32[MC_NCAPS]
  mc_cpu_caps_stride: 4,
  mc_cache_size: 160,
  mc_cache_alignment: 164,
  mc_nmsrvals: 168,
  mc_msrvalues: 176, // mcinfo_msr[__MC_MSR_ARRAYSIZE]
  mc_msrvalues_stride: 16,
} as const;
