/**
 * blkback as a dom0 driver ("vbd"): the xenbus backend core's device
 * discovery for block devices, and the devices it found.
 *
 * Discovery (xenbus_probe_backend): a watch on /local/domain/0/backend/vbd.
 * For every change below it, the device directory F/D the path lies in is
 * looked at: a directory that exists, is not a device yet, has a
 * frontend-id and a frontend, and whose state is Initialising, is probed
 * (xenbus.ts); a device whose directory vanished is removed (its rings let
 * go of their grants and channels).
 *
 * A backend restart, in two steps (for tests; a driver domain rebooting,
 * or blkback unloaded and loaded again): `unload` removes every device as
 * xenbus does when its driver goes (state Closed, rings and grants let go)
 * and leaves new ones alone; `load` has the toolstack set every vbd
 * directory back to Initialising, so each is probed again and finds the
 * same disk (the toolstack's loop device, with every write so far).
 */
import { XenbusStateClosed, XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import type { BackendDriver, Dom0Env } from '../backend.js';
import { VbdDevice, type DiskLookup, type VbdState } from './xenbus.js';

const ROOT = '/local/domain/0/backend/vbd';

export class Blkback implements BackendDriver {
  readonly name = 'vbd';
  private readonly devices = new Map<string, VbdDevice>();
  private loaded = true;

  constructor(private readonly env: Dom0Env, private readonly disks: DiskLookup) {}

  /** The driver registers with the xenbus backend core: watch for devices. */
  start(): void {
    this.env.xs.watch(this, ROOT, 'backend');
  }

  /** The devices, for tests and benchmarks: name (F/D), state and per-ring counters. */
  get list(): ReadonlyArray<VbdState> {
    return [...this.devices.values()].map((d) => d.s);
  }

  watch(path: string, token: string): void {
    if (!this.loaded) return;
    if (token === 'backend') return this.changed(path);
    const m = /^(pd|fe):(\d+\/\d+)$/.exec(token);
    const dev = m === null ? undefined : this.devices.get(m[2]!);
    if (dev === undefined) return;
    if (m![1] === 'pd') dev.physicalDeviceChanged();
    else {
      dev.frontendChanged();
      if (dev.gone) this.unregister(dev);
    }
  }

  notify(port: number): void {
    for (const d of this.devices.values()) if (d.notify(port)) return;
  }

  /** xenbus_dev_changed for a path under the vbd backend directory. */
  private changed(path: string): void {
    const m = /^\/local\/domain\/0\/backend\/vbd\/(\d+)\/(\d+)(\/|$)/.exec(path);
    if (m === null) return;
    const name = `${m[1]}/${m[2]}`;
    const be = `${ROOT}/${name}`;
    const xs = this.env.xs;
    const exists = xs.directory(be) !== null;
    const dev = this.devices.get(name);
    if (!exists && dev !== undefined) return this.unregister(dev);
    if (!exists || dev !== undefined || xs.read(`${be}/state`) !== `${XenbusStateInitialising}`) return;
    this.probe(Number(m[1]), Number(m[2]));
  }

  private probe(fe: number, devid: number): void {
    const be = `${ROOT}/${fe}/${devid}`;
    const xs = this.env.xs;
    const feId = xs.read(`${be}/frontend-id`);
    const otherend = xs.read(`${be}/frontend`);
    if (feId === null || otherend === null || Number(feId) !== fe) return;
    const s: VbdState = { fe, devid, otherend, state: XenbusStateInitialising, major: 0, minor: 0, mode: '', readonly: true, persistent: false, rings: [] };
    const dev = new VbdDevice(this.env, this, this.disks, s);
    this.devices.set(dev.name, dev);
    dev.probe();
  }

  private unregister(dev: VbdDevice): void {
    this.devices.delete(dev.name);
    dev.remove();
  }

  /** The driver goes (see the file comment). */
  unload(): void {
    for (const dev of [...this.devices.values()]) {
      this.unregister(dev);
      this.env.xs.write(`${dev.be}/state`, `${XenbusStateClosed}`);
    }
    this.loaded = false;
  }

  /** The driver is back, and the toolstack re-creates its devices (see the file comment). */
  load(): void {
    this.loaded = true;
    const xs = this.env.xs;
    for (const fe of xs.directory(ROOT) ?? []) for (const devid of xs.directory(`${ROOT}/${fe}`) ?? []) xs.write(`${ROOT}/${fe}/${devid}/state`, `${XenbusStateInitialising}`);
  }

  snapshot(): { loaded: boolean; devices: VbdState[] } {
    return { loaded: this.loaded, devices: [...this.devices.values()].map((d) => d.s) };
  }

  restore(state: unknown): void {
    const st = state as { loaded: boolean; devices: VbdState[] };
    this.loaded = st.loaded;
    this.devices.clear();
    for (const s of st.devices) {
      const dev = new VbdDevice(this.env, this, this.disks, s);
      this.devices.set(dev.name, dev);
    }
  }
}
