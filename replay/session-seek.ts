/**
 * Getting a machine to a point of the recorded run: an event (by seq), an
 * instruction count of one vCPU, or the start.
 *
 * A clean point is an instant between scheduler slices (Machine.run's
 * `between`): a machine there continues exactly as the recording did, and
 * can be snapshotted. The seeker keeps one live machine at the cursor.
 * Stopped at an instruction count (Machine.haltAt pauses inside the slice),
 * it can run on faithfully, so moves forward resume it. Stopped at an event
 * (Machine.halt closes the slice early) it cannot; then, and for every move
 * backward, the seeker restores the latest clean point known to lie before
 * the target into a fresh machine and re-executes from there. Clean points
 * known: the start, the trace's checkpoints, and one anchor, an in-memory
 * snapshot near the cursor (taken while a resumed machine runs on, or by
 * `prepareLocal`).
 *
 * The live machine also records how to reach the clean point just before
 * it (`k` clean points after the one it started from); `prepareLocal` turns
 * that into the anchor (one more re-execution, and a snapshot), so that
 * steps back around the cursor re-execute only from there.
 */
import type { SimEvent } from '../sim/events.js';
import type { Machine } from '../sim/machine.js';

/** A code breakpoint: a guest virtual address, on every vCPU, those of domain `dom`, or vCPU `dom`.`vcpu`. */
export type Breakpoint = { addr: bigint; dom?: number; vcpu?: number };
/** Bytes of machine memory a read (or, `write`, access) watch covers within one frame (Machine.setDataWatches). */
export type DataWatchPiece = { pfn: number; off: number; len: number; write: boolean };
import { restoreMachine, snapshotMachine, SnapshotError, type MachineSnapshot } from '../sim/snapshot.js';
import type { Vcpu } from '../sim/xen/vcpu.js';
import { hex, TraceError, type TraceReader } from '../trace/reader.js';
import { machineView, type MachineView } from './session-view.js';

/**
 * An instruction-count target is the first instant the vCPU has retired
 * `icount` instructions, or with `late` the last one, just before it
 * executes the next (Machine.haltAt): they differ when the count is reached
 * at the end of a slice.
 */
export type Target = { kind: 'start' } | { kind: 'seq'; seq: number } | { kind: 'icount'; dom: number; vcpu: number; icount: number; late?: boolean };

/** A machine at the target (or at the end of the run when `reached` is false), and what it showed there. */
export type Stop = { machine: Machine; view: MachineView; atEvent: boolean; reached: boolean };

/**
 * A clean point: snapshot (null: the start), seq of the next event, retired
 * instructions per vCPU and in total, and what it is: a trace checkpoint's
 * index, -1 for the start, 'anchor' for an in-memory snapshot.
 */
type Clean = { snap: MachineSnapshot | null; seq: number; icounts: Map<number, number>; insns: number; origin: number | 'anchor' };

/** Where the last move started from: a Clean's origin, or 'resumed' (the live machine ran on). */
export type MoveOrigin = Clean['origin'] | 'resumed';
/** A clean point to scan from (Seeker.cleanPointsBefore): a fresh machine there, its next seq and total instructions. */
export type CleanPoint = { open: () => Machine; seq: number; insns: number; readonly clean: Clean };

/** One number per (dom, vCPU), for maps of per-vCPU counts. */
export const vkey = (dom: number, vcpu: number): number => dom * 4096 + vcpu;
/** The anchor is kept within about this many instructions behind the cursor (one slice may be longer). */
const LOCAL_INSNS = 20_000;

export const vcpuOf = (m: Machine, dom: number, vcpu: number): Vcpu | undefined => m.domains.find((d) => d.id === dom)?.vcpus[vcpu];

/** Retired instructions per vCPU, by `vkey`. */
export function icountsOf(m: Machine): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of m.domains) for (const v of d.vcpus) out.set(vkey(d.id, v.id), v.cpu.retired());
  return out;
}

/** Per-vCPU retired instructions recorded in a snapshot's state (sim/snapshot.ts), or null if it has another shape. */
function snapIcounts(stateJson: Uint8Array): Map<number, number> | null {
  type S = { domains?: Array<{ fields?: { id?: unknown }; vcpus?: Array<{ cpu?: { icount?: unknown } }> }> };
  const st = JSON.parse(Buffer.from(stateJson).toString('utf8')) as S;
  const out = new Map<number, number>();
  for (const d of st.domains ?? []) {
    if (typeof d.fields?.id !== 'number') return null;
    for (const [k, v] of (d.vcpus ?? []).entries()) {
      if (typeof v.cpu?.icount !== 'number') return null;
      out.set(vkey(d.fields.id, k), v.cpu.icount);
    }
  }
  return out.size > 0 ? out : null;
}

/**
 * Whether a clean point where the target's vCPU has retired `n` lies before
 * an instruction-count target: strictly below the count (so the stop is the
 * same whatever the start), or at it for a late target (which is inside the
 * vCPU's next slice).
 */
function cleanBefore(n: number | undefined, t: Extract<Target, { kind: 'icount' }>): boolean {
  return n !== undefined && (n < t.icount || (t.late === true && n === t.icount));
}

/** The machine at the cursor: its sink, and the clean point before it (`k` clean points after `from`). */
/** `last`: the next seq and total instructions at the last clean point it passed (identifies it). */
type Live = { m: Machine; sink: { fn: (e: SimEvent) => void }; from: Clean; k: number; resumable: boolean; last: { seq: number; insns: number } };

/** A `haltAt` that never fires (there is no domain 0). */
export const NO_STOP = [0, 0, Number.MAX_SAFE_INTEGER] as const;

export class Seeker {
  private readonly start: Clean = { snap: null, seq: 0, icounts: new Map(), insns: 0, origin: -1 };
  private anchor: Clean | null = null;
  private live: Live | null = null;
  /** per checkpoint: retired instructions per vCPU, learned from the checkpoints read so far */
  private readonly cpIcounts = new Map<number, Map<number, number>>();
  private readonly cpClean = new Map<number, Clean>();
  /** Checkpoints read (decompressed) so far, moves that resumed the live machine, and where the last move started: for tests and benches. */
  readonly stats: { checkpointReads: number; resumed: number; lastOrigin: MoveOrigin } = { checkpointReads: 0, resumed: 0, lastOrigin: -1 };
  /** Where the last runTo, runOn or adopt left the cursor. */
  current: Stop | null = null;

  /**
   * `useCheckpoints` false: never start from the trace's checkpoints (a
   * replay of other images than the recorded ones: the checkpoints hold
   * the recorded run's machine, and store pages against its memory as built).
   */
  constructor(
    private readonly reader: TraceReader,
    private readonly fresh: (sink: ((e: SimEvent) => void) | null) => Machine,
    private readonly maxInsns: number,
    private readonly useCheckpoints = true,
  ) {}

  /** The trace checkpoints this seeker may start from. */
  private get cps(): TraceReader['index']['checkpoints'] {
    return this.useCheckpoints ? this.reader.index.checkpoints : [];
  }

  /**
   * Move to `target`: resume the live machine when it can run on and is at
   * least as close as any clean point, else re-execute from the latest clean
   * point before the target.
   *
   * At an event, the view is taken as the event is emitted. At an
   * instruction count, the view's `seq` counts only the events before the
   * stop: if the slice happens to close right there (the vCPU blocked or
   * its quantum ended), events that closing emits come after the stop.
   */
  runTo(target: Target): Stop {
    // An incomplete recording ends at its last recorded event (the machines halt just past it: ReplaySession.fresh).
    const n = this.reader.index.eventCount;
    if (!this.reader.complete && target.kind === 'seq' && target.seq >= n && n > 0) target = { kind: 'seq', seq: n - 1 };
    const best = this.bestStart(target);
    const cur = this.live;
    const resume = cur !== null && cur.resumable && target.kind !== 'start' && this.liveBefore(cur.m, target) && cur.m.nextSeq >= best.seq;
    const live = resume ? cur! : this.startAt(best);
    if (resume) this.stats.resumed++;
    this.stats.lastOrigin = resume ? 'resumed' : best.origin;
    this.live = live;
    const m = live.m;
    m.setBreakpoints([]);
    m.setDataWatches([]);
    const hit: { view: MachineView | null; cut: number } = { view: null, cut: -1 };
    const stopping = target.kind === 'icount' ? vcpuOf(m, target.dom, target.vcpu) : undefined;
    const late = target.kind === 'icount' && target.late === true;
    // From below the count, that vCPU reaches it only where the stop is: whatever is emitted after is after the stop.
    const below = target.kind === 'icount' && stopping !== undefined && (stopping.cpu.retired() < target.icount || (late && stopping.cpu.retired() === target.icount));
    live.sink.fn = (): void => {};
    if (target.kind === 'seq') {
      live.sink.fn = (e) => {
        if (hit.view === null && e.seq >= target.seq) {
          hit.view = machineView(m, e.seq, e.time);
          m.halt();
        }
      };
    } else if (below && !late) {
      live.sink.fn = (e) => {
        if (hit.cut < 0 && stopping.cpu.cur === null && stopping.cpu.icount >= (target as { icount: number }).icount) hit.cut = e.seq;
      };
    }
    if (target.kind !== 'start') {
      if (target.kind === 'icount') m.haltAt(target.dom, target.vcpu, target.icount, late);
      else m.haltAt(...NO_STOP);
      m.run(this.maxInsns, () => {
        live.k++;
        live.last = { seq: m.nextSeq, insns: m.instructions };
        // A resumed machine running on far past the anchor: anchor here, so a step back stays cheap.
        const a = this.anchor;
        if (resume && (a === null || a.insns > m.instructions || m.instructions - a.insns > LOCAL_INSNS)) this.anchorAt(live);
      });
    }
    live.sink.fn = () => {};
    live.resumable = target.kind === 'start' || below;
    if (hit.view !== null) return (this.current = { machine: m, view: hit.view, atEvent: true, reached: true });
    const reached = target.kind === 'start' || (target.kind === 'icount' && (stopping === undefined || (late ? m.pausedIn === stopping : stopping.cpu.retired() >= target.icount)));
    return (this.current = { machine: m, view: machineView(m, hit.cut >= 0 ? hit.cut : m.nextSeq, m.xen.now()), atEvent: false, reached });
  }

  /**
   * Run the live machine on (the cursor must be resumable) with code
   * breakpoints `bps` and read/access watches `data` set, until one of them
   * stops it, vCPU `until`
   * reaches its count (the late form, as gdb's single step stops), `between`
   * returns true at a clean point, or the run ends. The live machine keeps
   * them until the next other move (which drops them), so
   * repeated runs with the same set keep their decoded blocks. The cursor
   * stays resumable wherever this stops.
   */
  runOn(bps: readonly Breakpoint[], data: readonly DataWatchPiece[], until: { dom: number; vcpu: number; icount: number } | null, between: (m: Machine) => boolean): Stop {
    const live = this.live;
    if (live === null || !live.resumable) throw new Error('runOn: the cursor cannot run on');
    const m = live.m;
    this.stats.resumed++;
    live.sink.fn = () => {};
    m.setBreakpoints(bps);
    m.setDataWatches(data);
    if (until !== null) m.haltAt(until.dom, until.vcpu, until.icount, true);
    else m.haltAt(...NO_STOP);
    // No anchors on the way (a snapshot costs far more than a slice): a step back re-executes from the last checkpoint passed.
    m.run(this.maxInsns, () => {
      live.k++;
      live.last = { seq: m.nextSeq, insns: m.instructions };
      return between(m);
    });
    const stopping = until === null ? undefined : vcpuOf(m, until.dom, until.vcpu);
    return (this.current = { machine: m, view: machineView(m, m.nextSeq, m.xen.now()), atEvent: false, reached: m.breakIn === null && m.watchIn === null && stopping !== undefined && m.pausedIn === stopping });
  }

  /**
   * Make `m` the cursor's machine: opened at clean point `c` (from
   * cleanPointsBefore) and run on to its `k`-th clean point since, where it
   * stopped (so it can run on, and a step back re-executes from `c`).
   */
  adopt(m: Machine, c: CleanPoint, k: number): Stop {
    this.live = { m, sink: { fn: () => {} }, from: c.clean, k, resumable: true, last: { seq: m.nextSeq, insns: m.instructions } };
    return (this.current = { machine: m, view: machineView(m, m.nextSeq, m.xen.now()), atEvent: false, reached: true });
  }

  /** Make the cursor a fresh machine restored from `snap`, taken at a clean point. */
  resumeFrom(snap: MachineSnapshot): Stop {
    const c: Clean = { snap, seq: snap.seq, icounts: new Map(), insns: 0, origin: 'anchor' };
    const live = (this.live = this.startAt(c));
    const m = live.m;
    c.icounts = icountsOf(m);
    c.insns = m.instructions;
    return (this.current = { machine: m, view: machineView(m, m.nextSeq, m.xen.now()), atEvent: false, reached: true });
  }

  /** The cursor's machine, for looking at (running it on is runOn's job). */
  get liveMachine(): Machine {
    if (this.live === null) this.live = this.startAt(this.start);
    return this.live.m;
  }

  /** A fresh machine (not the cursor's) at the latest clean point known before `t`. */
  openBefore(t: Target): Machine {
    return this.startAt(this.bestStart(t)).m;
  }

  /**
   * Clean points to scan from going back from `t`, latest first: the trace
   * checkpoints before `t` (the anchor among them when it is before `t`),
   * then the start. Each opens a fresh machine there; `seq` and `insns` say
   * where the stretch from the one before it ends. Lazy: a backward search
   * that stops early decodes only the checkpoints it reached.
   */
  *cleanPointsBefore(t: Target): Generator<CleanPoint> {
    const at = (c: Clean): CleanPoint => ({ open: () => this.startAt(c).m, seq: c.seq, insns: c.insns, clean: c });
    let a = this.anchor !== null && this.before(this.anchor, t) ? this.anchor : null;
    for (let i = this.checkpointsBefore(t) - 1; i >= 0; i--) {
      const c = this.checkpointClean(i);
      if (a !== null && (a.seq > c.seq || (a.seq === c.seq && a.insns > c.insns))) {
        yield at(a);
        a = null;
      }
      yield at(c);
    }
    if (a !== null) yield at(a);
    yield at(this.start);
  }

  /**
   * Before a move back near the cursor: make the clean point just before
   * the cursor the anchor, unless the anchor is already close.
   */
  prepareLocal(): void {
    const p = this.live;
    if (p === null || p.k === 0 || (p.from === this.anchor && (p.k <= 1 || p.m.instructions - p.from.insns <= LOCAL_INSNS))) return;
    // From where the live machine started, or from a later checkpoint (or anchor) it passed on its way.
    const last = p.last;
    const c = this.bestStart({ kind: 'seq', seq: last.seq });
    const m = this.fresh(null);
    if (c.insns > p.from.insns && c.insns <= last.insns) {
      this.restore(m, c);
      m.run(this.maxInsns, () => m.nextSeq >= last.seq && m.instructions >= last.insns);
    } else {
      this.restore(m, p.from);
      let n = 0;
      m.run(this.maxInsns, () => ++n >= p.k);
    }
    this.anchor = { snap: snapshotMachine(m), seq: m.nextSeq, icounts: icountsOf(m), insns: m.instructions, origin: 'anchor' };
    p.from = this.anchor;
    p.k = 1;
  }

  /** The live machine was handed out (someone else may run it): never resume it. */
  release(): void {
    if (this.live !== null) this.live.resumable = false;
  }

  /** Whether the live cursor machine can run on (it stopped at an instruction count, or is at the start). */
  get resumable(): boolean {
    return this.live?.resumable ?? false;
  }

  /** The trace's checkpoints (clean points a caller may scan from). */
  get checkpointCount(): number {
    return this.cps.length;
  }

  /**
   * Checkpoint `i` (-1: the start of the run) for a caller that runs
   * machines itself: `open` makes a fresh machine there; its next seq,
   * total instructions, and a vCPU's retired instructions there.
   */
  checkpointAt(i: number): { open: () => Machine; seq: number; insns: number; icount: (dom: number, vcpu: number) => number } {
    const c = i < 0 ? this.start : this.checkpointClean(i);
    return { open: () => this.startAt(c).m, seq: c.seq, insns: c.insns, icount: (dom, vcpu) => c.icounts.get(vkey(dom, vcpu)) ?? 0 };
  }

  /**
   * Make fresh machine `m` the clean point's. A trace checkpoint that does
   * not restore (a damaged page, or a machine built from other files than
   * the recorded ones) is a TraceError naming it.
   */
  private restore(m: Machine, c: Pick<Clean, 'snap' | 'origin'>): void {
    if (c.snap === null) return;
    try {
      restoreMachine(m, c.snap);
    } catch (e) {
      if (!(e instanceof SnapshotError) || typeof c.origin !== 'number') throw e;
      const at = this.reader.index.checkpoints[c.origin]!.offset;
      throw new TraceError(`${this.reader.path}: checkpoint ${c.origin} at ${hex(at)} does not restore (${e.message.replace(/^machine snapshot: /, '')})`);
    }
  }

  /** The live machine is at a clean point (inside `between`): snapshot it as the anchor. */
  private anchorAt(live: Live): void {
    const m = live.m;
    this.anchor = { snap: snapshotMachine(m), seq: m.nextSeq, icounts: icountsOf(m), insns: m.instructions, origin: 'anchor' };
    live.from = this.anchor;
    live.k = 1;
  }

  private startAt(c: Clean): Live {
    const sink = { fn: (_e: SimEvent): void => {} };
    const m = this.fresh((e) => sink.fn(e));
    this.restore(m, c);
    return { m, sink, from: c, k: 0, resumable: true, last: { seq: c.seq, insns: c.insns } };
  }

  /** Whether running `m` on reaches `t`. */
  private liveBefore(m: Machine, t: Target): boolean {
    if (t.kind === 'seq') return m.nextSeq <= t.seq;
    if (t.kind === 'start') return false;
    const v = vcpuOf(m, t.dom, t.vcpu);
    return v !== undefined && (v.cpu.retired() < t.icount || (t.late === true && v.cpu.retired() === t.icount));
  }

  /** Whether re-executing from `c` reaches `t` (at an instruction count: from strictly below it, so the stop is the same whatever the start). */
  private before(c: Clean, t: Target): boolean {
    if (c.snap === null) return true;
    if (t.kind === 'start') return false;
    if (t.kind === 'seq') return c.seq <= t.seq;
    return cleanBefore(c.icounts.get(vkey(t.dom, t.vcpu)), t);
  }

  /** How many checkpoints lie before `t`. Checkpoints are in seq order and every vCPU's count only grows, so a binary search. */
  private checkpointsBefore(t: Target): number {
    const cps = this.cps;
    let lo = 0;
    let hi = cps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const before = t.kind === 'seq' ? cps[mid]!.seq <= t.seq : t.kind === 'icount' && cleanBefore(this.icountsAt(mid).get(vkey(t.dom, t.vcpu)), t);
      if (before) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private bestStart(t: Target): Clean {
    const cps = this.cps;
    const cp = this.checkpointsBefore(t) - 1;
    const a = this.anchor;
    if (a !== null && this.before(a, t) && (cp < 0 || a.seq >= cps[cp]!.seq)) return a;
    return cp < 0 ? this.start : this.checkpointClean(cp);
  }

  private icountsAt(i: number): Map<number, number> {
    let ic = this.cpIcounts.get(i);
    if (ic === undefined) {
      // From the checkpoint's state alone: a search over checkpoints reads no memory.
      ic = snapIcounts(this.reader.checkpointHead(i).stateJson) ?? this.checkpointClean(i).icounts;
      this.cpIcounts.set(i, ic);
    }
    return ic;
  }

  /** Checkpoint `i` as a clean point; the last four read stay decoded. */
  private checkpointClean(i: number): Clean {
    let c = this.cpClean.get(i);
    if (c !== undefined) return c;
    const data = this.reader.checkpoint(i);
    this.stats.checkpointReads++;
    const snap: MachineSnapshot = { seq: data.seq, time: data.time, stateJson: data.stateJson, pages: data.pages };
    let icounts = this.cpIcounts.get(i) ?? snapIcounts(data.stateJson);
    let insns = 0;
    if (icounts === null) {
      const m = this.fresh(null);
      this.restore(m, { snap, origin: i });
      icounts = icountsOf(m);
    }
    for (const n of icounts.values()) insns += n;
    this.cpIcounts.set(i, icounts);
    c = { snap, seq: data.seq, icounts, insns, origin: i };
    if (this.cpClean.size >= 4) this.cpClean.delete(this.cpClean.keys().next().value!);
    this.cpClean.set(i, c);
    return c;
  }
}
