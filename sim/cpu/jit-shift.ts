/**
 * Emitters for shifts and rotates by a constant count (shift.ts): shl, shr,
 * sar, rol, ror by Ib or 1, at every size, register or memory. The count is
 * known at translation time, so every carry and overflow bit the handler
 * computes is a fixed bit of the operand here. Counts in CL, rcl/rcr and
 * the double shifts stay with their handlers.
 */
import type { Insn } from './decode.js';
import { LOP } from './flags.js';
import { MASK, onE, type Emitter } from './jit-alu.js';
import { condOf } from './jit-flags.js';
import type { Gen } from './jit-gen.js';

const ROL = 0, ROR = 1, SHL = 4, SHR = 5, SAR = 7;

/** Bit k (0..63) of a/aH as a 0/1 expression. */
const bit = (k: number): string => (k < 32 ? `((a >>> ${k}) & 1)` : `((aH >>> ${k - 32}) & 1)`);

/** A masked count of 0: the operand is still accessed (a memory operand probed for write) and a 32-bit register zero-extended. */
function countZero(g: Gen, i: Insn, sz: number): string {
  return onE(g, i, sz, () => `x = a;${sz === 8 ? ' xH = aH;' : ''}`, true);
}

/** shl/shr/sar by n (1..63) into x/xH with cf/of, as shift.ts `shift`. */
function shiftBody(op: number, sz: number, n: number): string {
  if (sz === 8) {
    if (op === SHL) {
      const r = n < 32 ? `xH = ((aH << ${n}) | (a >>> ${32 - n})) >>> 0; x = (a << ${n}) >>> 0;` : `xH = (a << ${n - 32}) >>> 0; x = 0;`;
      return `${r} cf = ${bit(64 - n)}; of = (aH >>> 31) ^ ((aH >>> 30) & 1);`;
    }
    if (op === SHR) {
      const r = n < 32 ? `x = ((a >>> ${n}) | (aH << ${32 - n})) >>> 0; xH = aH >>> ${n};` : `x = aH >>> ${n - 32}; xH = 0;`;
      return `${r} cf = ${bit(n - 1)}; of = aH >>> 31;`;
    }
    const r = n < 32 ? `x = ((a >>> ${n}) | (aH << ${32 - n})) >>> 0; xH = (aH >> ${n}) >>> 0;` : `x = (aH >> ${n - 32}) >>> 0; xH = (aH >> 31) >>> 0;`;
    return `${r} cf = ${bit(n - 1)}; of = 0;`;
  }
  const bits = sz * 8;
  const m = MASK[sz]!;
  if (op === SHL) return `x = ((a << ${n}) & ${m}) >>> 0; cf = ${n <= bits ? `(a >>> ${bits - n}) & 1` : '0'}; of = (a >>> ${bits - 1}) ^ ((a >>> ${bits - 2}) & 1);`;
  if (op === SHR) return `x = a >>> ${n}; cf = (a >>> ${n - 1}) & 1; of = a >>> ${bits - 1};`;
  const s = sz === 4 ? '(a | 0)' : `((a << ${32 - bits}) >> ${32 - bits})`;
  return `v = ${s}; x = ((v >> ${n}) & ${m}) >>> 0; cf = (v >> ${n - 1}) & 1; of = 0;`;
}

/**
 * rol/ror by n (1..63, before reducing mod the width) into x/xH with cf/of,
 * as shift.ts `rotate`. The handler folds the lazy record into the flags
 * word first and then replaces CF and OF; here a record that describes
 * ZF/SF/PF by its result becomes LOP.RES instead (AF moved into fl), which
 * reads back the same flags without computing them.
 */
function rotateBody(g: Gen, op: number, sz: number, n: number, ib: boolean, reg: boolean): string {
  const bits = sz * 8;
  const r = n & (bits - 1);
  const m = MASK[sz]!;
  let s: string;
  if (r === 0) s = `x = a;${sz === 8 ? ' xH = aH;' : ''}`;
  else if (sz === 8) {
    // rotate left by k = r (rol) or 64 - r (ror)
    const k = op === ROL ? r : 64 - r;
    if (k === 32) s = 'x = aH; xH = a;';
    else if (k < 32) s = `x = ((a << ${k}) | (aH >>> ${32 - k})) >>> 0; xH = ((aH << ${k}) | (a >>> ${32 - k})) >>> 0;`;
    else s = `x = ((aH << ${k - 32}) | (a >>> ${64 - k})) >>> 0; xH = ((a << ${k - 32}) | (aH >>> ${64 - k})) >>> 0;`;
  } else if (op === ROL) s = `x = (((a << ${r}) | (a >>> ${bits - r})) & ${m}) >>> 0;`;
  else s = `x = (((a >>> ${r}) | (a << ${bits - r})) & ${m}) >>> 0;`;
  const msb = (lo: string, hi: string): string => (sz === 8 ? `(${hi} >>> 31)` : `((${lo} >>> ${bits - 1}) & 1)`);
  const msb2 = sz === 8 ? '((aH >>> 30) & 1)' : `((a >>> ${bits - 2}) & 1)`;
  s += ` cf = ${op === ROL ? '(x & 1)' : msb('x', 'xH')};`;
  // host quirk (shift.ts): the Ib form with a register operand keeps OF unless the count is 1
  s += ib && n !== 1 && reg ? ` of = ${condOf(0, g.known)} ? 1 : 0;` : ` of = ${msb('a', 'aH')} ^ ${op === ROL ? msb2 : '(a & 1)'};`;
  const k = g.known;
  const toRes = `fl = (fl & ~0x10) | ((la ^ lb ^ lres) & 0x10); lop = ${LOP.RES};`;
  if (k === null) s += ` if (lop !== ${LOP.NONE} && lop !== ${LOP.RES}) { ${toRes} }`;
  else if (k.op !== LOP.NONE && k.op !== LOP.RES) s += ` ${toRes}`;
  g.known = k === null ? null : { op: k.op === LOP.NONE ? LOP.NONE : LOP.RES, sz: k.sz, logic: false };
  return `${s} fl = (fl & ~0x801) | cf | (of << 11);`;
}

/** Group 2 by a constant count: shl/sal, shr, sar, rol, ror (others: null, the handler). */
function group2(g: Gen, i: Insn, n: number, ib: boolean): string | null {
  const sz = i.osz;
  const op = i.e!.ext!;
  if (op !== ROL && op !== ROR && op !== SHL && op !== 6 && op !== SHR && op !== SAR) return null;
  const c = n & (sz === 8 ? 63 : 31);
  if (c === 0) return countZero(g, i, sz);
  if (op === ROL || op === ROR) {
    return onE(g, i, sz, () => rotateBody(g, op, sz, c, ib, i.rm >= 0), true);
  }
  return onE(g, i, sz, () => {
    g.known = { op: LOP.RES, sz, logic: false };
    return `${shiftBody(op === 6 ? SHL : op, sz, c)} fl = (fl & ~0x811) | cf | (of << 11); lop = ${LOP.RES}; lsz = ${sz}; lres = x;${sz === 8 ? ' lresH = xH;' : ''}`;
  }, true);
}

export const SHIFT_EMITTERS: Record<string, Emitter> = {
  opShlEvIb: (g, i) => group2(g, i, i.immLo, true),
  opShrEvIb: (g, i) => group2(g, i, i.immLo, true),
  opSarEvIb: (g, i) => group2(g, i, i.immLo, true),
  opRotEvIb: (g, i) => group2(g, i, i.immLo, true),
  opShlEv1: (g, i) => group2(g, i, 1, false),
  opShrEv1: (g, i) => group2(g, i, 1, false),
  opSarEv1: (g, i) => group2(g, i, 1, false),
  opRotEv1: (g, i) => group2(g, i, 1, false),
};
