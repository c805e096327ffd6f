/**
 * What libxl does for every split device (libxl__device_generic_add and
 * libxl__device_destroy): the device's directories under /libxl, the
 * frontend's and the backend's, written or removed in one transaction.
 * disks.ts and vifs.ts give the entries of their device kinds.
 */
import type { Dom0Xs } from '../backend.js';

/** Transactions retried on EAGAIN at most this often. */
const MAX_TX_TRIES = 16;

/** A device's three directories. */
export type DevicePaths = { be: string; fePath: string; lib: string };

/** An entry with its own permissions (a frontend key the backend owns). */
export type OwnEntry = { key: string; value: string; perms: string[] };

/**
 * Adds the device of frontend domain `fe` in one transaction, retried on
 * EAGAIN: the libxl entries, the frontend directory (the frontend's own,
 * dom0 reads) with `fents` and then `extraFe`, the backend directory (dom0's,
 * the frontend reads) with `bents`, copied under /libxl. The order of the
 * writes is libxl's.
 */
export function deviceAdd(xs: Dom0Xs, fe: number, p: DevicePaths, fents: Array<[string, string]>, bents: Array<[string, string]>, extraFe: OwnEntry[] = []): void {
  const { be, fePath, lib } = p;
  for (let tries = 0; ; tries++) {
    const t = xs.transactionStart();
    xs.rm(lib, t);
    xs.write(`${lib}/frontend`, fePath, t);
    xs.write(`${lib}/backend`, be, t);
    const fperms = [`n${fe}`, 'r0'];
    xs.rm(fePath, t);
    xs.mkdir(fePath, t);
    xs.setPerms(fePath, fperms, t);
    xs.write(`${fePath}/backend`, be, t);
    for (const [k, v] of fents) {
      xs.write(`${fePath}/${k}`, v, t);
      xs.setPerms(`${fePath}/${k}`, fperms, t);
    }
    for (const e of extraFe) {
      xs.write(`${fePath}/${e.key}`, e.value, t);
      xs.setPerms(`${fePath}/${e.key}`, e.perms, t);
    }
    xs.rm(be, t);
    xs.mkdir(be, t);
    xs.setPerms(be, ['n0', `r${fe}`], t);
    xs.write(`${be}/frontend`, fePath, t);
    for (const [k, v] of bents) xs.write(`${be}/${k}`, v, t);
    for (const [k, v] of bents) xs.write(`${lib}/${k}`, v, t);
    const end = xs.transactionEnd(t, true);
    if (end.ok || end.error !== 'EAGAIN' || tries > MAX_TX_TRIES) break;
  }
}

/** libxl__device_destroy: the device's directories, in one transaction. */
export function deviceDestroy(xs: Dom0Xs, p: DevicePaths): void {
  const t = xs.transactionStart();
  xs.rm(p.fePath, t);
  xs.rm(p.be, t);
  xs.rm(p.lib, t);
  xs.transactionEnd(t, true);
}
