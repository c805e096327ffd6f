/**
 * SSE/SSE2 conversions by the FP library (sse/cvt.ts), rounded by MXCSR.RC
 * or truncated (the cvtt* forms):
 * - between XMM formats: cvtps2pd cvtpd2ps cvtss2sd cvtsd2ss (0F 5A),
 *   cvtdq2ps cvtps2dq cvttps2dq (0F 5B), cvttpd2dq cvtdq2pd cvtpd2dq (0F E6);
 * - with a general register or memory integer: cvtsi2ss/sd (0F 2A, from
 *   Ey: 32-bit, or 64-bit with REX.W), cvt(t)ss2si and cvt(t)sd2si (0F
 *   2C/2D, to Gy: a 32-bit result zero-extends into the 64-bit register).
 *   REX.W alone picks the integer size: a 66 prefix beside the mandatory
 *   F2/F3 changes nothing.
 * Memory operands: m128 sources are 16-byte aligned (#GP(0)); the m64 of
 * cvtps2pd/cvtdq2pd and the scalar sources have no alignment rule. A
 * faulting conversion (#XM, or #UD without CR4.OSXMMEXCPT) writes neither
 * the XMM register nor the GPR.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { simdResult, sseGate, XS_SRC } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { wrReg } from '../operands.js';
import {
  cvtdq2pd, cvtdq2ps, cvtpd2dq, cvtpd2ps, cvtps2dq, cvtps2pd, cvtsd2si, cvtsd2ss, cvtsi2sd, cvtsi2ss, cvtss2sd, cvtss2si, res,
} from '../sse/index.js';
import { srcD, srcQ, srcX } from '../xmm-ops.js';

/** Packed XMM-to-XMM conversions by i.sub. */
const PS2PD = 0, PD2PS = 1, SS2SD = 2, SD2SS = 3, DQ2PS = 4, PS2DQ = 5, TPS2DQ = 6, TPD2DQ = 7, DQ2PD = 8, PD2DQ = 9;

/** The XMM-to-XMM forms; sub selects the conversion and the source width. */
function opCvtVW(c: Cpu, i: Insn): void {
  sseGate(c);
  const op = i.sub;
  // m64 sources: cvtps2pd cvtdq2pd cvtsd2ss; m32: cvtss2sd; the rest m128, aligned
  const s = op === PS2PD || op === DQ2PD || op === SD2SS ? srcQ(c, i) : op === SS2SD ? srcD(c, i) : srcX(c, i, true);
  const d = c.xv.d;
  const di = 4 * i.reg;
  const si = 4 * s;
  const mx = c.mxcsr;
  let r: number;
  switch (op) {
    case PS2PD: r = cvtps2pd(d, di, d, si, mx); break;
    case PD2PS: r = cvtpd2ps(d, di, d, si, mx); break;
    case SS2SD: r = cvtss2sd(d, di, d, si, mx); break;
    case SD2SS: r = cvtsd2ss(d, di, d, si, mx); break;
    case DQ2PS: r = cvtdq2ps(d, di, d, si, mx); break;
    case PS2DQ: r = cvtps2dq(0, d, di, d, si, mx); break;
    case TPS2DQ: r = cvtps2dq(1, d, di, d, si, mx); break;
    case TPD2DQ: r = cvtpd2dq(1, d, di, d, si, mx); break;
    case DQ2PD: r = cvtdq2pd(d, di, d, si, mx); break;
    default: r = cvtpd2dq(0, d, di, d, si, mx);
  }
  simdResult(c, r);
}

/** cvtsi2ss (sub 0) / cvtsi2sd (sub 1) V,Ey */
function opCvtsi2s(c: Cpu, i: Insn): void {
  sseGate(c);
  const is64 = (i.rex & 8) !== 0 ? 1 : 0;
  let s: Uint32Array;
  let si: number;
  if (i.rm >= 0) {
    s = c.r;
    si = 2 * i.rm;
  } else {
    i.ea(c, i);
    s = c.xv.d;
    si = 4 * XS_SRC;
    if (is64) {
      s[si] = c.mmu.read64(c.eaLo, c.eaHi);
      s[si + 1] = c.mmu.hi32;
    } else s[si] = c.mmu.read32(c.eaLo, c.eaHi);
  }
  const d = c.xv.d;
  simdResult(c, i.sub === 0 ? cvtsi2ss(d, 4 * i.reg, s, si, is64, c.mxcsr) : cvtsi2sd(d, 4 * i.reg, s, si, is64, c.mxcsr));
}

/** cvt(t)ss2si G,W (sub bit 0: truncate) */
function opCvtss2si(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcD(c, i);
  const is64 = (i.rex & 8) !== 0 ? 1 : 0;
  simdResult(c, cvtss2si(c.xv.d, 4 * s, is64, i.sub, c.mxcsr));
  wrReg(c, i.reg, is64 ? 8 : 4, res[0]!, res[1]!);
}

/** cvt(t)sd2si G,W (sub bit 0: truncate) */
function opCvtsd2si(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcQ(c, i);
  const is64 = (i.rex & 8) !== 0 ? 1 : 0;
  simdResult(c, cvtsd2si(c.xv.d, 4 * s, is64, i.sub, c.mxcsr));
  wrReg(c, i.reg, is64 ? 8 : 4, res[0]!, res[1]!);
}

const e = (code: number, pfx: OpEntry['pfx'], mn: string, ops: string, fn: OpEntry['fn'], sub: number): OpEntry => ({ code, map: 1, pfx, mn, ops, fn, sub });

export const SSE_CVT_OPS: OpEntry[] = [
  e(0x2a, 0xf3, 'cvtsi2ss', 'Vss,Ey', opCvtsi2s, 0),
  e(0x2a, 0xf2, 'cvtsi2sd', 'Vsd,Ey', opCvtsi2s, 1),
  e(0x2c, 0xf3, 'cvttss2si', 'Gy,Wss', opCvtss2si, 1),
  e(0x2c, 0xf2, 'cvttsd2si', 'Gy,Wsd', opCvtsd2si, 1),
  e(0x2d, 0xf3, 'cvtss2si', 'Gy,Wss', opCvtss2si, 0),
  e(0x2d, 0xf2, 'cvtsd2si', 'Gy,Wsd', opCvtsd2si, 0),
  e(0x5a, NP, 'cvtps2pd', 'Vx,Wq', opCvtVW, PS2PD),
  e(0x5a, 0x66, 'cvtpd2ps', 'Vx,Wx', opCvtVW, PD2PS),
  e(0x5a, 0xf3, 'cvtss2sd', 'Vsd,Wss', opCvtVW, SS2SD),
  e(0x5a, 0xf2, 'cvtsd2ss', 'Vss,Wsd', opCvtVW, SD2SS),
  e(0x5b, NP, 'cvtdq2ps', 'Vx,Wx', opCvtVW, DQ2PS),
  e(0x5b, 0x66, 'cvtps2dq', 'Vx,Wx', opCvtVW, PS2DQ),
  e(0x5b, 0xf3, 'cvttps2dq', 'Vx,Wx', opCvtVW, TPS2DQ),
  e(0xe6, 0x66, 'cvttpd2dq', 'Vx,Wx', opCvtVW, TPD2DQ),
  e(0xe6, 0xf3, 'cvtdq2pd', 'Vx,Wq', opCvtVW, DQ2PD),
  e(0xe6, 0xf2, 'cvtpd2dq', 'Vx,Wx', opCvtVW, PD2DQ),
];
