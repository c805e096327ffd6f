/**
 * Lazy flags inside translated code (jit.ts). A region keeps the lazy-flags
 * record of flags.ts in JS locals (`lop lsz la laH lb lbH lres lresH lcf fl`,
 * `fl` standing for cpu.flags) and writes it back at its exits, around
 * handler calls that use the flags and when an instruction faults. V8 then
 * drops every flag computation no reader, exit or possible fault needs.
 *
 * While the instruction that last set the flags is known at translation time
 * (`Known`), readers test its operands directly (`cmp; jl` becomes a signed
 * compare); otherwise they call the runtime helpers below, which read the
 * record exactly as flags.ts does.
 */
import type { Cpu } from './cpu.js';
import { LOP } from './flags.js';

/** The flag-setting instruction whose record the locals hold, when known at translation time. */
export type Known = {
  op: number;
  sz: number;
  /** a logic result: CF, OF and AF are known to be clear (otherwise they are in `fl`) */
  logic: boolean;
};

/** The locals, in argument order for the helpers below. */
export const REC = 'lop, lsz, la, laH, lb, lbH, lres, lresH, lcf, fl';
/** Write the record back to the cpu / load it from the cpu. */
export const FLAGS_OUT = 'c.lop = lop; c.lsz = lsz; c.la = la; c.laH = laH; c.lb = lb; c.lbH = lbH; c.lres = lres; c.lresH = lresH; c.lcf = lcf; c.flags = fl;';
export const FLAGS_IN = 'lop = c.lop; lsz = c.lsz; la = c.la; laH = c.laH; lb = c.lb; lbH = c.lbH; lres = c.lres; lresH = c.lresH; lcf = c.lcf; fl = c.flags;';

/** 1 for a byte with an even number of set bits. */
export const PAR = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b; b >>= 1) p ^= b & 1;
  PAR[i] = p;
}

const SHIFT = [0, 7, 15, 0, 31, 0, 0, 0, 31];

function ltU(sz: number, a: number, aH: number, b: number, bH: number): boolean {
  if (sz === 8 && aH !== bH) return aH >>> 0 < bH >>> 0;
  return a >>> 0 < b >>> 0;
}
function top(sz: number, lo: number, hi: number): boolean {
  return (sz === 8 ? hi >>> 31 : (lo >>> SHIFT[sz]!) & 1) === 1;
}

// ---- runtime readers of the record (flags.ts semantics) -----------------

export function cfL(lop: number, lsz: number, la: number, laH: number, lb: number, lbH: number, lres: number, lresH: number, lcf: number, fl: number): boolean {
  switch (lop) {
    case LOP.ADD:
      return ltU(lsz, lres, lresH, la, laH);
    case LOP.ADC:
      return ltU(lsz, lres, lresH, la, laH) || (lcf !== 0 && lres === la && lresH === laH);
    case LOP.SUB:
      return ltU(lsz, la, laH, lb, lbH);
    case LOP.SBB:
      return ltU(lsz, la, laH, lb, lbH) || (lcf !== 0 && la === lb && laH === lbH);
    default:
      return (fl & 1) !== 0;
  }
}

function zfL(lop: number, lsz: number, lres: number, lresH: number, fl: number): boolean {
  if (lop === LOP.NONE) return (fl & 0x40) !== 0;
  return lres === 0 && (lsz !== 8 || lresH === 0);
}
function sfL(lop: number, lsz: number, lres: number, lresH: number, fl: number): boolean {
  if (lop === LOP.NONE) return (fl & 0x80) !== 0;
  return top(lsz, lres, lresH);
}
function ofL(lop: number, lsz: number, la: number, laH: number, lb: number, lbH: number, lres: number, lresH: number, fl: number): boolean {
  switch (lop) {
    case LOP.ADD:
    case LOP.ADC:
    case LOP.INC:
      return top(lsz, (la ^ lres) & (lb ^ lres), (laH ^ lresH) & (lbH ^ lresH));
    case LOP.SUB:
    case LOP.SBB:
    case LOP.DEC:
      return top(lsz, (la ^ lb) & (la ^ lres), (laH ^ lbH) & (laH ^ lresH));
    default:
      return (fl & 0x800) !== 0;
  }
}

/** Condition code `cc` of the record (flags.ts cond). */
export function condL(cc: number, lop: number, lsz: number, la: number, laH: number, lb: number, lbH: number, lres: number, lresH: number, lcf: number, fl: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = ofL(lop, lsz, la, laH, lb, lbH, lres, lresH, fl); break;
    case 1: r = cfL(lop, lsz, la, laH, lb, lbH, lres, lresH, lcf, fl); break;
    case 2: r = zfL(lop, lsz, lres, lresH, fl); break;
    case 3: r = cfL(lop, lsz, la, laH, lb, lbH, lres, lresH, lcf, fl) || zfL(lop, lsz, lres, lresH, fl); break;
    case 4: r = sfL(lop, lsz, lres, lresH, fl); break;
    case 5: r = lop === LOP.NONE ? (fl & 4) !== 0 : PAR[lres & 0xff] === 1; break;
    case 6: r = sfL(lop, lsz, lres, lresH, fl) !== ofL(lop, lsz, la, laH, lb, lbH, lres, lresH, fl); break;
    default: r = zfL(lop, lsz, lres, lresH, fl) || sfL(lop, lsz, lres, lresH, fl) !== ofL(lop, lsz, la, laH, lb, lbH, lres, lresH, fl); break;
  }
  return (cc & 1) !== 0 ? !r : r;
}

/** The whole flags word with the record folded in (flags.ts materialize). */
export function matL(lop: number, lsz: number, la: number, laH: number, lb: number, lbH: number, lres: number, lresH: number, lcf: number, fl: number): number {
  if (lop === LOP.NONE) return fl;
  let f = fl & ~0x8d5;
  if (cfL(lop, lsz, la, laH, lb, lbH, lres, lresH, lcf, fl)) f |= 1;
  if (PAR[lres & 0xff] === 1) f |= 4;
  if (lop === LOP.RES ? (fl & 0x10) !== 0 : ((la ^ lb ^ lres) & 0x10) !== 0) f |= 0x10;
  if (zfL(lop, lsz, lres, lresH, fl)) f |= 0x40;
  if (sfL(lop, lsz, lres, lresH, fl)) f |= 0x80;
  if (ofL(lop, lsz, la, laH, lb, lbH, lres, lresH, fl)) f |= 0x800;
  return f;
}

// ---- translation-time readers ------------------------------------------

const TOP = ['', '0x80', '0x8000', '', '', '', '', '', ''];

/** JS test that the top bit (at size sz) of expression lo (hi for size 8) is set. */
function topBit(sz: number, lo: string, hi: string): string {
  if (sz === 8) return `(${hi} | 0) < 0`;
  if (sz === 4) return `(${lo} | 0) < 0`;
  return `((${lo}) & ${TOP[sz]}) !== 0`;
}

/** Sign-extend a value of size 1 or 2 to int32, or reinterpret size 4 as int32. */
function signed(sz: number, v: string): string {
  return sz === 1 ? `((${v} << 24) >> 24)` : sz === 2 ? `((${v} << 16) >> 16)` : `(${v} | 0)`;
}

/** CF of the known record, as a JS boolean expression. */
export function cfOf(k: Known | null): string {
  if (k === null) return `cfL(${REC})`;
  if (k.logic) return 'false';
  const w = k.sz === 8;
  switch (k.op) {
    case LOP.ADD:
      return w ? '(lresH < laH || (lresH === laH && lres < la))' : 'lres < la';
    case LOP.SUB:
      return w ? '(laH < lbH || (laH === lbH && la < lb))' : 'la < lb';
    case LOP.INC:
    case LOP.DEC:
    case LOP.RES:
    case LOP.NONE:
      return '(fl & 1) !== 0';
    default:
      return `cfL(${REC})`;
  }
}

function zfOf(k: Known): string {
  if (k.op === LOP.NONE) return '(fl & 0x40) !== 0';
  return k.sz === 8 ? '(lres === 0 && lresH === 0)' : 'lres === 0';
}
function sfOf(k: Known): string {
  if (k.op === LOP.NONE) return '(fl & 0x80) !== 0';
  return topBit(k.sz, 'lres', 'lresH');
}
function ofOf(k: Known): string {
  if (k.logic) return 'false';
  switch (k.op) {
    case LOP.ADD:
    case LOP.ADC:
    case LOP.INC:
      return topBit(k.sz, '(la ^ lres) & (lb ^ lres)', '(laH ^ lresH) & (lbH ^ lresH)');
    case LOP.SUB:
    case LOP.SBB:
    case LOP.DEC:
      return topBit(k.sz, '(la ^ lb) & (la ^ lres)', '(laH ^ lbH) & (laH ^ lresH)');
    default:
      return '(fl & 0x800) !== 0';
  }
}

/** Condition code `cc` as a JS boolean expression over the locals. */
export function condOf(cc: number, k: Known | null): string {
  if (k === null) return `condL(${cc}, ${REC})`;
  const w = k.sz === 8;
  const sub = k.op === LOP.SUB;
  let t: string;
  switch (cc >> 1) {
    case 0: t = ofOf(k); break;
    case 1: t = cfOf(k); break;
    case 2: t = zfOf(k); break;
    case 3:
      if (sub) t = w ? '(laH < lbH || (laH === lbH && la <= lb))' : 'la <= lb';
      else if (k.logic) t = zfOf(k);
      else t = `(${cfOf(k)} || ${zfOf(k)})`;
      break;
    case 4: t = sfOf(k); break;
    case 5: t = k.op === LOP.NONE ? '(fl & 4) !== 0' : 'PAR[lres & 255] === 1'; break;
    case 6:
      if (sub) t = w ? '((laH | 0) < (lbH | 0) || (laH === lbH && la < lb))' : `${signed(k.sz, 'la')} < ${signed(k.sz, 'lb')}`;
      else if (k.logic) t = sfOf(k);
      else t = `(${sfOf(k)}) !== (${ofOf(k)})`;
      break;
    default:
      if (sub) t = w ? '((laH | 0) < (lbH | 0) || (laH === lbH && la <= lb))' : `${signed(k.sz, 'la')} <= ${signed(k.sz, 'lb')}`;
      else if (k.logic) t = `(${zfOf(k)} || ${sfOf(k)})`;
      else t = `(${zfOf(k)} || (${sfOf(k)}) !== (${ofOf(k)}))`;
  }
  return (cc & 1) !== 0 ? `!(${t})` : `(${t})`;
}

/**
 * Before translated code calls anything that may fault or use the cpu's
 * state (a handler, a slow-path access): the fault position (region index
 * `bi`, c.icount at the block start), RIP as the interpreter has it during
 * the block, and the flags record, into the cpu.
 */
export function sync(c: Cpu, bi: number, icount: number, ripLo: number, ripHi: number, lop: number, lsz: number, la: number, laH: number, lb: number, lbH: number, lres: number, lresH: number, lcf: number, fl: number): void {
  c.bi = bi;
  c.icount = icount;
  c.ripLo = ripLo;
  c.ripHi = ripHi;
  c.lop = lop;
  c.lsz = lsz;
  c.la = la;
  c.laH = laH;
  c.lb = lb;
  c.lbH = lbH;
  c.lres = lres;
  c.lresH = lresH;
  c.lcf = lcf;
  c.flags = fl;
}
