/**
 * Register-level forms: runs the lanes of a packed or scalar instruction,
 * combines their flags and writes the destination only if no unmasked
 * exception occurred.
 *
 * Operands are 128-bit values held as four uint32 in a Uint32Array at an
 * index (an XMM register file, or a scratch array a memory operand was read
 * into): d[di..di+3] is the destination and first source, s[si..si+3] the
 * second source (only the lanes the instruction reads are touched). d and s
 * may be the same register.
 *
 * Exceptions of a packed instruction (SDM vol. 1 11.5.3; checked on the
 * host): every lane is examined. If any lane has an unmasked pre-computation
 * exception (IE DE ZE), the result is the OR of all lanes' pre-computation
 * flags and XM. Otherwise, if any flag of any lane is unmasked, the result
 * is the OR of all lanes' flags and XM. Either way nothing is written.
 * Otherwise every lane is written and the OR of their flags returned.
 */
import { minmax32, add32, div32, mul32, sqrt32, sub32 } from './arith32.js';
import { add64, div64, minmax64, mul64, sqrt64, sub64 } from './arith64.js';
import { res } from './bits.js';
import { cmp32, cmp64, comis32, comis64 } from './cmp.js';
import { cvt32to64, cvt32toInt, cvt64to32, cvt64toInt, cvtInt32, cvtInt64 } from './cvt.js';
import { FLAGS, PRE, XM } from './mxcsr.js';

/** Arithmetic operations, as the `op` argument of the arith* drivers. */
export const OP = { ADD: 0, SUB: 1, MUL: 2, DIV: 3, MIN: 4, MAX: 5, SQRT: 6 } as const;

/** The value to return for lanes whose flags OR to `all` (see the header). */
export function outcome(all: number, mx: number): number {
  const u = all & ~(mx >>> 7) & FLAGS;
  if (u === 0) return all;
  return ((u & PRE) !== 0 ? all & PRE : all) | XM;
}

function lane32(op: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  switch (op) {
    case OP.ADD:
      return add32(a, ai, b, bi, mx);
    case OP.SUB:
      return sub32(a, ai, b, bi, mx);
    case OP.MUL:
      return mul32(a, ai, b, bi, mx);
    case OP.DIV:
      return div32(a, ai, b, bi, mx);
    case OP.MIN:
      return minmax32(a, ai, b, bi, 0, mx);
    case OP.MAX:
      return minmax32(a, ai, b, bi, 1, mx);
    default:
      return sqrt32(b, bi, mx);
  }
}

function lane64(op: number, a: Uint32Array, ai: number, b: Uint32Array, bi: number, mx: number): number {
  switch (op) {
    case OP.ADD:
      return add64(a, ai, b, bi, mx);
    case OP.SUB:
      return sub64(a, ai, b, bi, mx);
    case OP.MUL:
      return mul64(a, ai, b, bi, mx);
    case OP.DIV:
      return div64(a, ai, b, bi, mx);
    case OP.MIN:
      return minmax64(a, ai, b, bi, 0, mx);
    case OP.MAX:
      return minmax64(a, ai, b, bi, 1, mx);
    default:
      return sqrt64(b, bi, mx);
  }
}

const t = new Uint32Array(4);

function commit(r: number, d: Uint32Array, di: number, n: number): number {
  if ((r & XM) === 0) for (let j = 0; j < n; j++) d[di + j] = t[j]!;
  return r;
}

/** addps subps mulps divps minps maxps sqrtps. */
export function arithPs(op: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = 0;
  for (let j = 0; j < 4; j++) {
    all |= lane32(op, d, di + j, s, si + j, mx);
    t[j] = res[0]!;
  }
  return commit(outcome(all, mx), d, di, 4);
}

/** addss ... sqrtss: lane 0 only; d[di+1..3] unchanged. */
export function arithSs(op: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = lane32(op, d, di, s, si, mx);
  t[0] = res[0]!;
  return commit(outcome(fl, mx), d, di, 1);
}

/** addpd ... sqrtpd. */
export function arithPd(op: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = lane64(op, d, di, s, si, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  all |= lane64(op, d, di + 2, s, si + 2, mx);
  t[2] = res[0]!;
  t[3] = res[1]!;
  return commit(outcome(all, mx), d, di, 4);
}

/** addsd ... sqrtsd: low quadword only. */
export function arithSd(op: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = lane64(op, d, di, s, si, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  return commit(outcome(fl, mx), d, di, 2);
}

/** cmpps with predicate p = imm8 & 7. */
export function cmpPs(p: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = 0;
  for (let j = 0; j < 4; j++) {
    all |= cmp32(d, di + j, s, si + j, p, mx);
    t[j] = res[0]!;
  }
  return commit(outcome(all, mx), d, di, 4);
}

/** cmpss. */
export function cmpSs(p: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = cmp32(d, di, s, si, p, mx);
  t[0] = res[0]!;
  return commit(outcome(fl, mx), d, di, 1);
}

/** cmppd. */
export function cmpPd(p: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = cmp64(d, di, s, si, p, mx);
  t[0] = t[1] = res[0]!;
  all |= cmp64(d, di + 2, s, si + 2, p, mx);
  t[2] = t[3] = res[0]!;
  return commit(outcome(all, mx), d, di, 4);
}

/** cmpsd (the SSE2 compare, not the string instruction). */
export function cmpSd(p: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = cmp64(d, di, s, si, p, mx);
  t[0] = t[1] = res[0]!;
  return commit(outcome(fl, mx), d, di, 2);
}

/** cvtss2sd: d[di..di+1] = binary64(s[si]). */
export function cvtss2sd(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = cvt32to64(s, si, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  return commit(outcome(fl, mx), d, di, 2);
}

/** cvtsd2ss: d[di] = binary32(s[si..si+1]). */
export function cvtsd2ss(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  const fl = cvt64to32(s, si, mx);
  t[0] = res[0]!;
  return commit(outcome(fl, mx), d, di, 1);
}

/** cvtps2pd: two binary32 at s[si], s[si+1] -> two binary64. */
export function cvtps2pd(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = cvt32to64(s, si, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  all |= cvt32to64(s, si + 1, mx);
  t[2] = res[0]!;
  t[3] = res[1]!;
  return commit(outcome(all, mx), d, di, 4);
}

/** cvtpd2ps: two binary64 -> binary32 in d[di], d[di+1]; d[di+2..3] = 0. */
export function cvtpd2ps(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = cvt64to32(s, si, mx);
  t[0] = res[0]!;
  all |= cvt64to32(s, si + 2, mx);
  t[1] = res[0]!;
  t[2] = t[3] = 0;
  return commit(outcome(all, mx), d, di, 4);
}

/** cvtdq2ps: four int32 -> binary32. */
export function cvtdq2ps(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = 0;
  for (let j = 0; j < 4; j++) {
    all |= cvtInt32(s, si + j, 0, mx);
    t[j] = res[0]!;
  }
  return commit(outcome(all, mx), d, di, 4);
}

/** cvtdq2pd: two int32 at s[si], s[si+1] -> binary64 (always exact: returns 0). */
export function cvtdq2pd(d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  cvtInt64(s, si, 0, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  cvtInt64(s, si + 1, 0, mx);
  t[2] = res[0]!;
  t[3] = res[1]!;
  return commit(0, d, di, 4);
}

/** cvtps2dq (trunc = 0) / cvttps2dq (trunc = 1): four binary32 -> int32. */
export function cvtps2dq(trunc: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = 0;
  for (let j = 0; j < 4; j++) {
    all |= cvt32toInt(s, si + j, 0, trunc, mx);
    t[j] = res[0]!;
  }
  return commit(outcome(all, mx), d, di, 4);
}

/** cvtpd2dq / cvttpd2dq: two binary64 -> int32 in d[di], d[di+1]; d[di+2..3] = 0. */
export function cvtpd2dq(trunc: number, d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number): number {
  let all = cvt64toInt(s, si, 0, trunc, mx);
  t[0] = res[0]!;
  all |= cvt64toInt(s, si + 2, 0, trunc, mx);
  t[1] = res[0]!;
  t[2] = t[3] = 0;
  return commit(outcome(all, mx), d, di, 4);
}

/**
 * cvtsi2ss: d[di] = binary32 of the signed integer s[si] (is64 = 0) or
 * s[si] (low), s[si+1] (high): pass the GPR file (r, 2 * reg) or a scratch
 * array holding the memory operand.
 */
export function cvtsi2ss(d: Uint32Array, di: number, s: Uint32Array, si: number, is64: number, mx: number): number {
  const fl = cvtInt32(s, si, is64, mx);
  t[0] = res[0]!;
  return commit(outcome(fl, mx), d, di, 1);
}

/** cvtsi2sd: d[di..di+1] = binary64 of the signed integer, as cvtsi2ss. */
export function cvtsi2sd(d: Uint32Array, di: number, s: Uint32Array, si: number, is64: number, mx: number): number {
  const fl = cvtInt64(s, si, is64, mx);
  t[0] = res[0]!;
  t[1] = res[1]!;
  return commit(outcome(fl, mx), d, di, 2);
}

/** cvtss2si / cvttss2si of s[si]: integer in res[0] (is64 = 0, res[1] = 0) or res[0..1]; write it only without XM. */
export function cvtss2si(s: Uint32Array, si: number, is64: number, trunc: number, mx: number): number {
  return outcome(cvt32toInt(s, si, is64, trunc, mx), mx);
}

/** cvtsd2si / cvttsd2si of s[si..si+1]: as cvtss2si. */
export function cvtsd2si(s: Uint32Array, si: number, is64: number, trunc: number, mx: number): number {
  return outcome(cvt64toInt(s, si, is64, trunc, mx), mx);
}

/** comiss (signal = 1) / ucomiss (signal = 0) of d[di], s[si]: on no XM, res[0] = ZF|PF|CF to set, other COMIS_FLAGS cleared. */
export function comiss(d: Uint32Array, di: number, s: Uint32Array, si: number, signal: number, mx: number): number {
  return outcome(comis32(d, di, s, si, signal, mx), mx);
}

/** comisd / ucomisd of quadwords d[di..di+1], s[si..si+1]. */
export function comisd(d: Uint32Array, di: number, s: Uint32Array, si: number, signal: number, mx: number): number {
  return outcome(comis64(d, di, s, si, signal, mx), mx);
}
