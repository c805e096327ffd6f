/**
 * The toolstack's part in a guest's virtual disks: what `xl create` (libxl)
 * and the `block` hotplug script write in dom0's xenstore.
 *
 * Creating a disk (libxl device_disk_add + libxl__device_generic_add, one
 * transaction), for frontend domain F, device id D (vdev.ts), backend dom0:
 *   /libxl/F/device/vbd/D/{frontend,backend}                       perms n0
 *   /local/domain/F/device/vbd/D                          perms nF r0 (rm, mkdir)
 *     backend, then backend-id=0 state=1 virtual-device=D device-type=disk
 *     trusted=1 protocol=x86_64-abi (libxl writes it for PV guests)
 *   /local/domain/0/backend/vbd/F/D                       perms n0 rF (rm, mkdir)
 *     frontend, then params=<target> script=/etc/xen/scripts/block
 *     frontend-id=F online=1 removable=0 bootable=1 state=1 dev=<vdev>
 *     type=phy mode=w|r device-type=disk discard-enable=1|0 specification=xen
 *   /libxl/F/device/vbd/D: a copy of the backend's keys ("we don't need to
 *     trust the backend"; nothing reads them back)
 * (libxl picks the "phy" backend for a raw image file; the block script
 * attaches the file to a loop device.) Keys are written in that order.
 *
 * Hotplug (libxl runs the script once the backend reached InitWait): the
 * block script's "add" for a file writes node=/dev/loopN,
 * physical-device=7:N (major:minor in hex, `stat -c %t:%T`),
 * physical-device-path=/dev/loopN, hotplug-status=connected.
 *
 * Destroying a domain (libxl__device_destroy for each disk): the frontend,
 * backend and libxl directories go, in one transaction.
 */
import type { Dom0Xs } from '../backend.js';
import type { DiskMedium } from '../blkback/disk.js';
import { XEN_IO_PROTO_ABI_X86_64 } from '../../xen/public/io/protocols.js';
import { XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import { deviceAdd, deviceDestroy } from './device.js';

/** A disk as the scenario describes it (xl's disk spec: vdev, target, access mode, format raw). */
export type DiskSpec = {
  vdev: string;
  /** the image as the scenario names it (the backend's "params") */
  target: string;
  /** "r" read-only, "w" read-write into the overlay, "w!" read-write written through to the image */
  mode: 'r' | 'w' | 'w!';
  /** the image's bytes; null for a block device of a guest dom0 (`/dev/loopN`: dom0's kernel serves it) */
  medium: DiskMedium | null;
};

/** LOOP_MAJOR: the block script attaches image files to loop devices. */
export const LOOP_MAJOR = 7;
const BLOCK_SCRIPT = '/etc/xen/scripts/block';
/** Commits of one device's transaction before giving up on EAGAIN. */

/** The device's directories: backend, frontend, and libxl's own. */
export function vbdPaths(fe: number, devid: number): { be: string; fePath: string; lib: string } {
  return { be: `/local/domain/0/backend/vbd/${fe}/${devid}`, fePath: `/local/domain/${fe}/device/vbd/${devid}`, lib: `/libxl/${fe}/device/vbd/${devid}` };
}

/** device_disk_add: the disk's libxl, frontend and backend directories in one transaction (deviceAdd). */
export function diskAdd(xs: Dom0Xs, fe: number, devid: number, spec: DiskSpec): void {
  const readonly = spec.mode === 'r';
  deviceAdd(xs, fe, vbdPaths(fe, devid), [
    ['backend-id', '0'], ['state', `${XenbusStateInitialising}`], ['virtual-device', `${devid}`], ['device-type', 'disk'], ['trusted', '1'],
    ['protocol', XEN_IO_PROTO_ABI_X86_64],
  ], [
    ['params', spec.target], ['script', BLOCK_SCRIPT], ['frontend-id', `${fe}`], ['online', '1'], ['removable', '0'], ['bootable', '1'],
    ['state', `${XenbusStateInitialising}`], ['dev', spec.vdev], ['type', 'phy'], ['mode', readonly ? 'r' : 'w'], ['device-type', 'disk'],
    ['discard-enable', readonly ? '0' : '1'], ['specification', 'xen'],
  ]);
}

/**
 * The block script's "add": an image file attached to loop device `node`
 * (xenrr's blkback), or a block device of a guest dom0 named by the
 * scenario (`/dev/loop0` its init set up; the script writes no `node` for
 * a device it did not attach itself).
 */
export function blockHotplugAdd(xs: Dom0Xs, be: string, node: { path: string; major: number; minor: number; attached: boolean }): void {
  if (node.attached) xs.write(`${be}/node`, node.path);
  xs.write(`${be}/physical-device`, `${node.major.toString(16)}:${node.minor.toString(16)}`);
  xs.write(`${be}/physical-device-path`, node.path);
  xs.write(`${be}/hotplug-status`, 'connected');
}

/** libxl__device_destroy for a disk. */
export function diskDestroy(xs: Dom0Xs, fe: number, devid: number): void {
  deviceDestroy(xs, vbdPaths(fe, devid));
}
