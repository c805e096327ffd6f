/**
 * Emitters for multiplication and 64-bit division (muldiv.ts) and bswap (bits.ts): mul and
 * one-operand imul (rDX:rAX), two- and three-operand imul, at 32 and 64
 * bits, register or memory source. Wide products come from wide.ts's
 * helpers (mul32 imul32 mul64 imul64 imul64lo, results in W), passed to the
 * generated code as M32 I32 M64 I64 T64 and W. Flags as mulFlags sets them:
 * CF = OF = overflow, SF and PF from the low half, the lazy record cleared.
 */
import type { Insn } from './decode.js';
import { LOP } from './flags.js';
import { immOf, type Emitter } from './jit-alu.js';
import type { Gen } from './jit-gen.js';

/** The high word that sign-extends a 32-bit value, as JS. */
const sx = (v: string): string => `((${v} >> 31) >>> 0)`;

/** Flags of a product with low half x (and xH for size 8) and overflow `ovf` (a JS boolean). */
function mulFlags(g: Gen, sz: number, ovf: string): string {
  g.known = { op: LOP.NONE, sz, logic: false };
  const sf = sz === 8 ? '(xH >>> 31)' : '(x >>> 31)';
  return `lop = ${LOP.NONE}; fl = (fl & ${~0x8d5}) | (${ovf} ? 0x801 : 0) | (${sf} << 7) | (PAR[x & 255] << 2);`;
}

/** b/bH = the E operand (register, or memory on a TLB hit), then `then`. */
function withE(g: Gen, i: Insn, sz: number, then: () => string): string {
  if (i.rm >= 0) return `b = ${g.reg(i.rm, sz)};${sz === 8 ? ` bH = ${g.regH(i.rm)};` : ''} ${then()}`;
  const t = then();
  return `${g.ea()} if (${g.hit(sz)}) { b = ${g.load(sz)};${sz === 8 ? ` bH = ${g.load(8, true)};` : ''} ${t} } else ${g.exitBefore()}`;
}

/** x/xH = a * b truncated to sz, with the flags: muldiv.ts imulTrunc. */
function imulTrunc(g: Gen, sz: number): string {
  if (sz === 4) return `v = (a | 0) * (b | 0); x = Math.imul(a, b) >>> 0; ${mulFlags(g, 4, 'v !== (x | 0)')}`;
  // both factors fit in 32 bits: the product fits in 64 and cannot overflow
  return `if (aH === ${sx('a')} && bH === ${sx('b')}) { I32(a, b); x = W[0]; xH = W[1]; v = 0; } else { v = T64(a, aH, b, bH); x = W[0]; xH = W[1]; } ${mulFlags(g, 8, 'v !== 0')}`;
}

/** imul Gv, Ev */
function opImulGvEv(g: Gen, i: Insn): string | null {
  const sz = i.osz;
  if (sz !== 4 && sz !== 8) return null;
  return withE(g, i, sz, () => `a = ${g.reg(i.reg, sz)};${sz === 8 ? ` aH = ${g.regH(i.reg)};` : ''} ${imulTrunc(g, sz)} ${g.setReg(i.reg, sz, 'x', 'xH')}`);
}

/** imul Gv, Ev, Iz/Ib */
function opImulGvEvIz(g: Gen, i: Insn): string | null {
  const sz = i.osz;
  if (sz !== 4 && sz !== 8) return null;
  const [lo, hi] = immOf(i, sz);
  return withE(g, i, sz, () => `a = b; aH = bH; b = ${lo}; bH = ${hi}; ${imulTrunc(g, sz)} ${g.setReg(i.reg, sz, 'x', 'xH')}`);
}

/** mul Ev / imul Ev: rDX:rAX = rAX * E */
function oneOperand(g: Gen, i: Insn, signed: boolean): string | null {
  const sz = i.osz;
  if (sz !== 4 && sz !== 8) return null;
  return withE(g, i, sz, () => {
    if (sz === 4) {
      const ovf = signed ? `W[1] !== ${sx('x')}` : 'W[1] !== 0';
      return `${signed ? 'I32' : 'M32'}(r[0], b); x = W[0]; r[0] = x; r[1] = 0; r[4] = W[1]; r[5] = 0; ${mulFlags(g, 4, ovf)}`;
    }
    const ovf = signed ? `(W[2] !== ${sx('xH')} || W[3] !== ${sx('xH')})` : '(W[2] | W[3]) !== 0';
    return `${signed ? 'I64' : 'M64'}(r[0], r[1], b, bH); x = W[0]; xH = W[1]; r[0] = x; r[1] = xH; r[4] = W[2]; r[5] = W[3]; ${mulFlags(g, 8, ovf)}`;
  });
}

/**
 * div Ev / idiv Ev at 64 bits: rDX:rAX / E into rAX (quotient) and rDX
 * (remainder) through wide.ts's divU/divS (DU DS, results in QR). A
 * divide error leaves before the instruction, so the interpreter raises
 * #DE. The flags are left alone, as the handler leaves them.
 */
function divide(g: Gen, i: Insn, signed: boolean): string | null {
  if (i.osz !== 8) return null;
  return withE(g, i, 8, () => `if (${signed ? 'DS' : 'DU'}(r[0], r[1], r[4], r[5], b, bH)) { r[0] = QR[0]; r[1] = QR[1]; r[4] = QR[2]; r[5] = QR[3]; } else ${g.exitBefore()}`);
}

/** bswap Zv (32/64; the 16-bit form, undefined, stays with its handler) */
function opBswapZv(g: Gen, i: Insn): string | null {
  const sw = (v: string): string => `(((${v} >>> 24) | ((${v} >>> 8) & 0xff00) | ((${v} & 0xff00) << 8) | (${v} << 24)) >>> 0)`;
  const lo = `r[${2 * i.reg}]`;
  const hi = `r[${2 * i.reg + 1}]`;
  if (i.osz === 4) return `a = ${lo}; ${lo} = ${sw('a')}; ${hi} = 0;`;
  if (i.osz === 8) return `a = ${lo}; aH = ${hi}; ${lo} = ${sw('aH')}; ${hi} = ${sw('a')};`;
  return null;
}

export const MUL_EMITTERS: Record<string, Emitter> = {
  opImulGvEv,
  opImulGvEvIz,
  opMulEv: (g, i) => oneOperand(g, i, false),
  opImulEv: (g, i) => oneOperand(g, i, true),
  opDivEv: (g, i) => divide(g, i, false),
  opIdivEv: (g, i) => divide(g, i, true),
  opBswapZv,
};
