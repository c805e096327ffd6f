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
 *      callback): console 0 (domain.ts);
 *   4. domcreate_attach_devices: every vif's libxl__device_nic_add
 *      (vifs.ts), each waiting for its backend's InitWait, then the
 *      vif-bridge hotplug script, which puts it on its bridge.
 * Steps 2 and 3 move on from watch events (the backend's state), as
 * libxl's event loop does; the machine pumps the store until every domain
 * it builds has its console and its vifs (`checkCreated`), before any guest runs.
 *
 * The disks themselves (image + overlay, blkback/disk.ts) belong here, as
 * loop devices belong to dom0 rather than to one backend instance: the
 * backend opens them by physical device, and a restarted backend finds
 * every write that came before. Loop minors are given in creation order.
 * A domain that goes down has its disks, vifs and console 0 destroyed
 * (libxl__devices_destroy).
 *
 * This is xl creating domains; what xl later does to a running one
 * (shutdown, sysrq, pause, destroy, device attach/detach: the scenario's
 * `actions`) is sim/toolstack-actions.ts, through the same dom0 xenstore
 * connection, using attachDisk/attachVif/findDevice/removeDevice here for
 * the devices. A snapshot lists xl create's devices first, then attached
 * ones with what re-creates them (a block-attach's image: setAttachable).
 */
import type { BackendDriver, Dom0Env } from '../backend.js';
import { DiskStore } from '../blkback/disk.js';
import type { VSwitch } from '../netback/switch.js';
import { dom0BlockDevice, vdevNumber } from '../vdev.js';
import { XenbusStateInitWait } from '../../xen/public/io/xenbus.js';
import { blockHotplugAdd, diskAdd, diskDestroy, LOOP_MAJOR, vbdPaths, type DiskSpec } from './disks.js';
import { buildPost, consoleAdd, consoleDestroy, domainMake, storeLibxlEntry, type XlDomain } from './domain.js';
import { nicAdd, nicDestroy, vifHotplugAdd, vifPaths, type VifSpec } from './vifs.js';

export { LOOP_MAJOR, type DiskSpec } from './disks.js';
export { type VifSpec } from './vifs.js';
export { xlCreateDomain, type XlDomain } from './domain.js';

/** `attach`: which of its domain's block-attach images this is (absent: xl create's). */
type Disk = { fe: number; devid: number; vdev: string; target: string; readonly: boolean; minor: number; store: DiskStore | null; hotplugged: boolean; gone: boolean; attach?: number };
type DiskState = { hotplugged: boolean; gone: boolean; overlay: Map<number, Uint8Array>; attach?: { fe: number; n: number } };
/** `attached`: added by `xl network-attach` (an action), not at create. */
type Vif = { fe: number; spec: VifSpec; hotplugged: boolean; gone: boolean; attached?: boolean };
/** An xl create under way: the domain, its vifs (added once console 0 is), whether console 0 is there. */
type Creating = { d: XlDomain; vifs: VifSpec[]; console: boolean };
/** A vif attached by an action carries its frontend and spec (a restore to before it drops it). */
/**
 * `made`: an xl create vif's frontend and spec (with a guest dom0 a domain's vifs are added while the
 * guests run, once its disks' backends came, so a fresh machine cannot know them; absent in older snapshots).
 */
type VifState = { hotplugged: boolean; gone: boolean; attached?: { fe: number; spec: VifSpec }; made?: { fe: number; spec: VifSpec } };
type ToolstackState = { disks: DiskState[]; vifs: VifState[]; creating: Creating[] };

export class Toolstack implements BackendDriver {
  readonly name = 'toolstack';
  private readonly disks: Disk[] = [];
  /** xl create under way: domains waiting for their disks' hotplug before console 0 (step 3) */
  private readonly creating = new Map<number, Creating>();
  private readonly vifs: Vif[] = [];
  /** the images of each domain's block-attach actions, in action order (opened at build) */
  private readonly attachable = new Map<number, DiskSpec[]>();

  /**
   * Called when an xl create that could not finish before the guests ran
   * (its backends are a guest dom0's kernel) has every device connected:
   * libxl unpauses the domain it built paused.
   */
  onCreated: ((dom: number) => void) | null = null;

  /** `sw`: the switch vif-bridge plugs vifs into (none: every vif's hotplug fails). */
  constructor(private readonly env: Dom0Env, private readonly sw: Pick<VSwitch, 'plug' | 'unplug'> = { plug: () => false, unplug: () => {} }) {}

  /** xl create of domain `d` (built, not yet running) with its disks and vifs: steps 1 and 2, then 3 and 4 as the disks are ready. */
  createDomain(d: XlDomain, disks: DiskSpec[], vifs: VifSpec[] = []): void {
    domainMake(this.env.xs, d);
    buildPost(this.env.xs, d);
    storeLibxlEntry(this.env.xs, d);
    this.creating.set(d.id, { d, vifs, console: false });
    for (const disk of disks) this.addDisk(d.id, disk);
    this.launch(d.id);
  }

  /** The domains whose xl create waits for their backends (a guest dom0's kernel, which has not run yet). */
  waiting(): number[] {
    return [...this.creating.keys()];
  }

  /**
   * Every xl create finished; otherwise one line naming a device whose
   * backend never came (libxl would time out) or whose hotplug failed.
   * `guestDom0`: the backends are a guest dom0's kernel, which has not run
   * yet: the domains wait paused (Machine.createdLate), nothing to check.
   */
  checkCreated(guestDom0 = false): void {
    if (guestDom0) return;
    for (const id of this.creating.keys()) {
      const d = this.disks.find((x) => x.fe === id && !x.hotplugged);
      const v = this.vifs.find((x) => x.fe === id && !x.hotplugged);
      const failed = v === undefined ? null : this.env.xs.read(`${vifPaths(id, v.spec.devid).be}/hotplug-error`);
      throw new RangeError(`domain ${id}: ${d !== undefined ? `disk ${d.vdev}: its backend never reached InitWait` : v !== undefined ? `vif ${v.spec.devid}: ${failed ?? 'its backend never reached InitWait'}` : 'xl create did not finish'}`);
    }
  }

  /** The disk behind loop device 7:minor, if any. */
  loopDevice(major: number, minor: number): { store: DiskStore; readonly: boolean } | null {
    const d = major === LOOP_MAJOR ? this.disks[minor] : undefined;
    return d === undefined || d.gone || d.store === null ? null : { store: d.store, readonly: d.readonly };
  }

  /** The disks of domain `fe`, with their device ids and contents (for tests and benchmarks). */
  disksOf(fe: number): Array<{ vdev: string; devid: number; store: DiskStore }> {
    return this.disks.flatMap((d) => (d.fe === fe && d.store !== null ? [{ vdev: d.vdev, devid: d.devid, store: d.store }] : []));
  }

  /** The images domain `fe`'s block-attach actions will attach (before it runs). */
  setAttachable(fe: number, specs: DiskSpec[]): void {
    if (specs.length > 0) this.attachable.set(fe, specs);
  }

  /** `xl block-attach`: the `n`-th attachable image of domain `fe`, added as at create (addDisk). */
  attachDisk(fe: number, n: number, vdev: string): void {
    const spec = this.attachable.get(fe)?.[n];
    if (spec === undefined || spec.vdev !== vdev) throw new RangeError(`block-attach ${vdev}: domain ${fe} has no image for its block-attach ${n}`);
    this.addDisk(fe, spec, n);
  }

  /** device_disk_add: the disk's xenstore directories, and a watch for the backend reaching InitWait. */
  addDisk(fe: number, spec: DiskSpec, attach?: number): void {
    const devid = vdevNumber(spec.vdev);
    if (devid < 0) throw new RangeError(`disk ${spec.vdev}: not a virtual disk name xl accepts`);
    if (this.disks.some((d) => d.fe === fe && d.devid === devid && !d.gone)) throw new RangeError(`disk ${spec.vdev}: domain ${fe} has a disk with device id ${devid} already`);
    const disk: Disk = { fe, devid, vdev: spec.vdev, target: spec.target, readonly: spec.mode === 'r', minor: this.disks.length, store: spec.medium === null ? null : new DiskStore(spec.medium), hotplugged: false, gone: false, ...(attach !== undefined ? { attach } : {}) };
    this.disks.push(disk);
    diskAdd(this.env.xs, fe, devid, spec);
    this.env.xs.watch(this, `${vbdPaths(fe, devid).be}/state`, `hotplug:${fe}/${devid}`);
  }

  watch(path: string, token: string): void {
    if (token.startsWith('vif:')) return this.vifWatch(path, token);
    const d = this.byToken(token);
    if (d === undefined || d.hotplugged || d.gone) return;
    if (this.env.xs.read(path) !== `${XenbusStateInitWait}`) return;
    d.hotplugged = true;
    this.env.xs.unwatch(this, path, token);
    const dev = dom0BlockDevice(d.target);
    blockHotplugAdd(this.env.xs, vbdPaths(d.fe, d.devid).be, d.store === null && dev !== null ? { path: d.target, ...dev, attached: false } : { path: `/dev/loop${d.minor}`, major: LOOP_MAJOR, minor: d.minor, attached: true });
    this.launch(d.fe);
  }

  /** Steps 3 and 4 of xl create for domain `dom`, once none of its disks waits for hotplug; done once no vif waits. */
  private launch(dom: number): void {
    const c = this.creating.get(dom);
    if (c === undefined || this.disks.some((x) => x.fe === dom && !x.hotplugged && !x.gone)) return;
    if (!c.console) {
      c.console = true;
      consoleAdd(this.env.xs, c.d);
      for (const spec of c.vifs) {
        this.vifs.push({ fe: dom, spec, hotplugged: false, gone: false });
        nicAdd(this.env.xs, dom, spec);
        this.env.xs.watch(this, `${vifPaths(dom, spec.devid).be}/state`, `vif:${dom}/${spec.devid}`);
      }
    }
    if (this.vifs.some((x) => x.fe === dom && !x.hotplugged && !x.gone)) return;
    this.creating.delete(dom);
    this.onCreated?.(dom);
  }

  /** A vif's backend state changed: at InitWait, the vif-bridge hotplug script. */
  private vifWatch(path: string, token: string): void {
    const m = /^vif:(\d+)\/(\d+)$/.exec(token);
    const v = m === null ? undefined : this.vifs.find((x) => x.fe === Number(m[1]) && x.spec.devid === Number(m[2]) && !x.gone);
    if (v === undefined || v.hotplugged || v.gone || this.env.xs.read(path) !== `${XenbusStateInitWait}`) return;
    this.env.xs.unwatch(this, path, token);
    if (!vifHotplugAdd(this.env.xs, v.fe, v.spec, (bridge, port) => this.sw.plug(bridge, port))) return;
    v.hotplugged = true;
    this.launch(v.fe);
  }

  /**
   * `xl network-attach`: libxl__device_nic_add on a running domain, its
   * vif-bridge hotplug once the backend reaches InitWait (vifWatch). The
   * device id is libxl__device_nextid's: one past the highest vif the
   * frontend's device/vif directory lists (0 when none).
   */
  attachVif(fe: number, spec: Omit<VifSpec, 'devid'> & { mac: (devid: number) => string }): VifSpec {
    const listed = (this.env.xs.directory(`/local/domain/${fe}/device/vif`) ?? []).map(Number).filter((n) => Number.isInteger(n));
    const devid = listed.length === 0 ? 0 : Math.max(...listed) + 1;
    const v: VifSpec = { devid, mac: spec.mac(devid), bridge: spec.bridge, ...(spec.ip !== undefined ? { ip: spec.ip } : {}) };
    this.vifs.push({ fe, spec: v, hotplugged: false, gone: false, attached: true });
    nicAdd(this.env.xs, fe, v);
    this.env.xs.watch(this, `${vifPaths(fe, devid).be}/state`, `vif:${fe}/${devid}`);
    return v;
  }

  /** A live device of domain `fe`: a disk by vdev (or device id), a vif by device id or MAC; null when none. */
  findDevice(fe: number, kind: 'vbd' | 'vif', by: { vdev?: string; devid?: number; mac?: string }): { devid: number; be: string; name: string } | null {
    if (kind === 'vbd') {
      const devid = by.vdev !== undefined ? vdevNumber(by.vdev) : by.devid ?? -1;
      const d = this.disks.find((x) => x.fe === fe && !x.gone && x.devid === devid);
      return d === undefined ? null : { devid, be: vbdPaths(fe, devid).be, name: d.vdev };
    }
    const v = this.vifs.find((x) => x.fe === fe && !x.gone && (by.mac !== undefined ? x.spec.mac.toLowerCase() === by.mac.toLowerCase() : x.spec.devid === by.devid));
    return v === undefined ? null : { devid: v.spec.devid, be: vifPaths(fe, v.spec.devid).be, name: `vif${fe}.${v.spec.devid}` };
  }

  /** libxl__device_destroy of one device (after the detach handshake, or forced): the vif leaves its bridge, the directories go. */
  removeDevice(fe: number, kind: 'vbd' | 'vif', devid: number): void {
    if (kind === 'vbd') {
      const d = this.disks.find((x) => x.fe === fe && !x.gone && x.devid === devid);
      if (d === undefined) return;
      if (!d.hotplugged) this.env.xs.unwatch(this, `${vbdPaths(fe, devid).be}/state`, `hotplug:${fe}/${devid}`);
      d.gone = true;
      return diskDestroy(this.env.xs, fe, devid);
    }
    const v = this.vifs.find((x) => x.fe === fe && !x.gone && x.spec.devid === devid);
    if (v === undefined) return;
    if (!v.hotplugged) this.env.xs.unwatch(this, `${vifPaths(fe, devid).be}/state`, `vif:${fe}/${devid}`);
    v.gone = true;
    this.sw.unplug(`vif${fe}.${devid}`);
    nicDestroy(this.env.xs, fe, devid);
  }

  /** The domain is gone: libxl destroys its devices, console 0 last. */
  domainDown(dom: number): void {
    for (const d of this.disks) {
      if (d.fe !== dom || d.gone) continue;
      if (!d.hotplugged) this.env.xs.unwatch(this, `${vbdPaths(d.fe, d.devid).be}/state`, `hotplug:${d.fe}/${d.devid}`);
      d.gone = true;
      diskDestroy(this.env.xs, d.fe, d.devid);
    }
    for (const v of this.vifs) {
      if (v.fe !== dom || v.gone) continue;
      if (!v.hotplugged) this.env.xs.unwatch(this, `${vifPaths(v.fe, v.spec.devid).be}/state`, `vif:${v.fe}/${v.spec.devid}`);
      v.gone = true;
      this.sw.unplug(`vif${v.fe}.${v.spec.devid}`);
      nicDestroy(this.env.xs, v.fe, v.spec.devid);
    }
    consoleDestroy(this.env.xs, dom);
  }

  notify(): void {}

  private byToken(token: string): Disk | undefined {
    const m = /^hotplug:(\d+)\/(\d+)$/.exec(token);
    return m === null ? undefined : this.disks.find((d) => d.fe === Number(m[1]) && d.devid === Number(m[2]) && !d.gone);
  }

  snapshot(): ToolstackState {
    return {
      disks: this.disks.map((d): DiskState => ({ hotplugged: d.hotplugged, gone: d.gone, overlay: d.store?.snapshot() ?? new Map(), ...(d.attach !== undefined ? { attach: { fe: d.fe, n: d.attach } } : {}) })),
      vifs: this.vifs.map((v): VifState => ({ hotplugged: v.hotplugged, gone: v.gone, ...(v.attached === true ? { attached: { fe: v.fe, spec: { ...v.spec } } } : { made: { fe: v.fe, spec: { ...v.spec } } }) })),
      creating: [...this.creating.values()].map((c) => ({ d: { ...c.d }, vifs: c.vifs.map((v) => ({ ...v })), console: c.console })),
    };
  }

  restore(state: unknown): void {
    const s = state as ToolstackState;
    // xl create's disks come first, in the same order on every run; attached ones follow, as the snapshot lists them.
    const createdDisks = this.disks.filter((d) => d.attach === undefined);
    const snapDisks = s.disks.filter((d) => d.attach === undefined).length;
    if (snapDisks !== createdDisks.length) throw new RangeError(`toolstack snapshot has ${snapDisks} disks, this machine ${createdDisks.length}`);
    const reuse = new Map(this.disks.filter((d) => d.attach !== undefined).map((d) => [`${d.fe}/${d.attach}`, d]));
    this.disks.length = 0;
    s.disks.forEach((x, i) => {
      let d = x.attach === undefined ? createdDisks[i]! : reuse.get(`${x.attach.fe}/${x.attach.n}`);
      if (d === undefined) {
        const spec = this.attachable.get(x.attach!.fe)?.[x.attach!.n];
        if (spec === undefined) throw new RangeError(`toolstack snapshot has an attached disk this machine has no image for`);
        d = { fe: x.attach!.fe, devid: vdevNumber(spec.vdev), vdev: spec.vdev, target: spec.target, readonly: spec.mode === 'r', minor: i, store: spec.medium === null ? null : new DiskStore(spec.medium), hotplugged: false, gone: false, attach: x.attach!.n };
      }
      this.disks.push(d);
      d.hotplugged = x.hotplugged;
      d.gone = x.gone;
      d.store?.restore(x.overlay);
    });
    // The vifs xl create made come first, in the same order on every run; attached ones follow, as the snapshot lists them.
    const created = this.vifs.filter((v) => v.attached !== true);
    const snapCreated = s.vifs.filter((v) => v.attached === undefined);
    if (snapCreated.some((v) => v.made === undefined) && snapCreated.length !== created.length) throw new RangeError(`toolstack snapshot has ${snapCreated.length} vifs, this machine ${created.length}`);
    this.vifs.length = 0;
    s.vifs.forEach((x, i) => {
      const base = x.attached !== undefined ? { fe: x.attached.fe, spec: { ...x.attached.spec }, attached: true } : x.made !== undefined ? { fe: x.made.fe, spec: { ...x.made.spec } } : created[i]!;
      this.vifs.push({ ...base, hotplugged: x.hotplugged, gone: x.gone });
    });
    this.creating.clear();
    for (const c of s.creating) this.creating.set(c.d.id, { d: { ...c.d }, vifs: c.vifs.map((v) => ({ ...v })), console: c.console });
  }
}
