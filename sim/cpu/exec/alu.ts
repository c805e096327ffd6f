/**
 * Integer arithmetic and logic: add or adc sbb and sub xor cmp test,
 * inc dec neg not. Flags are lazy (flags.ts); the destination is written
 * after the flags are recorded only when the store cannot fault any more
 * (read-modify-write operands are probed for write first).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { getCF, LOP, setLazy, SIZE_MASK } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { imm, rdE, rdEw, rdReg, wrE, wrReg } from '../operands.js';
import { fastEvGv, fastEvIz, fastGvEv, fastTest } from './alu-fast.js';

import { alu, AluOp, TEST } from './alu-core.js';

export { alu, AluOp };

const writes = (op: number): boolean => op !== AluOp.CMP && op !== TEST;

/** op Ev, Gv (and Eb, Gb) */
function opAluEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const w = writes(i.sub);
  const a = w ? rdEw(c, i, sz) : rdE(c, i, sz);
  const aH = c.hi;
  const b = rdReg(c, i.reg, sz);
  const r = alu(c, i.sub, sz, a, aH, b, c.hi);
  if (w) wrE(c, i, sz, r, c.hi);
}

/** op Gv, Ev */
function opAluGvEv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const b = rdE(c, i, sz);
  const bH = c.hi;
  const a = rdReg(c, i.reg, sz);
  const r = alu(c, i.sub, sz, a, c.hi, b, bH);
  if (writes(i.sub)) wrReg(c, i.reg, sz, r, c.hi);
}

/** op Ev, imm (groups 80 81 83, and the AL/rAX short forms with rm = 0) */
function opAluEvIz(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const w = writes(i.sub);
  const a = w ? rdEw(c, i, sz) : rdE(c, i, sz);
  const aH = c.hi;
  const b = imm(c, i, sz);
  const r = alu(c, i.sub, sz, a, aH, b, c.hi);
  if (w) wrE(c, i, sz, r, c.hi);
}

/** inc / dec Ev: like add/sub 1 but CF is preserved */
function opIncDec(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdEw(c, i, sz);
  const aH = sz === 8 ? c.hi : 0;
  const cf = getCF(c);
  let lo: number;
  let hi = aH;
  if (i.sub === 0) {
    lo = ((a + 1) & SIZE_MASK[sz]!) >>> 0;
    if (sz === 8 && lo === 0) hi = (aH + 1) >>> 0;
  } else {
    lo = ((a - 1) & SIZE_MASK[sz]!) >>> 0;
    if (sz === 8 && a === 0) hi = (aH - 1) >>> 0;
  }
  if (sz !== 8) hi = 0;
  wrE(c, i, sz, lo, hi);
  c.flags = cf ? c.flags | 1 : c.flags & ~1;
  setLazy(c, i.sub === 0 ? LOP.INC : LOP.DEC, sz, a, aH, 1, 0, lo, hi);
}

/** neg Ev: 0 - x */
function opNeg(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const b = rdEw(c, i, sz);
  const bH = sz === 8 ? c.hi : 0;
  const r = alu(c, AluOp.SUB, sz, 0, 0, b, bH);
  wrE(c, i, sz, r, c.hi);
}

/** not Ev: no flags */
function opNot(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdEw(c, i, sz);
  const aH = c.hi;
  wrE(c, i, sz, (~a & SIZE_MASK[sz]!) >>> 0, ~aH >>> 0);
}

/** test Ev, Gv / test Ev, Iz */
function opTestEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdE(c, i, sz);
  const aH = c.hi;
  alu(c, TEST, sz, a, aH, rdReg(c, i.reg, sz), c.hi);
}
function opTestEvIz(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdE(c, i, sz);
  const aH = c.hi;
  alu(c, TEST, sz, a, aH, imm(c, i, sz), c.hi);
}

const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'] as const;

export const ALU_OPS: OpEntry[] = [
  ...NAMES.flatMap((mn, op): OpEntry[] => {
    const base = op * 8;
    const lock = op !== AluOp.CMP;
    return [
      { code: base + 0, map: 0, mn, ops: 'Eb,Gb', fn: opAluEvGv, osz: OSZ.B, sub: op, lock },
      { code: base + 1, map: 0, mn, ops: 'Ev,Gv', fn: opAluEvGv, sub: op, lock, fast: fastEvGv },
      { code: base + 2, map: 0, mn, ops: 'Gb,Eb', fn: opAluGvEv, osz: OSZ.B, sub: op },
      { code: base + 3, map: 0, mn, ops: 'Gv,Ev', fn: opAluGvEv, sub: op, fast: fastGvEv },
      { code: base + 4, map: 0, mn, ops: 'AL,Ib', fn: opAluEvIz, osz: OSZ.B, sub: op },
      { code: base + 5, map: 0, mn, ops: 'rAX,Iz', fn: opAluEvIz, sub: op, fast: fastEvIz },
      { code: 0x80, map: 0, ext: op, mn, ops: 'Eb,Ib', fn: opAluEvIz, osz: OSZ.B, sub: op, lock },
      { code: 0x81, map: 0, ext: op, mn, ops: 'Ev,Iz', fn: opAluEvIz, sub: op, lock, fast: fastEvIz },
      { code: 0x83, map: 0, ext: op, mn, ops: 'Ev,Ib', fn: opAluEvIz, sub: op, lock, fast: fastEvIz },
    ];
  }),
  { code: 0x84, map: 0, mn: 'test', ops: 'Eb,Gb', fn: opTestEvGv, osz: OSZ.B },
  { code: 0x85, map: 0, mn: 'test', ops: 'Ev,Gv', fn: opTestEvGv, fast: fastTest },
  { code: 0xa8, map: 0, mn: 'test', ops: 'AL,Ib', fn: opTestEvIz, osz: OSZ.B },
  { code: 0xa9, map: 0, mn: 'test', ops: 'rAX,Iz', fn: opTestEvIz, fast: fastTest },
  { code: 0xf6, map: 0, ext: 0, mn: 'test', ops: 'Eb,Ib', fn: opTestEvIz, osz: OSZ.B },
  { code: 0xf6, map: 0, ext: 1, mn: 'test', ops: 'Eb,Ib', fn: opTestEvIz, osz: OSZ.B },
  { code: 0xf7, map: 0, ext: 0, mn: 'test', ops: 'Ev,Iz', fn: opTestEvIz, fast: fastTest },
  { code: 0xf7, map: 0, ext: 1, mn: 'test', ops: 'Ev,Iz', fn: opTestEvIz, fast: fastTest },
  { code: 0xf6, map: 0, ext: 2, mn: 'not', ops: 'Eb', fn: opNot, osz: OSZ.B, lock: true },
  { code: 0xf7, map: 0, ext: 2, mn: 'not', ops: 'Ev', fn: opNot, lock: true },
  { code: 0xf6, map: 0, ext: 3, mn: 'neg', ops: 'Eb', fn: opNeg, osz: OSZ.B, lock: true },
  { code: 0xf7, map: 0, ext: 3, mn: 'neg', ops: 'Ev', fn: opNeg, lock: true },
  { code: 0xfe, map: 0, ext: 0, mn: 'inc', ops: 'Eb', fn: opIncDec, osz: OSZ.B, sub: 0, lock: true },
  { code: 0xfe, map: 0, ext: 1, mn: 'dec', ops: 'Eb', fn: opIncDec, osz: OSZ.B, sub: 1, lock: true },
  { code: 0xff, map: 0, ext: 0, mn: 'inc', ops: 'Ev', fn: opIncDec, sub: 0, lock: true },
  { code: 0xff, map: 0, ext: 1, mn: 'dec', ops: 'Ev', fn: opIncDec, sub: 1, lock: true },
];
