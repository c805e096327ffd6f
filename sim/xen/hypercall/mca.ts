/**
 * mca (__HYPERVISOR_mca, the x86 arch hypercall 0) as Xen 4.17 answers it
 * (xen/arch/x86/cpu/mcheck/mce.c do_mca): privilege first (xsm_do_mca,
 * XSM_PRIV: -EPERM), then the interface version (-EACCES). Linux's dom0
 * (drivers/xen/mcelog.c) asks XEN_MC_physcpuinfo for the number of
 * physical CPUs, then their description, and binds VIRQ_MCA; the machine
 * never has a machine check, so there is no telemetry to fetch.
 */
import { cpuidLeaf } from '../cpuid.js';
import * as MC from '../public/arch-x86/xen-mca.js';
import {
  HOST_CACHE_ALIGNMENT, HOST_CACHE_KIB, HOST_CPU_FAMILY, HOST_CPU_MODEL, HOST_CPU_STEPPING, HOST_CPU_VENDOR, HOST_MCG_CAP, HOST_NR_CPUS, HOST_X86_VENDOR,
} from '../platform.js';
import { E, fld, namesFrom, type HcCtx, subOpNames } from './types.js';

const SUB = subOpNames('XEN_MC', namesFrom(MC, 'XEN_MC'));
/** MSR_IA32_MCG_CAP, the one MSR each CPU's description carries. */
const MSR_IA32_MCG_CAP = 0x179n;

export function mcaOp(h: HcCtx): number {
  if (!h.d.privileged) return -E.EPERM;
  const g = h.v.guest;
  const op = h.args[0]!;
  const cmd = g.u32(fld(op, MC.xen_mc.cmd));
  const ver = g.u32(fld(op, MC.xen_mc.interface_version));
  if (cmd === null || ver === null) return -E.EFAULT;
  h.sub = cmd;
  h.subName = SUB(cmd);
  if (ver !== MC.XEN_MCA_INTERFACE_VERSION) return -E.EACCES;
  if (cmd !== MC.XEN_MC_physcpuinfo) return -E.EINVAL; // fetch/notify/inject: not modelled (no machine checks happen)
  const u = fld(op, MC.xen_mc.u);
  const ncpus = g.u32(fld(u, MC.xen_mc_physcpuinfo.ncpus));
  const info = g.u64(fld(u, MC.xen_mc_physcpuinfo.info));
  if (ncpus === null || info === null) return -E.EFAULT;
  Object.assign(h.decoded, { ncpus, info });
  let n = HOST_NR_CPUS;
  if (info !== 0n) {
    if ((ncpus | 0) <= 0) return -E.EINVAL;
    n = Math.min(n, ncpus);
    for (let cpu = 0; cpu < n; cpu++) if (!g.write(fld(info, MC.mcinfo_logical_cpu.size * cpu), logicalCpu(cpu))) return -E.EFAULT;
  }
  return g.putU32(fld(u, MC.xen_mc_physcpuinfo.ncpus), n) ? 0 : -E.EFAULT;
}

/** do_mc_get_cpu_info for `cpu`: its topology (one core, one thread), identity, features and MCG_CAP. */
function logicalCpu(cpu: number): Uint8Array {
  const L = MC.mcinfo_logical_cpu;
  const b = new Uint8Array(L.size);
  const dv = new DataView(b.buffer);
  const [l0, l1, l7, le1, lda1] = [cpuidLeaf(0), cpuidLeaf(1), cpuidLeaf(7), cpuidLeaf(0x80000001), cpuidLeaf(0xd)];
  dv.setUint32(L.mc_cpunr, cpu, true);
  dv.setUint32(L.mc_apicid, cpu, true);
  dv.setUint32(L.mc_clusterid, l1[1] >>> 24, true);
  dv.setUint32(L.mc_ncores, 1, true);
  dv.setUint32(L.mc_ncores_active, 1, true);
  dv.setUint32(L.mc_nthreads, 1, true);
  dv.setInt32(L.mc_cpuid_level, l0[0], true);
  dv.setUint32(L.mc_family, HOST_CPU_FAMILY, true);
  dv.setUint32(L.mc_vendor, HOST_X86_VENDOR, true);
  dv.setUint32(L.mc_model, HOST_CPU_MODEL, true);
  dv.setUint32(L.mc_step, HOST_CPU_STEPPING, true);
  b.set(new TextEncoder().encode(HOST_CPU_VENDOR), L.mc_vendorid);
  // x86_capability's first words: 1.edx, 1.ecx, e1.edx, e1.ecx, 0xd.1.eax, 7.0.ebx, 7.0.ecx (Xen's FEATURESET_* order).
  [l1[3], l1[2], le1[3], le1[2], lda1[0], l7[1], l7[2]].forEach((w, k) => dv.setUint32(L.mc_cpu_caps + L.mc_cpu_caps_stride * k, w >>> 0, true));
  dv.setUint32(L.mc_cache_size, HOST_CACHE_KIB, true);
  dv.setUint32(L.mc_cache_alignment, HOST_CACHE_ALIGNMENT, true);
  dv.setInt32(L.mc_nmsrvals, 1, true);
  dv.setBigUint64(L.mc_msrvalues, MSR_IA32_MCG_CAP, true);
  dv.setBigUint64(L.mc_msrvalues + MC.mcinfo_msr.value, HOST_MCG_CAP, true);
  return b;
}
