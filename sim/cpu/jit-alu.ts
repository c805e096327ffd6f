/**
 * Emitters for integer arithmetic and logic (alu.ts, alu-fast.ts): the
 * eight ALU ops, test, inc, dec, neg, not, at every size, with register,
 * memory and immediate operands. Each computes exactly what its handler
 * computes and leaves the same lazy-flags record, in the locals.
 */
import type { Insn } from './decode.js';
import { LOP } from './flags.js';
import { cfOf } from './jit-flags.js';
import type { Gen } from './jit-gen.js';

export type Emitter = (g: Gen, i: Insn) => string | null;

const ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8;
export const MASK = [0, 0xff, 0xffff, 0, 0xffffffff, 0, 0, 0, 0xffffffff];

/** Immediate of the instruction truncated to sz (alu.ts imm): [lo, hi] literals. */
export function immOf(i: Insn, sz: number): [string, string] {
  const lo = sz === 1 ? i.immLo & 0xff : sz === 2 ? i.immLo & 0xffff : i.immLo >>> 0;
  return [`${lo}`, `${i.immHi >>> 0}`];
}

/**
 * `x = a op b` at size sz (xH for size 8) with the flags record set, from
 * a/aH and b/bH (uint32, masked to sz); updates g.known.
 */
export function aluCode(g: Gen, op: number, sz: number): string {
  const w = sz === 8;
  const m = MASK[sz]!;
  const trunc = sz >= 4 ? '>>> 0' : `& ${m}`;
  switch (op) {
    case ADD:
    case ADC:
    case SUB:
    case SBB:
    case CMP: {
      const add = op === ADD || op === ADC;
      const carry = op === ADC || op === SBB;
      const lop = op === ADD ? LOP.ADD : op === ADC ? LOP.ADC : op === SBB ? LOP.SBB : LOP.SUB;
      let s = carry ? `cf = ${cfOf(g.known)} ? 1 : 0; ` : '';
      if (!carry) {
        s += add ? `x = (a + b) ${trunc};` : `x = (a - b) ${trunc};`;
        if (w) s += add ? ' xH = (aH + bH + (x < a ? 1 : 0)) >>> 0;' : ' xH = (aH - bH - (a < b ? 1 : 0)) >>> 0;';
      } else if (add) {
        s += w ? 'v = a + b + cf; x = v >>> 0; xH = (aH + bH + (v > 0xffffffff ? 1 : 0)) >>> 0;' : `x = (a + b + cf) ${trunc};`;
      } else {
        s += w ? 'v = a - b - cf; x = v >>> 0; xH = (aH - bH - (v < 0 ? 1 : 0)) >>> 0;' : `x = (a - b - cf) ${trunc};`;
      }
      s += ` lop = ${lop}; lsz = ${sz}; la = a; lb = b; lres = x;`;
      // the high halves are zero below 64 bits (setLazy): adc/sbb readers compare them
      s += w ? ' laH = aH; lbH = bH; lresH = xH;' : ' laH = 0; lbH = 0; lresH = 0;';
      if (carry) s += ' lcf = cf;';
      g.known = { op: lop, sz, logic: false };
      return s;
    }
    default: {
      const o = op === OR ? '|' : op === XOR ? '^' : '&';
      let s = `x = (a ${o} b) >>> 0;`;
      if (w) s += ` xH = (aH ${o} bH) >>> 0;`;
      s += ` fl &= ${~0x8d5}; lop = ${LOP.RES}; lsz = ${sz}; lres = x;`;
      if (w) s += ' lresH = xH;';
      g.known = { op: LOP.RES, sz, logic: true };
      return s;
    }
  }
}

/** Load the E operand into a/aH; `write`: a read-modify-write (memory: write rights). */
function readE(g: Gen, i: Insn, sz: number): string {
  if (i.rm >= 0) return `a = ${g.reg(i.rm, sz)};${sz === 8 ? ` aH = ${g.regH(i.rm)};` : ''}`;
  return `a = ${g.load(sz)};${sz === 8 ? ` aH = ${g.load(8, true)};` : ''}`;
}

/**
 * An instruction operating on E (register or memory): `body` computes from
 * a/aH into x/xH; `store` writes x/xH back to E. A memory operand takes the
 * fast path only when the TLB grants the access (write rights for a store).
 */
export function onE(g: Gen, i: Insn, sz: number, body: () => string, store: boolean): string {
  if (i.rm >= 0) {
    const b = body();
    return `${readE(g, i, sz)} ${b}${store ? ` ${g.setReg(i.rm, sz, 'x', 'xH')}` : ''}`;
  }
  const b = body();
  return `${g.ea()} if (${g.hit(sz, store)}) { ${readE(g, i, sz)} ${b}${store ? ` ${g.store(sz, 'x', 'xH')}` : ''} } else { ${g.exitBefore()} }`;
}

/** The source operand of Gv,Ev forms into b/bH. */
function srcE(g: Gen, i: Insn, sz: number, then: () => string): string {
  if (i.rm >= 0) return `b = ${g.reg(i.rm, sz)};${sz === 8 ? ` bH = ${g.regH(i.rm)};` : ''} ${then()}`;
  const t = then();
  return `${g.ea()} if (${g.hit(sz)}) { b = ${g.load(sz)};${sz === 8 ? ` bH = ${g.load(8, true)};` : ''} ${t} } else { ${g.exitBefore()} }`;
}

const writes = (op: number): boolean => op !== CMP && op !== TEST;

function opAluEvGv(g: Gen, i: Insn): string {
  const sz = i.osz;
  const op = i.sub;
  const b = `b = ${g.reg(i.reg, sz)};${sz === 8 ? ` bH = ${g.regH(i.reg)};` : ''}`;
  return onE(g, i, sz, () => `${b} ${aluCode(g, op, sz)}`, writes(op));
}

function opAluGvEv(g: Gen, i: Insn): string {
  const sz = i.osz;
  const op = i.sub;
  return srcE(g, i, sz, () => {
    const a = `a = ${g.reg(i.reg, sz)};${sz === 8 ? ` aH = ${g.regH(i.reg)};` : ''}`;
    return `${a} ${aluCode(g, op, sz)}${writes(op) ? ` ${g.setReg(i.reg, sz, 'x', 'xH')}` : ''}`;
  });
}

function opAluEvIz(g: Gen, i: Insn): string {
  const sz = i.osz;
  const op = i.sub;
  const [lo, hi] = immOf(i, sz);
  return onE(g, i, sz, () => `b = ${lo};${sz === 8 ? ` bH = ${hi};` : ''} ${aluCode(g, op, sz)}`, writes(op));
}

function opTestEvGv(g: Gen, i: Insn): string {
  const sz = i.osz;
  const b = `b = ${g.reg(i.reg, sz)};${sz === 8 ? ` bH = ${g.regH(i.reg)};` : ''}`;
  return onE(g, i, sz, () => `${b} ${aluCode(g, TEST, sz)}`, false);
}

function opTestEvIz(g: Gen, i: Insn): string {
  const sz = i.osz;
  const [lo, hi] = immOf(i, sz);
  return onE(g, i, sz, () => `b = ${lo};${sz === 8 ? ` bH = ${hi};` : ''} ${aluCode(g, TEST, sz)}`, false);
}

/** inc/dec: add/sub 1 keeping CF (moved into fl first). */
function opIncDec(g: Gen, i: Insn): string {
  const sz = i.osz;
  const inc = i.sub === 0;
  return onE(g, i, sz, () => {
    const m = MASK[sz]!;
    let s = `cf = ${cfOf(g.known)} ? 1 : 0; `;
    if (sz === 8) s += inc ? 'x = (a + 1) >>> 0; xH = x === 0 ? (aH + 1) >>> 0 : aH;' : 'x = (a - 1) >>> 0; xH = a === 0 ? (aH - 1) >>> 0 : aH;';
    else s += inc ? `x = (a + 1) ${sz === 4 ? '>>> 0' : `& ${m}`};` : `x = (a - 1) ${sz === 4 ? '>>> 0' : `& ${m}`};`;
    s += ` fl = (fl & ~1) | cf; lop = ${inc ? LOP.INC : LOP.DEC}; lsz = ${sz}; la = a; lb = 1; lres = x;`;
    if (sz === 8) s += ' laH = aH; lbH = 0; lresH = xH;';
    g.known = { op: inc ? LOP.INC : LOP.DEC, sz, logic: false };
    return s;
  }, true);
}

function opNeg(g: Gen, i: Insn): string {
  const sz = i.osz;
  return onE(g, i, sz, () => {
    const m = MASK[sz]!;
    let s = `b = a; x = (0 - b) ${sz >= 4 ? '>>> 0' : `& ${m}`};`;
    if (sz === 8) s += ' bH = aH; xH = (0 - bH - (b !== 0 ? 1 : 0)) >>> 0;';
    s += ` lop = ${LOP.SUB}; lsz = ${sz}; la = 0; lb = b; lres = x;`;
    if (sz === 8) s += ' laH = 0; lbH = bH; lresH = xH;';
    g.known = { op: LOP.SUB, sz, logic: false };
    return s;
  }, true);
}

function opNot(g: Gen, i: Insn): string {
  const sz = i.osz;
  return onE(g, i, sz, () => `x = (~a & ${MASK[sz]}) >>> 0;${sz === 8 ? ' xH = ~aH >>> 0;' : ''}`, true);
}

export const ALU_EMITTERS: Record<string, Emitter> = {
  opAluEvGv,
  opAluGvEv,
  opAluEvIz,
  opTestEvGv,
  opTestEvIz,
  opIncDec,
  opNeg,
  opNot,
};
