/**
 * SSE/SSE2 floating-point arithmetic: add sub mul div min max sqrt, packed
 * and scalar, single and double (0F 51, 58-5F), computed by the FP library
 * (sse/index.ts) under MXCSR.
 *
 * Order of checks: #UD/#NM (sseGate), then the memory operand (#GP(0) for
 * a misaligned m128 of a packed form, the page walk; the scalar forms read
 * 4 or 8 bytes with no alignment rule), then the computation: flags into
 * MXCSR and #XM (#UD without CR4.OSXMMEXCPT) with the destination untouched
 * when an exception is unmasked (simdResult).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { simdResult, sseGate } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { OP, arithPd, arithPs, arithSd, arithSs } from '../sse/index.js';
import { srcD, srcQ, srcX } from '../xmm-ops.js';

/** addps ... sqrtps V,W (sub: OP.*) */
function opArithPs(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcX(c, i, true);
  const d = c.xv.d;
  simdResult(c, arithPs(i.sub, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** addss ... sqrtss V,W: low dword, the rest of V kept */
function opArithSs(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcD(c, i);
  const d = c.xv.d;
  simdResult(c, arithSs(i.sub, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** addpd ... sqrtpd V,W */
function opArithPd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcX(c, i, true);
  const d = c.xv.d;
  simdResult(c, arithPd(i.sub, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** addsd ... sqrtsd V,W: low quadword, the high one kept */
function opArithSd(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcQ(c, i);
  const d = c.xv.d;
  simdResult(c, arithSd(i.sub, d, 4 * i.reg, d, 4 * s, c.mxcsr));
}

/** The ps/ss/pd/sd rows of one arithmetic opcode. */
function row(code: number, name: string, op: number): OpEntry[] {
  const e = (pfx: OpEntry['pfx'], sfx: string, ops: string, fn: OpEntry['fn']): OpEntry => ({ code, map: 1, pfx, mn: `${name}${sfx}`, ops, fn, sub: op });
  return [
    e(NP, 'ps', 'Vx,Wx', opArithPs),
    e(0xf3, 'ss', 'Vss,Wss', opArithSs),
    e(0x66, 'pd', 'Vx,Wx', opArithPd),
    e(0xf2, 'sd', 'Vsd,Wsd', opArithSd),
  ];
}

export const SSE_FP_OPS: OpEntry[] = [
  ...row(0x51, 'sqrt', OP.SQRT),
  ...row(0x58, 'add', OP.ADD),
  ...row(0x59, 'mul', OP.MUL),
  ...row(0x5c, 'sub', OP.SUB),
  ...row(0x5d, 'min', OP.MIN),
  ...row(0x5e, 'div', OP.DIV),
  ...row(0x5f, 'max', OP.MAX),
];
