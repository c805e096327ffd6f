/**
 * Operand access shared by every instruction family: registers by size with
 * the exact partial-register rules, the ModRM r/m operand (register or
 * memory), and the stack.
 *
 * 64-bit values travel as (lo, hi): readers return lo and leave hi in
 * `c.hi`; writers take both. Sizes are in bytes (1, 2, 4, 8).
 */
import type { Cpu } from './cpu.js';
import type { Insn } from './decode.js';
import { Vector } from './fault.js';
import { HIGH_BYTE } from './regs.js';

/** Stack accesses to a non-canonical address raise #SS(0), not #GP(0). */
export function checkStack(c: Cpu, hi: number): void {
  const s = hi >> 15;
  if (s !== 0 && s !== -1) c.raise(Vector.SS, 0);
}

/** Read a register; byte ids 16..19 are AH CH DH BH. */
export function rdReg(c: Cpu, id: number, sz: number): number {
  const r = c.r;
  switch (sz) {
    case 1:
      return id < HIGH_BYTE ? r[2 * id]! & 0xff : (r[2 * (id - HIGH_BYTE)]! >>> 8) & 0xff;
    case 2:
      return r[2 * id]! & 0xffff;
    case 4:
      return r[2 * id]!;
    default:
      c.hi = r[2 * id + 1]!;
      return r[2 * id]!;
  }
}

/** Write a register: 8/16-bit writes merge, 32-bit writes zero-extend. */
export function wrReg(c: Cpu, id: number, sz: number, lo: number, hi: number): void {
  const r = c.r;
  switch (sz) {
    case 1:
      if (id < HIGH_BYTE) r[2 * id] = (r[2 * id]! & 0xffffff00) | (lo & 0xff);
      else r[2 * (id - HIGH_BYTE)] = (r[2 * (id - HIGH_BYTE)]! & 0xffff00ff) | ((lo & 0xff) << 8);
      return;
    case 2:
      r[2 * id] = (r[2 * id]! & 0xffff0000) | (lo & 0xffff);
      return;
    case 4:
      r[2 * id] = lo;
      r[2 * id + 1] = 0;
      return;
    default:
      r[2 * id] = lo;
      r[2 * id + 1] = hi;
  }
}

/** Read memory at c.ea of the given size. */
export function rdMem(c: Cpu, sz: number): number {
  const m = c.mmu;
  switch (sz) {
    case 1:
      return m.read8(c.eaLo, c.eaHi);
    case 2:
      return m.read16(c.eaLo, c.eaHi);
    case 4:
      return m.read32(c.eaLo, c.eaHi);
    default: {
      const lo = m.read64(c.eaLo, c.eaHi);
      c.hi = m.hi32;
      return lo;
    }
  }
}

/** Write memory at c.ea. */
export function wrMem(c: Cpu, sz: number, lo: number, hi: number): void {
  const m = c.mmu;
  switch (sz) {
    case 1:
      return m.write8(c.eaLo, c.eaHi, lo);
    case 2:
      return m.write16(c.eaLo, c.eaHi, lo);
    case 4:
      return m.write32(c.eaLo, c.eaHi, lo);
    default:
      return m.write64(c.eaLo, c.eaHi, lo, hi);
  }
}

/** Read the r/m operand (computing the effective address for memory forms). */
export function rdE(c: Cpu, i: Insn, sz: number): number {
  if (i.rm >= 0) return rdReg(c, i.rm, sz);
  i.ea(c, i);
  return rdMem(c, sz);
}

/** Read the r/m operand of a read-modify-write instruction: a memory operand is probed for write first, so the later store cannot fault. */
export function rdEw(c: Cpu, i: Insn, sz: number): number {
  if (i.rm >= 0) return rdReg(c, i.rm, sz);
  i.ea(c, i);
  c.mmu.probeWrite(c.eaLo, c.eaHi, sz);
  return rdMem(c, sz);
}

/** Write the r/m operand; for memory, to the address computed by the last rdE/eaOf. */
export function wrE(c: Cpu, i: Insn, sz: number, lo: number, hi: number): void {
  if (i.rm >= 0) wrReg(c, i.rm, sz, lo, hi);
  else wrMem(c, sz, lo, hi);
}

/** Write the r/m operand without a prior read (computes the address). */
export function storeE(c: Cpu, i: Insn, sz: number, lo: number, hi: number): void {
  if (i.rm >= 0) wrReg(c, i.rm, sz, lo, hi);
  else {
    i.ea(c, i);
    wrMem(c, sz, lo, hi);
  }
}

/** Immediate of the instruction, truncated to sz (hi in c.hi for 8). */
export function imm(c: Cpu, i: Insn, sz: number): number {
  c.hi = i.immHi;
  return sz === 1 ? i.immLo & 0xff : sz === 2 ? i.immLo & 0xffff : i.immLo;
}

// ---- stack --------------------------------------------------------------

/** Push sz (2 or 8) bytes: the store happens before RSP changes, so a fault leaves RSP intact. */
export function push(c: Cpu, sz: number, lo: number, hi: number): void {
  const r = c.r;
  const s = r[8]! - sz;
  const nlo = s >>> 0;
  const nhi = s < 0 ? (r[9]! - 1) >>> 0 : r[9]!;
  checkStack(c, nhi);
  if (sz === 8) c.mmu.write64(nlo, nhi, lo, hi);
  else c.mmu.write16(nlo, nhi, lo);
  r[8] = nlo;
  r[9] = nhi;
}

/** Pop sz bytes (hi in c.hi); RSP changes only after the load succeeded. */
export function pop(c: Cpu, sz: number): number {
  const r = c.r;
  const lo = r[8]!;
  const hi = r[9]!;
  checkStack(c, hi);
  const v = sz === 8 ? c.mmu.read64(lo, hi) : c.mmu.read16(lo, hi);
  if (sz === 8) c.hi = c.mmu.hi32;
  const s = lo + sz;
  r[8] = s >>> 0;
  r[9] = s > 0xffffffff ? (hi + 1) >>> 0 : hi;
  return v;
}

/** Read sz bytes at RSP + off without popping. */
export function peek(c: Cpu, sz: number, off: number): number {
  const r = c.r;
  const s = r[8]! + off;
  const lo = s >>> 0;
  const hi = s > 0xffffffff ? (r[9]! + 1) >>> 0 : r[9]!;
  checkStack(c, hi);
  const v = sz === 8 ? c.mmu.read64(lo, hi) : c.mmu.read16(lo, hi);
  if (sz === 8) c.hi = c.mmu.hi32;
  return v;
}

/** Add a signed 32-bit delta to RSP. */
export function addRsp(c: Cpu, d: number): void {
  const r = c.r;
  const s = r[8]! + d;
  r[8] = s >>> 0;
  r[9] = s > 0xffffffff ? (r[9]! + 1) >>> 0 : s < 0 ? (r[9]! - 1) >>> 0 : r[9]!;
}

/** Sign-extend a value of size sz to 64 bits: returns lo, hi in c.hi. */
export function sext(c: Cpu, v: number, sz: number): number {
  switch (sz) {
    case 1: {
      const x = (v << 24) >> 24;
      c.hi = x < 0 ? 0xffffffff : 0;
      return x >>> 0;
    }
    case 2: {
      const x = (v << 16) >> 16;
      c.hi = x < 0 ? 0xffffffff : 0;
      return x >>> 0;
    }
    case 4:
      c.hi = v >>> 31 ? 0xffffffff : 0;
      return v >>> 0;
    default:
      return v;
  }
}
