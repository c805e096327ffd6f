/**
 * netback as a dom0 driver ("vif"): the xenbus backend core's device
 * discovery for network devices (a watch on /local/domain/0/backend/vif;
 * a device directory that exists, is not a device yet, has frontend-id and
 * frontend, and is in state Initialising is probed; one whose directory
 * vanished is removed), the devices it found (xenbus.ts), and the virtual
 * switch their ports are on (switch.ts), whose state it snapshots with its
 * own.
 *
 * Chaos (../chaos.ts), when the machine has it: the queues inject their
 * faults (queue.ts); rx frames it delays are held until their time, which
 * is the driver's deadline. Its state (the PRNG's, beside the held frames
 * in the queues' state) is in the snapshot only when chaos is on.
 */
import { XenbusStateInitialising } from '../../xen/public/io/xenbus.js';
import type { BackendDriver, Dom0Env } from '../backend.js';
import type { Chaos } from '../chaos.js';
import type { NetQueueState } from './queue.js';
import type { SwitchState, VSwitch } from './switch.js';
import { VifDevice, type VifState } from './xenbus.js';
import { devChanged } from '../xenbus-switch.js';

const ROOT = '/local/domain/0/backend/vif';

/** A vif's counters (tests, benchmarks): per queue, tx and rx. */
export type VifInfo = { name: string; port: string; state: number; mac: string; queues: Array<Pick<NetQueueState, 'tx' | 'rx' | 'halted'>> };

export class Netback implements BackendDriver {
  readonly name = 'vif';
  private readonly devices = new Map<string, VifDevice>();

  constructor(private readonly env: Dom0Env, readonly sw: VSwitch, private readonly chaos: Chaos | null = null) {}

  start(): void {
    this.env.xs.watch(this, ROOT, 'backend');
  }

  get list(): VifInfo[] {
    return [...this.devices.values()].map((d) => ({ name: d.name, port: d.port, state: d.s.state, mac: d.s.mac, queues: d.s.queues.map((q) => ({ tx: q.tx, rx: q.rx, halted: q.halted })) }));
  }

  watch(path: string, token: string): void {
    if (token === 'backend') return this.changed(path);
    const m = /^(fe|hp|mc):(\d+\/\d+)$/.exec(token);
    const dev = m === null ? undefined : this.devices.get(m[2]!);
    if (dev === undefined) return;
    if (m![1] === 'hp') return dev.hotplugChanged();
    if (m![1] === 'mc') return dev.mcastControlChanged();
    dev.frontendChanged();
    if (dev.gone) this.unregister(dev);
  }

  notify(port: number): void {
    for (const d of this.devices.values()) if (d.notify(port)) return;
  }

  /** The earliest chaos-delayed rx frame's time, or -1 for none. */
  deadline(): number {
    let t = -1;
    for (const d of this.devices.values()) {
      const x = d.deadline();
      if (x >= 0 && (t < 0 || x < t)) t = x;
    }
    return t;
  }

  /** Chaos-delayed rx frames due by `now` reach their rings (devices in probe order). */
  timer(now: number): void {
    for (const d of this.devices.values()) d.release(now);
  }

  /** xenbus_dev_changed for a path under the vif backend directory. */
  private changed(path: string): void {
    const xs = this.env.xs;
    const c = devChanged(xs, ROOT, path, this.devices);
    if (c === null) return;
    if ('gone' in c) return this.unregister(c.gone);
    const { fe, devid, be } = c.probe;
    const feId = xs.read(`${be}/frontend-id`);
    const otherend = xs.read(`${be}/frontend`);
    if (feId === null || otherend === null || Number(feId) !== fe) return;
    const s: VifState = {
      fe, devid, otherend, state: XenbusStateInitialising, written: XenbusStateInitialising, handle: devid, hotplugWatch: false,
      mcastWatch: false, mac: '', canSg: false, gsoMask: 0, multicastControl: false, mcast: [], queues: [],
    };
    const d = new VifDevice(this.env, this, this.sw, s, this.chaos);
    this.devices.set(d.name, d);
    if (!d.probe()) this.unregister(d);
  }

  private unregister(dev: VifDevice): void {
    this.devices.delete(dev.name);
    dev.remove();
  }

  snapshot(): { devices: VifState[]; sw: SwitchState; chaos?: { prng: number } } {
    const c = this.chaos;
    return { devices: [...this.devices.values()].map((d) => d.s), sw: this.sw.snapshot(), ...(c === null ? {} : { chaos: { prng: c.state } }) };
  }

  restore(state: unknown): void {
    const st = state as { devices: VifState[]; sw: SwitchState; chaos?: { prng: number } };
    if (this.chaos !== null) {
      if (st.chaos === undefined) throw new RangeError('netback snapshot has no chaos state, this machine injects faults');
      this.chaos.state = st.chaos.prng;
    }
    this.sw.restore(st.sw);
    this.devices.clear();
    for (const s of st.devices) {
      const d = new VifDevice(this.env, this, this.sw, s, this.chaos);
      this.devices.set(d.name, d);
    }
  }
}
