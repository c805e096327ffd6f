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
 * Going back re-executes from the start of the run to the cursor.
 */
import type { Machine } from '../sim/machine.js';
import type { Vcpu } from '../sim/xen/vcpu.js';
import { UsageError } from './cli/errors.js';

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
};

/** What the watch needs of a replay session: machines at instruction points it may run on. */
export type MachineSource = { machineAt(p: IcountPoint): Machine; startMachine(): Machine; maxInsns: number };

/** The largest watch (bytes): a struct, a ring's indices. */
export const MAX_WATCH = 64;
const NO_STOP = [0, 0, Number.MAX_SAFE_INTEGER] as const;
const PAGE = 4096;

type Range = { pfn: number; off: number; n: number };

const vcpuOf = (m: Machine, dom: number, vcpu: number): Vcpu | undefined => m.domains.find((d) => d.id === dom)?.vcpus[vcpu];
const vkey = (dom: number, vcpu: number): string => `${dom}.${vcpu}`;

/** The physical pieces of [va, va + len) through `v`'s page tables now. */
function physRanges(m: Machine, w: WatchSpec): Range[] {
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
function read(m: Machine, rs: Range[]): Uint8Array {
  const mem = m.xen.frames.mem;
  const out = new Uint8Array(rs.reduce((s, r) => s + r.n, 0));
  let o = 0;
  for (const r of rs) {
    if (mem.has(r.pfn)) out.set(new Uint8Array(mem.frame(r.pfn)!.buffer, r.off, r.n), o);
    o += r.n;
  }
  return out;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.every((x, i) => x === b[i]);

function icounts(m: Machine): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of m.domains) for (const v of d.vcpus) out.set(vkey(d.id, v.id), v.cpu.icount);
  return out;
}

/** The vCPU that ran between two sets of counts (null: none did). */
function runner(m: Machine, from: Map<string, number>, to: Map<string, number>): Vcpu | null {
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
function stepSlice(m: Machine, v: Vcpu, rs: Range[], seen: (bytes: Uint8Array, at: NonNullable<WatchHit['at']>, how: WatchHow) => boolean, limit = Infinity): void {
  let first = m.pausedIn !== v;
  while (v.cpu.icount < limit) {
    const before = v.cpu.icount;
    const rip = v.cpu.rip;
    m.haltAt(v.domId, v.id, before + 1);
    m.run();
    const ended = m.pausedIn !== v;
    if (v.cpu.icount === before) return;
    const how: WatchHow = ended ? 'slice-end' : first ? 'slice-start' : 'instruction';
    if (!seen(read(m, rs), { dom: v.domId, vcpu: v.id, icount: v.cpu.icount, rip }, how) || ended) return;
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
  let prev = icounts(m);
  m.haltAt(...NO_STOP);
  m.run(src.maxInsns, () => {
    k++;
    if (!same(read(m, rs), b0)) {
      found = k;
      return true;
    }
    prev = icounts(m);
    return false;
  });
  if (found < 0) return null;
  const who = runner(m, prev, icounts(m));
  const after = read(m, rs);
  if (who === null) return { before: b0, after, how: 'between-slices', at: null };
  // Fine: again to the clean point before, then one instruction at a time.
  const f = src.machineAt(from);
  toClean(f, found - 1, src.maxInsns);
  let hit: WatchHit | null = null;
  stepSlice(f, vcpuOf(f, who.domId, who.id)!, rs, (bytes, at, how) => {
    if (same(bytes, b0)) return true;
    hit = { before: b0, after: bytes, how, at };
    return false;
  });
  return hit ?? { before: b0, after, how: 'between-slices', at: null };
}

/** The last change of the watched bytes at or before point `to` (null: none since the start of the run). */
export function watchBackward(src: MachineSource, w: WatchSpec, to: IcountPoint): WatchHit | null {
  const rs = physRanges(src.machineAt(to), w);
  const m = src.startMachine();
  // Coarse: the last clean-point interval that changed the bytes, up to the one that holds `to`.
  let k = 0;
  let tail = -1;
  let last = -1;
  let lastPrev = new Map<string, number>();
  let lastNow = new Map<string, number>();
  let bytes = read(m, rs);
  let prev = icounts(m);
  m.haltAt(...NO_STOP);
  m.run(src.maxInsns, () => {
    k++;
    const now = icounts(m);
    // `to` is where that vCPU has retired to.icount: the interval in which it got there holds it.
    if (now.get(vkey(to.dom, to.vcpu))! >= to.icount) {
      tail = k - 1;
      return true;
    }
    const b = read(m, rs);
    if (!same(b, bytes)) {
      last = k;
      lastPrev = prev;
      lastNow = now;
      bytes = b;
    }
    prev = now;
    return false;
  });
  if (tail < 0) tail = k;
  const at = (j: number): Machine => {
    const x = src.startMachine();
    toClean(x, j, src.maxInsns);
    return x;
  };
  /** The last change while `v` runs from `x` up to `limit` instructions. */
  const lastIn = (x: Machine, v: Vcpu, limit: number): WatchHit | null => {
    let hit: WatchHit | null = null;
    let b = read(x, rs);
    stepSlice(x, v, rs, (now, p, how) => {
      if (!same(now, b)) hit = { before: b, after: now, how, at: p };
      b = now;
      return true;
    }, limit);
    return hit;
  };
  // First the slice that holds `to`, up to it.
  const x = at(tail);
  const v = vcpuOf(x, to.dom, to.vcpu);
  const inTail = v === undefined ? null : lastIn(x, v, to.icount);
  if (inTail !== null || last < 0) return inTail;
  const y = at(last - 1);
  const before = read(y, rs);
  const who = runner(y, lastPrev, lastNow);
  return (who === null ? null : lastIn(y, vcpuOf(y, who.domId, who.id)!, Infinity)) ?? { before, after: bytes, how: 'between-slices', at: null };
}
