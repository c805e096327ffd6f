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
import type { SimEvent } from '../sim/events.js';
import { Machine, type DomainSpec } from '../sim/machine.js';
import { snapshotMachine } from '../sim/snapshot.js';
import { domainIds, parseScenario, type Scenario } from '../sim/scenario.js';
import type { TraceEvent } from '../trace/columns.js';
import { TraceReader } from '../trace/reader.js';
import { UsageError } from './cli/errors.js';
import { replayDisks } from './disks.js';
import { findImage, imageIndex } from './images.js';
import { TraceEvents, type EventPredicate } from './session-events.js';
import { runBackward, runForward, type RunFrom, type RunHost, type RunRequest, type RunStop } from './session-break.js';
import { icountsOf, Seeker, type MoveOrigin, type Stop, type Target } from './session-seek.js';
import { verifyRun, type VerifyResult } from './session-verify.js';
import { viewRegister, type MachineView } from './session-view.js';
import { watchBackward, watchForward, type IcountPoint, type MachineSource, type WatchHit, type WatchSpec } from './session-watch.js';
import { ImageError, kernelImage, sha256, type KernelImage } from './image/kernel-image.js';
import { domainSpec, machineOptions } from './scenario-run.js';
import type { SymbolTable } from './image/symbol-table.js';
import { loadSymbolTables, type Symbols } from './symbols.js';

export { fieldDiff, type Divergence, type VerifyResult } from './session-verify.js';
export type { EventPredicate } from './session-events.js';
export type { IcountPoint, WatchHit, WatchHow, WatchSpec } from './session-watch.js';
export type { RunRequest, RunStop } from './session-break.js';
export type { Breakpoint } from './session-seek.js';
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

/** A cursor position to come back to (ReplaySession.mark / goTo). */
export type CursorMark = RunFrom | { kind: 'event'; seq: number };

/** Where a continue stopped: the event it stopped at (null: none matched, so at the end or the start) and the machine there. */
export type StopInfo = { event: TraceEvent | null; view: MachineView };

/** The ramdisk a trace's domain was recorded with (checked against its sha256), or undefined if it had none. */
function recordedRamdisk(h: TraceReader['header'], domain: string, trace: string): Uint8Array | undefined {
  const k = imageIndex(h, 'ramdisk', domain);
  if (k < 0) return undefined;
  const found = findImage(h, k, { trace });
  if (typeof found === 'string') throw new UsageError(found);
  return new Uint8Array(found.bytes);
}

export class ReplaySession {
  readonly scenario: Scenario;
  readonly symbols: Symbols;
  readonly warnings: string[] = [];
  private readonly specs: DomainSpec[];
  /** where each domain's kernel image was found (in scenario order) */
  private readonly paths: string[] = [];
  private readonly seeker: Seeker;
  private readonly events: TraceEvents;
  /** the cursor; null until the first move (then: the start) */
  private cur: Stop | null = null;
  /** the cursor as runs see it (an event cursor: the event's seq) */
  private from: CursorMark = { kind: 'start' };

  private readonly tables: Map<number, SymbolTable>;

  private constructor(readonly reader: TraceReader, overrides: Map<string, string>, symbolFiles: Map<string, string>) {
    // Every frame intact and where the index says (verify also checks the chunk hashes it compares with).
    reader.checkIntegrity(false);
    const h = reader.header;
    const json = JSON.parse(h.scenarioJson) as Record<string, unknown>;
    this.scenario = parseScenario(json, h.scenarioFile || `${reader.path} (its scenario)`);
    let otherImages = false;
    this.specs = this.scenario.domains.map((dom, k) => {
      const found = findImage(h, k, { overrides, trace: reader.path });
      if (typeof found === 'string') throw new UsageError(found);
      if (found.given && !sha256(found.bytes).equals(Buffer.from(h.images[k]?.sha256 ?? []))) {
        this.warnings.push(`domain '${dom.name}' runs ${found.path}, not the recorded image: expect a divergence`);
        otherImages = true;
      }
      let kernel: KernelImage;
      try {
        kernel = kernelImage(found.bytes);
      } catch (e) {
        if (e instanceof ImageError) throw new UsageError(`image for domain '${dom.name}': ${found.path}: ${e.message}`);
        throw e;
      }
      this.paths.push(found.path);
      return domainSpec(this.scenario, k, h.seed, kernel, recordedRamdisk(h, dom.name, reader.path), replayDisks(h, this.scenario, k, reader.path));
    });
    this.tables = loadSymbolTables(h, overrides, symbolFiles, reader.path);
    this.symbols = new Map([...this.tables].map(([dom, t]) => [dom, t.symbolize]));
    // Another build's run is re-executed from its start: the checkpoints are of the recorded build's.
    this.seeker = new Seeker(reader, (sink) => this.fresh(sink), this.scenario.maxInsns, !otherImages);
    this.events = new TraceEvents(reader);
  }

  /**
   * Replay `reader` (its integrity checked first: a damaged trace is a TraceError, here or, for the chunk hashes, in `verify`).
   * `overrides`: kernel image paths by domain name; `symbolFiles`: symbol files by domain name (replay/symbols.ts).
   */
  static open(reader: TraceReader, overrides: Map<string, string> = new Map(), symbolFiles: Map<string, string> = new Map()): ReplaySession {
    return new ReplaySession(reader, overrides, symbolFiles);
  }

  /**
   * A machine at the start of the recorded run (null sink: nobody needs its
   * events). For a trace whose recording did not finish, the machine halts as
   * it emits the first event past the recorded ones: nothing replays beyond
   * what the trace can check.
   */
  private fresh(sink: ((e: SimEvent) => void) | null): Machine {
    const opts = machineOptions(this.scenario);
    if (this.reader.complete) return new Machine(this.specs, sink, opts);
    const end = this.reader.index.eventCount;
    const inner = sink ?? ((): void => {});
    const m: Machine = new Machine(this.specs, (e) => {
      if (e.seq < end) return inner(e);
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
    const c = (this.cur = this.seeker.runTo(t));
    if (t.kind === 'start') this.from = { kind: 'start' };
    else if (!c.reached) this.from = { kind: 'end' };
    else if (t.kind === 'seq') this.from = { kind: 'event', seq: c.view.seq };
    else this.from = { kind: 'point', p: { dom: t.dom, vcpu: t.vcpu, icount: t.icount }, late: t.late === true };
    return c.view;
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

  /** The machine at the cursor, to look at only (running it on is `machine`'s use). */
  get inspect(): Machine {
    return this.at.machine;
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
  seekIcount(dom: number, vcpu: number, icount: number, opts: { late?: boolean } = {}): MachineView {
    this.vcpuAt(dom, vcpu);
    return this.move({ kind: 'icount', dom, vcpu, icount, late: opts.late === true });
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

  /**
   * Run forward to the next, or back to the last, point where a vCPU
   * reaches one of the code breakpoints or watched memory changes, or
   * (`step`) one instruction of a vCPU, whichever comes first; see
   * session-break.ts. The cursor moves there: a late instruction point (the
   * vCPU about to execute its next instruction), or the end or start.
   *
   * From an event, a run starts just before the instruction that raised it
   * (forward: executing it even if it is at a breakpoint; backward: reaching
   * it counts); from an event of Xen's own, before the next vCPU event.
   */
  run(r: RunRequest): { stop: RunStop; view: MachineView } {
    void this.at;
    for (const w of [...r.watches, ...(r.accesses ?? [])]) this.vcpuAt(w.dom, w.vcpu);
    if (r.step !== null) this.vcpuAt(r.step.dom, r.step.vcpu);
    let from: RunFrom;
    let skip = r.skip;
    if (this.from.kind === 'event') {
      const seq = this.from.seq;
      const ev = this.events.at(seq);
      const e = ev !== null && ev.dom >= 0 && ev.vcpu >= 0 ? ev : this.events.next((x) => x.dom >= 0 && x.vcpu >= 0, seq + 1);
      if (e === null) from = { kind: 'end' };
      else {
        from = { kind: 'point', p: { dom: e.dom, vcpu: e.vcpu, icount: e.icount }, late: true, inclusive: e.seq === seq };
        skip ||= e.seq === seq;
        this.toFrom(from);
      }
    } else {
      from = this.from;
      // The cursor's machine was handed out: rebuild it where it was.
      if (from.kind !== 'end' && r.direction === 'forward' && !this.seeker.resumable) this.toFrom(from);
    }
    // Going back near the cursor: a snapshot just before it, so a step back re-executes only from there.
    if (r.direction === 'backward' && from.kind === 'point' && this.seeker.resumable) this.seeker.prepareLocal();
    const f = from;
    const host: RunHost = {
      seeker: this.seeker,
      moveTo: (t) => void this.move(t),
      toCursor: () => this.toFrom(f),
      maxInsns: this.scenario.maxInsns,
      watchSource: {
        machineAt: () => {
          this.toFrom(f);
          return this.machine;
        },
        checkpoints: this.seeker.checkpointCount,
        checkpointAt: (i) => this.seeker.checkpointAt(i),
        maxInsns: this.scenario.maxInsns,
        ...(r.interrupted ? { interrupted: r.interrupted } : {}),
      },
    };
    const stop = r.direction === 'forward' ? runForward(host, from, { ...r, skip }) : runBackward(host, from, { ...r, skip });
    const c = (this.cur = this.seeker.current!);
    const m = c.machine;
    if (stop.why === 'interrupted' && r.direction === 'backward') return { stop, view: c.view };
    if (stop.why === 'end') this.from = { kind: 'end' };
    else if (stop.why === 'start') this.from = { kind: 'start' };
    else if (stop.at !== null) this.from = { kind: 'point', p: stop.at, late: true };
    else this.from = { kind: 'clean', seq: m.nextSeq, insns: m.instructions, icounts: icountsOf(m), snap: snapshotMachine(m) };
    return { stop, view: c.view };
  }

  /** Where the cursor is, to come back to with `goTo` (a debugger's checkpoint). */
  get mark(): CursorMark {
    return this.from;
  }

  /** Back to a point `mark` gave. */
  goTo(mark: CursorMark): MachineView {
    if (mark.kind === 'event') this.move({ kind: 'seq', seq: mark.seq });
    else this.toFrom(mark);
    return this.view();
  }

  /** Put the cursor (a machine that can run on) back at `f`. */
  private toFrom(f: RunFrom): void {
    if (f.kind === 'point') this.move({ kind: 'icount', ...f.p, late: f.late });
    else if (f.kind === 'clean') {
      this.cur = this.seeker.resumeFrom(f.snap);
      this.from = f;
    } else this.move(f.kind === 'start' ? { kind: 'start' } : { kind: 'seq', seq: Number.MAX_SAFE_INTEGER });
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

  /** The path of the kernel image domain `dom` replays (null: no such domain). */
  imagePath(dom: number): string | null {
    const k = domainIds(this.scenario.domains).indexOf(dom);
    return k < 0 ? null : (this.paths[k] ?? null);
  }

  /** Domain `dom`'s kernel as the domain builder loads it (a bzImage's ELF payload); null if no such domain. */
  kernelElf(dom: number): Uint8Array | null {
    return this.specs[dom - 1]?.image ?? null;
  }

  /** Domain `dom`'s symbol table (replay/symbols.ts says where it comes from); null if it has none. */
  symbolTable(dom: number): SymbolTable | null {
    return this.tables.get(dom) ?? null;
  }

  /** A symbol of domain `dom` by name (its first definition): address and size; null if none (or no symbols). */
  symbolAddress(dom: number, name: string): { addr: bigint; size: number } | null {
    const s = this.tables.get(dom)?.lookup(name) ?? null;
    return s === null || s.addr === 0n ? null : s;
  }

  private vcpuAt(dom: number, vcpu: number): Position['vcpus'][number] {
    const x = this.position.vcpus.find((c) => c.dom === dom && c.vcpu === vcpu);
    if (x === undefined) throw new RangeError(`no vCPU ${dom}.${vcpu} in this trace`);
    return x;
  }

  /**
   * Trace checkpoints decoded by cursor moves so far, moves that ran the
   * cursor's machine on instead of re-executing, and where the last move
   * re-executed from (a checkpoint's index, -1 the start, 'anchor' an
   * in-memory snapshot near the cursor, 'resumed' none): for tests and benches.
   */
  get stats(): { readonly checkpointReads: number; readonly resumed: number; readonly lastOrigin: MoveOrigin } {
    return this.seeker.stats;
  }
}

/** Open a trace for replay with one-line errors. */
export function openSession(path: string, overrides: Map<string, string>, symbolFiles: Map<string, string> = new Map()): ReplaySession {
  return ReplaySession.open(TraceReader.open(path), overrides, symbolFiles);
}
