/**
 * Getting a machine to a point of the recorded run: an event (by seq), an
 * instruction count of one vCPU, or the start.
 *
 * A clean point is an instant between scheduler slices (Machine.run's
 * `between`): a machine there continues exactly as the recording did, and
 * can be snapshotted. A machine stopped at an event or an instruction cannot
 * continue (Machine.halt ends the current slice early, so its scheduler
 * would part from the recording). So nothing here continues a stopped
 * machine: every move restores the latest clean point known to lie before
 * the target into a fresh machine and re-executes from there. Clean points
 * known: the start, the trace's checkpoints, and one anchor, an in-memory
 * snapshot near the cursor.
 *
 * After each move the seeker remembers how to reach the clean point just
 * before the cursor (`k` clean points after the one it started from);
 * `prepareLocal` turns that into the anchor (one more re-execution, and a
 * snapshot), so that steps around the cursor re-execute only from there.
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

/** A clean point: snapshot (null: the start), seq of the next event, retired instructions per vCPU and in total. */
type Clean = { snap: MachineSnapshot | null; seq: number; icounts: Map<number, number>; insns: number };

const vkey = (dom: number, vcpu: number): number => dom * 4096 + vcpu;
/** Re-anchor before a local move when the anchor is more than this many instructions behind the cursor. */
const LOCAL_INSNS = 20_000;

function icountsOf(m: Machine): Map<number, number> {
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

export class Seeker {
  private readonly start: Clean = { snap: null, seq: 0, icounts: new Map(), insns: 0 };
  private anchor: Clean | null = null;
  private pending: { from: Clean; k: number; insns: number } | null = null;
  /** per checkpoint: retired instructions per vCPU, learned from the checkpoints read so far */
  private readonly cpIcounts = new Map<number, Map<number, number>>();
  private readonly cpClean = new Map<number, Clean>();

  constructor(
    private readonly reader: TraceReader,
    private readonly fresh: (sink: (e: SimEvent) => void) => Machine,
    private readonly maxInsns: number,
  ) {}

  /** Checkpoints read (decompressed) so far: for tests of how much a seek reads. */
  checkpointReads = 0;

  /**
   * Re-execute to `target` from the latest clean point before it.
   *
   * At an event, the view is taken as the event is emitted. At an
   * instruction count, the slice the stop cuts short still closes (ring
   * check, console drain) before the view is taken; the events that closing
   * emits are not the recording's at that point, so the view's `seq` counts
   * only the events before the stop.
   */
  runTo(target: Target): Stop {
    const from = this.bestStart(target);
    const hit: { view: MachineView | null; cut: number } = { view: null, cut: -1 };
    let m: Machine | null = null;
    let stopping: Vcpu | undefined;
    let sink: (e: SimEvent) => void = () => {};
    if (target.kind === 'seq') {
      sink = (e: SimEvent): void => {
        if (hit.view === null && e.seq >= target.seq) {
          hit.view = machineView(m!, e.seq, e.time);
          m!.halt();
        }
      };
    } else if (target.kind === 'icount' && (from.icounts.get(vkey(target.dom, target.vcpu)) ?? 0) < target.icount) {
      // From below the count, that vCPU reaches it only as the stop cuts its slice: whatever comes after is the slice closing.
      sink = (e: SimEvent): void => {
        if (hit.cut < 0 && stopping !== undefined && stopping.cpu.cur === null && stopping.cpu.icount >= target.icount) hit.cut = e.seq;
      };
    }
    m = this.machineAt(from, sink);
    let k = 0;
    if (target.kind !== 'start') {
      if (target.kind === 'icount') {
        stopping = m.domains.find((d) => d.id === target.dom)?.vcpus[target.vcpu];
        m.haltAt(target.dom, target.vcpu, target.icount);
      }
      m.run(this.maxInsns, () => {
        k++;
      });
    }
    this.pending = k > 0 ? { from, k, insns: m.instructions } : null;
    if (hit.view !== null) return { machine: m, view: hit.view, atEvent: true, reached: true };
    const reached = target.kind === 'start' || (target.kind === 'icount' && (stopping === undefined || stopping.cpu.retired() >= target.icount));
    return { machine: m, view: machineView(m, hit.cut >= 0 ? hit.cut : m.nextSeq, m.xen.clock), atEvent: false, reached };
  }

  /**
   * Before a move near the cursor (a step either way): make the clean point
   * just before the cursor the anchor, unless the anchor is already close.
   */
  prepareLocal(): void {
    const p = this.pending;
    if (p === null || (p.from === this.anchor && (p.k <= 1 || p.insns - p.from.insns <= LOCAL_INSNS))) return;
    const m = this.machineAt(p.from, () => {});
    let n = 0;
    m.run(this.maxInsns, () => ++n >= p.k);
    this.anchor = { snap: snapshotMachine(m), seq: m.nextSeq, icounts: icountsOf(m), insns: m.instructions };
    this.pending = { from: this.anchor, k: 1, insns: p.insns };
  }

  private machineAt(c: Clean, sink: (e: SimEvent) => void): Machine {
    const m = this.fresh(sink);
    if (c.snap !== null) restoreMachine(m, c.snap);
    return m;
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
    this.checkpointReads++;
    const snap: MachineSnapshot = { seq: data.seq, time: data.time, stateJson: data.stateJson, pages: data.pages };
    let icounts = this.cpIcounts.get(i) ?? snapIcounts(data.stateJson);
    let insns = 0;
    if (icounts === null) {
      const m = this.fresh(() => {});
      restoreMachine(m, snap);
      icounts = icountsOf(m);
    }
    for (const n of icounts.values()) insns += n;
    this.cpIcounts.set(i, icounts);
    c = { snap, seq: data.seq, icounts, insns };
    if (this.cpClean.size >= 4) this.cpClean.delete(this.cpClean.keys().next().value!);
    this.cpClean.set(i, c);
    return c;
  }
}
