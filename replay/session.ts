/**
 * Replay sessions: re-execute a recorded run from its header and compare it
 * with the trace (verify), or move a cursor through the run as a debugger
 * does (seek, step, reverse step, continue and reverse continue to an event)
 * and look at the machine there. This is the API `xenrr replay` and the TUI
 * use.
 *
 * The cursor is a live machine (session-seek.ts). Moving forward from an
 * instruction count runs it on; any other move rebuilds it from the nearest
 * clean point before the target (start, trace checkpoint, or an in-memory
 * anchor near the cursor) and re-executes. Reverse moves are seeks to an
 * earlier point. Searches for events read the trace, not the machine.
 */
import { createHash } from 'node:crypto';
import type { SimEvent } from '../sim/events.js';
import { parseElf, type ElfSymbol } from '../sim/elf.js';
import { Machine } from '../sim/machine.js';
import { machineActions, parseScenario, type Scenario } from '../sim/scenario.js';
import type { TraceEvent } from '../trace/columns.js';
import { TraceReader } from '../trace/reader.js';
import { UsageError } from './cli/errors.js';
import { findImage } from './images.js';
import { TraceEvents, type EventPredicate } from './session-events.js';
import { Seeker, type Stop, type Target } from './session-seek.js';
import { verifyRun, type VerifyResult } from './session-verify.js';
import { viewRegister, type MachineView } from './session-view.js';
import { watchBackward, watchForward, type IcountPoint, type MachineSource, type WatchHit, type WatchSpec } from './session-watch.js';
import { loadSymbols, type Symbols } from './symbols.js';

export { fieldDiff, type Divergence, type VerifyResult } from './session-verify.js';
export type { EventPredicate } from './session-events.js';
export type { IcountPoint, WatchHit, WatchHow, WatchSpec } from './session-watch.js';
export { REG_NAMES, type MachineView, type VcpuView } from './session-view.js';

/** Where the cursor is. */
export type Position = {
  /** events before `seq` have happened; with `atEvent`, event `seq` is being emitted, else it is the next to come */
  seq: number;
  atEvent: boolean;
  /** virtual time, ns */
  time: number;
  /** instructions retired by each vCPU */
  vcpus: Array<{ dom: number; vcpu: number; icount: number }>;
};

/** Where a continue stopped: the event it stopped at (null: none matched, so at the end or the start) and the machine there. */
export type StopInfo = { event: TraceEvent | null; view: MachineView };

export class ReplaySession {
  readonly scenario: Scenario;
  readonly symbols: Symbols;
  readonly warnings: string[] = [];
  private readonly specs: Array<Scenario['domains'][number] & { id: number; seed: number; image: Uint8Array }>;
  private readonly seeker: Seeker;
  private readonly events: TraceEvents;
  /** the cursor; null until the first move (then: the start) */
  private cur: Stop | null = null;

  private constructor(readonly reader: TraceReader, overrides: Map<string, string>) {
    // Every frame intact and where the index says (verify also checks the chunk hashes it compares with).
    reader.checkIntegrity(false);
    const h = reader.header;
    const json = JSON.parse(h.scenarioJson) as Record<string, unknown>;
    this.scenario = parseScenario(json, h.scenarioFile || `${reader.path} (its scenario)`);
    this.specs = this.scenario.domains.map((dom, k) => {
      const found = findImage(h, k, { overrides, trace: reader.path });
      if (typeof found === 'string') throw new UsageError(found);
      if (found.given && !createHash('sha256').update(found.bytes).digest().equals(Buffer.from(h.images[k]?.sha256 ?? []))) this.warnings.push(`domain '${dom.name}' runs ${found.path}, not the recorded image: expect a divergence`);
      return { ...dom, id: k + 1, seed: h.seed, image: found.bytes };
    });
    this.symbols = loadSymbols(h, overrides, reader.path);
    this.seeker = new Seeker(reader, (sink) => this.fresh(sink), this.scenario.maxInsns);
    this.events = new TraceEvents(reader);
  }

  /** Replay `reader` (its integrity checked first: a damaged trace is a TraceError, here or, for the chunk hashes, in `verify`). */
  static open(reader: TraceReader, overrides: Map<string, string> = new Map()): ReplaySession {
    return new ReplaySession(reader, overrides);
  }

  /**
   * A machine at the start of the recorded run. For a trace whose recording
   * did not finish, the machine halts as it emits the first event past the
   * recorded ones: nothing replays beyond what the trace can check.
   */
  private fresh(sink: (e: SimEvent) => void): Machine {
    const opts = { quantum: this.scenario.quantum, wallclock: this.scenario.wallclock, actions: machineActions(this.scenario) };
    if (this.reader.complete) return new Machine(this.specs, sink, opts);
    const end = this.reader.index.eventCount;
    const m: Machine = new Machine(this.specs, (e) => {
      if (e.seq < end) return sink(e);
      m.halt();
    }, opts);
    return m;
  }

  /** Whether the last cursor move reached its target (false: the run, or the recorded part of it, ended first). */
  get reached(): boolean {
    return this.cur?.reached ?? true;
  }

  /** Re-execute the whole run and compare it with the trace. Leaves the cursor alone. */
  verify(progress?: (events: number) => void): VerifyResult {
    this.reader.checkIntegrity(true);
    const r = verifyRun(this.reader, (sink) => this.fresh(sink), this.scenario.maxInsns, progress);
    return { ...r, warnings: [...this.warnings, ...r.warnings] };
  }

  // ---- moving the cursor ---------------------------------------------------

  private move(t: Target): MachineView {
    this.cur = this.seeker.runTo(t);
    return this.cur.view;
  }

  private get at(): Stop {
    return (this.cur ??= this.seeker.runTo({ kind: 'start' }));
  }

  /**
   * The machine at the cursor, for callers that run it on themselves
   * (replay/parting.ts single-steps it with haltAt). Running it leaves the
   * cursor behind: position and views stay those of the cursor, and the
   * session no longer runs that machine on (the next move rebuilds one).
   */
  get machine(): Machine {
    const m = this.at.machine;
    this.seeker.release();
    return m;
  }

  /** Back to the start of the run, before any event. */
  seekStart(): MachineView {
    return this.move({ kind: 'start' });
  }

  /** The machine as it was when event `seq` was emitted. Past the end: the end. */
  seek(seq: number): MachineView {
    return this.move({ kind: 'seq', seq });
  }

  /**
   * The machine when vCPU `vcpu` of domain `dom` has retired exactly
   * `icount` instructions (if it never does: the end), with the scheduler
   * slice closed there (pending console output drained). Reads no chunk,
   * only the checkpoints a binary search over their vCPU counts visits.
   */
  seekIcount(dom: number, vcpu: number, icount: number): MachineView {
    this.vcpuAt(dom, vcpu);
    return this.move({ kind: 'icount', dom, vcpu, icount });
  }

  /**
   * Run until that vCPU has retired `n` more instructions (the others run as
   * recorded meanwhile). From an instruction count, the machine at the
   * cursor just runs on; from an event, it is rebuilt first.
   */
  step(dom: number, vcpu: number, n = 1): MachineView {
    const ic = this.vcpuAt(dom, vcpu).icount;
    if (!this.seeker.resumable) this.seeker.prepareLocal();
    return this.move({ kind: 'icount', dom, vcpu, icount: ic + Math.max(0, n) });
  }

  /** Reverse step: the point where that vCPU had retired `n` fewer instructions (not before the start). */
  stepBack(dom: number, vcpu: number, n = 1): MachineView {
    const ic = this.vcpuAt(dom, vcpu).icount;
    if (ic === 0) return this.view();
    this.seeker.prepareLocal();
    return this.move({ kind: 'icount', dom, vcpu, icount: Math.max(0, ic - Math.max(0, n)) });
  }

  /** Forward to the next recorded event after the cursor that satisfies `pred`; none: to the end of the run. */
  continue(pred: EventPredicate): StopInfo {
    const p = this.at.view;
    const e = this.events.next(pred, this.at.atEvent ? p.seq + 1 : p.seq);
    return { event: e, view: this.move({ kind: 'seq', seq: e?.seq ?? Number.MAX_SAFE_INTEGER }) };
  }

  /** Back to the last recorded event before the cursor that satisfies `pred`; none: to the start. */
  reverseContinue(pred: EventPredicate): StopInfo {
    const e = this.events.prev(pred, this.at.view.seq);
    return { event: e, view: this.move(e === null ? { kind: 'start' } : { kind: 'seq', seq: e.seq }) };
  }

  /**
   * Watch `w.len` bytes at `w.va` (translated through vCPU `w.dom`.`w.vcpu`'s
   * page tables at `from`, then fixed physically): the first change after
   * instruction point `from` (forward) or the last at or before it
   * (backward). As in gdb and rr, the cursor moves to just after the
   * changing instruction going forward and to just before it going back
   * (so repeating either finds the next or previous change); unchanged when
   * there is none, or it happened between slices. See session-watch.ts.
   */
  watch(w: WatchSpec, from: IcountPoint, direction: 'forward' | 'backward'): WatchHit | null {
    this.vcpuAt(from.dom, from.vcpu);
    const src: MachineSource = {
      machineAt: (p) => {
        this.seekIcount(p.dom, p.vcpu, p.icount);
        return this.machine;
      },
      checkpoints: this.seeker.checkpointCount,
      checkpointAt: (i) => this.seeker.checkpointAt(i),
      maxInsns: this.scenario.maxInsns,
    };
    const hit = direction === 'forward' ? watchForward(src, w, from) : watchBackward(src, w, from);
    if (hit?.at) this.seekIcount(hit.at.dom, hit.at.vcpu, direction === 'forward' ? hit.at.icount : hit.at.icount - 1);
    return hit;
  }

  // ---- looking at the cursor -------------------------------------------------

  get position(): Position {
    const c = this.cur;
    if (c === null) return { seq: 0, atEvent: false, time: 0, vcpus: this.specs.flatMap((d) => Array.from({ length: d.vcpus }, (_, k) => ({ dom: d.id, vcpu: k, icount: 0 }))) };
    const v = c.view;
    return { seq: v.seq, atEvent: c.atEvent, time: v.time, vcpus: v.vcpus.map((x) => ({ dom: x.dom, vcpu: x.vcpu, icount: x.icount })) };
  }

  /** Registers, ports, rings and consoles at the cursor. */
  view(): MachineView {
    return this.at.view;
  }

  /** The event at the cursor when it is at one, else the last event before it (null at the start). */
  event(): TraceEvent | null {
    const p = this.position;
    const seq = p.atEvent ? p.seq : p.seq - 1;
    return seq < 0 ? null : this.events.at(seq);
  }

  /** The recorded event `seq` (null: no such event). */
  eventAt(seq: number): TraceEvent | null {
    return this.events.at(seq);
  }

  /** A register of a vCPU at the cursor: rax..r15, rip or rflags. */
  register(dom: number, vcpu: number, name: string): bigint {
    return viewRegister(this.at.view, dom, vcpu, name);
  }

  /**
   * `len` bytes of guest memory at virtual address `va`, through that vCPU's
   * current page tables (null if some page is not mapped). At an event, the
   * memory is as it was once the instruction or hypervisor action that
   * emitted the event completed (registers in view() are exactly at the event).
   */
  readMemory(dom: number, vcpu: number, va: bigint, len: number): Uint8Array | null {
    this.vcpuAt(dom, vcpu);
    const v = this.at.machine.domains.find((d) => d.id === dom)!.vcpus[vcpu]!;
    return v.guest.read(va, len);
  }

  private readonly elfSymbols = new Map<number, readonly ElfSymbol[]>();

  /** A symbol of domain `dom`'s image by name (its first definition): address and size; null if none. */
  symbolAddress(dom: number, name: string): { addr: bigint; size: number } | null {
    const spec = this.specs[dom - 1];
    if (spec === undefined) return null;
    let syms = this.elfSymbols.get(dom);
    if (syms === undefined) this.elfSymbols.set(dom, (syms = parseElf(spec.image).symbols));
    const sym = syms.find((x) => x.name === name && x.value !== 0n);
    return sym === undefined ? null : { addr: sym.value, size: Number(sym.size) };
  }

  private vcpuAt(dom: number, vcpu: number): Position['vcpus'][number] {
    const x = this.position.vcpus.find((c) => c.dom === dom && c.vcpu === vcpu);
    if (x === undefined) throw new RangeError(`no vCPU ${dom}.${vcpu} in this trace`);
    return x;
  }

  /** Trace checkpoints decoded by cursor moves so far, and moves that ran the cursor's machine on instead of re-executing: for tests and benches. */
  get stats(): { readonly checkpointReads: number; readonly resumed: number } {
    return this.seeker.stats;
  }
}

/** Open a trace for replay with one-line errors. */
export function openSession(path: string, overrides: Map<string, string>): ReplaySession {
  return ReplaySession.open(TraceReader.open(path), overrides);
}
