/**
 * SSE/SSE2 lane rearrangement: interleaves (punpck*, unpck{l,h}p{s,d}),
 * packs with saturation (packsswb, packuswb, packssdw), shuffles (pshufd,
 * pshuflw, pshufhw, shufps, shufpd) and word insert/extract (pinsrw,
 * pextrw). Results are built in the XS_TMP slot and then copied, since a
 * lane of the destination may feed several lanes of the result.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { sseGate, XS_TMP } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { rdE, wrReg } from '../operands.js';
import { copy128, srcX } from '../xmm-ops.js';

/**
 * punpckl{bw,wd,dq,qdq}, punpckh.. and unpck{l,h}p{s,d}: interleave the low (sub bit 4
 * clear) or high halves of destination and source, lanes of sub & 15 bytes.
 */
function opUnpack(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 16 * srcX(c, i, true);
  const d = 16 * i.reg;
  const t = 16 * XS_TMP;
  const b = c.xv.b;
  const size = i.sub & 15;
  const from = (i.sub & 16) !== 0 ? 8 : 0;
  for (let k = 0, out = 0; k < 8; k += size) {
    for (let j = 0; j < size; j++) b[t + out + j] = b[d + from + k + j]!;
    for (let j = 0; j < size; j++) b[t + out + size + j] = b[s + from + k + j]!;
    out += 2 * size;
  }
  copy128(c, i.reg, XS_TMP);
}

/** packsswb (sub 0), packuswb (1): words to bytes; packssdw (2): dwords to words; destination first */
function opPack(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcX(c, i, true);
  const d = i.reg;
  const { sw, sd, sb, w } = c.xv;
  const t = XS_TMP;
  if (i.sub === 2) {
    for (let k = 0; k < 4; k++) {
      w[8 * t + k] = Math.max(-32768, Math.min(32767, sd[4 * d + k]!));
      w[8 * t + 4 + k] = Math.max(-32768, Math.min(32767, sd[4 * s + k]!));
    }
  } else {
    const lo = i.sub === 0 ? -128 : 0;
    const hi = i.sub === 0 ? 127 : 255;
    for (let k = 0; k < 8; k++) {
      sb[16 * t + k] = Math.max(lo, Math.min(hi, sw[8 * d + k]!));
      sb[16 * t + 8 + k] = Math.max(lo, Math.min(hi, sw[8 * s + k]!));
    }
  }
  copy128(c, d, t);
}

/** pshufd V,W,Ib: dword k := source dword (imm >> 2k) & 3 */
function opPshufd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const x = c.xv.d;
  const t = 4 * XS_TMP;
  const imm = i.immLo;
  for (let k = 0; k < 4; k++) x[t + k] = x[s + ((imm >> (2 * k)) & 3)]!;
  copy128(c, i.reg, XS_TMP);
}

/** pshuflw (sub 0) / pshufhw (sub 4) V,W,Ib: shuffle the words of one half, copy the other */
function opPshufw(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 8 * srcX(c, i, true);
  const w = c.xv.w;
  const t = 8 * XS_TMP;
  const imm = i.immLo;
  const h = i.sub;
  for (let k = 0; k < 8; k++) w[t + k] = w[s + k]!;
  for (let k = 0; k < 4; k++) w[t + h + k] = w[s + h + ((imm >> (2 * k)) & 3)]!;
  copy128(c, i.reg, XS_TMP);
}

/** shufps V,W,Ib: dwords 0-1 from the destination, 2-3 from the source, each picked by 2 bits */
function opShufps(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  const t = 4 * XS_TMP;
  const imm = i.immLo;
  x[t] = x[d + (imm & 3)]!;
  x[t + 1] = x[d + ((imm >> 2) & 3)]!;
  x[t + 2] = x[s + ((imm >> 4) & 3)]!;
  x[t + 3] = x[s + ((imm >> 6) & 3)]!;
  copy128(c, i.reg, XS_TMP);
}
/** shufpd V,W,Ib: qword 0 from the destination (imm bit 0), qword 1 from the source (bit 1) */
function opShufpd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = 4 * srcX(c, i, true);
  const d = 4 * i.reg;
  const x = c.xv.d;
  const t = 4 * XS_TMP;
  const a = d + 2 * (i.immLo & 1);
  const b = s + 2 * ((i.immLo >> 1) & 1);
  x[t] = x[a]!;
  x[t + 1] = x[a + 1]!;
  x[t + 2] = x[b]!;
  x[t + 3] = x[b + 1]!;
  copy128(c, i.reg, XS_TMP);
}

/** pinsrw V,Ry/Mw,Ib: word (imm & 7) := the register's low word, or a 16-bit load */
function opPinsrw(c: Cpu, i: Insn): void {
  sseGate(c);
  const v = rdE(c, i, i.rm >= 0 ? 4 : 2);
  c.xv.w[8 * i.reg + (i.immLo & 7)] = v;
}
/** pextrw Gd,U,Ib: the word (imm & 7), zero-extended */
function opPextrw(c: Cpu, i: Insn): void {
  sseGate(c);
  wrReg(c, i.reg, 4, c.xv.w[8 * i.rm + (i.immLo & 7)]!, 0);
}

const p = (code: number, mn: string, fn: OpEntry['fn'], sub: number, pfx: OpEntry['pfx'] = 0x66): OpEntry => ({ code, map: 1, pfx, mn, ops: 'Vx,Wx', fn, sub });
const HI = 16;

export const SSE_SHUF_OPS: OpEntry[] = [
  p(0x60, 'punpcklbw', opUnpack, 1), p(0x61, 'punpcklwd', opUnpack, 2), p(0x62, 'punpckldq', opUnpack, 4), p(0x6c, 'punpcklqdq', opUnpack, 8),
  p(0x68, 'punpckhbw', opUnpack, HI | 1), p(0x69, 'punpckhwd', opUnpack, HI | 2), p(0x6a, 'punpckhdq', opUnpack, HI | 4), p(0x6d, 'punpckhqdq', opUnpack, HI | 8),
  p(0x14, 'unpcklps', opUnpack, 4, NP), p(0x14, 'unpcklpd', opUnpack, 8), p(0x15, 'unpckhps', opUnpack, HI | 4, NP), p(0x15, 'unpckhpd', opUnpack, HI | 8),
  p(0x63, 'packsswb', opPack, 0), p(0x67, 'packuswb', opPack, 1), p(0x6b, 'packssdw', opPack, 2),
  { code: 0x70, map: 1, pfx: 0x66, mn: 'pshufd', ops: 'Vx,Wx,Ib', fn: opPshufd },
  { code: 0x70, map: 1, pfx: 0xf2, mn: 'pshuflw', ops: 'Vx,Wx,Ib', fn: opPshufw, sub: 0 },
  { code: 0x70, map: 1, pfx: 0xf3, mn: 'pshufhw', ops: 'Vx,Wx,Ib', fn: opPshufw, sub: 4 },
  { code: 0xc6, map: 1, pfx: NP, mn: 'shufps', ops: 'Vx,Wx,Ib', fn: opShufps },
  { code: 0xc6, map: 1, pfx: 0x66, mn: 'shufpd', ops: 'Vx,Wx,Ib', fn: opShufpd },
  { code: 0xc4, map: 1, pfx: 0x66, mn: 'pinsrw', ops: 'Vx,Ed,Ib', fn: opPinsrw },
  { code: 0xc5, map: 1, pfx: 0x66, mod: 'reg', mn: 'pextrw', ops: 'Gd,Ux,Ib', fn: opPextrw },
];
