/**
 * The machine: the simulated Xen with its domains, the dom0 services
 * (xenstored, console backend), virtual time and the single-threaded
 * deterministic scheduler.
 *
 * Scheduling: vCPUs in a fixed order (domain id, then vCPU id), round-robin,
 * a fixed instruction quantum, a slice also ending at the next timer
 * deadline so timers fire at exact virtual times. A vCPU blocked in
 * SCHEDOP_block/poll is skipped; when every vCPU is idle time jumps to the
 * earliest deadline (tickless idle); with none, the run stops as deadlocked.
 * Nothing here depends on anything but the simulation.
 */
import { Vector } from './cpu/fault.js';
import { ExitKind } from './cpu/fault.js';
import type { EventPos, EventSink, SimEvent } from './events.js';
import { ConsoleBackend } from './services/console.js';
import { XenStore } from './services/xenstored.js';
import { XsRingServer } from './services/xs-ring.js';
import { injectException, maybeUpcall } from './xen/bounce.js';
import { buildPvDomain, type BuildSpec } from './xen/builder.js';
import type { Domain } from './xen/domain.js';
import { Frames, withXenFrames } from './xen/frames.js';
import { VcpuState, type Vcpu } from './xen/vcpu.js';
import { readEntry } from './xen/hypercall/gnttab-entry.js';
import { grantReport } from './xen/hypercall/gnttab-report.js';
import { releaseMappings } from './xen/hypercall/gnttab-map.js';
import { RingTracker } from './xen/rings.js';
import { Toolstack, type MachineAction, type ToolstackState } from './toolstack.js';
import { Xen } from './xen/xen.js';

export const VIRQ_TIMER = 0;
/** A xenbus device's `state` key, frontend or backend (data/ is where our corpus drivers keep theirs). */
export const XENBUS_STATE = /^\/local\/domain\/\d+\/(?:device|backend|data)\/.+\/state$/;
/** Forced-emulation prefix followed by cpuid: ud2; .ascii "xen"; cpuid */
const FEP_CPUID = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2];

export type DomainSpec = BuildSpec & { image: Uint8Array };
export type MachineOptions = {
  /** instructions per slice */
  quantum?: number;
  /** boot wallclock, seconds since the epoch */
  wallclock?: number;
  /** toolstack actions (sim/toolstack.ts) */
  actions?: readonly MachineAction[];
};

/** 'paused': the `between` callback of `run` asked to stop. */
export type StopReason = 'all-stopped' | 'budget' | 'deadlock' | 'paused';

/** The scheduler's own state, for snapshots (sim/snapshot.ts). */
/** Scheduler and observer state for snapshots (ring tracking included). */
export type SchedState = { next: number; hypercalls: [string, number][]; events: number; rings: ReturnType<RingTracker['snapshot']>; toolstack: ToolstackState };

export type RunSummary = {
  stop: StopReason;
  instructions: number;
  time: number;
  domains: Array<{ id: number; name: string; state: string; reason: string; console: string; log: string; instructions: number }>;
  hypercalls: Record<string, number>;
  events: number;
};

/** A known I/O ring: kind, front (`dom`) and back domain, ring grant ref (0: none) and port, producer indices seen. */
export type RingState = { kind: string; dom: number; backDom: number; gref: number; port: number; reqProd: number; rspProd: number };

export class Machine {
  readonly xen: Xen;
  readonly store = new XenStore();
  private readonly rings = new Map<number, XsRingServer>();
  private readonly consoles = new Map<number, ConsoleBackend>();
  private readonly order: Vcpu[] = [];
  private next = 0;
  readonly quantum: number;
  private readonly hypercalls = new Map<string, number>();
  private readonly tracker: RingTracker;
  private readonly toolstack: Toolstack;
  private eventCount = 0;

  constructor(domains: DomainSpec[], sink: EventSink = () => {}, opts: MachineOptions = {}) {
    this.quantum = opts.quantum ?? 100_000;
    const pages = domains.reduce((n, s) => n + s.memoryMiB * 256, 0);
    // Guest RAM, 1024 frames for Xen plus 64 per domain (shared_info, grant frames...), and the M2P on top.
    const frames = new Frames(withXenFrames(pages + 1024 + 64 * domains.length));
    this.xen = new Xen(frames, (e, pos) => this.observe(e, pos, sink));
    if (opts.wallclock !== undefined) this.xen.bootWallclock = opts.wallclock;
    this.xen.onServiceKick = (d, service) => (service === 'console' ? this.drainConsole(d) : this.serviceStore());
    this.tracker = new RingTracker(
      frames.mem,
      (dom, body) => this.xen.emit(this.xen.running?.domId === dom ? this.xen.running : null, dom, body),
      (dom, gref) => {
        const d = this.xen.domain(dom);
        const e = d === undefined ? null : readEntry(this.xen, d, gref);
        return e === null || e.frame >= frames.frameCount ? -1 : e.frame;
      },
      (path) => this.store.read(path),
    );
    this.xen.onNotify = (d, port, toDom, toPort) => this.tracker.check(d.id, 'notify', port, toDom, toPort);
    this.xen.onSleep = (d, _v, what) => {
      this.tracker.check(d.id, what);
      return this.tracker.sringIndices(d.id);
    };
    this.xen.onStop = (d) => this.reportGrants(d);
    this.toolstack = new Toolstack(opts.actions ?? [], {
      xen: this.xen, store: this.store, serviceStore: () => this.serviceStore(),
      destroy: (d) => {
        this.xen.destroy(d, (x) => releaseMappings(this.xen, x));
        this.store.releaseDomain(d.id);
        this.serviceStore();
      },
      // Its periodic timers stopped while it was not scheduled: they resume (catching up) now.
      unpaused: (d) => {
        for (const v of d.vcpus) if (v.state === VcpuState.RUNNABLE) this.xen.periodicWork(v);
      },
    });
    for (const spec of domains) {
      const d = buildPvDomain(this.xen, spec.image, spec);
      this.xen.domains.set(d.id, d);
      this.order.push(...d.vcpus);
      const mem = frames.mem;
      this.consoles.set(d.id, new ConsoleBackend(mem.frame(d.consoleMfn)!));
      this.store.introduceDomain(d.id, d.name);
      this.rings.set(d.id, new XsRingServer(this.store, d.id, d.privileged, mem.frame(d.storeMfn)!));
      this.tracker.add({ kind: 'console', frontDom: d.id, backDom: 0, port: d.consolePort, gref: 0, mfn: d.consoleMfn });
      this.tracker.add({ kind: 'xenstore', frontDom: d.id, backDom: 0, port: d.storePort, gref: 0, mfn: d.storeMfn });
    }
  }

  private observe(e: SimEvent, pos: EventPos, sink: EventSink): void {
    this.eventCount++;
    if (e.kind === 'hypercall') this.hypercalls.set(e.name, (this.hypercalls.get(e.name) ?? 0) + 1);
    sink(e, pos);
  }

  get domains(): Domain[] {
    return [...this.xen.domains.values()];
  }

  /** The seq the next event will get. */
  get nextSeq(): number {
    return this.xen.nextSeq;
  }

  /** Scheduler state (only meaningful between slices). */
  get schedState(): SchedState {
    return { next: this.next, hypercalls: [...this.hypercalls], events: this.eventCount, rings: this.tracker.snapshot(), toolstack: this.toolstack.state };
  }
  set schedState(s: SchedState) {
    this.tracker.restore(s.rings);
    this.toolstack.state = s.toolstack;
    this.next = s.next;
    this.hypercalls.clear();
    for (const [name, n] of s.hypercalls) this.hypercalls.set(name, n);
    this.eventCount = s.events;
  }

  /** The dom0 service ends of domain `id`: its xenstore ring server and console backend. */
  backends(id: number): { ring: XsRingServer; console: ConsoleBackend } | undefined {
    const ring = this.rings.get(id);
    const console = this.consoles.get(id);
    return ring && console ? { ring, console } : undefined;
  }

  /**
   * Stop as soon as possible, even mid-slice (a debugger looking at one
   * instant). Unlike stopping in `between`, the machine is then not at a
   * clean point: its future would differ from the recorded run, so callers
   * inspect it and throw it away.
   */
  halt(): void {
    this.halted = true;
    this.xen.running?.cpu.requestExit();
  }
  private halted = false;

  /**
   * Halt when vCPU `vcpu` of domain `dom` has retired exactly `icount`
   * instructions. Unlike `halt`, this pauses inside the slice without
   * closing it, so a later `run` resumes that slice and the machine goes on
   * exactly as the recorded run did (single-stepping a vCPU is haltAt(n + 1)
   * then run, over and over). A paused machine is not at a clean point: no
   * snapshot until it has run on.
   */
  haltAt(dom: number, vcpu: number, icount: number): void {
    this.stopAt = { v: this.xen.domain(dom)?.vcpus[vcpu] ?? null, icount };
  }
  private stopAt: { v: Vcpu | null; icount: number } | null = null;
  /** a slice cut short by `stopAt`: its vCPU, domain and remaining budget */
  private paused: { v: Vcpu; d: Domain; left: number } | null = null;

  /** Paused inside a slice (haltAt): the vCPU whose slice it is. */
  get pausedIn(): Vcpu | null {
    return this.paused?.v ?? null;
  }

  /** Producer indices of every known I/O ring (for debuggers). */
  ringState(): RingState[] {
    return this.tracker.rings.map((r) => ({ kind: r.kind, dom: r.frontDom, backDom: r.backDom, gref: r.gref, port: r.port, reqProd: r.reqSeen, rspProd: r.rspSeen }));
  }

  /** Total instructions retired by every vCPU. */
  get instructions(): number {
    return this.order.reduce((n, v) => n + v.cpu.icount, 0);
  }

  /**
   * Run until every domain stopped, `maxInsns` retired in total, or deadlock.
   * `between` is called at every clean point: before each scheduling step
   * (a slice or an idle time jump), outside any slice, so the machine's whole
   * state is in its objects and memory (what snapshotMachine needs) and a
   * later `run` continues exactly as this one would have. Returning true
   * stops the run ('paused'). Calling it changes nothing else.
   */
  run(maxInsns = Number.MAX_SAFE_INTEGER, between?: () => boolean | void): RunSummary {
    const xen = this.xen;
    let stop: StopReason = 'all-stopped';
    this.halted = false;
    for (;;) {
      // A slice paused by haltAt resumes before anything else: that is not a clean point.
      const p = this.paused;
      if (p !== null && !this.halted) {
        this.paused = null;
        this.runSlice(p.v, p.d, p.left);
        continue;
      }
      if (this.halted || (between !== undefined && between() === true)) {
        stop = 'paused';
        break;
      }
      if (!this.domains.some((d) => d.alive)) break;
      const left = maxInsns - this.instructions;
      if (left <= 0) {
        stop = 'budget';
        break;
      }
      this.toolstack.step();
      if (!this.domains.some((d) => d.alive)) break;
      this.fireTimers();
      const v = this.pick();
      if (v === null) {
        const t = this.nextDeadline();
        if (t < 0) {
          stop = 'deadlock';
          break;
        }
        xen.emit(null, -1, { kind: 'sched', what: 'idle', until: t });
        xen.clock = Math.max(xen.clock, t);
        continue;
      }
      this.slice(v, Math.min(left, this.quantum));
    }
    return this.summary(stop);
  }

  /** One scheduling slice of `v`. */
  private slice(v: Vcpu, budget: number): void {
    const xen = this.xen;
    const d = xen.domain(v.domId)!;
    const deadline = this.nextDeadline();
    if (deadline >= 0) budget = Math.max(1, Math.min(budget, deadline - xen.clock));
    const at = this.stopAt;
    if (at !== null && at.v === v && v.cpu.icount >= at.icount) {
      this.halted = true;
      return;
    }
    this.updateTime(v);
    xen.beginSlice(v);
    maybeUpcall(xen, d, v);
    this.runSlice(v, d, budget);
  }

  /** Run `budget` instructions of the slice `v` is in, then close it (unless haltAt pauses it first). */
  private runSlice(v: Vcpu, d: Domain, budget: number): void {
    const at = this.stopAt;
    const cut = at !== null && at.v === v && at.icount - v.cpu.icount < budget ? at.icount - v.cpu.icount : -1;
    const exit = v.cpu.run(cut >= 0 ? cut : budget);
    if (exit.kind === ExitKind.EXCEPTION && d.alive) this.deliver(d, v, exit.vector, exit.errorCode, exit.cr2);
    if (cut >= 0 && exit.kind === ExitKind.BUDGET && d.alive && v.state === VcpuState.RUNNABLE) {
      // Stopped by the count alone, mid-slice: pause; the rest of the slice runs on resume.
      this.paused = { v, d, left: budget - cut };
      this.halted = true;
      return;
    }
    if (at !== null && at.v === v && v.cpu.icount >= at.icount) this.halted = true;
    // Descheduled: report ring traffic not yet seen at a notify.
    this.tracker.check(d.id, 'deschedule');
    this.xen.endSlice();
    this.drainConsole(d);
  }

  /** An exception left the core: FEP+cpuid is emulated, everything else goes to the guest's trap table. */
  private deliver(d: Domain, v: Vcpu, vector: number, err: number, cr2: bigint): void {
    if (vector === Vector.UD) {
      const bytes = v.guest.read(v.cpu.rip, FEP_CPUID.length);
      if (bytes !== null && FEP_CPUID.every((b, k) => bytes[k] === b)) {
        const c = v.cpu;
        c.host.cpuid(c, c.r[0]!, c.r[2]!);
        c.rip = c.rip + 7n;
        return;
      }
    }
    injectException(this.xen, d, v, vector, err, cr2);
  }

  /** Next runnable vCPU after the last one picked, in the fixed order. */
  private pick(): Vcpu | null {
    const n = this.order.length;
    for (let k = 0; k < n; k++) {
      const v = this.order[(this.next + k) % n]!;
      const d = this.xen.domain(v.domId)!;
      if (d.alive && d.pauseCount === 0 && v.state === VcpuState.RUNNABLE) {
        this.next = (this.next + k + 1) % n;
        return v;
      }
    }
    return null;
  }

  /** Earliest armed timer or poll timeout of a live vCPU (periodic timers of paused domains are stopped), or toolstack deadline, or -1. */
  private nextDeadline(): number {
    let t = this.toolstack.nextDeadline();
    for (const v of this.order) {
      const d = this.xen.domain(v.domId)!;
      if (!d.alive) continue;
      for (const x of [v.timerDeadline, d.pauseCount === 0 ? v.periodicDeadline : -1, v.state === VcpuState.POLLING ? v.pollDeadline : -1]) if (x >= 0 && (t < 0 || x < t)) t = x;
    }
    return t;
  }

  /** Expired singleshot and periodic timers raise VIRQ_TIMER; expired polls wake. */
  private fireTimers(): void {
    const xen = this.xen;
    const now = xen.now();
    for (const v of this.order) {
      const d = xen.domain(v.domId)!;
      if (!d.alive) continue;
      if (v.timerDeadline >= 0 && v.timerDeadline <= now) {
        const at = v.timerDeadline;
        v.timerDeadline = -1;
        xen.emit(v, d.id, { kind: 'timer', deadline: at });
        xen.raiseVirq(d, v.id, VIRQ_TIMER);
      }
      if (v.periodicDeadline >= 0 && v.periodicDeadline <= now && d.pauseCount === 0) xen.periodicWork(v);
      if (v.state === VcpuState.POLLING && v.pollDeadline >= 0 && v.pollDeadline <= now) xen.wake(v, 'poll timeout');
    }
  }

  /** vcpu_time_info: system time and TSC stamp at slice start; 1 ns per TSC tick (mul 2^31, shift 1). */
  private updateTime(v: Vcpu): void {
    const mem = this.xen.frames.mem;
    const ma = v.timeInfoMa;
    const f = mem.frame(Math.floor(ma / 4096))!;
    const o = ma % 4096;
    const now = BigInt(this.xen.now());
    const version = f.getUint32(o, true);
    f.setUint32(o, (version + 1) | 1, true);
    f.setBigUint64(o + 8, now, true);
    f.setBigUint64(o + 16, now, true);
    f.setUint32(o + 24, 0x80000000, true);
    f.setInt8(o + 28, 1);
    f.setUint8(o + 29, 0);
    f.setUint32(o + 0, ((version + 1) | 1) + 1, true);
  }

  private drainConsole(d: Domain): void {
    const bytes = this.consoles.get(d.id)?.drain();
    if (bytes === undefined || bytes.length === 0) return;
    // Like xenconsoled: out_cons moved, so kick the guest's console channel.
    this.xen.serviceNotify(d, d.consolePort);
    for (const b of bytes) d.console.push(b);
    this.xen.emit(this.xen.running, d.id, { kind: 'console', text: Buffer.from(bytes).toString('latin1'), source: 'ring' });
  }

  /**
   * Service every store connection until none moves: a request from one
   * domain can fire watches for any other, in any order of domain ids.
   */
  private serviceStore(): void {
    for (let busy = true, rounds = 0; busy && rounds < 64; rounds++) {
      busy = false;
      for (const [id, ring] of this.rings) {
        const d = this.xen.domain(id)!;
        if (!d.alive) continue;
        const r = ring.service();
        for (const rec of r.records) {
          // A xenbus state change: what the domain grants and maps as it makes it (grant leak checks).
          if (rec.op === 'WRITE' && rec.result === 'OK' && XENBUS_STATE.test(rec.path)) this.reportGrants(d);
          this.xen.emit(this.xen.running?.domId === id ? this.xen.running : null, id, { kind: 'xenstore', ...rec });
          if (rec.op === 'WRITE' && rec.result === 'OK') this.tracker.learn(id, rec.path.startsWith('/') ? rec.path : `/local/domain/${id}/${rec.path}`, rec.value);
        }
        // xenstored kicks the guest whenever it moved either index.
        if (r.produced || r.consumed) {
          this.xen.serviceNotify(d, d.storePort);
          busy = true;
        }
      }
    }
  }

  /** A GRANTS event: `d`'s grant entries and mappings now. */
  private reportGrants(d: Domain): void {
    this.xen.emit(this.xen.running?.domId === d.id ? this.xen.running : null, d.id, { kind: 'grants', ...grantReport(this.xen, d) });
  }

  private summary(stop: StopReason): RunSummary {
    const text = (b: number[]): string => Buffer.from(b).toString('latin1');
    return {
      stop,
      instructions: this.instructions,
      time: this.xen.clock,
      domains: this.domains.map((d) => ({
        id: d.id, name: d.name, state: d.state, reason: d.shutdownReason, console: text(d.console), log: text(d.log),
        instructions: d.vcpus.reduce((n, v) => n + v.cpu.icount, 0),
      })),
      hypercalls: Object.fromEntries([...this.hypercalls].sort(([a], [b]) => (a < b ? -1 : 1))),
      events: this.eventCount,
    };
  }
}
