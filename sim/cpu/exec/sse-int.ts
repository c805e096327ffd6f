/**
 * SSE2 integer SIMD on XMM registers (66 0F forms): add/subtract (wrapping
 * and saturating), multiplies (pmullw, pmulhw, pmulhuw, pmuludq, pmaddwd),
 * psadbw, averages, min/max, compares, the bitwise logic (pand/pandn/por/
 * pxor and the andps/andnps/orps/xorps/..pd forms, which are bitwise too:
 * no FP exceptions) and the shifts (by an XMM/m128 count, an immediate,
 * and whole-register byte shifts).
 *
 * A 128-bit memory operand must be 16-byte aligned (#GP(0)). Lanes are
 * updated in place: each reads only its own lane of both operands, so a
 * source that is the destination is fine.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { sseGate } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { srcX } from '../xmm-ops.js';

const ADD = 0, SUB = 1, ADDS = 2, SUBS = 3, ADDUS = 4, SUBUS = 5, MIN = 6, MAX = 7, AVG = 8, CMPEQ = 9, CMPGT = 10, MULL = 11, MULH = 12, MULHU = 13;

const sat8 = (v: number): number => (v > 127 ? 127 : v < -128 ? -128 : v);
const sat16 = (v: number): number => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const satU8 = (v: number): number => (v > 255 ? 255 : v < 0 ? 0 : v);
const satU16 = (v: number): number => (v > 65535 ? 65535 : v < 0 ? 0 : v);

/** Byte lanes; sub: ADD SUB ADDS SUBS ADDUS SUBUS MIN(u) MAX(u) AVG CMPEQ CMPGT(signed) */
function opP8(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 16 * srcX(c, i, true);
  const d = 16 * i.reg;
  const b = c.xv.b;
  const sb = c.xv.sb;
  switch (i.sub) {
    case ADD: for (let k = 0; k < 16; k++) b[d + k] = b[d + k]! + b[s + k]!; break;
    case SUB: for (let k = 0; k < 16; k++) b[d + k] = b[d + k]! - b[s + k]!; break;
    case ADDS: for (let k = 0; k < 16; k++) sb[d + k] = sat8(sb[d + k]! + sb[s + k]!); break;
    case SUBS: for (let k = 0; k < 16; k++) sb[d + k] = sat8(sb[d + k]! - sb[s + k]!); break;
    case ADDUS: for (let k = 0; k < 16; k++) b[d + k] = satU8(b[d + k]! + b[s + k]!); break;
    case SUBUS: for (let k = 0; k < 16; k++) b[d + k] = satU8(b[d + k]! - b[s + k]!); break;
    case MIN: for (let k = 0; k < 16; k++) b[d + k] = Math.min(b[d + k]!, b[s + k]!); break;
    case MAX: for (let k = 0; k < 16; k++) b[d + k] = Math.max(b[d + k]!, b[s + k]!); break;
    case AVG: for (let k = 0; k < 16; k++) b[d + k] = (b[d + k]! + b[s + k]! + 1) >> 1; break;
    case CMPEQ: for (let k = 0; k < 16; k++) b[d + k] = b[d + k] === b[s + k] ? 0xff : 0; break;
    default: for (let k = 0; k < 16; k++) b[d + k] = sb[d + k]! > sb[s + k]! ? 0xff : 0;
  }
}

/** Word lanes; sub as opP8 with MIN/MAX signed, plus MULL MULH MULHU */
function opP16(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 8 * srcX(c, i, true);
  const d = 8 * i.reg;
  const w = c.xv.w;
  const sw = c.xv.sw;
  switch (i.sub) {
    case ADD: for (let k = 0; k < 8; k++) w[d + k] = w[d + k]! + w[s + k]!; break;
    case SUB: for (let k = 0; k < 8; k++) w[d + k] = w[d + k]! - w[s + k]!; break;
    case ADDS: for (let k = 0; k < 8; k++) sw[d + k] = sat16(sw[d + k]! + sw[s + k]!); break;
    case SUBS: for (let k = 0; k < 8; k++) sw[d + k] = sat16(sw[d + k]! - sw[s + k]!); break;
    case ADDUS: for (let k = 0; k < 8; k++) w[d + k] = satU16(w[d + k]! + w[s + k]!); break;
    case SUBUS: for (let k = 0; k < 8; k++) w[d + k] = satU16(w[d + k]! - w[s + k]!); break;
    case MIN: for (let k = 0; k < 8; k++) sw[d + k] = Math.min(sw[d + k]!, sw[s + k]!); break;
    case MAX: for (let k = 0; k < 8; k++) sw[d + k] = Math.max(sw[d + k]!, sw[s + k]!); break;
    case AVG: for (let k = 0; k < 8; k++) w[d + k] = (w[d + k]! + w[s + k]! + 1) >> 1; break;
    case CMPEQ: for (let k = 0; k < 8; k++) w[d + k] = w[d + k] === w[s + k] ? 0xffff : 0; break;
    case CMPGT: for (let k = 0; k < 8; k++) w[d + k] = sw[d + k]! > sw[s + k]! ? 0xffff : 0; break;
    case MULL: for (let k = 0; k < 8; k++) w[d + k] = Math.imul(w[d + k]!, w[s + k]!); break;
    case MULH: for (let k = 0; k < 8; k++) w[d + k] = (sw[d + k]! * sw[s + k]!) >> 16; break;
    default: for (let k = 0; k < 8; k++) w[d + k] = (w[d + k]! * w[s + k]!) >>> 16;
  }
}

/** Dword lanes: ADD SUB CMPEQ CMPGT */
function opP32(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  const sd = c.xv.sd;
  switch (i.sub) {
    case ADD: for (let k = 0; k < 4; k++) x[d + k] = x[d + k]! + x[s + k]!; break;
    case SUB: for (let k = 0; k < 4; k++) x[d + k] = x[d + k]! - x[s + k]!; break;
    case CMPEQ: for (let k = 0; k < 4; k++) x[d + k] = x[d + k] === x[s + k] ? 0xffffffff : 0; break;
    default: for (let k = 0; k < 4; k++) x[d + k] = sd[d + k]! > sd[s + k]! ? 0xffffffff : 0;
  }
}

/** Qword lanes: paddq (sub ADD) / psubq (SUB), as dword pairs with a carry */
function opP64(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  for (let k = 0; k < 4; k += 2) {
    const a = x[d + k]!;
    const b = x[s + k]!;
    if (i.sub === ADD) {
      const lo = a + b;
      x[d + k] = lo;
      x[d + k + 1] = x[d + k + 1]! + x[s + k + 1]! + (lo > 0xffffffff ? 1 : 0);
    } else {
      x[d + k] = a - b;
      x[d + k + 1] = x[d + k + 1]! - x[s + k + 1]! - (a < b ? 1 : 0);
    }
  }
}

/** Bitwise logic over 128 bits; sub 0 and, 1 andn (~dst & src), 2 or, 3 xor */
function opPLogic(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  for (let k = 0; k < 4; k++) {
    const a = x[d + k]!;
    const b = x[s + k]!;
    x[d + k] = i.sub === 0 ? a & b : i.sub === 1 ? ~a & b : i.sub === 2 ? a | b : a ^ b;
  }
}

/** 32 x 32 -> 64 unsigned into dwords at x[at], x[at+1] (no BigInt). */
function mulU32(x: Uint32Array, at: number, a: number, b: number): void {
  const lo = Math.imul(a, b) >>> 0;
  const aH = a >>> 16, aL = a & 0xffff, bH = b >>> 16, bL = b & 0xffff;
  const mid = aH * bL + aL * bH; // < 2^33
  const carry = (aL * bL + (mid % 0x10000) * 0x10000 - lo) / 2 ** 32;
  x[at] = lo;
  x[at + 1] = aH * bH + Math.floor(mid / 0x10000) + carry;
}

/** pmuludq: the even dwords multiplied into two qwords */
function opPmuludq(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  mulU32(x, d, x[d]!, x[s]!);
  mulU32(x, d + 2, x[d + 2]!, x[s + 2]!);
}

/** pmaddwd: adjacent signed word products summed into dwords (wrapping, as the hardware's 0x8000 case does) */
function opPmaddwd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 8 * srcX(c, i, true);
  const d = 8 * i.reg;
  const sw = c.xv.sw;
  const x = c.xv.d;
  for (let k = 0; k < 4; k++) {
    const v = sw[d + 2 * k]! * sw[s + 2 * k]! + sw[d + 2 * k + 1]! * sw[s + 2 * k + 1]!;
    x[d / 2 + k] = v;
  }
}

/** psadbw: per 8-byte half, the sum of absolute byte differences in its low word, the rest zero */
function opPsadbw(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 16 * srcX(c, i, true);
  const d = 16 * i.reg;
  const b = c.xv.b;
  const x = c.xv.d;
  for (let h = 0; h < 16; h += 8) {
    let sum = 0;
    for (let k = h; k < h + 8; k++) sum += Math.abs(b[d + k]! - b[s + k]!);
    x[d / 4 + h / 4] = sum;
    x[d / 4 + h / 4 + 1] = 0;
  }
}

// ---- shifts ------------------------------------------------------------------

const SRL = 0, SRA = 1, SLL = 2;

/** Shift every `size`-byte lane of register `r` by `n` (any count; past the width: zero, or sign fill for SRA). */
function shiftLanes(c: Cpu, r: number, size: number, kind: number, n: number): void {
  const bits = 8 * size;
  if (size === 8) {
    const x = c.xv.d;
    for (let k = 4 * r; k < 4 * r + 4; k += 2) {
      const lo = x[k]!, hi = x[k + 1]!;
      if (n >= 64) x[k] = x[k + 1] = 0;
      else if (n >= 32) {
        x[k] = kind === SLL ? 0 : hi >>> (n - 32);
        x[k + 1] = kind === SLL ? lo << (n - 32) : 0;
      } else if (n > 0) {
        x[k] = kind === SLL ? lo << n : (lo >>> n) | (hi << (32 - n));
        x[k + 1] = kind === SLL ? (hi << n) | (lo >>> (32 - n)) : hi >>> n;
      }
    }
    return;
  }
  const m = n >= bits ? (kind === SRA ? bits - 1 : bits) : n;
  if (size === 2) {
    const w = c.xv.w;
    const sw = c.xv.sw;
    for (let k = 8 * r; k < 8 * r + 8; k++) {
      if (kind === SRA) sw[k] = sw[k]! >> m;
      else w[k] = m === 16 ? 0 : kind === SLL ? w[k]! << m : w[k]! >>> m;
    }
  } else {
    const x = c.xv.d;
    const sd = c.xv.sd;
    for (let k = 4 * r; k < 4 * r + 4; k++) {
      if (kind === SRA) sd[k] = sd[k]! >> m;
      else x[k] = m === 32 ? 0 : kind === SLL ? x[k]! << m : x[k]! >>> m;
    }
  }
}

/** psrl/psra/psll{w,d,q} V,W: the count is W's low 64 bits; sub = lane size | kind << 4 */
function opPShiftX(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const lo = c.xv.d[s]!;
  const n = c.xv.d[s + 1] !== 0 || lo > 255 ? 255 : lo;
  shiftLanes(c, i.reg, i.sub & 15, i.sub >> 4, n);
}
/** the same by an immediate (66 0F 71-73 /2 /4 /6, register forms) */
function opPShiftI(c: Cpu, i: Insn): void {
  sseGate(c);
  shiftLanes(c, i.rm, i.sub & 15, i.sub >> 4, i.immLo & 0xff);
}
/** psrldq (sub SRL) / pslldq (SLL) U,Ib: whole-register byte shifts (counts over 15 clear it) */
function opPShiftDq(c: Cpu, i: Insn): void {
  sseGate(c);
  const n = i.immLo & 0xff;
  const b = c.xv.b;
  const r = 16 * i.rm;
  if (i.sub === SRL) for (let k = 0; k < 16; k++) b[r + k] = k + n < 16 ? b[r + k + n]! : 0;
  else for (let k = 15; k >= 0; k--) b[r + k] = k - n >= 0 ? b[r + k - n]! : 0;
}

const p = (code: number, mn: string, fn: OpEntry['fn'], sub: number): OpEntry => ({ code, map: 1, pfx: 0x66, mn, ops: 'Vx,Wx', fn, sub });
const sh = (code: number, ext: number, mn: string, sub: number): OpEntry => ({ code, map: 1, pfx: 0x66, mod: 'reg', ext, mn, ops: 'Ux,Ib', fn: opPShiftI, sub });

export const SSE_INT_OPS: OpEntry[] = [
  p(0xfc, 'paddb', opP8, ADD), p(0xfd, 'paddw', opP16, ADD), p(0xfe, 'paddd', opP32, ADD), p(0xd4, 'paddq', opP64, ADD),
  p(0xf8, 'psubb', opP8, SUB), p(0xf9, 'psubw', opP16, SUB), p(0xfa, 'psubd', opP32, SUB), p(0xfb, 'psubq', opP64, SUB),
  p(0xec, 'paddsb', opP8, ADDS), p(0xed, 'paddsw', opP16, ADDS), p(0xe8, 'psubsb', opP8, SUBS), p(0xe9, 'psubsw', opP16, SUBS),
  p(0xdc, 'paddusb', opP8, ADDUS), p(0xdd, 'paddusw', opP16, ADDUS), p(0xd8, 'psubusb', opP8, SUBUS), p(0xd9, 'psubusw', opP16, SUBUS),
  p(0xda, 'pminub', opP8, MIN), p(0xde, 'pmaxub', opP8, MAX), p(0xea, 'pminsw', opP16, MIN), p(0xee, 'pmaxsw', opP16, MAX),
  p(0xe0, 'pavgb', opP8, AVG), p(0xe3, 'pavgw', opP16, AVG),
  p(0x74, 'pcmpeqb', opP8, CMPEQ), p(0x75, 'pcmpeqw', opP16, CMPEQ), p(0x76, 'pcmpeqd', opP32, CMPEQ),
  p(0x64, 'pcmpgtb', opP8, CMPGT), p(0x65, 'pcmpgtw', opP16, CMPGT), p(0x66, 'pcmpgtd', opP32, CMPGT),
  p(0xd5, 'pmullw', opP16, MULL), p(0xe5, 'pmulhw', opP16, MULH), p(0xe4, 'pmulhuw', opP16, MULHU),
  p(0xf4, 'pmuludq', opPmuludq, 0), p(0xf5, 'pmaddwd', opPmaddwd, 0), p(0xf6, 'psadbw', opPsadbw, 0),
  p(0xdb, 'pand', opPLogic, 0), p(0xdf, 'pandn', opPLogic, 1), p(0xeb, 'por', opPLogic, 2), p(0xef, 'pxor', opPLogic, 3),
  ...(['and', 'andn', 'or', 'xor'] as const).flatMap((op, k): OpEntry[] => [
    { code: 0x54 + k, map: 1, pfx: NP, mn: `${op}ps`, ops: 'Vx,Wx', fn: opPLogic, sub: k },
    { code: 0x54 + k, map: 1, pfx: 0x66, mn: `${op}pd`, ops: 'Vx,Wx', fn: opPLogic, sub: k },
  ]),
  p(0xd1, 'psrlw', opPShiftX, 2 | (SRL << 4)), p(0xd2, 'psrld', opPShiftX, 4 | (SRL << 4)), p(0xd3, 'psrlq', opPShiftX, 8 | (SRL << 4)),
  p(0xe1, 'psraw', opPShiftX, 2 | (SRA << 4)), p(0xe2, 'psrad', opPShiftX, 4 | (SRA << 4)),
  p(0xf1, 'psllw', opPShiftX, 2 | (SLL << 4)), p(0xf2, 'pslld', opPShiftX, 4 | (SLL << 4)), p(0xf3, 'psllq', opPShiftX, 8 | (SLL << 4)),
  sh(0x71, 2, 'psrlw', 2 | (SRL << 4)), sh(0x71, 4, 'psraw', 2 | (SRA << 4)), sh(0x71, 6, 'psllw', 2 | (SLL << 4)),
  sh(0x72, 2, 'psrld', 4 | (SRL << 4)), sh(0x72, 4, 'psrad', 4 | (SRA << 4)), sh(0x72, 6, 'pslld', 4 | (SLL << 4)),
  sh(0x73, 2, 'psrlq', 8 | (SRL << 4)), sh(0x73, 6, 'psllq', 8 | (SLL << 4)),
  { code: 0x73, map: 1, pfx: 0x66, mod: 'reg', ext: 3, mn: 'psrldq', ops: 'Ux,Ib', fn: opPShiftDq, sub: SRL },
  { code: 0x73, map: 1, pfx: 0x66, mod: 'reg', ext: 7, mn: 'pslldq', ops: 'Ux,Ib', fn: opPShiftDq, sub: SLL },
];
