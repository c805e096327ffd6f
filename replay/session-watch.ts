/**
 * Watchpoints over a replay: where do these bytes of guest memory change
 * next, or where did they last change? The location is fixed physically
 * where the watch starts (gdb's `watch -l`, rr's usual use), so a write
 * through any mapping counts: another domain's mapping of a granted ring,
 * Xen writing shared_info for an event channel, a dom0 backend.
 *
 * No hook in the simulator: the run is checked at every clean point (between
 * scheduler slices), and the slice in which the bytes changed is re-executed
 * one instruction at a time (Machine.haltAt) to find the instruction after
 * which they differ. A change made by Xen inside a hypercall is the
 * hypercall's `syscall`; one made between slices (timers, the console
 * backend draining a ring) has no writer instruction.
 *
 * Going back scans from the last trace checkpoint before the point, then
 * from each earlier checkpoint to the next, until a stretch holds a change:
 * the cost follows the distance to the change.
 */
import type { Machine } from '../sim/machine.js';
import type { Vcpu } from '../sim/xen/vcpu.js';
import { UsageError } from './cli/errors.js';
import { icountsOf, NO_STOP, vcpuOf, vkey } from './session-seek.js';

/** Watch `len` bytes at virtual address `va`, translated through vCPU `dom`.`vcpu`'s page tables. */
export type WatchSpec = { dom: number; vcpu: number; va: bigint; len: number };
/** An instruction point: vCPU `dom`.`vcpu` has retired `icount` instructions. */
export type IcountPoint = { dom: number; vcpu: number; icount: number };

/**
 * How the change is placed: after an instruction inside a slice (that
 * instruction, or Xen acting for it when it is a hypercall); after the first
 * instruction of a slice (it, or Xen starting the slice: a timer, an upcall
 * frame); when the slice closed after an instruction (it, or a dom0 backend
 * draining a ring at the slice's end); or between slices with no vCPU
 * running (Xen's timers).
 */
export type WatchHow = 'instruction' | 'slice-start' | 'slice-end' | 'between-slices';

export type WatchHit = {
  before: Uint8Array;
  after: Uint8Array;
  how: WatchHow;
  /** the vCPU that ran, its count once the instruction retired, and the instruction's address (null: between slices) */
  at: { dom: number; vcpu: number; icount: number; rip: bigint } | null;
  /** instructions retired by all vCPUs together once the change happened: orders hits of different vCPUs */
  insns: number;
};

/** A clean point to scan from: `open` makes a fresh machine there; its next seq, total instructions, and a vCPU's count. */
export type CleanStart = { open: () => Machine; seq: number; insns: number; icount: (dom: number, vcpu: number) => number };

/**
 * What the watch needs of a replay session: machines it may run on, at
 * instruction points and at the trace's checkpoints (-1: the start).
 */
export type MachineSource = { machineAt(p: IcountPoint): Machine; checkpoints: number; checkpointAt(i: number): CleanStart; maxInsns: number; interrupted?: () => boolean };

/** Thrown (by reference) from a scan when `interrupted` says so (a debugger's Ctrl-C); the machines it ran are thrown away. */
export const INTERRUPTED: { readonly interrupted: true } = Object.freeze({ interrupted: true });

/** The largest watch (bytes): a struct, a ring's indices. */
export const MAX_WATCH = 64;
const PAGE = 4096;

export type Range = { pfn: number; off: number; n: number };


/** The physical pieces of the watched bytes, through the watch's vCPU's page tables in `m`. */
export function physRanges(m: Machine, w: WatchSpec): Range[] {
  if (!Number.isInteger(w.len) || w.len < 1 || w.len > MAX_WATCH) throw new UsageError(`watch length must be 1..${MAX_WATCH} bytes, got ${w.len}`);
  const v = vcpuOf(m, w.dom, w.vcpu);
  if (v === undefined) throw new UsageError(`no vCPU ${w.dom}.${w.vcpu} in this trace`);
  const out: Range[] = [];
  for (let at = w.va, left = w.len; left > 0; ) {
    const off = Number(at & 0xfffn);
    const n = Math.min(left, PAGE - off);
    const pa = v.cpu.mmu.peekPhys(Number(at & 0xffffffffn), Number((at >> 32n) & 0xffffffffn));
    if (pa < 0) throw new UsageError(`0x${at.toString(16)} is not mapped for d${w.dom}v${w.vcpu} here`);
    out.push({ pfn: Math.floor(pa / PAGE), off, n });
    at += BigInt(n);
    left -= n;
  }
  return out;
}

/** The watched bytes in `m` (a frame never touched reads as zeros, and stays untouched). */
export function read(m: Machine, rs: Range[]): Uint8Array {
  const mem = m.xen.frames.mem;
  const out = new Uint8Array(rs.reduce((s, r) => s + r.n, 0));
  let o = 0;
  for (const r of rs) {
    if (mem.has(r.pfn)) out.set(new Uint8Array(mem.frame(r.pfn)!.buffer, r.off, r.n), o);
    o += r.n;
  }
  return out;
}

export const same = (a: Uint8Array, b: Uint8Array): boolean => a.every((x, i) => x === b[i]);

/** The vCPU that ran between two sets of counts (null: none did). */
function runner(m: Machine, from: Map<number, number>, to: Map<number, number>): Vcpu | null {
  for (const d of m.domains) for (const v of d.vcpus) if (to.get(vkey(d.id, v.id))! > from.get(vkey(d.id, v.id))!) return v;
  return null;
}

/** Run `m` on to its `k`-th clean point (k = 0: stay). */
function toClean(m: Machine, k: number, maxInsns: number): void {
  if (k === 0) return;
  let n = 0;
  m.haltAt(...NO_STOP);
  m.run(maxInsns, () => ++n >= k);
}

/**
 * Step `v` one instruction at a time through the rest of its slice in `m`
 * (up to `limit` retired instructions), calling `seen` with the bytes after
 * each; false from `seen` stops.
 */
function stepSlice(m: Machine, v: Vcpu, rs: Range[], seen: (bytes: Uint8Array, at: NonNullable<WatchHit['at']>, how: WatchHow, insns: number) => boolean, limit = Infinity): void {
  let first = m.pausedIn !== v;
  while (v.cpu.icount < limit) {
    const before = v.cpu.icount;
    const rip = v.cpu.rip;
    m.haltAt(v.domId, v.id, before + 1);
    m.run();
    const ended = m.pausedIn !== v;
    if (v.cpu.icount === before) return;
    const how: WatchHow = ended ? 'slice-end' : first ? 'slice-start' : 'instruction';
    if (!seen(read(m, rs), { dom: v.domId, vcpu: v.id, icount: v.cpu.icount, rip }, how, m.instructions) || ended) return;
    first = false;
  }
}

/** The first change of the watched bytes after point `from` (null: none until the end of the run). */
export function watchForward(src: MachineSource, w: WatchSpec, from: IcountPoint): WatchHit | null {
  const m = src.machineAt(from);
  const rs = physRanges(m, w);
  const b0 = read(m, rs);
  // Coarse: the first clean point at which they differ.
  let k = 0;
  let found = -1;
  let prev = icountsOf(m);
  m.haltAt(...NO_STOP);
  m.run(src.maxInsns, () => {
    if (src.interrupted?.() === true) throw INTERRUPTED;
    k++;
    if (!same(read(m, rs), b0)) {
      found = k;
      return true;
    }
    prev = icountsOf(m);
    return false;
  });
  if (found < 0) return null;
  const who = runner(m, prev, icountsOf(m));
  const between: WatchHit = { before: b0, after: read(m, rs), how: 'between-slices', at: null, insns: m.instructions };
  // Fine: again to the clean point before, then one instruction at a time.
  return (who === null ? null : firstChangeIn(src, w, from, found - 1, { dom: who.domId, vcpu: who.id }, Infinity)) ?? between;
}

/**
 * The first change of the watched bytes (as they are at `from`) inside one
 * slice of the run from `from`: a machine from `from` runs to its `k`-th
 * clean point (0: stays), then vCPU `who` is single-stepped through its
 * slice there, up to `limit` retired instructions. Null: no change there.
 */
export function firstChangeIn(src: MachineSource, w: WatchSpec, from: IcountPoint, k: number, who: { dom: number; vcpu: number }, limit: number): WatchHit | null {
  const f = src.machineAt(from);
  const rs = physRanges(f, w);
  const b0 = read(f, rs);
  toClean(f, k, src.maxInsns);
  let hit: WatchHit | null = null;
  stepSlice(f, vcpuOf(f, who.dom, who.vcpu)!, rs, (bytes, at, how, insns) => {
    if (same(bytes, b0)) return true;
    hit = { before: b0, after: bytes, how, at, insns };
    return false;
  }, limit);
  return hit;
}

/** The last change in a scan: the clean-point interval (`k` - 1, `k`] and the counts at both ends. */
type LastChange = { k: number; prev: Map<number, number>; now: Map<number, number>; after: Uint8Array };

/**
 * Run `m` on from where it is, comparing the watched bytes at each clean
 * point, until `stop` (checked before the bytes when `stopFirst`, since the
 * interval it ends is only partly wanted). Returns the last change seen and
 * the index of the clean point before the stop.
 */
function scanLast(m: Machine, rs: Range[], maxInsns: number, stop: (now: Map<number, number>) => boolean, stopFirst: boolean, interrupted?: () => boolean): { last: LastChange | null; end: number } {
  let k = 0;
  let end = -1;
  let last: LastChange | null = null;
  let bytes = read(m, rs);
  let prev = icountsOf(m);
  m.haltAt(...NO_STOP);
  m.run(maxInsns, () => {
    if (interrupted?.() === true) throw INTERRUPTED;
    k++;
    const now = icountsOf(m);
    if (stopFirst && stop(now)) {
      end = k - 1;
      return true;
    }
    const b = read(m, rs);
    if (!same(b, bytes)) {
      last = { k, prev, now, after: b };
      bytes = b;
    }
    prev = now;
    if (!stopFirst && stop(now)) {
      end = k;
      return true;
    }
    return false;
  });
  return { last, end: end < 0 ? k : end };
}

/** The last change while `v` runs on in `x`, up to `limit` instructions (null: none). */
function lastIn(x: Machine, v: Vcpu, rs: Range[], limit: number): WatchHit | null {
  let hit: WatchHit | null = null;
  let b = read(x, rs);
  stepSlice(x, v, rs, (now, at, how, insns) => {
    if (!same(now, b)) hit = { before: b, after: now, how, at, insns };
    b = now;
    return true;
  }, limit);
  return hit;
}

/**
 * The last change of the watched bytes at or before point `to` (null: none
 * since the start of the run). Scans from the last checkpoint before `to`,
 * then from each earlier one over the stretch up to the next, until a
 * stretch holds a change.
 */
export function watchBackward(src: MachineSource, w: WatchSpec, to: IcountPoint): WatchHit | null {
  const rs = physRanges(src.machineAt(to), w);
  const key = vkey(to.dom, to.vcpu);
  let i = src.checkpoints - 1;
  while (i >= 0 && src.checkpointAt(i).icount(to.dom, to.vcpu) >= to.icount) i--;
  /** The machine at checkpoint `c`, run on to its `j`-th clean point. */
  const at = (c: number, j: number): Machine => {
    const x = src.checkpointAt(c).open();
    toClean(x, j, src.maxInsns);
    return x;
  };
  /** The last change in interval (`k` - 1, `k`] of a scan from checkpoint `c`: step the vCPU that ran then. */
  const refine = (c: number, l: LastChange): WatchHit => {
    const x = at(c, l.k - 1);
    const before = read(x, rs);
    const who = runner(x, l.prev, l.now);
    return (who === null ? null : lastIn(x, vcpuOf(x, who.domId, who.id)!, rs, Infinity)) ?? { before, after: l.after, how: 'between-slices', at: null, insns: x.instructions };
  };
  // The stretch from checkpoint i to `to`: first the slice that holds `to`, up to it, then the clean points before it.
  const tail = scanLast(src.checkpointAt(i).open(), rs, src.maxInsns, (now) => now.get(key)! >= to.icount, true, src.interrupted);
  const x = at(i, tail.end);
  const v = vcpuOf(x, to.dom, to.vcpu);
  const inTail = v === undefined ? null : lastIn(x, v, rs, to.icount);
  if (inTail !== null) return inTail;
  if (tail.last !== null) return refine(i, tail.last);
  // Earlier stretches, each from a checkpoint up to the next.
  for (let c = i - 1; c >= -1; c--) {
    const next = src.checkpointAt(c + 1);
    const m = src.checkpointAt(c).open();
    const scan = scanLast(m, rs, src.maxInsns, () => m.nextSeq >= next.seq && m.instructions >= next.insns, false, src.interrupted);
    if (scan.last !== null) return refine(c, scan.last);
  }
  return null;
}
