/**
 * xen_version, console_io, multicall, physdev_op, and the privileged
 * families a domU may only probe (sysctl, domctl, platform_op).
 */
import { XENFEAT_dom0, XENFEAT_mmu_pt_update_preserve_ad, XENFEAT_pae_pgdir_above_4gb } from '../public/features.js';
import * as PD from '../public/physdev.js';
import { PHYSDEVOP_set_iobitmap, PHYSDEVOP_set_iopl, physdev_set_iopl } from '../public/physdev.js';
import * as VER from '../public/version.js';
import {
  xen_compile_info as CI, xen_feature_info as FI, XENVER_build_id, XENVER_capabilities, XENVER_changeset, XENVER_commandline, XENVER_compile_info,
  XENVER_extraversion, XENVER_get_features, XENVER_guest_handle, XENVER_pagesize, XENVER_platform_parameters, XENVER_version,
} from '../public/version.js';
import { HYPERVISOR_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import { xen_sysctl } from '../public/sysctl.js';
import { CONSOLEIO_read, CONSOLEIO_write, xen_domain_handle_t } from '../public/xen.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
export const XEN_EXTRAVERSION = '-xenrr';
export { XEN_DOMCTL_INTERFACE_VERSION } from '../public/domctl.js';
export { XEN_SYSCTL_INTERFACE_VERSION } from '../public/sysctl.js';

const XENVER_SUB = subOpNames('XENVER', namesFrom(VER, 'XENVER'));
/** Submap 0 of XENVER_get_features; dom0 also gets XENFEAT_dom0. */
const FEATURES = (1 << XENFEAT_pae_pgdir_above_4gb) | (1 << XENFEAT_mmu_pt_update_preserve_ad);

export function xenVersion(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const g = h.v.guest;
  h.sub = cmd;
  h.subName = XENVER_SUB(cmd);
  const str = (s: string, size: number): number => (g.putString(arg, s, size) ? 0 : -E.EFAULT);
  switch (cmd) {
    case XENVER_version:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case XENVER_extraversion:
      return str(XEN_EXTRAVERSION, VER.XEN_EXTRAVERSION_LEN);
    case XENVER_compile_info: {
      const b = new Uint8Array(CI.size);
      const put = (s: string, at: number, n: number): void => b.set(new TextEncoder().encode(s).subarray(0, n - 1), at);
      put('xenrr simulated Xen', CI.compiler, CI.compiler_sizeof);
      put('xenrr', CI.compile_by, CI.compile_by_sizeof);
      put('localdomain', CI.compile_domain, CI.compile_domain_sizeof);
      put('deterministic', CI.compile_date, CI.compile_date_sizeof);
      return g.write(arg, b) ? 0 : -E.EFAULT;
    }
    case XENVER_capabilities:
      return str('xen-3.0-x86_64', VER.XEN_CAPABILITIES_INFO_LEN);
    case XENVER_changeset:
      return str('xenrr', VER.XEN_CHANGESET_INFO_LEN);
    case XENVER_platform_parameters:
      return g.putU64(fld(arg, VER.xen_platform_parameters.virt_start), HYPERVISOR_VIRT_START) ? 0 : -E.EFAULT;
    case XENVER_get_features: {
      const idx = g.u32(fld(arg, FI.submap_idx));
      if (idx === null) return -E.EFAULT;
      const bits = idx === 0 ? FEATURES | (h.d.privileged ? 1 << XENFEAT_dom0 : 0) : 0;
      return g.putU32(fld(arg, FI.submap), bits) ? 0 : -E.EFAULT;
    }
    case XENVER_pagesize:
      return 4096;
    case XENVER_guest_handle:
      return g.write(arg, new Uint8Array(xen_domain_handle_t.size)) ? 0 : -E.EFAULT;
    case XENVER_commandline:
    case XENVER_build_id:
      return h.d.privileged ? str('', cmd === XENVER_commandline ? VER.xen_commandline_t.size : 1) : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}

/** console_io(CONSOLEIO_write, count, buf): the hypervisor log, kept apart from the PV console ring. */
export function consoleIo(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const count = u32(h.args[1]!);
  h.sub = cmd;
  h.subName = cmd === CONSOLEIO_write ? 'CONSOLEIO_write' : cmd === CONSOLEIO_read ? 'CONSOLEIO_read' : String(cmd);
  if (cmd === CONSOLEIO_write) {
    const n = Math.min(count, 1 << 16);
    const bytes = h.v.guest.read(h.args[2]!, n);
    if (bytes === null) return -E.EFAULT;
    for (const b of bytes) h.d.log.push(b);
    const text = Buffer.from(bytes).toString('latin1');
    h.decoded.count = n;
    h.decoded.text = text.length > 80 ? `${text.slice(0, 77)}...` : text;
    h.xen.emit(h.v, h.d.id, { kind: 'console', text, source: 'console_io' });
    return 0;
  }
  if (cmd === CONSOLEIO_read) return h.d.privileged ? 0 : -E.EPERM;
  return -E.ENOSYS;
}

const PHYSDEVOP_SUB = subOpNames('PHYSDEVOP', namesFrom(PD, 'PHYSDEVOP'));

export function physdevOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  h.sub = cmd;
  h.subName = PHYSDEVOP_SUB(cmd);
  if (cmd === PHYSDEVOP_set_iopl) {
    const iopl = h.v.guest.u32(fld(h.args[1]!, physdev_set_iopl.iopl));
    if (iopl === null) return -E.EFAULT;
    h.decoded.iopl = iopl;
    if (iopl > 3) return -E.EINVAL;
    h.v.iopl = iopl;
    return 0;
  }
  if (cmd === PHYSDEVOP_set_iobitmap) return 0;
  return h.d.privileged ? -E.ENOSYS : -E.EPERM;
}

/** sysctl / domctl: interface version first (-EACCES), then privilege (-EPERM); the privileged subset comes with the drivers work. */
export function sysctlOrDomctl(version: number) {
  return (h: HcCtx): number => {
    // xen_sysctl and xen_domctl both start { u32 cmd; u32 interface_version; }.
    const cmd = h.v.guest.u32(fld(h.args[0]!, xen_sysctl.cmd));
    const ver = h.v.guest.u32(fld(h.args[0]!, xen_sysctl.interface_version));
    if (cmd === null || ver === null) return -E.EFAULT;
    h.sub = cmd;
    h.subName = String(cmd);
    h.decoded.interface_version = ver;
    if (ver !== version) return -E.EACCES;
    return h.d.privileged ? -E.ENOSYS : -E.EPERM;
  };
}

export function privilegedOnly(h: HcCtx): number {
  return h.d.privileged ? -E.ENOSYS : -E.EPERM;
}
