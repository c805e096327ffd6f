/**
 * console_io, the privileged families a domU may only probe (sysctl,
 * domctl; platform_op has its own file), and xenpmu_op.
 */
import * as PMU from '../public/pmu.js';
import { xen_sysctl } from '../public/sysctl.js';
import { CONSOLEIO_read, CONSOLEIO_write } from '../public/xen.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

export { XEN_DOMCTL_INTERFACE_VERSION } from '../public/domctl.js';
export { XEN_SYSCTL_INTERFACE_VERSION } from '../public/sysctl.js';

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
    h.xen.onConsole?.(h.d.id, 'console_io', text);
    h.xen.emit(h.v, h.d.id, { kind: 'console', text, source: 'console_io' });
    return 0;
  }
  if (cmd === CONSOLEIO_read) return h.d.privileged ? 0 : -E.EPERM;
  return -E.ENOSYS;
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

/**
 * xenpmu_op: Xen 4.17 boots with the virtual PMU off (vpmu=0 by default), so
 * every sub-op answers -EOPNOTSUPP (cpu/vpmu.c do_xenpmu_op); Linux then
 * prints "VPMU disabled by hypervisor".
 */
export function xenpmuOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  h.sub = cmd;
  h.subName = XENPMU_SUB(cmd);
  return -E.EOPNOTSUPP;
}
const XENPMU_SUB = subOpNames('XENPMU', namesFrom(PMU, 'XENPMU'));
