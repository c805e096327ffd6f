/**
 * SSE/SSE2 floating-point compares: cmpps/cmppd/cmpss/cmpsd (0F C2, a mask
 * of all ones or zeros per lane) and comiss/comisd/ucomiss/ucomisd (0F
 * 2E/2F, into EFLAGS), by the FP library (sse/cmp.ts).
 *
 * The predicate is imm8 bits 2:0; bits 7:3 are reserved in the legacy SSE
 * encoding and ignored (SDM CMPPS: "For instruction encodings that do not
 * use VEX prefix, bits 2:0 define the type of comparison to be made ...
 * Bits 3 through 7 of the immediate are reserved"; measured on the host:
 * imm8 8-255 compare exactly as imm8 & 7, no #UD).
 *
 * comis/ucomis: ZF PF CF from the order (unordered 111, less 001, equal
 * 100, greater 000), OF SF AF cleared; written only if no #XM, and as plain
 * flags (lazy record dropped) so jcc/setcc/pushf read them.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { setFlagsWord } from '../flags.js';
import { simdResult, sseGate } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { COMIS_FLAGS, cmpPd, cmpPs, cmpSd, cmpSs, comisd, comiss, res } from '../sse/index.js';
import { srcD, srcQ, srcX } from '../xmm-ops.js';

/** cmpps V,W,Ib */
function opCmpPs(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcX(c, i, true);
  const d = c.xv.d;
  simdResult(c, cmpPs(i.immLo & 7, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** cmpss V,W,Ib */
function opCmpSs(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcD(c, i);
  const d = c.xv.d;
  simdResult(c, cmpSs(i.immLo & 7, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** cmppd V,W,Ib */
function opCmpPd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcX(c, i, true);
  const d = c.xv.d;
  simdResult(c, cmpPd(i.immLo & 7, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** cmpsd V,W,Ib */
function opCmpSd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcQ(c, i);
  const d = c.xv.d;
  simdResult(c, cmpSd(i.immLo & 7, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** comiss (sub 1) / ucomiss (sub 0) V,W */
function opComiss(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcD(c, i);
  const d = c.xv.d;
  simdResult(c, comiss(d, 4 * i.reg, d, 4 * s, i.sub, c.mxcsr));
  setFlagsWord(c, (c.flags & ~COMIS_FLAGS) | res[0]!);
}

/** comisd (sub 1) / ucomisd (sub 0) V,W */
function opComisd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcQ(c, i);
  const d = c.xv.d;
  simdResult(c, comisd(d, 4 * i.reg, d, 4 * s, i.sub, c.mxcsr));
  setFlagsWord(c, (c.flags & ~COMIS_FLAGS) | res[0]!);
}

const e = (code: number, pfx: OpEntry['pfx'], mn: string, ops: string, fn: OpEntry['fn'], sub = 0): OpEntry => ({ code, map: 1, pfx, mn, ops, fn, sub });

export const SSE_CMP_OPS: OpEntry[] = [
  e(0x2e, NP, 'ucomiss', 'Vss,Wss', opComiss, 0),
  e(0x2e, 0x66, 'ucomisd', 'Vsd,Wsd', opComisd, 0),
  e(0x2f, NP, 'comiss', 'Vss,Wss', opComiss, 1),
  e(0x2f, 0x66, 'comisd', 'Vsd,Wsd', opComisd, 1),
  e(0xc2, NP, 'cmpps', 'Vx,Wx,Ib', opCmpPs),
  e(0xc2, 0x66, 'cmppd', 'Vx,Wx,Ib', opCmpPd),
  e(0xc2, 0xf3, 'cmpss', 'Vss,Wss,Ib', opCmpSs),
  e(0xc2, 0xf2, 'cmpsd', 'Vsd,Wsd,Ib', opCmpSd),
];
