/**
 * Lazy arithmetic flags. An ALU instruction records its kind (`lop`), size
 * and operands/result instead of computing six flags; readers compute only
 * the flag they need. `cpu.flags` holds every bit the lazy record does not
 * describe (for LOP.INC/DEC that includes CF; for LOP.RES, CF/OF/AF).
 *
 * Invariants: `lres`/`la`/`lb` are masked to the operand size; for size 8
 * the high halves are in `lresH`/`laH`/`lbH`.
 */
import type { Cpu } from './cpu.js';
import { F, STATUS_FLAGS } from './regs.js';

export const LOP = {
  /** every flag is in cpu.flags */
  NONE: 0,
  ADD: 1,
  ADC: 2,
  SUB: 3,
  SBB: 4,
  /** ZF SF PF from the result; CF OF AF in cpu.flags (logic ops, shifts, ...) */
  RES: 5,
  /** like ADD/SUB with b = 1, CF in cpu.flags */
  INC: 6,
  DEC: 7,
} as const;

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b; b >>= 1) p ^= b & 1;
  PARITY[i] = p ? F.PF : 0;
}

export const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffffffff, 0, 0, 0, 0xffffffff] as const;
const SIGN_SHIFT = [0, 7, 15, 0, 31, 0, 0, 0, 31] as const;

/** Unsigned a < b for the recorded size. */
function ltU(c: Cpu, alo: number, ahi: number, blo: number, bhi: number): boolean {
  if (c.lsz === 8 && ahi !== bhi) return ahi >>> 0 < bhi >>> 0;
  return alo >>> 0 < blo >>> 0;
}

export function getCF(c: Cpu): boolean {
  switch (c.lop) {
    case LOP.ADD:
      return ltU(c, c.lres, c.lresH, c.la, c.laH);
    case LOP.ADC:
      return ltU(c, c.lres, c.lresH, c.la, c.laH) || (c.lcf !== 0 && c.lres === c.la && c.lresH === c.laH);
    case LOP.SUB:
      return ltU(c, c.la, c.laH, c.lb, c.lbH);
    case LOP.SBB:
      return ltU(c, c.la, c.laH, c.lb, c.lbH) || (c.lcf !== 0 && c.la === c.lb && c.laH === c.lbH);
    default:
      return (c.flags & F.CF) !== 0;
  }
}

export function getZF(c: Cpu): boolean {
  if (c.lop === LOP.NONE) return (c.flags & F.ZF) !== 0;
  return c.lres === 0 && (c.lsz !== 8 || c.lresH === 0);
}

/** Top bit of a value of the recorded size (pass the hi half for size 8). */
function top(c: Cpu, lo: number, hi: number): number {
  return c.lsz === 8 ? hi >>> 31 : (lo >>> SIGN_SHIFT[c.lsz]!) & 1;
}

export function getSF(c: Cpu): boolean {
  if (c.lop === LOP.NONE) return (c.flags & F.SF) !== 0;
  return top(c, c.lres, c.lresH) === 1;
}

export function getOF(c: Cpu): boolean {
  switch (c.lop) {
    case LOP.ADD:
    case LOP.ADC:
    case LOP.INC:
      return top(c, (c.la ^ c.lres) & (c.lb ^ c.lres), (c.laH ^ c.lresH) & (c.lbH ^ c.lresH)) === 1;
    case LOP.SUB:
    case LOP.SBB:
    case LOP.DEC:
      return top(c, (c.la ^ c.lb) & (c.la ^ c.lres), (c.laH ^ c.lbH) & (c.laH ^ c.lresH)) === 1;
    default:
      return (c.flags & F.OF) !== 0;
  }
}

export function getPF(c: Cpu): boolean {
  if (c.lop === LOP.NONE) return (c.flags & F.PF) !== 0;
  return PARITY[c.lres & 0xff] !== 0;
}

export function getAF(c: Cpu): boolean {
  if (c.lop === LOP.NONE || c.lop === LOP.RES) return (c.flags & F.AF) !== 0;
  return ((c.la ^ c.lb ^ c.lres) & 0x10) !== 0;
}

/** Fold the lazy record into cpu.flags (before pushf, lahf, or a partial write). */
export function materialize(c: Cpu): void {
  if (c.lop === LOP.NONE) return;
  let f = c.flags & ~STATUS_FLAGS;
  if (getCF(c)) f |= F.CF;
  if (getPF(c)) f |= F.PF;
  if (getAF(c)) f |= F.AF;
  if (getZF(c)) f |= F.ZF;
  if (getSF(c)) f |= F.SF;
  if (getOF(c)) f |= F.OF;
  c.flags = f;
  c.lop = LOP.NONE;
}

/** Replace the whole flags word (popf, iret, tests). */
export function setFlagsWord(c: Cpu, v: number): void {
  c.lop = LOP.NONE;
  c.flags = v;
}

/** Record an arithmetic result for lazy evaluation. Values must be masked to `sz`. */
export function setLazy(c: Cpu, op: number, sz: number, a: number, aH: number, b: number, bH: number, res: number, resH: number): void {
  c.lop = op;
  c.lsz = sz;
  c.la = a;
  c.laH = aH;
  c.lb = b;
  c.lbH = bH;
  c.lres = res;
  c.lresH = resH;
}

/**
 * Record a result whose CF/OF/AF are known now (logic ops, shifts, mul...):
 * ZF/SF/PF stay lazy.
 */
export function setResult(c: Cpu, sz: number, res: number, resH: number, cf: boolean, of: boolean, af = false): void {
  if (c.lop !== LOP.NONE && c.lop !== LOP.RES) {
    c.flags &= ~STATUS_FLAGS;
  }
  c.flags = (c.flags & ~(F.CF | F.OF | F.AF)) | (cf ? F.CF : 0) | (of ? F.OF : 0) | (af ? F.AF : 0);
  c.lop = LOP.RES;
  c.lsz = sz;
  c.lres = res;
  c.lresH = resH;
}

/** Set CF alone, keeping the others (CF is taken out of the lazy record first). */
export function setCF(c: Cpu, cf: boolean): void {
  materialize(c);
  c.flags = cf ? c.flags | F.CF : c.flags & ~F.CF;
}

/** Evaluate condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc). */
export function cond(c: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getOF(c); break;
    case 1: r = getCF(c); break;
    case 2: r = getZF(c); break;
    case 3: r = getCF(c) || getZF(c); break;
    case 4: r = getSF(c); break;
    case 5: r = getPF(c); break;
    case 6: r = getSF(c) !== getOF(c); break;
    default: r = getZF(c) || getSF(c) !== getOF(c); break;
  }
  return (cc & 1) !== 0 ? !r : r;
}

/** Condition-code suffixes in encoding order. */
export const CC_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'] as const;
