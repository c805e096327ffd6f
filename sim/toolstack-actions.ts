/**
 * Toolstack actions: what `xl` does to a running guest, scheduled by the
 * scenario (or `--action`) at a virtual time, after an event, or when a
 * console shows some text. (xl creating a domain, the xenstore layout
 * these actions write into, is sim/services/toolstack/.) They are outside
 * inputs (design rule 3): each is an INPUT event (source "toolstack") in
 * the trace, and a replay re-applies them from the scenario the trace
 * header holds, at the same clean point (between two scheduler slices), so
 * it stays exact.
 *
 * As libxl does them (tools/libs/light/libxl_domain.c):
 * - shutdown / reboot: libxl__domain_pvcontrol writes "poweroff" / "reboot"
 *   to /local/domain/<id>/control/shutdown; the guest acts on its watch and
 *   acknowledges by writing "" back. libxl waits 60 s for that: without it,
 *   "guest didn't acknowledge control request" (a MILESTONE here) and the
 *   request fails; the guest runs on.
 * - sysrq: writes the key to control/sysrq; no wait.
 * - pause / unpause: xc_domain_pause/unpause (domain_pause_by_systemcontroller:
 *   nesting, at most 255; unpausing an unpaused domain is EINVAL). A paused
 *   domain's vCPUs are not scheduled (their runstate is offline unless
 *   blocked, as Xen's vcpu_sleep makes it); virtual time goes on, its one-shot
 *   timers and poll timeouts still fire, its periodic timer stops (Xen runs
 *   it only while the vCPU is scheduled) and catches up at unpause.
 * - destroy: the domain is killed (domain_kill): its vCPUs stop, its event
 *   channels close (peers' ends become unbound), its grant mappings are
 *   released, xenstored forgets it (@releaseDomain fires).
 * - block-detach / network-detach (libxl__initiate_device_generic_remove):
 *   a backend not Connected has its directories removed at once; otherwise
 *   the toolstack writes online=0 and state=Closing in one transaction and
 *   waits for the backend to reach Closed (the frontend closes, the backend
 *   follows and, offline, lets go of the device), then removes the
 *   directories (libxl__device_destroy). Without Closed in
 *   LIBXL_DESTROY_TIMEOUT (10 s), libxl forces the removal (a MILESTONE
 *   says so): the backend finds its directory gone and lets go anyway.
 * - network-attach: libxl__device_nic_add on the running domain (the next
 *   free device id, the MAC xl would pick made deterministic), the
 *   vif-bridge hotplug at the backend's InitWait (sim/services/toolstack).
 * - block-attach: libxl's device_disk_add on the running domain (the image
 *   opened as the run started, named in the trace header after the
 *   domain's own disks), the block hotplug script at the backend's InitWait.
 *   A vdev the domain has already is EEXIST.
 * A time is exact: slices end at it, and an idle machine jumps to it.
 * "After event N" and "console shows" are judged at the first clean point
 * after the event was emitted or the text drained from the console ring.
 */
import type { ActionKind } from './scenario.js';
import type { Dom0Xs } from './services/backend.js';
import type { Domain } from './xen/domain.js';
import type { Xen } from './xen/xen.js';
import { XenbusStateClosed, XenbusStateClosing, XenbusStateConnected } from './xen/public/io/xenbus.js';

function copy(st: ToolstackState): ToolstackState {
  return { done: [...st.done], scanned: [...st.scanned], acks: st.acks.map((a) => ({ ...a })), ...(st.detaches !== undefined ? { detaches: st.detaches.map((w) => ({ ...w })) } : {}) };
}

export type ActionWhen = { time: number } | { event: number } | { console: string; dom: number };
/** An action with its domain resolved to an id. */
export type MachineAction = {
  when: ActionWhen; do: ActionKind; dom: number; key?: string;
  /** block-attach's disk (its image: the domain's DomainSpec.attachDisks, in action order) */
  disk?: { vdev: string; target: string; mode: 'r' | 'w' | 'w!' };
  /** block-detach's disk */
  vdev?: string;
  /** network-attach's vif (no device id: the toolstack picks it) */
  vif?: { mac?: string; bridge: string; ip?: string };
  /** network-detach's vif, by device id or MAC */
  devid?: number; mac?: string;
};

/** libxl's wait for the guest to acknowledge control/shutdown (pvcontrol->timeout_ms). */
export const PVCONTROL_TIMEOUT_NS = 60_000_000_000;
/** LIBXL_DESTROY_TIMEOUT: libxl's wait for a detached device's backend to reach Closed. */
export const DESTROY_TIMEOUT_NS = 10_000_000_000;
/** domain_pause_by_systemcontroller's limit. */
const MAX_PAUSE = 255;

export type ToolstackState = {
  done: boolean[];
  /** console bytes of the watched domain already searched, per action */
  scanned: number[];
  /** shutdown requests waiting for the guest's acknowledgement */
  acks: Array<{ dom: number; request: string; deadline: number }>;
  /** detaches waiting for the backend to reach Closed (absent when none: snapshots keep their old shape) */
  detaches?: Detach[];
};

/** A device detach under way: which device, its name for messages, when libxl gives up waiting. */
type Detach = { dom: number; kind: 'vbd' | 'vif'; devid: number; name: string; deadline: number };

/** What the actions need of the toolstack's device code (sim/services/toolstack). */
export type ToolstackDevices = {
  /** the `n`-th block-attach of domain `fe` (its image given at build) */
  attachDisk(fe: number, n: number, vdev: string): void;
  attachVif(fe: number, spec: { bridge: string; ip?: string; mac: (devid: number) => string }): { devid: number; mac: string; bridge: string };
  findDevice(fe: number, kind: 'vbd' | 'vif', by: { vdev?: string; devid?: number; mac?: string }): { devid: number; be: string; name: string } | null;
  removeDevice(fe: number, kind: 'vbd' | 'vif', devid: number): void;
};

export type ToolstackHost = {
  xen: Xen;
  /**
   * dom0's xenstore connection: xl's requests (traced as dom0's, and
   * followed by the store pump, so watch events reach the guests). The
   * acknowledgement is looked for with `xs.peek` between slices, as the
   * result of libxl's watch would be, without traffic of its own.
   */
  xs: Dom0Xs & { peek(path: string): string | null };
  destroy: (d: Domain) => void;
  unpaused: (d: Domain) => void;
  devices: ToolstackDevices;
  /** the MAC xl would give vif `devid` of domain `name` (scenario.ts's, made deterministic) */
  defaultMac: (name: string, devid: number) => string;
};

export class ToolstackActions {
  private s: ToolstackState;

  constructor(private readonly actions: readonly MachineAction[], private readonly host: ToolstackHost) {
    this.s = this.initial;
  }

  /** The state before any action: none done, nothing scanned or awaited. */
  get initial(): ToolstackState {
    return { done: this.actions.map(() => false), scanned: this.actions.map(() => 0), acks: [] };
  }

  get state(): ToolstackState {
    return copy(this.s);
  }
  set state(st: ToolstackState) {
    this.s = copy(st);
  }

  /** The earliest time something is due (a timed action, an acknowledgement timeout), or -1. */
  nextDeadline(): number {
    let t = -1;
    const take = (x: number): void => void (t < 0 || x < t ? (t = x) : 0);
    this.actions.forEach((a, i) => {
      if (!this.s.done[i] && 'time' in a.when) take(a.when.time);
    });
    for (const a of this.s.acks) if (this.host.xen.domain(a.dom)?.alive) take(a.deadline);
    for (const w of this.s.detaches ?? []) take(w.deadline);
    return t;
  }

  /** At a clean point: apply every action now due, in scenario order, and settle acknowledgement waits. */
  step(): void {
    const xen = this.host.xen;
    this.actions.forEach((a, i) => {
      if (this.s.done[i] || !this.due(a, i)) return;
      this.s.done[i] = true;
      this.apply(a);
    });
    if (this.s.detaches !== undefined) this.settleDetaches();
    if (this.s.acks.length === 0) return;
    this.s.acks = this.s.acks.filter((w) => {
      const d = xen.domain(w.dom);
      const v = this.host.xs.peek(`/local/domain/${w.dom}/control/shutdown`);
      if (d === undefined || !d.alive || v === null || v === '') return false;
      if (xen.clock < w.deadline) return true;
      xen.emit(null, w.dom, { kind: 'milestone', text: `xl: guest didn't acknowledge control request "${w.request}" in ${PVCONTROL_TIMEOUT_NS / 1e9} s (ERROR_TIMEDOUT); the domain runs on` });
      return false;
    });
  }

  /** Detaches whose backend reached Closed (or is gone), or whose wait timed out: the directories go. */
  private settleDetaches(): void {
    const { xen, xs, devices } = this.host;
    const left = (this.s.detaches ?? []).filter((w) => {
      const dev = devices.findDevice(w.dom, w.kind, { devid: w.devid });
      if (dev === null) return false;
      const closed = xs.peek(`${dev.be}/state`) === `${XenbusStateClosed}`;
      if (!closed && xen.clock < w.deadline) return true;
      if (!closed) xen.emit(null, w.dom, { kind: 'milestone', text: `xl: ${w.name}: backend did not reach Closed in ${DESTROY_TIMEOUT_NS / 1e9} s (ERROR_TIMEDOUT); forcing removal` });
      devices.removeDevice(w.dom, w.kind, w.devid);
      return false;
    });
    if (left.length === 0) delete this.s.detaches;
    else this.s.detaches = left;
  }

  /** xl block-detach / network-detach (see the file comment). */
  private detach(a: MachineAction, d: Domain): void {
    const { xen, xs, devices } = this.host;
    const input = (text: string): void => xen.emit(null, d.id, { kind: 'input', source: 'toolstack', text });
    const kind = a.do === 'block-detach' ? 'vbd' : 'vif';
    const what = a.vdev ?? (a.mac !== undefined ? `mac ${a.mac}` : `devid ${a.devid}`);
    const dev = devices.findDevice(d.id, kind, a.vdev !== undefined ? { vdev: a.vdev } : a.mac !== undefined ? { mac: a.mac } : { devid: a.devid! });
    if (dev === null) return input(`${a.do}: ${what}: no such device (ENODEV)`);
    if (xs.peek(`${dev.be}/state`) !== `${XenbusStateConnected}`) {
      input(`${a.do}: ${dev.name}: backend not connected, removed`);
      return devices.removeDevice(d.id, kind, dev.devid);
    }
    input(`${a.do}: ${dev.name}: backend online=0 state=Closing`);
    const t = xs.transactionStart();
    xs.write(`${dev.be}/online`, '0', t);
    xs.write(`${dev.be}/state`, `${XenbusStateClosing}`, t);
    xs.transactionEnd(t, true);
    const rest = (this.s.detaches ?? []).filter((w) => !(w.dom === d.id && w.kind === kind && w.devid === dev.devid));
    this.s.detaches = [...rest, { dom: d.id, kind, devid: dev.devid, name: dev.name, deadline: xen.clock + DESTROY_TIMEOUT_NS }];
  }

  private due(a: MachineAction, i: number): boolean {
    const w = a.when;
    if ('time' in w) return this.host.xen.clock >= w.time;
    if ('event' in w) return this.host.xen.nextSeq > w.event;
    const bytes = this.host.xen.domain(w.dom)?.console ?? [];
    const from = Math.max(0, this.s.scanned[i]! - w.console.length + 1);
    if (bytes.length <= this.s.scanned[i]!) return false;
    this.s.scanned[i] = bytes.length;
    return Buffer.from(bytes.slice(from)).toString('latin1').includes(w.console);
  }

  private apply(a: MachineAction): void {
    const { xen, xs } = this.host;
    const d = xen.domain(a.dom);
    const input = (text: string): void => xen.emit(null, a.dom, { kind: 'input', source: 'toolstack', text });
    if (d === undefined || d.state === 'destroyed') return input(`${a.do}: no such domain (ESRCH)`);
    const control = `/local/domain/${d.id}/control`;
    switch (a.do) {
      case 'shutdown':
      case 'reboot': {
        const request = a.do === 'shutdown' ? 'poweroff' : 'reboot';
        input(`${a.do}: control/shutdown = ${request}`);
        xs.write(`${control}/shutdown`, request);
        this.s.acks = [...this.s.acks.filter((w) => w.dom !== d.id), { dom: d.id, request, deadline: xen.clock + PVCONTROL_TIMEOUT_NS }];
        return;
      }
      case 'sysrq':
        input(`sysrq: control/sysrq = ${a.key ?? ''}`);
        xs.write(`${control}/sysrq`, a.key ?? '');
        return;
      case 'pause':
        if (d.pauseCount >= MAX_PAUSE) return input('pause: paused 255 times already (EOVERFLOW)');
        d.pauseCount++;
        if (d.pauseCount === 1) xen.pauseChanged(d);
        return input(d.pauseCount === 1 ? 'pause' : `pause (paused ${d.pauseCount} times)`);
      case 'unpause':
        if (d.pauseCount === 0) return input('unpause: not paused (EINVAL)');
        d.pauseCount--;
        input(d.pauseCount === 0 ? 'unpause' : `unpause (still paused ${d.pauseCount} times)`);
        if (d.pauseCount === 0) {
          xen.pauseChanged(d);
          this.host.unpaused(d);
        }
        return;
      case 'destroy':
        input('destroy');
        this.host.destroy(d);
        return;
      case 'block-detach':
      case 'network-detach':
        return this.detach(a, d);
      case 'block-attach': {
        const disk = a.disk!;
        if (this.host.devices.findDevice(d.id, 'vbd', { vdev: disk.vdev }) !== null) return input(`block-attach: ${disk.vdev}: the domain has that device already (EEXIST)`);
        const n = this.actions.filter((x, j) => j < this.actions.indexOf(a) && x.do === 'block-attach' && x.dom === a.dom).length;
        input(`block-attach: ${disk.vdev} target=${disk.target} mode=${disk.mode}`);
        return this.host.devices.attachDisk(d.id, n, disk.vdev);
      }
      case 'network-attach': {
        const spec = a.vif!;
        const v = this.host.devices.attachVif(d.id, { bridge: spec.bridge, ...(spec.ip !== undefined ? { ip: spec.ip } : {}), mac: (devid) => spec.mac ?? this.host.defaultMac(d.name, devid) });
        return input(`network-attach: vif${d.id}.${v.devid} mac=${v.mac} bridge=${v.bridge}`);
      }
    }
  }
}
