/**
 * String instructions: movs stos lods scas cmps ins outs, with F3 (rep,
 * repe) and F2 (repne; a plain rep for the non-comparing ones).
 *
 * Addressing: the source is seg:RSI (an FS/GS override applies to it only),
 * the destination always RDI with base 0. With a 67 prefix the registers
 * are ESI/EDI/ECX (32-bit wrap).
 *
 * Restartability: each iteration updates RSI/RDI/RCX only after its memory
 * accesses succeeded, so a fault in iteration k leaves the registers as k
 * completed iterations left them; the run loop puts RIP back at the
 * instruction. However many iterations run, the instruction retires once.
 *
 * Host behaviours matched (Intel):
 * - With 67 and a rep prefix, RCX's upper half is cleared at the start, even
 *   when ECX is 0 or the first iteration faults; rep movs / rep stos clear
 *   the upper halves of the pointers they use (RSI, RDI) the same way, while
 *   lods/scas/cmps only do so as iterations complete.
 * - A fault in the middle of rep cmps / rep scas leaves the flags as they
 *   were before the instruction (the registers still count the completed
 *   iterations).
 *
 * rep movs / rep stos forward with 64-bit addressing take a fast path that
 * moves whole runs of elements which stay inside one page on both sides
 * directly in the physical frames (see `bulk`).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { getZF, materialize, setFlagsWord } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { rdMem, rdReg, wrMem, wrReg } from '../operands.js';
import { PAGE_SIZE } from '../phys-mem.js';
import { F } from '../regs.js';
import { alu, AluOp } from './alu.js';

const RCX = 1;
const RSI = 6;
const RDI = 7;

/** Source address seg:rSI into c.ea. */
function srcAddr(c: Cpu, i: Insn): void {
  const r = c.r;
  let lo = r[2 * RSI]!;
  let hi = i.asz === 4 ? 0 : r[2 * RSI + 1]!;
  if (i.seg >= 0) {
    const s = lo + (i.seg === 4 ? c.fsLo : c.gsLo);
    lo = s >>> 0;
    hi = (hi + (i.seg === 4 ? c.fsHi : c.gsHi) + (s > 0xffffffff ? 1 : 0)) >>> 0;
  }
  c.eaLo = lo;
  c.eaHi = hi;
}

/** Destination address rDI into c.ea. */
function dstAddr(c: Cpu, i: Insn): void {
  c.eaLo = c.r[2 * RDI]!;
  c.eaHi = i.asz === 4 ? 0 : c.r[2 * RDI + 1]!;
}

/** Add a signed delta (|d| < 2^32) to a register at address size (32-bit: wraps, clears the upper half). */
function advance(c: Cpu, reg: number, d: number, asz: number): void {
  const r = c.r;
  const s = r[2 * reg]! + d;
  r[2 * reg] = s >>> 0;
  if (asz === 4) r[2 * reg + 1] = 0;
  else if (s > 0xffffffff) r[2 * reg + 1] = (r[2 * reg + 1]! + 1) >>> 0;
  else if (s < 0) r[2 * reg + 1] = (r[2 * reg + 1]! - 1) >>> 0;
}

/** rCX == 0 at address size. */
function countZero(c: Cpu, i: Insn): boolean {
  return c.r[2 * RCX] === 0 && (i.asz === 4 || c.r[2 * RCX + 1] === 0);
}

/** rCX -= 1 at address size; true when it reached 0. */
function countDown(c: Cpu, i: Insn): boolean {
  const r = c.r;
  const lo = r[2 * RCX]!;
  r[2 * RCX] = (lo - 1) >>> 0;
  if (i.asz === 4) {
    r[2 * RCX + 1] = 0;
    return lo === 1;
  }
  if (lo === 0) r[2 * RCX + 1] = (r[2 * RCX + 1]! - 1) >>> 0;
  return lo === 1 && r[2 * RCX + 1] === 0;
}

/**
 * Start of a rep-prefixed instruction with 67: clear the upper halves of RCX
 * and, for movs/stos, of the pointer registers they use (see the header).
 */
function repStart32(c: Cpu, src: boolean, dst: boolean): void {
  const r = c.r;
  r[2 * RCX + 1] = 0;
  if (src) r[2 * RSI + 1] = 0;
  if (dst) r[2 * RDI + 1] = 0;
}

/** Element step: +size, or -size with DF set. */
function delta(c: Cpu, sz: number): number {
  return (c.flags & F.DF) !== 0 ? -sz : sz;
}

// ---- bulk path for rep movs / rep stos ----------------------------------

/** Shortest run worth the bulk path's two page-table look-ups. */
const BULK_MIN = 16;

/** Elements left for a 64-bit count, capped (the callers only compare it with a page's worth). */
function count64(c: Cpu): number {
  return c.r[2 * RCX + 1] !== 0 ? 0x7fffffff : c.r[2 * RCX]!;
}

/**
 * Copy `bytes` bytes of sz-byte elements from src[os..] to dst[od..] with the
 * result of a forward element-by-element copy (overlap included).
 */
function copyRun(src: DataView, os: number, dst: DataView, od: number, bytes: number, sz: number): void {
  if (sz === 8) {
    for (let k = 0; k < bytes; k += 8) {
      const a = src.getUint32(os + k, true);
      const b = src.getUint32(os + k + 4, true);
      dst.setUint32(od + k, a, true);
      dst.setUint32(od + k + 4, b, true);
    }
    return;
  }
  // For 1- and 2-byte elements a forward element-by-element copy equals a
  // word copy unless the destination starts less than 4 bytes after the source.
  let k = 0;
  if (sz === 4 || src !== dst || od <= os || od >= os + 4) {
    for (; k + 4 <= bytes; k += 4) dst.setUint32(od + k, src.getUint32(os + k, true), true);
  }
  if (sz === 4) return;
  if (sz === 2) {
    for (; k < bytes; k += 2) dst.setUint16(od + k, src.getUint16(os + k, true), true);
    return;
  }
  for (; k < bytes; k++) dst.setUint8(od + k, src.getUint8(os + k));
}

/** One movs element (no count). */
function movsOne(c: Cpu, i: Insn, sz: number, d: number): void {
  srcAddr(c, i);
  const v = rdMem(c, sz);
  const vh = c.hi;
  dstAddr(c, i);
  wrMem(c, sz, v, vh);
  advance(c, RSI, d, i.asz);
  advance(c, RDI, d, i.asz);
}

/** One stos element of (v, vh) (no count). */
function stosOne(c: Cpu, i: Insn, sz: number, d: number, v: number, vh: number): void {
  dstAddr(c, i);
  wrMem(c, sz, v, vh);
  advance(c, RDI, d, i.asz);
}

/**
 * Forward rep movs (rep stos with `stos`), 64-bit addressing. For each run
 * of elements that stays inside the current source and destination pages:
 * check the run's first source byte for read and the destination range for
 * write through the MMU (this faults exactly as the run's first iteration
 * would, sets A/D and drops decoded code in the destination frame), then
 * move the run inside the physical frames and update the registers once.
 * Runs shorter than BULK_MIN (up to a page boundary, or one element that
 * straddles it) go element by element. Returns with fewer than BULK_MIN
 * elements left, or early when a translation is not plain memory; the
 * caller finishes element by element.
 */
function bulk(c: Cpu, i: Insn, stos: boolean): void {
  const sz = i.osz;
  const m = c.mmu;
  const r = c.r;
  const v = rdReg(c, 0, sz);
  const vh = c.hi;
  for (;;) {
    const cnt = count64(c);
    if (cnt < BULK_MIN) return;
    const dLo = r[2 * RDI]!;
    const dHi = r[2 * RDI + 1]!;
    let room = PAGE_SIZE - (dLo & 0xfff);
    let sLo = 0;
    let sHi = 0;
    if (!stos) {
      srcAddr(c, i);
      sLo = c.eaLo;
      sHi = c.eaHi;
      const sRoom = PAGE_SIZE - (sLo & 0xfff);
      if (sRoom < room) room = sRoom;
    }
    let n = Math.floor(room / sz);
    if (n > cnt) n = cnt;
    if (n < BULK_MIN) {
      for (let k = n === 0 ? 1 : n; k > 0; k--) {
        if (stos) stosOne(c, i, sz, sz, v, vh);
        else movsOne(c, i, sz, sz);
        countDown(c, i);
      }
      continue;
    }
    const bytes = n * sz;
    if (!stos) m.read8(sLo, sHi);
    m.probeWrite(dLo, dHi, bytes);
    const pd = m.peekPhys(dLo, dHi);
    const dst = pd < 0 ? null : c.mem.frame(Math.floor(pd / PAGE_SIZE));
    if (dst === null) return;
    const od = pd & 0xfff;
    if (stos) fillRun(dst, od, bytes, sz, v, vh);
    else {
      const ps = m.peekPhys(sLo, sHi);
      const src = ps < 0 ? null : c.mem.frame(Math.floor(ps / PAGE_SIZE));
      if (src === null) return;
      copyRun(src, ps & 0xfff, dst, od, bytes, sz);
      advance(c, RSI, bytes, 8);
    }
    advance(c, RDI, bytes, 8);
    advance(c, RCX, -n, 8);
  }
}

/** Store `bytes` bytes of the element (v, vh) of size sz at dst[od..]. */
function fillRun(dst: DataView, od: number, bytes: number, sz: number, v: number, vh: number): void {
  if (sz === 8) {
    for (let k = 0; k < bytes; k += 8) {
      dst.setUint32(od + k, v, true);
      dst.setUint32(od + k + 4, vh, true);
    }
    return;
  }
  const w = sz === 4 ? v : sz === 2 ? (v & 0xffff) * 0x10001 : (v & 0xff) * 0x1010101;
  let k = 0;
  for (; k + 4 <= bytes; k += 4) dst.setUint32(od + k, w, true);
  for (; k < bytes; k++) dst.setUint8(od + k, w >>> (8 * (k & 3)));
}

/** rep movs / rep stos qualify for the bulk path: forward, 64-bit addressing. */
function bulkOk(c: Cpu, i: Insn): boolean {
  return i.asz === 8 && (c.flags & F.DF) === 0;
}

/**
 * The start of rep movs / rep stos: 32-bit addressing clears the upper
 * halves, then whole pages go at once while they can. True when the count
 * is exhausted (nothing left for the element loop).
 */
function repBulk(c: Cpu, i: Insn, stos: boolean): boolean {
  if (i.asz === 4) repStart32(c, !stos, true);
  if (countZero(c, i)) return true;
  if (!bulkOk(c, i)) return false;
  bulk(c, i, stos);
  return countZero(c, i);
}

// ---- the instructions ---------------------------------------------------

/** movs Yv, Xv */
function opMovs(c: Cpu, i: Insn): void {
  const rep = i.rep !== 0;
  if (rep && repBulk(c, i, false)) return;
  const sz = i.osz;
  const d = delta(c, sz);
  for (;;) {
    movsOne(c, i, sz, d);
    if (!rep || countDown(c, i)) return;
  }
}

/** stos Yv, rAX */
function opStos(c: Cpu, i: Insn): void {
  const rep = i.rep !== 0;
  if (rep && repBulk(c, i, true)) return;
  const sz = i.osz;
  const d = delta(c, sz);
  const v = rdReg(c, 0, sz);
  const vh = c.hi;
  for (;;) {
    stosOne(c, i, sz, d, v, vh);
    if (!rep || countDown(c, i)) return;
  }
}

/** lods rAX, Xv */
function opLods(c: Cpu, i: Insn): void {
  const rep = i.rep !== 0;
  if (rep && i.asz === 4) repStart32(c, false, false);
  if (rep && countZero(c, i)) return;
  const sz = i.osz;
  const asz = i.asz;
  const d = delta(c, sz);
  for (;;) {
    srcAddr(c, i);
    const v = rdMem(c, sz);
    wrReg(c, 0, sz, v, c.hi);
    advance(c, RSI, d, asz);
    if (!rep || countDown(c, i)) return;
  }
}

/** Stop condition of repe (F3) / repne (F2) after a comparison. */
function repDone(c: Cpu, i: Insn): boolean {
  return i.rep === 0xf3 ? !getZF(c) : getZF(c);
}

/** One scas element against (a, aH) (no count). */
function scasOne(c: Cpu, i: Insn, sz: number, d: number, a: number, aH: number): void {
  dstAddr(c, i);
  const b = rdMem(c, sz);
  alu(c, AluOp.CMP, sz, a, aH, b, c.hi);
  advance(c, RDI, d, i.asz);
}

/** One cmps element (no count). */
function cmpsOne(c: Cpu, i: Insn, sz: number, d: number): void {
  srcAddr(c, i);
  const a = rdMem(c, sz);
  const aH = c.hi;
  dstAddr(c, i);
  const b = rdMem(c, sz);
  alu(c, AluOp.CMP, sz, a, aH, b, c.hi);
  advance(c, RSI, d, i.asz);
  advance(c, RDI, d, i.asz);
}

/**
 * repe/repne scas (cmps with `cmps`): iterate until the count runs out or
 * ZF ends it. A fault puts the flags back as they were before the
 * instruction, as the host does.
 */
function repCompare(c: Cpu, i: Insn, cmps: boolean): void {
  if (i.asz === 4) repStart32(c, false, false);
  if (countZero(c, i)) return;
  const sz = i.osz;
  const d = delta(c, sz);
  const a = rdReg(c, 0, sz);
  const aH = c.hi;
  materialize(c);
  const saved = c.flags;
  try {
    for (;;) {
      if (cmps) cmpsOne(c, i, sz, d);
      else scasOne(c, i, sz, d, a, aH);
      if (countDown(c, i) || repDone(c, i)) return;
    }
  } catch (e) {
    setFlagsWord(c, saved);
    throw e;
  }
}

/** scas rAX, Yv: flags of rAX - [rDI] */
function opScas(c: Cpu, i: Insn): void {
  if (i.rep !== 0) return repCompare(c, i, false);
  const a = rdReg(c, 0, i.osz);
  scasOne(c, i, i.osz, delta(c, i.osz), a, c.hi);
}

/** cmps Xv, Yv: flags of [rSI] - [rDI] */
function opCmps(c: Cpu, i: Insn): void {
  if (i.rep !== 0) return repCompare(c, i, true);
  cmpsOne(c, i, i.osz, delta(c, i.osz));
}

/** Port-I/O element size: 1, 2 or 4 (REX.W does not make it 8). */
const ioSize = (i: Insn): number => (i.osz === 8 ? 4 : i.osz);

/**
 * ins Yz, DX: the destination is probed for write before the port is read,
 * so a faulting iteration has no port side effect.
 */
function opIns(c: Cpu, i: Insn): void {
  const rep = i.rep !== 0;
  if (rep && i.asz === 4) repStart32(c, false, false);
  if (rep && countZero(c, i)) return;
  c.cur = i;
  const sz = ioSize(i);
  const asz = i.asz;
  const d = delta(c, sz);
  const port = c.r[2 * 2]! & 0xffff;
  for (;;) {
    dstAddr(c, i);
    c.mmu.probeWrite(c.eaLo, c.eaHi, sz);
    const v = c.host.portIn(c, port, sz);
    dstAddr(c, i);
    wrMem(c, sz, v, 0);
    advance(c, RDI, d, asz);
    if (!rep || countDown(c, i)) return;
  }
}

/** outs DX, Xz */
function opOuts(c: Cpu, i: Insn): void {
  const rep = i.rep !== 0;
  if (rep && i.asz === 4) repStart32(c, false, false);
  if (rep && countZero(c, i)) return;
  c.cur = i;
  const sz = ioSize(i);
  const asz = i.asz;
  const d = delta(c, sz);
  const port = c.r[2 * 2]! & 0xffff;
  for (;;) {
    srcAddr(c, i);
    const v = rdMem(c, sz);
    c.host.portOut(c, port, sz, v);
    advance(c, RSI, d, asz);
    if (!rep || countDown(c, i)) return;
  }
}

export const STRING_OPS: OpEntry[] = [
  { code: 0xa4, map: 0, mn: 'movs', ops: 'Yb,Xb', fn: opMovs, osz: OSZ.B },
  { code: 0xa5, map: 0, mn: 'movs', ops: 'Yv,Xv', fn: opMovs },
  { code: 0xa6, map: 0, mn: 'cmps', ops: 'Xb,Yb', fn: opCmps, osz: OSZ.B },
  { code: 0xa7, map: 0, mn: 'cmps', ops: 'Xv,Yv', fn: opCmps },
  { code: 0xaa, map: 0, mn: 'stos', ops: 'Yb,AL', fn: opStos, osz: OSZ.B },
  { code: 0xab, map: 0, mn: 'stos', ops: 'Yv,rAX', fn: opStos },
  { code: 0xac, map: 0, mn: 'lods', ops: 'AL,Xb', fn: opLods, osz: OSZ.B },
  { code: 0xad, map: 0, mn: 'lods', ops: 'rAX,Xv', fn: opLods },
  { code: 0xae, map: 0, mn: 'scas', ops: 'AL,Yb', fn: opScas, osz: OSZ.B },
  { code: 0xaf, map: 0, mn: 'scas', ops: 'rAX,Yv', fn: opScas },
  // Port I/O goes through the host like in/out (system.ts) and ends the block the same way.
  { code: 0x6c, map: 0, mn: 'ins', ops: 'Yb,DX', fn: opIns, osz: OSZ.B, end: true, noOracle: 'privileged' },
  { code: 0x6d, map: 0, mn: 'ins', ops: 'Yz,DX', fn: opIns, end: true, noOracle: 'privileged' },
  { code: 0x6e, map: 0, mn: 'outs', ops: 'DX,Xb', fn: opOuts, osz: OSZ.B, end: true, noOracle: 'privileged' },
  { code: 0x6f, map: 0, mn: 'outs', ops: 'DX,Xz', fn: opOuts, end: true, noOracle: 'privileged' },
];
