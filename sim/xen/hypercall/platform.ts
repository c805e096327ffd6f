/**
 * platform_op as Xen 4.17 answers it (xen/arch/x86/platform_hypercall.c
 * do_platform_op): the interface version first (-EACCES), then privilege
 * (xsm_platform_op, XSM_PRIV: -EPERM), then the command. The answers are
 * about the simulated machine (sim/xen/platform.ts): one physical CPU, a
 * BIOS without EDD disks or a VBE monitor, not booted through EFI.
 */
import * as P from '../public/platform.js';
import {
  HOST_CPU_FAMILY, HOST_CPU_MODEL, HOST_CPU_STEPPING, HOST_CPU_VENDOR, HOST_KBD_SHIFT_FLAGS, HOST_NR_CPUS,
} from '../platform.js';
import { E, fld, namesFrom, type HcCtx, subOpNames } from './types.js';

const SUB = subOpNames('XENPF', namesFrom(P, 'XENPF'));
const FW = subOpNames('XEN_FW', namesFrom(P, 'XEN_FW'));
const NS = 1_000_000_000n;

export function platformOp(h: HcCtx): number {
  const g = h.v.guest;
  const op = h.args[0]!;
  const cmd = g.u32(fld(op, P.xen_platform_op.cmd));
  const ver = g.u32(fld(op, P.xen_platform_op.interface_version));
  if (cmd === null || ver === null) return -E.EFAULT;
  h.sub = cmd;
  h.subName = SUB(cmd);
  if (ver !== P.XENPF_INTERFACE_VERSION) return -E.EACCES;
  if (!h.d.privileged) return -E.EPERM;
  const u = fld(op, P.xen_platform_op.u);
  switch (cmd) {
    case P.XENPF_settime32:
    case P.XENPF_settime64: {
      const t64 = cmd === P.XENPF_settime64;
      const secs = t64 ? g.u64(fld(u, P.xenpf_settime64.secs)) : g.u32(fld(u, P.xenpf_settime32.secs));
      const nsecs = g.u32(fld(u, t64 ? P.xenpf_settime64.nsecs : P.xenpf_settime32.nsecs));
      const sys = g.u64(fld(u, t64 ? P.xenpf_settime64.system_time : P.xenpf_settime32.system_time));
      const mbz = t64 ? g.u32(fld(u, P.xenpf_settime64.mbz)) : 0;
      if (secs === null || nsecs === null || sys === null || mbz === null) return -E.EFAULT;
      Object.assign(h.decoded, { secs: BigInt(secs), nsecs, system_time: sys });
      if (mbz !== 0) return -E.EINVAL;
      // do_settime: the wallclock at system time 0, into every domain's shared_info.
      const x = BigInt.asUintN(64, BigInt(secs) * NS + BigInt(nsecs) - sys);
      h.xen.setWallclock(Number(x / NS), Number(x % NS));
      return 0;
    }
    case P.XENPF_firmware_info: {
      const type = g.u32(fld(u, P.xenpf_firmware_info.type));
      const index = g.u32(fld(u, P.xenpf_firmware_info.index));
      if (type === null || index === null) return -E.EFAULT;
      Object.assign(h.decoded, { type: FW(type), index });
      switch (type) {
        case P.XEN_FW_DISK_INFO:
        case P.XEN_FW_DISK_MBR_SIGNATURE:
          // index >= boot_edd_info_nr / boot_mbr_signature_nr: none were found.
          return -E.ESRCH;
        case P.XEN_FW_VBEDDC_INFO:
          return -E.ESRCH; // no EDID read at boot
        case P.XEN_FW_EFI_INFO:
          return -E.ENOSYS; // efi_get_info: not booted through EFI
        case P.XEN_FW_KBD_SHIFT_FLAGS:
          if (index !== 0) return -E.ESRCH;
          return g.write(fld(u, P.xenpf_firmware_info.u), Uint8Array.of(HOST_KBD_SHIFT_FLAGS)) ? 0 : -E.EFAULT;
        default:
          return -E.EINVAL;
      }
    }
    case P.XENPF_get_cpuinfo: {
      const cpu = g.u32(fld(u, P.xenpf_pcpuinfo.xen_cpuid));
      if (cpu === null) return -E.EFAULT;
      h.decoded.xen_cpuid = cpu;
      const b = new DataView(new ArrayBuffer(P.xenpf_pcpuinfo.size));
      b.setUint32(P.xenpf_pcpuinfo.xen_cpuid, cpu, true);
      b.setUint32(P.xenpf_pcpuinfo.max_present, HOST_NR_CPUS - 1, true);
      // Present CPUs get their ids (0 here: APIC and ACPI ids equal the index), flags ONLINE; the rest INVALID.
      if (cpu < HOST_NR_CPUS) {
        b.setUint32(P.xenpf_pcpuinfo.apic_id, cpu, true);
        b.setUint32(P.xenpf_pcpuinfo.acpi_id, cpu, true);
        b.setUint32(P.xenpf_pcpuinfo.flags, P.XEN_PCPU_FLAGS_ONLINE, true);
      } else {
        const old = g.read(u, P.xenpf_pcpuinfo.size);
        if (old === null) return -E.EFAULT;
        b.setUint32(P.xenpf_pcpuinfo.apic_id, new DataView(old.buffer).getUint32(P.xenpf_pcpuinfo.apic_id, true), true);
        b.setUint32(P.xenpf_pcpuinfo.acpi_id, new DataView(old.buffer).getUint32(P.xenpf_pcpuinfo.acpi_id, true), true);
        b.setUint32(P.xenpf_pcpuinfo.flags, P.XEN_PCPU_FLAGS_INVALID, true);
      }
      return g.write(u, new Uint8Array(b.buffer)) ? 0 : -E.EFAULT;
    }
    case P.XENPF_get_cpu_version: {
      const cpu = g.u32(fld(u, P.xenpf_pcpu_version.xen_cpuid));
      if (cpu === null) return -E.EFAULT;
      h.decoded.xen_cpuid = cpu;
      const b = new DataView(new ArrayBuffer(P.xenpf_pcpu_version.size));
      const on = cpu < HOST_NR_CPUS;
      b.setUint32(P.xenpf_pcpu_version.xen_cpuid, cpu, true);
      b.setUint32(P.xenpf_pcpu_version.max_present, HOST_NR_CPUS - 1, true);
      if (on) new Uint8Array(b.buffer).set(new TextEncoder().encode(HOST_CPU_VENDOR).subarray(0, P.xenpf_pcpu_version.vendor_id_sizeof), P.xenpf_pcpu_version.vendor_id);
      b.setUint32(P.xenpf_pcpu_version.family, on ? HOST_CPU_FAMILY : 0, true);
      b.setUint32(P.xenpf_pcpu_version.model, on ? HOST_CPU_MODEL : 0, true);
      b.setUint32(P.xenpf_pcpu_version.stepping, on ? HOST_CPU_STEPPING : 0, true);
      return g.write(u, new Uint8Array(b.buffer)) ? 0 : -E.EFAULT;
    }
    case P.XENPF_set_processor_pminfo: {
      const type = g.u32(fld(u, P.xenpf_set_processor_pminfo.type));
      if (type === null) return -E.EFAULT;
      h.decoded.type = type;
      // xen_processor_pmbits has PX and CX (cpufreq and cpuidle on), not TX.
      // Xen would take the _PSS/_CST/_PDC data over for its own cpufreq and
      // cpuidle; the simulated CPU has no power states, so the data is refused
      // (Xen 4.17 accepts it for a known ACPI id: a difference).
      return type === P.XEN_PM_TX ? -E.ENOSYS : -E.EINVAL;
    }
    case P.XENPF_change_freq:
    case P.XENPF_getidletime:
      return -E.ENOSYS; // cpufreq_controller is Xen's own (FREQCTL_xen), not dom0's
    default:
      // Memory types, microcode, EFI runtime, ACPI sleep, CPU/memory hotplug,
      // core parking, resource_op, get_symbol: not modelled (Xen 4.17 has them).
      return -E.ENOSYS;
  }
}
