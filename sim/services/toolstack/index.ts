/**
 * The toolstack as a dom0 driver (backend.ts): `xl create` for each domain
 * of the scenario, through dom0's xenstore connection, in the order
 * libxl__domain_create takes:
 *   1. libxl__domain_make, libxl__build_post and XS_INTRODUCE (domain.ts);
 *   2. domcreate_rebuild_done: store_libxl_entry, then every disk's
 *      device_disk_add (disks.ts);
 *      each waits for its backend to reach InitWait, then runs the block
 *      hotplug script (libxl__wait_device_connection);
 *   3. domcreate_launch_dm, once every disk is attached (the multidev
 *      callback): console 0 (domain.ts).
 * Steps 2 and 3 move on from watch events (the backend's state), as
 * libxl's event loop does; the machine pumps the store until every domain
 * it builds has its console (`checkCreated`), before any guest runs.
 *
 * The disks themselves (image + overlay, blkback/disk.ts) belong here, as
 * loop devices belong to dom0 rather than to one backend instance: the
 * backend opens them by physical device, and a restarted backend finds
 * every write that came before. Loop minors are given in creation order.
 * A domain that goes down has its disks destroyed (libxl__device_destroy).
 */
import type { BackendDriver, Dom0Env } from '../backend.js';
import { DiskStore } from '../blkback/disk.js';
import { vdevNumber } from '../vdev.js';
import { XenbusStateInitWait } from '../../xen/public/io/xenbus.js';
import { blockHotplugAdd, diskAdd, diskDestroy, LOOP_MAJOR, vbdPaths, type DiskSpec } from './disks.js';
import { buildPost, consoleAdd, domainMake, storeLibxlEntry, type XlDomain } from './domain.js';

export { LOOP_MAJOR, type DiskSpec } from './disks.js';
export { xlCreateDomain, type XlDomain } from './domain.js';

type Disk = { fe: number; devid: number; vdev: string; target: string; readonly: boolean; minor: number; store: DiskStore; hotplugged: boolean; gone: boolean };
type DiskState = { hotplugged: boolean; gone: boolean; overlay: Map<number, Uint8Array> };
type ToolstackState = { disks: DiskState[]; creating: XlDomain[] };

export class Toolstack implements BackendDriver {
  readonly name = 'toolstack';
  private readonly disks: Disk[] = [];
  /** xl create under way: domains waiting for their disks' hotplug before console 0 (step 3) */
  private readonly creating = new Map<number, XlDomain>();

  constructor(private readonly env: Dom0Env) {}

  /** xl create of domain `d` (built, not yet running) with its disks: steps 1 and 2, and 3 when no disk waits. */
  createDomain(d: XlDomain, disks: DiskSpec[]): void {
    domainMake(this.env.xs, d);
    buildPost(this.env.xs, d);
    storeLibxlEntry(this.env.xs, d);
    this.creating.set(d.id, d);
    for (const disk of disks) this.addDisk(d.id, disk);
    this.launch(d.id);
  }

  /** Every xl create finished; otherwise one line naming a disk whose backend never came (libxl would time out). */
  checkCreated(): void {
    for (const id of this.creating.keys()) {
      const d = this.disks.find((x) => x.fe === id && !x.hotplugged);
      throw new RangeError(`domain ${id}: ${d === undefined ? 'xl create did not finish' : `disk ${d.vdev}: its backend never reached InitWait`}`);
    }
  }

  /** The disk behind loop device 7:minor, if any. */
  loopDevice(major: number, minor: number): { store: DiskStore; readonly: boolean } | null {
    const d = major === LOOP_MAJOR ? this.disks[minor] : undefined;
    return d === undefined || d.gone ? null : { store: d.store, readonly: d.readonly };
  }

  /** The disks of domain `fe`, with their device ids and contents (for tests and benchmarks). */
  disksOf(fe: number): Array<{ vdev: string; devid: number; store: DiskStore }> {
    return this.disks.filter((d) => d.fe === fe).map((d) => ({ vdev: d.vdev, devid: d.devid, store: d.store }));
  }

  /** device_disk_add: the disk's xenstore directories, and a watch for the backend reaching InitWait. */
  addDisk(fe: number, spec: DiskSpec): void {
    const devid = vdevNumber(spec.vdev);
    if (devid < 0) throw new RangeError(`disk ${spec.vdev}: not a virtual disk name xl accepts`);
    if (this.disks.some((d) => d.fe === fe && d.devid === devid)) throw new RangeError(`disk ${spec.vdev}: domain ${fe} has a disk with device id ${devid} already`);
    const disk: Disk = { fe, devid, vdev: spec.vdev, target: spec.target, readonly: spec.mode === 'r', minor: this.disks.length, store: new DiskStore(spec.medium), hotplugged: false, gone: false };
    this.disks.push(disk);
    diskAdd(this.env.xs, fe, devid, spec);
    this.env.xs.watch(this, `${vbdPaths(fe, devid).be}/state`, `hotplug:${fe}/${devid}`);
  }

  watch(path: string, token: string): void {
    const d = this.byToken(token);
    if (d === undefined || d.hotplugged || d.gone) return;
    if (this.env.xs.read(path) !== `${XenbusStateInitWait}`) return;
    d.hotplugged = true;
    this.env.xs.unwatch(this, path, token);
    blockHotplugAdd(this.env.xs, vbdPaths(d.fe, d.devid).be, d.minor);
    this.launch(d.fe);
  }

  /** Step 3 of xl create for domain `dom`, once none of its disks waits for hotplug. */
  private launch(dom: number): void {
    const d = this.creating.get(dom);
    if (d === undefined || this.disks.some((x) => x.fe === dom && !x.hotplugged && !x.gone)) return;
    this.creating.delete(dom);
    consoleAdd(this.env.xs, d);
  }

  /** The domain is gone: libxl destroys its devices. */
  domainDown(dom: number): void {
    for (const d of this.disks) {
      if (d.fe !== dom || d.gone) continue;
      if (!d.hotplugged) this.env.xs.unwatch(this, `${vbdPaths(d.fe, d.devid).be}/state`, `hotplug:${d.fe}/${d.devid}`);
      d.gone = true;
      diskDestroy(this.env.xs, d.fe, d.devid);
    }
  }

  notify(): void {}

  private byToken(token: string): Disk | undefined {
    const m = /^hotplug:(\d+)\/(\d+)$/.exec(token);
    return m === null ? undefined : this.disks.find((d) => d.fe === Number(m[1]) && d.devid === Number(m[2]));
  }

  snapshot(): ToolstackState {
    return {
      disks: this.disks.map((d) => ({ hotplugged: d.hotplugged, gone: d.gone, overlay: d.store.snapshot() })),
      creating: [...this.creating.values()].map((d) => ({ ...d })),
    };
  }

  restore(state: unknown): void {
    const s = state as ToolstackState;
    if (s.disks.length !== this.disks.length) throw new RangeError(`toolstack snapshot has ${s.disks.length} disks, this machine ${this.disks.length}`);
    s.disks.forEach((x, i) => {
      const d = this.disks[i]!;
      d.hotplugged = x.hotplugged;
      d.gone = x.gone;
      d.store.restore(x.overlay);
    });
    this.creating.clear();
    for (const d of s.creating) this.creating.set(d.id, { ...d });
  }
}
