/**
 * The guest's call stack at a hypercall, for the events it raises: the
 * return address into the function that called the hypercall page, then the
 * return address of each frame up the frame-pointer chain from %rbp, as gdb
 * walks a kernel built with -fno-omit-frame-pointer. The walk stops at an
 * unreadable, misaligned, non-canonical or non-increasing frame pointer, or
 * a zero return address, so a guest without frame pointers (or with garbage
 * in %rbp) gets a short stack, never a fault. Reads go through the vCPU's
 * page tables with its current rights, as copy_from_guest does, and set no
 * accessed bits.
 *
 * This runs at every hypercall, so it works on doubles (canonical addresses
 * are exact as signed doubles) and makes BigInts only for a stack it has not
 * seen lately on that vCPU.
 */
import type { Vcpu } from './vcpu.js';

/** Frames followed at most, and the largest frame believed. */
const MAX_FRAMES = 16;
const MAX_FRAME_BYTES = 0x10000;
const TWO32 = 4294967296;

/** Return addresses found by the last walk, as signed doubles. */
const found = new Float64Array(MAX_FRAMES);

/** The 8 bytes at canonical `va` (a signed double, 8-aligned) as a signed double; NaN when unmapped or not canonical. */
function read64(v: Vcpu, va: number): number {
  const pa = v.cpu.mmu.probe(va >>> 0, Math.floor(va / TWO32) >>> 0, false);
  if (pa < 0) return NaN;
  const f = v.cpu.mem.frame(Math.floor(pa / 4096));
  if (f === null) return NaN;
  const off = pa % 4096;
  const lo = f.getUint32(off, true);
  const hi = f.getUint32(off + 4, true) | 0;
  return hi >> 15 === 0 || hi >> 15 === -1 ? hi * TWO32 + lo : NaN;
}

/** Walk from frame pointer `fp` (a signed double) into `found`; returns how many return addresses. */
function walk(v: Vcpu, fp: number): number {
  let n = 0;
  while (n < MAX_FRAMES && fp !== 0 && fp === fp && fp % 8 === 0) {
    const ret = read64(v, fp + 8);
    const next = read64(v, fp);
    if (ret !== ret || ret === 0) break;
    found[n++] = ret;
    if (next !== next || next <= fp || next - fp > MAX_FRAME_BYTES) break;
    fp = next;
  }
  return n;
}

/** A canonical address as a signed double; NaN for a non-canonical one (no walk starts there). */
const signed = (lo: number, hi: number): number => (hi >>> 15 === 0 || hi >>> 15 === 0x1ffff ? (hi | 0) * TWO32 + lo : NaN);
const big = (d: number): bigint => BigInt.asUintN(64, BigInt(d));

/** The stack as bigints: `caller`, then the return addresses the walk from `rbp` finds. */
export function guestStack(v: Vcpu, caller: bigint, rbp: bigint): bigint[] {
  const n = walk(v, signed(Number(rbp & 0xffffffffn), Number((rbp >> 32n) & 0xffffffffn)));
  const out = [caller];
  for (let k = 0; k < n; k++) out.push(big(found[k]!));
  return out;
}

/**
 * guestStack for a hypercall, handing back one of the vCPU's recent stack
 * arrays when it is the same stack: a loop making the same hypercalls from
 * the same places gives the trace writer the same few arrays, which it
 * recognises by identity. A cache only: the values are the same either way.
 */
const RECENT = 8;
type Recent = { stack: bigint[]; caller: bigint; rets: Float64Array };
const recentStacks = new WeakMap<Vcpu, Recent[]>();

export function hypercallStack(v: Vcpu, caller: bigint, rbpLo: number, rbpHi: number): bigint[] {
  const n = walk(v, signed(rbpLo, rbpHi));
  let recent = recentStacks.get(v);
  if (recent === undefined) recentStacks.set(v, (recent = []));
  for (const r of recent) {
    if (r.caller !== caller || r.rets.length !== n) continue;
    let k = 0;
    while (k < n && r.rets[k] === found[k]) k++;
    if (k === n) return r.stack;
  }
  const rets = found.slice(0, n);
  const stack = [caller];
  for (let k = 0; k < n; k++) stack.push(big(rets[k]!));
  if (recent.length === RECENT) recent.pop();
  recent.unshift({ stack, caller, rets });
  return stack;
}
