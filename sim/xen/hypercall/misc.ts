/**
 * xen_version, console_io, multicall, physdev_op, and the privileged
 * families a domU may only probe (sysctl, domctl, platform_op).
 */
import { E, u32, type HcCtx, subOpNames } from './types.js';

export const XEN_MAJOR = 4;
export const XEN_MINOR = 17;
export const XEN_EXTRAVERSION = '-xenrr';
export { XEN_DOMCTL_INTERFACE_VERSION } from '../public/domctl.js';
export { XEN_SYSCTL_INTERFACE_VERSION } from '../public/sysctl.js';

const XENVER_NAMES = ['version', 'extraversion', 'compile_info', 'capabilities', 'changeset', 'platform_parameters', 'get_features', 'pagesize', 'guest_handle', 'commandline', 'build_id'];
const XENVER_SUB = subOpNames('XENVER', XENVER_NAMES);
/** XENFEAT_pae_pgdir_above_4gb | XENFEAT_mmu_pt_update_preserve_ad, plus XENFEAT_dom0 for dom0 */
const FEATURES = (1 << 4) | (1 << 5);

export function xenVersion(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const g = h.v.guest;
  h.sub = cmd;
  h.subName = XENVER_SUB(cmd);
  const str = (s: string, size: number): number => (g.putString(arg, s, size) ? 0 : -E.EFAULT);
  switch (cmd) {
    case 0:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case 1:
      return str(XEN_EXTRAVERSION, 16);
    case 2: {
      const b = new Uint8Array(144);
      const put = (s: string, at: number, n: number): void => b.set(new TextEncoder().encode(s).subarray(0, n - 1), at);
      put('xenrr simulated Xen', 0, 64);
      put('xenrr', 64, 16);
      put('localdomain', 80, 32);
      put('deterministic', 112, 32);
      return g.write(arg, b) ? 0 : -E.EFAULT;
    }
    case 3:
      return str('xen-3.0-x86_64', 1024);
    case 4:
      return str('xenrr', 64);
    case 5:
      return g.putU64(arg, 0xffff800000000000n) ? 0 : -E.EFAULT;
    case 6: {
      const idx = g.u32(arg);
      if (idx === null) return -E.EFAULT;
      const bits = idx === 0 ? FEATURES | (h.d.privileged ? 1 << 11 : 0) : 0;
      return g.putU32(arg + 4n, bits) ? 0 : -E.EFAULT;
    }
    case 7:
      return 4096;
    case 8:
      return g.write(arg, new Uint8Array(16)) ? 0 : -E.EFAULT;
    case 9:
    case 10:
      return h.d.privileged ? str('', cmd === 9 ? 1024 : 1) : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}

/** console_io(CONSOLEIO_write, count, buf): the hypervisor log, kept apart from the PV console ring. */
export function consoleIo(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const count = u32(h.args[1]!);
  h.sub = cmd;
  h.subName = cmd === 0 ? 'CONSOLEIO_write' : cmd === 1 ? 'CONSOLEIO_read' : String(cmd);
  if (cmd === 0) {
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
  if (cmd === 1) return h.d.privileged ? 0 : -E.EPERM;
  return -E.ENOSYS;
}

const PHYSDEVOP_NAMES: Record<number, string> = { 6: 'set_iopl', 7: 'set_iobitmap' };
const PHYSDEVOP_SUB = subOpNames('PHYSDEVOP', PHYSDEVOP_NAMES);

export function physdevOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  h.sub = cmd;
  h.subName = PHYSDEVOP_SUB(cmd);
  if (cmd === 6) {
    const iopl = h.v.guest.u32(h.args[1]!);
    if (iopl === null) return -E.EFAULT;
    h.decoded.iopl = iopl;
    if (iopl > 3) return -E.EINVAL;
    h.v.iopl = iopl;
    return 0;
  }
  if (cmd === 7) return 0;
  return h.d.privileged ? -E.ENOSYS : -E.EPERM;
}

/** sysctl / domctl: interface version first (-EACCES), then privilege (-EPERM); the privileged subset comes with the drivers work. */
export function sysctlOrDomctl(version: number) {
  return (h: HcCtx): number => {
    const cmd = h.v.guest.u32(h.args[0]!);
    const ver = h.v.guest.u32(h.args[0]! + 4n);
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
