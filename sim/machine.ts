/**
 * The machine: the simulated Xen with its domains, dom0's services
 * (backend.ts: xenstored, xenconsoled, the toolstack, blkback), virtual
 * time and the single-threaded deterministic scheduler.
 *
 * Scheduling: vCPUs in a fixed order (domain id, then vCPU id), round-robin,
 * a fixed instruction quantum, a slice also ending at the next timer
 * deadline so timers fire at exact virtual times. A vCPU blocked in
 * SCHEDOP_block/poll is skipped; when every vCPU is idle time jumps to the
 * earliest deadline (tickless idle); with none, the run stops as deadlocked.
 * Nothing here depends on anything but the simulation.
 */
import { unimplementedText } from './cpu/disasm.js';
import { ExitKind, Vector } from './cpu/fault.js';
import { bpKeyOf } from './cpu/regs.js';
import { jitDefault } from './cpu/jit.js';
import type { EventSink } from './events.js';
import { Blkback } from './services/blkback/index.js';
import { Chaos, type ChaosConfig } from './services/chaos.js';
import { Netback } from './services/netback/index.js';
import { VSwitch, type BridgeSpec } from './services/netback/switch.js';
import { ConsoleDriver } from './services/console-driver.js';
import { Dom0 } from './services/dom0.js';
import { XenStore } from './services/xenstored.js';
import { Toolstack, type DiskSpec, type VifSpec } from './services/toolstack/index.js';
import { XenstoreDriver } from './services/xenstore-driver.js';
import { injectException, maybeUpcall } from './xen/bounce.js';
import type { PvHost } from './xen/pv-host.js';
import { buildPvDomain, LIBXL_MAXMEM_CONSTANT_KIB, type BuildSpec } from './xen/builder.js';
import type { Domain } from './xen/domain.js';
import { Frames, LEGACY_HOLE_END, LEGACY_HOLE_START, withXenFrames } from './xen/frames.js';
import { ptwrFault } from './xen/ptwr.js';
import { VcpuState, type Vcpu } from './xen/vcpu.js';
import { readEntry } from './xen/hypercall/gnttab-entry.js';
import { releaseMappings } from './xen/hypercall/gnttab-map.js';
import { RingTracker } from './xen/rings.js';
import { defaultMac } from './services/netback/proto.js';
import { ToolstackActions, type MachineAction, type ToolstackState } from './toolstack-actions.js';
import { VIRQ_TIMER } from './xen/public/xen.js';
import { Xen } from './xen/xen.js';

/**
 * Free host memory beyond the domains' when a guest dom0 runs (64 MiB):
 * dom0's swiotlb (32 MiB once its default 64 MiB is refused) is exchanged
 * for machine-contiguous memory below 4 GiB, which must exist free.
 */
const DOM0_HOST_SLACK_PAGES = 16384;

/** Forced-emulation prefix followed by cpuid: ud2; .ascii "xen"; cpuid */
const FEP_CPUID = [0x0f, 0x0b, 0x78, 0x65, 0x6e, 0x0f, 0xa2];
/** The prefix alone (ud2; .ascii "xen"): a cpuid that faults after it is reported there. */
const FEP_PREFIX_LEN = 5;

/**
 * A domain to build: its kernel image, `kernel` the scenario's name for it
 * (xl's kernel=, in /vm/<uuid>/image/kernel), and the virtual disks and
 * network interfaces the toolstack gives it.
 */
/** `attachDisks`: the images of the domain's block-attach actions, in action order. */
export type DomainSpec = BuildSpec & { image: Uint8Array; kernel?: string; disks?: DiskSpec[]; vifs?: VifSpec[]; attachDisks?: DiskSpec[] };
export type MachineOptions = {
  /** the virtual switch's bridges and their peers (default: none) */
  bridges?: BridgeSpec[];
  /** instructions per slice */
  quantum?: number;
  /** boot wallclock, seconds since the epoch */
  wallclock?: number;
  /** toolstack actions: what xl does to running domains (sim/toolstack-actions.ts) */
  actions?: readonly MachineAction[];
  /** console text as written and domain crashes, heard with or without a sink (Xen.onConsole, Xen.onCrash) */
  console?: NonNullable<Xen['onConsole']>;
  crash?: Xen['onCrash'];
  /** seeded fault injection in dom0's backends (sim/services/chaos.ts); none when absent */
  chaos?: ChaosConfig;
};

/**
 * 'paused': the `between` callback of `run` asked to stop. 'unimplemented':
 * a vCPU reached an instruction the core does not implement
 * (RunSummary.unimplemented says which); nothing after it can be simulated.
 */
export type StopReason = 'all-stopped' | 'budget' | 'deadlock' | 'paused' | 'unimplemented';

/**
 * Scheduler and observer state for snapshots (ring tracking and the
 * toolstack's progress through its actions included). `events` equals
 * Xen's next seq, which is restored from its own field.
 */
export type SchedState = { next: number; hypercalls: [string, number][]; events: number; rings: ReturnType<RingTracker['snapshot']>; toolstack?: ToolstackState };

export type RunSummary = {
  stop: StopReason;
  instructions: number;
  time: number;
  domains: Array<{ id: number; name: string; state: string; reason: string; console: string; log: string; instructions: number }>;
  hypercalls: Record<string, number>;
  events: number;
  /** stop 'unimplemented': `unimplemented instruction \`fadd\` (d8 c1) at d1v0 rip 0x...` */
  unimplemented?: string;
};

/** A known I/O ring: kind, front (`dom`) and back domain, ring grant ref (0: none) and port, producer indices seen. */
export type RingState = { kind: string; dom: number; backDom: number; gref: number; port: number; reqProd: number; rspProd: number };

export class Machine {
  readonly xen: Xen;
  readonly store = new XenStore();
  /** dom0's services: xenstored's transport, the console backend, the device backends */
  readonly dom0: Dom0;
  /** the toolstack's devices (disks and their contents) and the block backend */
  readonly toolstack: Toolstack;
  readonly blkback: Blkback;
  /** the network backend and the virtual switch its vifs are on */
  readonly netback: Netback;
  private readonly order: Vcpu[] = [];
  private next = 0;
  readonly quantum: number;
  private readonly hypercalls = new Map<string, number>();
  private readonly tracker: RingTracker;
  /** the scenario's toolstack actions: xl pause/shutdown/destroy... on running domains (sim/toolstack-actions.ts); xl create is `toolstack`'s */
  private readonly actions: ToolstackActions;
  /** set when a vCPU stopped at an unimplemented instruction: the report; the machine runs no further */
  private unimplemented: string | null = null;

  /**
   * `sink` hears every event; without one (null) the machine builds no event
   * objects and walks no guest stacks, yet counts events and hypercalls
   * alike and ends in exactly the same state (Xen.listening).
   */
  constructor(domains: DomainSpec[], sink: EventSink | null = null, opts: MachineOptions = {}) {
    this.quantum = opts.quantum ?? 100_000;
    const pages = domains.reduce((n, s) => n + s.memoryMiB * 256, 0);
    // Guest RAM; per domain beyond its RAM, libxl's max_pages slack and Xen's own frames
    // (shared_info, up to 64 grant frames and their 16 v2 status frames); 1024 frames for Xen; the M2P on top.
    // With a guest dom0 the machine is a PC as dom0 sees it: the legacy hole
    // below 1 MiB, and RAM beyond what the domains have, the free heap Xen
    // exchanges dom0's DMA buffers from (XENMEM_exchange).
    const hasDom0 = domains.some((s) => s.dom0 === true);
    const frames = new Frames(withXenFrames(pages + 1024 + (128 + LIBXL_MAXMEM_CONSTANT_KIB / 4) * domains.length + (hasDom0 ? DOM0_HOST_SLACK_PAGES + LEGACY_HOLE_END - LEGACY_HOLE_START : 0)), hasDom0);
    this.xen = new Xen(frames, sink);
    this.xen.onHypercall = (name) => this.hypercalls.set(name, (this.hypercalls.get(name) ?? 0) + 1);
    if (opts.wallclock !== undefined) this.xen.bootWallclock = opts.wallclock;
    if (opts.console !== undefined) this.xen.onConsole = opts.console;
    if (opts.crash !== undefined) this.xen.onCrash = opts.crash;
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
    this.tracker.guestDom0 = hasDom0;
    this.xen.onNotify = (d, port, toDom, toPort) => this.tracker.check(d.id, 'notify', port, toDom, toPort);
    this.xen.onSleep = (d, _v, what) => {
      this.tracker.check(d.id, what);
      return () => this.tracker.sringIndices(d.id);
    };
    this.xen.onStop = (d) => this.dom0.reportGrants(d.id);
    const dom0 = (this.dom0 = new Dom0(this.xen, this.store, this.tracker));
    const xenstored = new XenstoreDriver(dom0, this.store);
    const consoled = new ConsoleDriver(dom0);
    const sw = new VSwitch(dom0, opts.bridges ?? []);
    // With a guest dom0 its kernel's netback has the vifs: vif-bridge runs in
    // dom0 (which configures the interface itself) and reports success.
    const toolstack = (this.toolstack = new Toolstack(dom0, hasDom0 ? { plug: () => true, unplug: () => {} } : sw));
    const chaos = opts.chaos === undefined ? null : new Chaos(opts.chaos, (text) => dom0.emit({ kind: 'input', source: 'chaos', text }));
    const blkback = (this.blkback = new Blkback(dom0, (major, minor) => toolstack.loopDevice(major, minor), chaos));
    const netback = (this.netback = new Netback(dom0, sw, chaos));
    dom0.register(xenstored);
    dom0.register(consoled);
    dom0.register(toolstack);
    dom0.register(blkback);
    dom0.register(netback);
    // A guest dom0's kernel is the backend of every device: xenrr's own stay unloaded.
    if (!hasDom0) {
      blkback.start();
      netback.start();
    }
    this.xen.onBackendKick = (d, port, p) => dom0.kick(d, port, p);
    this.xen.onBackendClosed = (d, port, p) => dom0.peerClosed(d, port, p);
    this.xen.onDomainDown = (d) => dom0.domainDown(d.id);
    this.actions = new ToolstackActions(opts.actions ?? [], {
      xen: this.xen, xs: dom0.xs,
      destroy: (d) => {
        this.xen.destroy(d, (x) => releaseMappings(this.xen, x));
        this.store.releaseDomain(d.id);
        dom0.pump();
      },
      // Its periodic timers stopped while it was not scheduled: they resume (catching up) now.
      unpaused: (d) => {
        for (const v of d.vcpus) if (v.state === VcpuState.RUNNABLE) this.xen.periodicWork(v);
      },
      devices: toolstack,
      defaultMac,
    });
    // A guest dom0 is built first, as Xen builds it before any other domain.
    domains = [...domains].sort((a, b) => Number(b.dom0 === true) - Number(a.dom0 === true));
    for (const spec of domains) {
      const d = buildPvDomain(this.xen, spec.image, spec);
      this.xen.domains.set(d.id, d);
      this.order.push(...d.vcpus);
      if (spec.dom0 === true) {
        // Xen builds dom0 itself (no xl create); xen-init-dom0 names it in the
        // store, and the xenstore stub domain serves its ring (builder.ts).
        dom0.xs.write('/local/domain/0/domid', '0');
        dom0.xs.write('/local/domain/0/name', 'Domain-0');
        xenstored.attach(d);
        this.tracker.add({ kind: 'xenstore', frontDom: d.id, backDom: 0, port: d.storePort, gref: 0, mfn: d.storeMfn });
        continue;
      }
      // xl create: the toolstack's xenstore entries (XS_INTRODUCE among them,
      // which has xenstored attach to the store page and bind its channel), the
      // disks with their hotplug, console 0, which xenconsoled then serves.
      toolstack.createDomain({
        id: d.id, name: d.name, uuid: d.uuid, targetKiB: spec.memoryMiB * 1024, maxKiB: spec.memoryMiB * 1024, vcpus: spec.vcpus,
        storePort: d.storePort, storeMfn: d.storeMfn, consolePort: d.consolePort, consoleMfn: d.consoleMfn,
        kernel: spec.kernel ?? '', cmdline: spec.cmdline, startTime: this.xen.bootWallclock,
      }, spec.disks ?? [], spec.vifs ?? []);
      toolstack.setAttachable(d.id, spec.attachDisks ?? []);
      xenstored.attach(d);
      consoled.attach(d);
      this.tracker.add({ kind: 'console', frontDom: d.id, backDom: 0, port: d.consolePort, gref: 0, mfn: d.consoleMfn });
      this.tracker.add({ kind: 'xenstore', frontDom: d.id, backDom: 0, port: d.storePort, gref: 0, mfn: d.storeMfn });
    }
    dom0.pump();
    if (hasDom0) {
      // libxl builds a domain paused and unpauses it once its devices are
      // connected: with a guest dom0 that happens while dom0 runs.
      for (const id of toolstack.waiting()) {
        const d = this.xen.domain(id)!;
        if (d.pauseCount++ === 0) this.xen.pauseChanged(d);
      }
      toolstack.onCreated = (id) => this.createdLate(id);
    }
    toolstack.checkCreated(hasDom0);
    // The domains are built: from here on dom0's actions are part of the run.
    dom0.quiet = false;
  }

  /** A guest dom0 shut down: Xen halts (or reboots) the machine with it (hwdom_shutdown), whatever else runs. */
  private hwdomDown(): boolean {
    const d = this.xen.domain(0);
    return d !== undefined && !d.alive;
  }

  /** xl create of domain `id` finished while the guests ran: libxl's unpause (the domain runs from now on). */
  private createdLate(id: number): void {
    const d = this.xen.domain(id);
    if (d === undefined || d.pauseCount === 0) return;
    this.xen.emit(null, id, { kind: 'input', source: 'toolstack', text: 'xl create: devices connected, unpause' });
    if (--d.pauseCount === 0) this.xen.pauseChanged(d);
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
    return { next: this.next, hypercalls: [...this.hypercalls], events: this.xen.nextSeq, rings: this.tracker.snapshot(), toolstack: this.actions.state };
  }
  set schedState(s: SchedState) {
    this.tracker.restore(s.rings);
    // Snapshots from before toolstack actions have no progress to restore: none was made.
    this.actions.state = s.toolstack ?? this.actions.initial;
    this.next = s.next;
    this.hypercalls.clear();
    for (const [name, n] of s.hypercalls) this.hypercalls.set(name, n);
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
  haltAt(dom: number, vcpu: number, icount: number, late = false): void {
    this.stopAt = { v: this.xen.domain(dom)?.vcpus[vcpu] ?? null, icount, late };
  }
  /**
   * `late`: the last instant that vCPU has retired `icount` instructions
   * rather than the first, i.e. just before it executes the next one (as a
   * debugger shows a stopped thread). The two differ when the count is
   * reached at the end of a slice: the late stop is then inside the vCPU's
   * next slice, after other vCPUs ran and after Xen started the slice (an
   * upcall frame, say); if it never runs again, the run goes to its end.
   */
  private stopAt: { v: Vcpu | null; icount: number; late: boolean } | null = null;

  /**
   * Code breakpoints: every vCPU (of domain `dom`, or that one vCPU when
   * `vcpu` is given too) stops before executing an instruction at `addr`,
   * pausing inside its slice as haltAt does (`breakIn` tells which); run
   * again to go on, with that vCPU's `cpu.bpSkip` set to execute the
   * instruction instead of stopping again. Replaces the previous set.
   */
  setBreakpoints(bps: ReadonlyArray<{ addr: bigint; dom?: number; vcpu?: number }>): void {
    for (const v of this.order) {
      const keys = new Set<number>();
      for (const b of bps) if ((b.dom === undefined || b.dom === v.domId) && (b.vcpu === undefined || b.vcpu === v.id)) keys.add(bpKeyOf(b.addr));
      v.cpu.setBreakpoints(keys);
    }
  }
  /** The vCPU whose breakpoint stopped the last `run` (null: something else did). */
  breakIn: Vcpu | null = null;

  /**
   * Read/access watches (a debugger's rwatch/awatch): a vCPU whose
   * instruction reads (or, with `write`, writes) any of those bytes of
   * machine memory, through any mapping, pauses once it retires, inside its
   * slice as haltAt does (`watchIn` says which, `watchHit` which watch);
   * run again to go on. Accesses Xen makes for a hypercall are not seen.
   * Translation to JS is off while any is set. Replaces the previous set.
   */
  setDataWatches(ws: ReadonlyArray<{ pfn: number; off: number; len: number; write: boolean }>): void {
    if (ws.length === 0 && this.jitBeforeWatch === null) return;
    // each vCPU's translation threshold goes back to what it was before the first watch
    this.jitBeforeWatch ??= this.order.map((v) => v.cpu.jitThreshold);
    const frames = new Set(ws.map((w) => w.pfn));
    for (const [k, v] of this.order.entries()) {
      const cpu = v.cpu;
      if (ws.length === 0) {
        cpu.mmu.setDataWatch(null);
        cpu.jitThreshold = this.jitBeforeWatch[k] ?? jitDefault();
        continue;
      }
      cpu.jitThreshold = 0;
      cpu.flushCode();
      cpu.mmu.setDataWatch({
        frames,
        access: (pfn, off, n, write) => {
          const k = ws.findIndex((w) => w.pfn === pfn && off < w.off + w.len && off + n > w.off && (w.write || !write));
          if (k < 0) return;
          if (this.watchHit < 0) this.watchHit = k;
          cpu.watchAccess();
        },
      });
    }
    if (ws.length === 0) this.jitBeforeWatch = null;
  }
  /** while watches are set: every vCPU's jitThreshold from before (by `order`) */
  private jitBeforeWatch: number[] | null = null;
  /** The vCPU whose watched access stopped the last `run`, and the index of that watch (-1: none). */
  watchIn: Vcpu | null = null;
  watchHit = -1;
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
    this.breakIn = null;
    this.watchIn = null;
    this.watchHit = -1;
    for (;;) {
      // A slice paused by haltAt resumes before anything else: that is not a clean point.
      const p = this.paused;
      if (p !== null && !this.halted) {
        this.paused = null;
        this.runSlice(p.v, p.d, p.left);
        continue;
      }
      if (this.unimplemented !== null) {
        stop = 'unimplemented';
        break;
      }
      if (this.halted || (between !== undefined && between() === true)) {
        stop = 'paused';
        break;
      }
      if (!this.domains.some((d) => d.alive) || this.hwdomDown()) break;
      const left = maxInsns - this.instructions;
      if (left <= 0) {
        stop = 'budget';
        break;
      }
      this.actions.step();
      if (!this.domains.some((d) => d.alive) || this.hwdomDown()) break;
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
    if (at !== null && at.v === v && (v.cpu.icount > at.icount || (v.cpu.icount === at.icount && !at.late))) {
      // Not started: the next run picks `v` again, as this one did.
      this.next = this.order.indexOf(v);
      this.halted = true;
      return;
    }
    // Context switch: the vCPU last on the CPU leaves it unless it is this one again.
    const prev = this.order.find((o) => o.onCpu);
    if (prev !== v) {
      if (prev !== undefined) xen.scheduleOut(prev);
      xen.scheduleIn(v);
    }
    xen.updateTime(v);
    xen.beginSlice(v);
    maybeUpcall(xen, d, v);
    this.runSlice(v, d, budget);
  }

  /** Run `budget` instructions of the slice `v` is in, then close it (unless haltAt pauses it first). */
  private runSlice(v: Vcpu, d: Domain, budget: number): void {
    const at = this.stopAt;
    const cut = at !== null && at.v === v && at.icount - v.cpu.icount < budget ? at.icount - v.cpu.icount : -1;
    const exit = v.cpu.run(cut >= 0 ? cut : budget);
    if (exit.kind === ExitKind.BREAKPOINT) {
      // Before a breakpoint instruction, mid-slice: pause as for a count.
      this.paused = { v, d, left: budget - exit.retired };
      this.halted = true;
      this.breakIn = v;
      return;
    }
    if (exit.kind === ExitKind.WATCH) {
      // After an instruction that touched watched memory, mid-slice: pause as for a count.
      this.paused = { v, d, left: budget - exit.retired };
      this.halted = true;
      this.watchIn = v;
      return;
    }
    // A faulting instruction accessed nothing; one that also ended the slice (a hypercall) stops the run once it is closed.
    if (exit.kind === ExitKind.EXCEPTION) this.watchHit = -1;
    else if (this.watchHit >= 0 && this.watchIn === null) {
      this.watchIn = v;
      this.halted = true;
    }
    if (exit.kind === ExitKind.EXCEPTION && d.alive) this.deliver(d, v, exit.vector, exit.errorCode, exit.cr2);
    if (exit.kind === ExitKind.UNIMPLEMENTED) this.stopUnimplemented(d, v);
    if (cut >= 0 && exit.kind === ExitKind.BUDGET && d.alive && v.state === VcpuState.RUNNABLE) {
      // Stopped by the count alone, mid-slice: pause; the rest of the slice runs on resume.
      this.paused = { v, d, left: budget - cut };
      this.halted = true;
      return;
    }
    if (at !== null && at.v === v && (v.cpu.icount > at.icount || (v.cpu.icount === at.icount && !at.late))) this.halted = true;
    // Descheduled: report ring traffic not yet seen at a notify.
    this.tracker.check(d.id, 'deschedule');
    this.xen.endSlice();
    // A vCPU that blocked, polls or went down leaves the CPU at once (the schedule softirq on its way out).
    if (v.onCpu && (v.state !== VcpuState.RUNNABLE || !d.alive)) this.xen.scheduleOut(v);
    this.dom0.descheduled(d.id);
  }

  /** The vCPU is at an instruction the core does not implement: say which, as the run's last event, and stop. */
  private stopUnimplemented(d: Domain, v: Vcpu): void {
    const rip = v.cpu.rip;
    let bytes: Uint8Array | null = null;
    for (let n = 15; n > 0 && bytes === null; n--) bytes = v.guest.read(rip, n);
    const what = bytes === null ? 'unimplemented instruction (unreadable)' : unimplementedText(bytes, rip);
    this.unimplemented = `${what} at d${d.id}v${v.id} rip 0x${rip.toString(16)}`;
    this.xen.emit(v, d.id, { kind: 'milestone', text: this.unimplemented });
  }

  /**
   * An exception left the core: FEP+cpuid and writes to read-only L1 tables
   * are emulated, everything else goes to the guest's trap table. #NM also
   * clears the virtual CR0.TS, as Xen's do_device_not_available does for PV
   * guests.
   */
  private deliver(d: Domain, v: Vcpu, vector: number, err: number, cr2: bigint): void {
    if (vector === Vector.NM) v.setCr0Ts(false);
    if (vector === Vector.UD) {
      const bytes = v.guest.read(v.cpu.rip, FEP_CPUID.length);
      if (bytes !== null && FEP_CPUID.every((b, k) => bytes[k] === b)) {
        // pv/emul-inv-op.c: with CPUID faulting on, user mode gets #GP at the cpuid itself.
        const c = v.cpu;
        if ((v.msrs.miscFeaturesEnables & 1n) !== 0n && !v.kernelMode) {
          c.rip = c.rip + BigInt(FEP_PREFIX_LEN);
          injectException(this.xen, d, v, Vector.GP, 0, 0n);
          return;
        }
        (c.host as PvHost).cpuidValues(c, c.r[0]!);
        c.rip = c.rip + BigInt(FEP_CPUID.length);
        return;
      }
    }
    if (vector === Vector.PF && ptwrFault(this.xen, d, v, err, cr2)) return;
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

  /** Earliest armed timer or poll timeout of a live vCPU (periodic timers of paused domains are stopped), toolstack or dom0 driver deadline, or -1. */
  private nextDeadline(): number {
    let t = this.actions.nextDeadline();
    const b = this.dom0.nextDeadline();
    if (b >= 0 && (t < 0 || b < t)) t = b;
    for (const v of this.order) {
      const d = this.xen.domain(v.domId)!;
      if (!d.alive) continue;
      for (const x of [v.timerDeadline, d.pauseCount === 0 ? v.periodicDeadline : -1, v.state === VcpuState.POLLING ? v.pollDeadline : -1]) if (x >= 0 && (t < 0 || x < t)) t = x;
    }
    return t;
  }

  /** Expired singleshot and periodic timers raise VIRQ_TIMER; expired polls wake; then dom0's drivers do the work due (backend.ts `timer`). */
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
    this.dom0.fireTimers(now);
  }

  private summary(stop: StopReason): RunSummary {
    const text = (b: number[]): string => Buffer.from(b).toString('latin1');
    return {
      stop,
      instructions: this.instructions,
      time: this.xen.clock,
      domains: this.domains.map((d) => ({
        id: d.id, name: d.name, state: d.alive && d.pauseCount > 0 ? 'paused' : d.state,
        reason: d.alive && this.toolstack.waiting().includes(d.id) ? 'xl create: its backends never connected' : d.shutdownReason, console: text(d.console), log: text(d.log),
        instructions: d.vcpus.reduce((n, v) => n + v.cpu.icount, 0),
      })),
      hypercalls: Object.fromEntries([...this.hypercalls].sort(([a], [b]) => (a < b ? -1 : 1))),
      events: this.xen.nextSeq,
      ...(this.unimplemented !== null ? { unimplemented: this.unimplemented } : {}),
    };
  }
}
