/**
 * console_io, physdev_op, and the privileged
 * families a domU may only probe (sysctl, domctl, platform_op).
 */
import { E, u32, type HcCtx, subOpNames } from './types.js';

export { XEN_DOMCTL_INTERFACE_VERSION } from '../public/domctl.js';
export { XEN_SYSCTL_INTERFACE_VERSION } from '../public/sysctl.js';

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
