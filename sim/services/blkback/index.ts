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
 *
 * Chaos (../chaos.ts), when the machine has it: the rings inject their
 * faults (ring.ts); a frontend's kick may also (kind "restart") schedule a
 * restart: unload 100 µs later, load 1 ms after that, at dom0's timer
 * points (`deadline`/`timer`), where held-back responses are pushed too.
 */
import { XenbusStateClosed, XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import type { BackendDriver, Dom0Env } from '../backend.js';
import type { Chaos } from '../chaos.js';
import { VbdDevice, type DiskLookup, type VbdState } from './xenbus.js';
import { devChanged } from '../xenbus-switch.js';

const ROOT = '/local/domain/0/backend/vbd';
/** A chaos restart: from the kick that decided it to the unload, and from the unload to the load (ns). */
const RESTART_AFTER = 100_000;
const RESTART_DOWN = 1_000_000;

/** Chaos's part of the driver's state (snapshots; absent without chaos). */
type ChaosState = { prng: number; unloadAt: number; loadAt: number };

export class Blkback implements BackendDriver {
  readonly name = 'vbd';
  private readonly devices = new Map<string, VbdDevice>();
  private loaded = true;
  /** a chaos restart's pending steps (virtual ns; -1: none) */
  private restart = { unloadAt: -1, loadAt: -1 };

  constructor(private readonly env: Dom0Env, private readonly disks: DiskLookup, private readonly chaos: Chaos | null = null) {}

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
    for (const d of this.devices.values()) if (d.notify(port)) break;
    const c = this.chaos;
    if (c === null || this.restart.unloadAt >= 0 || this.restart.loadAt >= 0 || !c.roll('restart')) return;
    this.restart.unloadAt = this.env.now() + RESTART_AFTER;
    c.note(`blkback: restart: the driver unloads in ${RESTART_AFTER} ns and loads again ${RESTART_DOWN} ns later`);
  }

  /** The earliest chaos work due: a held-back response, a restart's unload or load; -1 for none. */
  deadline(): number {
    let t = -1;
    const take = (x: number): void => void (x >= 0 && (t < 0 || x < t) ? (t = x) : 0);
    take(this.restart.unloadAt);
    take(this.restart.loadAt);
    for (const d of this.devices.values()) take(d.deadline());
    return t;
  }

  /** Chaos work due by `now`: held-back responses, then a restart's step. */
  timer(now: number): void {
    for (const d of this.devices.values()) d.release(now);
    const r = this.restart;
    if (r.unloadAt >= 0 && r.unloadAt <= now) {
      r.unloadAt = -1;
      r.loadAt = now + RESTART_DOWN;
      this.chaos?.note('blkback: restart: unload (every device Closed, its rings and grants let go)');
      this.unload();
    } else if (r.loadAt >= 0 && r.loadAt <= now) {
      r.loadAt = -1;
      this.chaos?.note('blkback: restart: load (every vbd back to Initialising, probed again)');
      this.load();
    }
  }

  /** xenbus_dev_changed for a path under the vbd backend directory. */
  private changed(path: string): void {
    const c = devChanged(this.env.xs, ROOT, path, this.devices);
    if (c === null) return;
    if ('gone' in c) return this.unregister(c.gone);
    this.probe(c.probe.fe, c.probe.devid);
  }

  private probe(fe: number, devid: number): void {
    const be = `${ROOT}/${fe}/${devid}`;
    const xs = this.env.xs;
    const feId = xs.read(`${be}/frontend-id`);
    const otherend = xs.read(`${be}/frontend`);
    if (feId === null || otherend === null || Number(feId) !== fe) return;
    const s: VbdState = { fe, devid, otherend, state: XenbusStateInitialising, major: 0, minor: 0, mode: '', readonly: true, persistent: false, rings: [] };
    const dev = new VbdDevice(this.env, this, this.disks, s, this.chaos);
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

  snapshot(): { loaded: boolean; devices: VbdState[]; chaos?: ChaosState } {
    const c = this.chaos;
    return { loaded: this.loaded, devices: [...this.devices.values()].map((d) => d.s), ...(c === null ? {} : { chaos: { prng: c.state, ...this.restart } }) };
  }

  restore(state: unknown): void {
    const st = state as { loaded: boolean; devices: VbdState[]; chaos?: ChaosState };
    this.loaded = st.loaded;
    if (this.chaos !== null) {
      if (st.chaos === undefined) throw new RangeError('blkback snapshot has no chaos state, this machine injects faults');
      this.chaos.state = st.chaos.prng;
      this.restart = { unloadAt: st.chaos.unloadAt, loadAt: st.chaos.loadAt };
    }
    this.devices.clear();
    for (const s of st.devices) {
      const dev = new VbdDevice(this.env, this, this.disks, s, this.chaos);
      this.devices.set(dev.name, dev);
    }
  }
}
