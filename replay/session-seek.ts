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
import { restoreMachine, snapshotMachine, type MachineSnapshot } from '../sim/snapshot.js';
import type { Vcpu } from '../sim/xen/vcpu.js';
import type { TraceReader } from '../trace/reader.js';
import { machineView, type MachineView } from './session-view.js';

export type Target = { kind: 'start' } | { kind: 'seq'; seq: number } | { kind: 'icount'; dom: number; vcpu: number; icount: number };

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

/** The machine at the cursor: its sink, and the clean point before it (`k` clean points after `from`). */
type Live = { m: Machine; sink: { fn: (e: SimEvent) => void }; from: Clean; k: number; resumable: boolean };

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

  constructor(
    private readonly reader: TraceReader,
    private readonly fresh: (sink: ((e: SimEvent) => void) | null) => Machine,
    private readonly maxInsns: number,
  ) {}

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
    const best = this.bestStart(target);
    const cur = this.live;
    const resume = cur !== null && cur.resumable && target.kind !== 'start' && this.liveBefore(cur.m, target) && cur.m.nextSeq >= best.seq;
    const live = resume ? cur! : this.startAt(best);
    if (resume) this.stats.resumed++;
    this.stats.lastOrigin = resume ? 'resumed' : best.origin;
    this.live = live;
    const m = live.m;
    const hit: { view: MachineView | null; cut: number } = { view: null, cut: -1 };
    const stopping = target.kind === 'icount' ? vcpuOf(m, target.dom, target.vcpu) : undefined;
    // From below the count, that vCPU reaches it only where the stop is: whatever is emitted after is after the stop.
    const below = target.kind === 'icount' && stopping !== undefined && stopping.cpu.retired() < target.icount;
    live.sink.fn = (): void => {};
    if (target.kind === 'seq') {
      live.sink.fn = (e) => {
        if (hit.view === null && e.seq >= target.seq) {
          hit.view = machineView(m, e.seq, e.time);
          m.halt();
        }
      };
    } else if (below) {
      live.sink.fn = (e) => {
        if (hit.cut < 0 && stopping.cpu.cur === null && stopping.cpu.icount >= (target as { icount: number }).icount) hit.cut = e.seq;
      };
    }
    if (target.kind !== 'start') {
      if (target.kind === 'icount') m.haltAt(target.dom, target.vcpu, target.icount);
      else m.haltAt(...NO_STOP);
      m.run(this.maxInsns, () => {
        live.k++;
        // A resumed machine running on far past the anchor: anchor here, so a step back stays cheap.
        const a = this.anchor;
        if (resume && (a === null || a.insns > m.instructions || m.instructions - a.insns > LOCAL_INSNS)) this.anchorAt(live);
      });
    }
    live.sink.fn = () => {};
    live.resumable = target.kind === 'start' || below;
    if (hit.view !== null) return { machine: m, view: hit.view, atEvent: true, reached: true };
    const reached = target.kind === 'start' || (target.kind === 'icount' && (stopping === undefined || stopping.cpu.retired() >= target.icount));
    return { machine: m, view: machineView(m, hit.cut >= 0 ? hit.cut : m.nextSeq, m.xen.now()), atEvent: false, reached };
  }

  /**
   * Before a move back near the cursor: make the clean point just before
   * the cursor the anchor, unless the anchor is already close.
   */
  prepareLocal(): void {
    const p = this.live;
    if (p === null || p.k === 0 || (p.from === this.anchor && (p.k <= 1 || p.m.instructions - p.from.insns <= LOCAL_INSNS))) return;
    const m = this.fresh(null);
    if (p.from.snap !== null) restoreMachine(m, p.from.snap);
    let n = 0;
    m.run(this.maxInsns, () => ++n >= p.k);
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
    return this.reader.index.checkpoints.length;
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
    if (c.snap !== null) restoreMachine(m, c.snap);
    return { m, sink, from: c, k: 0, resumable: true };
  }

  /** Whether running `m` on reaches `t`. */
  private liveBefore(m: Machine, t: Target): boolean {
    if (t.kind === 'seq') return m.nextSeq <= t.seq;
    if (t.kind === 'start') return false;
    const v = vcpuOf(m, t.dom, t.vcpu);
    return v !== undefined && v.cpu.retired() < t.icount;
  }

  /** Whether re-executing from `c` reaches `t` (at an instruction count: from strictly below it, so the stop is the same whatever the start). */
  private before(c: Clean, t: Target): boolean {
    if (c.snap === null) return true;
    if (t.kind === 'start') return false;
    if (t.kind === 'seq') return c.seq <= t.seq;
    return (c.icounts.get(vkey(t.dom, t.vcpu)) ?? Infinity) < t.icount;
  }

  private bestStart(t: Target): Clean {
    const cps = this.reader.index.checkpoints;
    // Checkpoints are in seq order, and every vCPU's count only grows: binary search for the last one before t.
    let lo = 0;
    let hi = cps.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const before = t.kind === 'seq' ? cps[mid]!.seq <= t.seq : t.kind === 'icount' && (this.icountsAt(mid).get(vkey(t.dom, t.vcpu)) ?? Infinity) < t.icount;
      if (before) lo = mid + 1;
      else hi = mid;
    }
    const cp = lo - 1;
    const a = this.anchor;
    if (a !== null && this.before(a, t) && (cp < 0 || a.seq >= cps[cp]!.seq)) return a;
    return cp < 0 ? this.start : this.checkpointClean(cp);
  }

  private icountsAt(i: number): Map<number, number> {
    let ic = this.cpIcounts.get(i);
    if (ic === undefined) {
      ic = this.checkpointClean(i).icounts;
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
      restoreMachine(m, snap);
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
