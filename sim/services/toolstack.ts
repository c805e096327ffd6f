/**
 * The toolstack's part in a guest's virtual disks: what `xl create` (libxl)
 * and the `block` hotplug script do in dom0, as a driver.
 *
 * Creating a disk (libxl device_disk_add + libxl__device_generic_add, one
 * transaction), for frontend domain F, device id D (vdev.ts), backend dom0:
 *   /libxl/F/device/vbd/D/{frontend,backend}                       perms n0
 *   /local/domain/F/device/vbd/D                          perms nF r0 (rm, mkdir)
 *     backend, then backend-id=0 state=1 virtual-device=D device-type=disk
 *     protocol=x86_64-abi (libxl writes it for PV guests)
 *   /local/domain/0/backend/vbd/F/D                       perms n0 rF (rm, mkdir)
 *     frontend, then params=<target> script=/etc/xen/scripts/block
 *     frontend-id=F online=1 removable=0 bootable=1 state=1 dev=<vdev>
 *     type=phy mode=w|r device-type=disk discard-enable=1|0
 * (libxl picks the "phy" backend for a raw image file; the block script
 * attaches the file to a loop device.) Keys are written in that order.
 *
 * Hotplug (libxl runs the script once the backend reached InitWait): the
 * block script's "add" for a file writes node=/dev/loopN,
 * physical-device=7:N (major:minor in hex, `stat -c %t:%T`),
 * physical-device-path=/dev/loopN, hotplug-status=connected. Loop minors
 * are given in creation order.
 *
 * Destroying a domain (libxl__device_destroy for each disk): the frontend,
 * backend and libxl directories go, in one transaction; the backend
 * driver sees its directory vanish and lets go of the device.
 *
 * The disks themselves (image + overlay, blkback/disk.ts) belong here, as
 * loop devices belong to dom0 rather than to one backend instance: the
 * backend opens them by physical device, and a restarted backend finds
 * every write that came before.
 */
import type { BackendDriver, Dom0Env } from './backend.js';
import { DiskStore, type DiskMedium } from './blkback/disk.js';
import { XenbusStateInitialising, XenbusStateInitWait } from '../xen/public/io/xenbus.js';
import { XEN_IO_PROTO_ABI_X86_64 } from '../xen/public/io/protocols.js';
import { vdevNumber } from './vdev.js';

/** A disk as the scenario describes it (xl's disk spec: vdev, target, access mode, format raw). */
export type DiskSpec = {
  vdev: string;
  /** the image as the scenario names it (the backend's "params") */
  target: string;
  /** "r" read-only, "w" read-write into the overlay, "w!" read-write written through to the image */
  mode: 'r' | 'w' | 'w!';
  medium: DiskMedium;
};

/** LOOP_MAJOR: the block script attaches image files to loop devices. */
export const LOOP_MAJOR = 7;
const BLOCK_SCRIPT = '/etc/xen/scripts/block';

type Disk = { fe: number; devid: number; vdev: string; target: string; readonly: boolean; minor: number; store: DiskStore; hotplugged: boolean; gone: boolean };
type DiskState = { hotplugged: boolean; gone: boolean; overlay: Map<number, Uint8Array> };

export class Toolstack implements BackendDriver {
  readonly name = 'toolstack';
  private readonly disks: Disk[] = [];

  constructor(private readonly env: Dom0Env) {}

  /** The disk behind loop device 7:minor, if any. */
  loopDevice(major: number, minor: number): { store: DiskStore; readonly: boolean } | null {
    const d = major === LOOP_MAJOR ? this.disks[minor] : undefined;
    return d === undefined || d.gone ? null : { store: d.store, readonly: d.readonly };
  }

  /** The disks of domain `fe`, with their device ids and contents (for tests and benchmarks). */
  disksOf(fe: number): Array<{ vdev: string; devid: number; store: DiskStore }> {
    return this.disks.filter((d) => d.fe === fe).map((d) => ({ vdev: d.vdev, devid: d.devid, store: d.store }));
  }

  /** xl create: the disk's xenstore directories, and a watch for the backend reaching InitWait. */
  addDisk(fe: number, spec: DiskSpec): void {
    const devid = vdevNumber(spec.vdev);
    if (devid < 0) throw new RangeError(`disk ${spec.vdev}: not a virtual disk name xl accepts`);
    if (this.disks.some((d) => d.fe === fe && d.devid === devid)) throw new RangeError(`disk ${spec.vdev}: domain ${fe} has a disk with device id ${devid} already`);
    const readonly = spec.mode === 'r';
    const disk: Disk = { fe, devid, vdev: spec.vdev, target: spec.target, readonly, minor: this.disks.length, store: new DiskStore(spec.medium), hotplugged: false, gone: false };
    this.disks.push(disk);
    const { be, fePath, lib } = paths(disk);
    const xs = this.env.xs;
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
      const fents: Array<[string, string]> = [
        ['backend-id', '0'], ['state', `${XenbusStateInitialising}`], ['virtual-device', `${devid}`], ['device-type', 'disk'], ['protocol', XEN_IO_PROTO_ABI_X86_64],
      ];
      for (const [k, v] of fents) {
        xs.write(`${fePath}/${k}`, v, t);
        xs.setPerms(`${fePath}/${k}`, fperms, t);
      }
      xs.rm(be, t);
      xs.mkdir(be, t);
      xs.setPerms(be, ['n0', `r${fe}`], t);
      xs.write(`${be}/frontend`, fePath, t);
      const bents: Array<[string, string]> = [
        ['params', spec.target], ['script', BLOCK_SCRIPT], ['frontend-id', `${fe}`], ['online', '1'], ['removable', '0'], ['bootable', '1'],
        ['state', `${XenbusStateInitialising}`], ['dev', spec.vdev], ['type', 'phy'], ['mode', readonly ? 'r' : 'w'], ['device-type', 'disk'],
        ['discard-enable', readonly ? '0' : '1'],
      ];
      for (const [k, v] of bents) xs.write(`${be}/${k}`, v, t);
      const end = xs.transactionEnd(t, true);
      if (end.ok || end.error !== 'EAGAIN' || tries > 16) break;
    }
    xs.watch(this, `${be}/state`, `hotplug:${fe}/${devid}`);
  }

  watch(path: string, token: string): void {
    const d = this.byToken(token);
    if (d === undefined || d.hotplugged || d.gone) return;
    if (this.env.xs.read(path) !== `${XenbusStateInitWait}`) return;
    // The block script's "add" for a file: attach it to /dev/loop<minor>.
    const { be } = paths(d);
    const xs = this.env.xs;
    d.hotplugged = true;
    xs.unwatch(this, path, token);
    const loop = `/dev/loop${d.minor}`;
    xs.write(`${be}/node`, loop);
    xs.write(`${be}/physical-device`, `${LOOP_MAJOR.toString(16)}:${d.minor.toString(16)}`);
    xs.write(`${be}/physical-device-path`, loop);
    xs.write(`${be}/hotplug-status`, 'connected');
  }

  /** The domain is gone: libxl destroys its devices. */
  domainDown(dom: number): void {
    for (const d of this.disks) {
      if (d.fe !== dom || d.gone) continue;
      const { be, fePath, lib } = paths(d);
      const xs = this.env.xs;
      if (!d.hotplugged) xs.unwatch(this, `${be}/state`, `hotplug:${d.fe}/${d.devid}`);
      d.gone = true;
      const t = xs.transactionStart();
      xs.rm(fePath, t);
      xs.rm(be, t);
      xs.rm(lib, t);
      xs.transactionEnd(t, true);
    }
  }

  notify(): void {}

  private byToken(token: string): Disk | undefined {
    const m = /^hotplug:(\d+)\/(\d+)$/.exec(token);
    return m === null ? undefined : this.disks.find((d) => d.fe === Number(m[1]) && d.devid === Number(m[2]));
  }

  snapshot(): DiskState[] {
    return this.disks.map((d) => ({ hotplugged: d.hotplugged, gone: d.gone, overlay: d.store.snapshot() }));
  }

  restore(state: unknown): void {
    const s = state as DiskState[];
    if (s.length !== this.disks.length) throw new RangeError(`toolstack snapshot has ${s.length} disks, this machine ${this.disks.length}`);
    s.forEach((x, i) => {
      const d = this.disks[i]!;
      d.hotplugged = x.hotplugged;
      d.gone = x.gone;
      d.store.restore(x.overlay);
    });
  }
}

function paths(d: { fe: number; devid: number }): { be: string; fePath: string; lib: string } {
  return { be: `/local/domain/0/backend/vbd/${d.fe}/${d.devid}`, fePath: `/local/domain/${d.fe}/device/vbd/${d.devid}`, lib: `/libxl/${d.fe}/device/vbd/${d.devid}` };
}
