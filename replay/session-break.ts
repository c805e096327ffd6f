/**
 * Running a replay to code breakpoints and watchpoints, both ways, as gdb's
 * continue / stepi and rr's reverse-continue / reverse-stepi do: forward,
 * the next point where a vCPU reaches a breakpoint address, watched memory
 * changes, or an instruction reads (or accesses) memory under a read (or
 * access) watch; backward, the last such point before the cursor. A step
 * (one instruction of one vCPU) is a run with one more stop, so a
 * breakpoint another vCPU reaches meanwhile interrupts it, as in gdb.
 *
 * Positions are late instruction points (session-seek.ts): a vCPU about to
 * execute its next instruction, as a debugger shows a stopped thread. A
 * breakpoint stop is one by construction (Machine.setBreakpoints pauses the
 * vCPU before the breakpoint's block); a watch stops just after the
 * changing instruction going forward and just before it going back.
 *
 * Forward: the cursor's machine runs on with the breakpoints set, comparing
 * the watched bytes at every clean point and at a breakpoint stop; a change
 * is then placed on its instruction by re-executing that one slice a step
 * at a time (session-watch.ts).
 * Read and access watches are the core's (Machine.setDataWatches): a vCPU
 * pauses after the instruction, so they are found as breakpoints are.
 * Backward: the stretches between clean points are re-executed, latest
 * first, with the breakpoints and read/access watches set, noting every
 * stop and resuming past it;
 * the last stop before the cursor wins, unless the last watch change
 * (session-watch.ts's backward search) is later. Points of different vCPUs
 * are ordered by the instructions all vCPUs have retired together.
 */
import type { Machine } from '../sim/machine.js';
import type { MachineSnapshot } from '../sim/snapshot.js';
import { icountsOf, NO_STOP, vcpuOf, type Breakpoint, type DataWatchPiece, type Seeker, type Target } from './session-seek.js';
import { firstChangeIn, INTERRUPTED, physRanges, read, same, watchBackward, type IcountPoint, type MachineSource, type Range, type WatchHit, type WatchSpec } from './session-watch.js';

/**
 * Where the cursor is, for a run: the start, the end, an instruction point
 * (late: about to execute the next instruction), or a clean point between
 * slices (where a watch stopped for a change Xen made), given by its next
 * seq, total instructions and each vCPU's count (by vkey). `inclusive`: a
 * breakpoint at the point itself counts going back (the cursor is an event
 * raised by the instruction there).
 */
export type RunFrom =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'point'; p: IcountPoint; late: boolean; inclusive?: boolean }
  | { kind: 'clean'; seq: number; insns: number; icounts: Map<number, number>; snap: MachineSnapshot };

export type RunRequest = {
  direction: 'forward' | 'backward';
  breakpoints: readonly Breakpoint[];
  /** write watches: stop where the bytes change */
  watches: readonly WatchSpec[];
  /** read watches, or with `write` access watches: stop after an instruction that reads (or writes) any of the bytes */
  accesses?: ReadonlyArray<WatchSpec & { write: boolean }>;
  /** one instruction of this vCPU (gdb's stepi / reverse-stepi) */
  step: { dom: number; vcpu: number } | null;
  /** going forward, execute a breakpoint instruction the cursor's vCPU is at instead of stopping there again */
  skip: boolean;
  /** checked at every clean point: true stops the run (a debugger's Ctrl-C) */
  interrupted?: () => boolean;
};

/**
 * Where a run stopped. `at`: the late point the cursor is now at (null for
 * a watch change Xen made between slices: the cursor is then at the clean
 * point after it). End and start: the run went off either end of the
 * recording.
 */
export type RunStop =
  | { why: 'breakpoint'; at: IcountPoint; addr: bigint }
  | { why: 'watch'; at: IcountPoint | null; watch: number; hit: WatchHit }
  | { why: 'access'; at: IcountPoint; watch: number }
  | { why: 'step'; at: IcountPoint }
  | { why: 'end' }
  | { why: 'start' }
  /** `interrupted` said so: going forward, the cursor is at the clean point reached; going back, where it was */
  | { why: 'interrupted'; at: null };

/** What a run needs of the session: its seeker, cursor moves, and machines at the cursor for the watch search. */
export type RunHost = {
  seeker: Seeker;
  /** move the cursor to a target */
  moveTo(t: Target): void;
  /** move the cursor back to where the run started */
  toCursor(): void;
  /** machines at the cursor (or, backward, anywhere) for session-watch.ts */
  watchSource: MachineSource;
  maxInsns: number;
};

const late = (p: IcountPoint): Target => ({ kind: 'icount', dom: p.dom, vcpu: p.vcpu, icount: p.icount, late: true });
const pointOf = (from: RunFrom): IcountPoint => (from.kind === 'point' ? from.p : { dom: 1, vcpu: 0, icount: 0 });
/** Where the cursor is, as a target to go back to. */
function targetOf(from: RunFrom): Target {
  if (from.kind === 'point') return { kind: 'icount', dom: from.p.dom, vcpu: from.p.vcpu, icount: from.p.icount, late: from.late };
  if (from.kind === 'clean') return { kind: 'seq', seq: from.seq };
  return from.kind === 'start' ? { kind: 'start' } : { kind: 'seq', seq: Number.MAX_SAFE_INTEGER };
}

/** Forward from the cursor (the seeker's live machine, which must be resumable). */
export function runForward(h: RunHost, from: RunFrom, r: RunRequest): RunStop {
  if (from.kind === 'end') return { why: 'end' };
  const m0 = h.seeker.liveMachine;
  const ws = r.watches.map((w) => {
    const rs = physRanges(m0, w);
    return { w, rs, b0: read(m0, rs) };
  });
  const changed = (m: Machine): boolean => ws.some((x) => !same(read(m, x.rs), x.b0));
  const { pieces, owner } = dataPieces(m0, r.accesses ?? []);
  const cur = from.kind === 'point' ? vcpuOf(m0, from.p.dom, from.p.vcpu) : undefined;
  if (r.skip && cur !== undefined) cur.cpu.bpSkip = true;
  const sv = r.step === null ? undefined : vcpuOf(m0, r.step.dom, r.step.vcpu);
  const until = r.step === null || sv === undefined ? null : { ...r.step, icount: sv.cpu.icount + 1 };
  // Clean points passed and the counts at the last one, to place a watch change in its slice.
  let k = 0;
  let prev = ws.length > 0 ? icountsOf(m0) : new Map<number, number>();
  let seen = false;
  let cut = false;
  const stop = h.seeker.runOn(r.breakpoints, pieces, until, (m) => {
    if (ws.length > 0) {
      if ((seen = changed(m))) return true;
      k++;
      prev = icountsOf(m);
    }
    return (cut = r.interrupted?.() === true);
  });
  const m = stop.machine;
  const brk = m.breakIn;
  const acc = m.watchIn;
  const paused = brk ?? acc;
  const accStop: RunStop | null = acc === null ? null : { why: 'access', at: { dom: acc.domId, vcpu: acc.id, icount: acc.cpu.icount }, watch: owner[m.watchHit] ?? 0 };
  const accInsns = m.instructions;
  if (!seen && paused !== null && ws.length > 0) seen = changed(m);
  if (seen) {
    // A write watch's change came first, unless the access that stopped the run was earlier.
    const w = placeForward(h, from, ws, m, prev, k, paused === null ? null : { dom: paused.domId, vcpu: paused.id, icount: paused.cpu.icount });
    if (w !== null && (accStop === null || w.insns <= accInsns)) {
      w.move();
      return w.stop;
    }
    if (accStop !== null) {
      h.moveTo(late(accStop.at));
      return accStop;
    }
  }
  if (accStop !== null) return accStop;
  if (brk !== null) return { why: 'breakpoint', at: { dom: brk.domId, vcpu: brk.id, icount: brk.cpu.icount }, addr: brk.cpu.rip };
  if (until !== null && stop.reached) return { why: 'step', at: until };
  if (cut) return { why: 'interrupted', at: null };
  return { why: 'end' };
}

/**
 * The first watch change in the stretch a forward run stopped at: the slice
 * after its clean point `k` (a breakpoint or access stop `brk`: up to it),
 * found by single-stepping that slice's vCPU on fresh machines from the
 * cursor; `move` then puts the cursor just after the changing instruction.
 */
function placeForward(h: RunHost, from: RunFrom, ws: Array<{ w: WatchSpec; rs: Range[]; b0: Uint8Array }>, m: Machine, prev: Map<number, number>, k: number, brk: IcountPoint | null): { stop: RunStop; insns: number; move: () => void } | null {
  const now = icountsOf(m);
  let who: { dom: number; vcpu: number } | null = brk;
  if (who === null) for (const d of m.domains) for (const v of d.vcpus) if (now.get(d.id * 4096 + v.id)! > prev.get(d.id * 4096 + v.id)!) who = { dom: d.id, vcpu: v.id };
  let best: { i: number; hit: WatchHit } | null = null;
  for (const [i, x] of ws.entries()) {
    if (same(read(m, x.rs), x.b0)) continue;
    const hit: WatchHit = (who === null ? null : firstChangeIn(h.watchSource, x.w, pointOf(from), brk === null ? k : k, who, brk === null ? Infinity : brk.icount)) ?? {
      before: x.b0, after: read(m, x.rs), how: 'between-slices', at: null, insns: m.instructions,
    };
    if (best === null || hit.insns < best.hit.insns) best = { i, hit };
  }
  if (best === null) return null;
  const { i, hit } = best;
  const a = hit.at;
  if (a === null) {
    // Xen changed it between slices: back to the cursor, then on to the clean point after the change.
    const x = ws[i]!;
    const move = (): void => {
      h.toCursor();
      h.seeker.runOn([], [], null, (mm) => !same(read(mm, x.rs), x.b0));
    };
    return { stop: { why: 'watch', at: null, watch: i, hit }, insns: hit.insns, move };
  }
  const at = { dom: a.dom, vcpu: a.vcpu, icount: a.icount };
  return { stop: { why: 'watch', at, watch: i, hit }, insns: hit.insns, move: () => h.moveTo(late(at)) };
}

/** The machine-memory pieces of read/access watches (a watch may span two frames), and which watch each is. */
function dataPieces(m: Machine, ws: ReadonlyArray<WatchSpec & { write: boolean }>): { pieces: DataWatchPiece[]; owner: number[] } {
  const pieces: DataWatchPiece[] = [];
  const owner: number[] = [];
  ws.forEach((w, i) => {
    for (const r of physRanges(m, w)) {
      pieces.push({ pfn: r.pfn, off: r.off, len: r.n, write: w.write });
      owner.push(i);
    }
  });
  return { pieces, owner };
}

/**
 * A stop seen while re-executing, as the run going back would stop there:
 * a breakpoint's late point and address, or just before an instruction
 * that touched a read/access watch (piece `piece`); and all vCPUs'
 * instructions retired at that point.
 */
type Hit = { at: IcountPoint; addr: bigint; insns: number; piece: number };

/**
 * Run `m` on with the breakpoints until `end` says stop at a clean point or
 * it pauses at `stopAt` (or the run ends), noting every breakpoint stop.
 * With `after`, only stops once the machine has passed that point count.
 */
function collect(m: Machine, bps: readonly Breakpoint[], data: readonly DataWatchPiece[], stopAt: IcountPoint | null, stopLate: boolean, end: (() => boolean) | null, maxInsns: number, interrupted?: () => boolean): Hit[] {
  const hits: Hit[] = [];
  const between = (): boolean => {
    if (interrupted?.() === true) throw INTERRUPTED;
    return end?.() ?? false;
  };
  m.setBreakpoints(bps);
  m.setDataWatches(data);
  if (stopAt !== null) m.haltAt(stopAt.dom, stopAt.vcpu, stopAt.icount, stopLate);
  else m.haltAt(...NO_STOP);
  for (;;) {
    m.run(maxInsns, between);
    const a = m.watchIn;
    if (a !== null) {
      hits.push({ at: { dom: a.domId, vcpu: a.id, icount: a.cpu.icount - 1 }, addr: 0n, insns: m.instructions - 1, piece: m.watchHit });
      continue;
    }
    const v = m.breakIn;
    if (v === null) return hits;
    hits.push({ at: { dom: v.domId, vcpu: v.id, icount: v.cpu.icount }, addr: v.cpu.rip, insns: m.instructions, piece: -1 });
    v.cpu.bpSkip = true;
  }
}

/** Backward from the cursor: the last breakpoint stop, watch change, or (stepping) the step's point before it. */
export function runBackward(h: RunHost, from: RunFrom, r: RunRequest): RunStop {
  try {
    return back(h, from, r);
  } catch (e) {
    if (e !== INTERRUPTED) throw e;
    h.toCursor();
    return { why: 'interrupted', at: null };
  }
}

function back(h: RunHost, from: RunFrom, r: RunRequest): RunStop {
  if (from.kind === 'start') return { why: 'start' };
  const to = targetOf(from);
  // Read/access watches through the cursor's page tables, before anything else runs machines.
  const { pieces, owner } = dataPieces(h.seeker.liveMachine, r.accesses ?? []);
  // Candidates, ordered by all vCPUs' instructions retired: the step's point, the last watch change, the last breakpoint stop.
  type Cand = { stop: RunStop; insns: number; rank: number };
  const cands: Cand[] = [];
  let floor = -1;
  if (r.step !== null) {
    const p = from.kind === 'point' && from.p.dom === r.step.dom && from.p.vcpu === r.step.vcpu ? from.p.icount : -1;
    const cur = p >= 0 ? p : (h.seeker.liveMachine.domains.find((d) => d.id === r.step!.dom)?.vcpus[r.step.vcpu]?.cpu.icount ?? 0);
    if (cur === 0) return { why: 'start' };
    const s = { dom: r.step.dom, vcpu: r.step.vcpu, icount: cur - 1 };
    if (r.breakpoints.length === 0 && r.watches.length === 0 && (r.accesses ?? []).length === 0) {
      h.moveTo(late(s));
      return { why: 'step', at: s };
    }
    // Where the step lands, in all vCPUs' instructions: stops after it come first going back.
    const m = h.seeker.openBefore(late(s));
    collect(m, [], [], s, true, null, h.maxInsns, r.interrupted);
    floor = m.instructions;
    cands.push({ stop: { why: 'step', at: s }, insns: floor, rank: 0 });
  }
  for (const [i, w] of r.watches.entries()) {
    const icount = from.kind === 'point' ? from.p.icount : from.kind === 'clean' ? (from.icounts.get(w.dom * 4096 + w.vcpu) ?? 0) : Number.MAX_SAFE_INTEGER;
    const hit = watchBackward(h.watchSource, w, from.kind === 'point' ? from.p : { dom: w.dom, vcpu: w.vcpu, icount });
    if (hit === null || hit.insns - 1 < floor) continue;
    const at = hit.at === null ? null : { dom: hit.at.dom, vcpu: hit.at.vcpu, icount: hit.at.icount - 1 };
    cands.push({ stop: { why: 'watch', at, watch: i, hit }, insns: at === null ? hit.insns : hit.insns - 1, rank: 2 });
  }
  const lastWatch = Math.max(floor, ...cands.map((c) => c.insns));
  if (r.breakpoints.length > 0 || pieces.length > 0) {
    const b = lastBreak(h, from, to, r.breakpoints, pieces, lastWatch, r.interrupted);
    if (b !== null) cands.push({ stop: b.piece < 0 ? { why: 'breakpoint', at: b.at, addr: b.addr } : { why: 'access', at: b.at, watch: owner[b.piece]! }, insns: b.insns, rank: 1 });
  }
  if (cands.length === 0) {
    h.moveTo({ kind: 'start' });
    return { why: 'start' };
  }
  const best = cands.reduce((a, c) => (c.insns > a.insns || (c.insns === a.insns && c.rank > a.rank) ? c : a));
  const at = 'at' in best.stop ? best.stop.at : null;
  if (at !== null) h.moveTo(late(at));
  else if (best.stop.why === 'watch') toCleanBefore(h, to, r.watches[best.stop.watch]!, best.stop.hit);
  return best.stop;
}

/**
 * The cursor to the clean point just before a change Xen made between
 * slices (`hit`, all vCPUs having retired `hit.insns`): scan back from the
 * clean points before `to` for the first at which the bytes went from
 * `hit.before` to `hit.after` with that many instructions retired.
 */
function toCleanBefore(h: RunHost, to: Target, w: WatchSpec, hit: WatchHit): void {
  const rs = physRanges(h.watchSource.machineAt({ dom: w.dom, vcpu: w.vcpu, icount: 0 }), w);
  for (const c of h.seeker.cleanPointsBefore(to)) {
    if (c.insns > hit.insns) continue;
    const m = c.open();
    let j = 0;
    let found = -1;
    let was = same(read(m, rs), hit.before);
    m.haltAt(...NO_STOP);
    m.run(h.maxInsns, () => {
      j++;
      const b = read(m, rs);
      if (was && m.instructions === hit.insns && same(b, hit.after)) found = j;
      was = same(b, hit.before);
      return found >= 0 || m.instructions > hit.insns;
    });
    if (found < 0) continue;
    const x = c.open();
    let n = 0;
    if (found > 1) x.run(h.maxInsns, () => ++n >= found - 1);
    h.seeker.adopt(x, c, found - 1);
    return;
  }
}

/**
 * The last breakpoint stop before the cursor (`to`), looking no further back
 * than `floor` instructions (a later candidate already found): the stretch
 * from the last clean point before the cursor, then each earlier stretch.
 */
function lastBreak(h: RunHost, from: RunFrom, to: Target, bps: readonly Breakpoint[], data: readonly DataWatchPiece[], floor: number, intr?: () => boolean): Hit | null {
  let next: { seq: number; insns: number } | null = null;
  for (const c of h.seeker.cleanPointsBefore(to)) {
    if (next !== null && next.insns <= floor) return null;
    const m = c.open();
    let hits: Hit[];
    if (next === null && from.kind === 'clean') {
      hits = collect(m, bps, data, null, false, () => m.nextSeq >= from.seq && m.instructions >= from.insns, h.maxInsns, intr);
    } else if (next === null) {
      const p = from.kind === 'point' ? from.p : null;
      hits = collect(m, bps, data, p, from.kind === 'point' && from.late, null, h.maxInsns, intr);
      // The cursor itself, when it stands for an event its instruction raised: reaching it came first.
      if (p !== null && from.kind === 'point' && from.inclusive === true) {
        const v = vcpuOf(m, p.dom, p.vcpu);
        if (v !== undefined && m.pausedIn === v && bps.some((b) => b.addr === v.cpu.rip && (b.dom === undefined || b.dom === p.dom) && (b.vcpu === undefined || b.vcpu === p.vcpu))) {
          hits.push({ at: p, addr: v.cpu.rip, insns: m.instructions, piece: -1 });
        }
      }
    } else {
      const n = next;
      hits = collect(m, bps, data, null, false, () => m.nextSeq >= n.seq && m.instructions >= n.insns, h.maxInsns, intr);
    }
    const last = hits[hits.length - 1];
    if (last !== undefined) return last.insns >= floor ? last : null;
    next = { seq: c.seq, insns: c.insns };
  }
  return null;
}
