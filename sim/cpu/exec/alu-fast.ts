/**
 * Specialized forms of the hottest ALU instructions (32- and 64-bit, the
 * eight basic ops and test), chosen at decode time through the table's
 * `fast` hook. They compute exactly what alu.ts computes; they only skip the
 * generic size and operand dispatch. ADC/SBB keep the generic path.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { LOP } from '../flags.js';
import type { Handler } from '../optable.js';
import { STATUS_FLAGS } from '../regs.js';
import { alu, AluOp, TEST } from './alu-core.js';

const { ADD, OR, ADC, SBB, AND, SUB, XOR, CMP } = AluOp;

/** a op b at 32 bits, lazy flags recorded; returns the result. */
function alu32(c: Cpu, op: number, a: number, b: number): number {
  let res: number;
  switch (op) {
    case ADD:
      res = (a + b) >>> 0;
      c.lop = LOP.ADD;
      break;
    case SUB:
    case CMP:
      res = (a - b) >>> 0;
      c.lop = LOP.SUB;
      break;
    case OR:
      return logic(c, 4, (a | b) >>> 0, 0);
    case XOR:
      return logic(c, 4, (a ^ b) >>> 0, 0);
    case AND:
    case TEST:
      return logic(c, 4, (a & b) >>> 0, 0);
    default:
      return alu(c, op, 4, a, 0, b, 0);
  }
  c.lsz = 4;
  c.la = a;
  c.lb = b;
  c.lres = res;
  return res;
}

/** a op b at 64 bits (pairs); returns lo, hi in c.hi. */
function alu64(c: Cpu, op: number, a: number, aH: number, b: number, bH: number): number {
  let lo: number;
  let hi: number;
  switch (op) {
    case ADD: {
      const s = a + b;
      lo = s >>> 0;
      hi = (aH + bH + (s > 0xffffffff ? 1 : 0)) >>> 0;
      c.lop = LOP.ADD;
      break;
    }
    case SUB:
    case CMP: {
      const s = a - b;
      lo = s >>> 0;
      hi = (aH - bH - (s < 0 ? 1 : 0)) >>> 0;
      c.lop = LOP.SUB;
      break;
    }
    case OR:
      return logic(c, 8, (a | b) >>> 0, (aH | bH) >>> 0);
    case XOR:
      return logic(c, 8, (a ^ b) >>> 0, (aH ^ bH) >>> 0);
    case AND:
    case TEST:
      return logic(c, 8, (a & b) >>> 0, (aH & bH) >>> 0);
    default:
      return alu(c, op, 8, a, aH, b, bH);
  }
  c.lsz = 8;
  c.la = a;
  c.laH = aH;
  c.lb = b;
  c.lbH = bH;
  c.lres = lo;
  c.lresH = hi;
  c.hi = hi;
  return lo;
}

/** Logic result: CF = OF = AF = 0, ZF/SF/PF lazy (LOP.RES). */
function logic(c: Cpu, sz: number, lo: number, hi: number): number {
  c.flags &= ~STATUS_FLAGS;
  c.lop = LOP.RES;
  c.lsz = sz;
  c.lres = lo;
  c.lresH = hi;
  c.hi = hi;
  return lo;
}

const writes = (op: number): boolean => op !== CMP && op !== TEST;

// op r/m32, r32 | op r/m32, imm  (b from the register or the immediate)
function alu32E(c: Cpu, i: Insn, b: number): void {
  const op = i.sub;
  const rm = i.rm;
  const r = c.r;
  if (rm >= 0) {
    const res = alu32(c, op, r[2 * rm]!, b);
    if (writes(op)) {
      r[2 * rm] = res;
      r[2 * rm + 1] = 0;
    }
    return;
  }
  i.ea(c, i);
  if (!writes(op)) {
    alu32(c, op, c.mmu.read32(c.eaLo, c.eaHi), b);
    return;
  }
  const v = c.mmu.rmwView(c.eaLo, c.eaHi, 4);
  if (v === null) {
    c.mmu.probeWrite(c.eaLo, c.eaHi, 4);
    c.mmu.write32(c.eaLo, c.eaHi, alu32(c, op, c.mmu.read32(c.eaLo, c.eaHi), b));
    return;
  }
  const off = c.eaLo & 0xfff;
  v.setUint32(off, alu32(c, op, v.getUint32(off, true), b), true);
}

function alu64E(c: Cpu, i: Insn, b: number, bH: number): void {
  const op = i.sub;
  const rm = i.rm;
  const r = c.r;
  if (rm >= 0) {
    const lo = alu64(c, op, r[2 * rm]!, r[2 * rm + 1]!, b, bH);
    if (writes(op)) {
      r[2 * rm] = lo;
      r[2 * rm + 1] = c.hi;
    }
    return;
  }
  i.ea(c, i);
  const m = c.mmu;
  if (!writes(op)) {
    const lo = m.read64(c.eaLo, c.eaHi);
    alu64(c, op, lo, m.hi32, b, bH);
    return;
  }
  const v = m.rmwView(c.eaLo, c.eaHi, 8);
  if (v === null) {
    m.probeWrite(c.eaLo, c.eaHi, 8);
    const lo = m.read64(c.eaLo, c.eaHi);
    const res = alu64(c, op, lo, m.hi32, b, bH);
    m.write64(c.eaLo, c.eaHi, res, c.hi);
    return;
  }
  const off = c.eaLo & 0xfff;
  const res = alu64(c, op, v.getUint32(off, true), v.getUint32(off + 4, true), b, bH);
  v.setUint32(off, res, true);
  v.setUint32(off + 4, c.hi, true);
}

function opAlu32EvGv(c: Cpu, i: Insn): void {
  alu32E(c, i, c.r[2 * i.reg]!);
}
function opAlu64EvGv(c: Cpu, i: Insn): void {
  alu64E(c, i, c.r[2 * i.reg]!, c.r[2 * i.reg + 1]!);
}
function opAlu32EvIz(c: Cpu, i: Insn): void {
  alu32E(c, i, i.immLo);
}
function opAlu64EvIz(c: Cpu, i: Insn): void {
  alu64E(c, i, i.immLo, i.immHi);
}

function opAlu32GvEv(c: Cpu, i: Insn): void {
  const r = c.r;
  const b = i.rm >= 0 ? r[2 * i.rm]! : (i.ea(c, i), c.mmu.read32(c.eaLo, c.eaHi));
  const res = alu32(c, i.sub, r[2 * i.reg]!, b);
  if (writes(i.sub)) {
    r[2 * i.reg] = res;
    r[2 * i.reg + 1] = 0;
  }
}
function opAlu64GvEv(c: Cpu, i: Insn): void {
  const r = c.r;
  let b: number;
  let bH: number;
  if (i.rm >= 0) {
    b = r[2 * i.rm]!;
    bH = r[2 * i.rm + 1]!;
  } else {
    i.ea(c, i);
    b = c.mmu.read64(c.eaLo, c.eaHi);
    bH = c.mmu.hi32;
  }
  const lo = alu64(c, i.sub, r[2 * i.reg]!, r[2 * i.reg + 1]!, b, bH);
  if (writes(i.sub)) {
    r[2 * i.reg] = lo;
    r[2 * i.reg + 1] = c.hi;
  }
}

/** Specializers for the table (`fast`): pick by operand size; ADC/SBB stay generic. */
export function fastEvGv(i: Insn): Handler | null {
  if (i.sub === ADC || i.sub === SBB) return null;
  return i.osz === 4 ? opAlu32EvGv : i.osz === 8 ? opAlu64EvGv : null;
}
export function fastGvEv(i: Insn): Handler | null {
  if (i.sub === ADC || i.sub === SBB) return null;
  return i.osz === 4 ? opAlu32GvEv : i.osz === 8 ? opAlu64GvEv : null;
}
export function fastEvIz(i: Insn): Handler | null {
  if (i.sub === ADC || i.sub === SBB) return null;
  return i.osz === 4 ? opAlu32EvIz : i.osz === 8 ? opAlu64EvIz : null;
}
/** test forms: the table's sub is unset for test, so the handler records TEST itself. */
export function fastTest(i: Insn): Handler | null {
  i.sub = TEST;
  const imm = i.e!.ops.endsWith('Iz');
  if (i.osz === 4) return imm ? opAlu32EvIz : opAlu32EvGv;
  if (i.osz === 8) return imm ? opAlu64EvIz : opAlu64EvGv;
  return null;
}
