/**
 * Saving and loading the x87/SSE state (0F AE /0-/3, memory forms):
 * fxsave/fxrstor (REX.W: fxsave64/fxrstor64, 64-bit FIP/FDP; fxsave.ts has
 * the layouts), ldmxcsr and stmxcsr.
 *
 * Faults, in order: #NM (CR0.EM or TS) for fxsave/fxrstor, #UD (EM, no
 * OSFXSR) then #NM (TS) for ldmxcsr/stmxcsr; #GP(0) for a misaligned
 * FXSAVE area; #PF from the memory access (nothing is written before every
 * page checks out); #GP(0) for MXCSR bits outside the mask.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { sseGate } from '../fpu.js';
import { FXSAVE_USED, fxrstorImage, fxsaveImage, imageMxcsr } from '../fxsave.js';
import { NP, type OpEntry } from '../optable.js';
import { memIn, memOut, xmmEa } from '../xmm-ops.js';

const area = new Uint8Array(512);

function fxGate(c: Cpu): void {
  if (c.em || c.ts) c.raise(Vector.NM);
}

/** fxsave/fxsave64 M */
function opFxsave(c: Cpu, i: Insn): void {
  fxGate(c);
  xmmEa(c, i, true);
  fxsaveImage(c, area, (i.rex & 8) !== 0);
  memOut(c, area, FXSAVE_USED, 512);
}

/** fxrstor/fxrstor64 M */
function opFxrstor(c: Cpu, i: Insn): void {
  fxGate(c);
  xmmEa(c, i, true);
  memIn(c, area, FXSAVE_USED, 512);
  if ((imageMxcsr(area) & ~c.mxcsrMask) !== 0) c.raise(Vector.GP, 0);
  fxrstorImage(c, area, (i.rex & 8) !== 0);
}

/** ldmxcsr Md: #GP(0) for reserved bits */
function opLdmxcsr(c: Cpu, i: Insn): void {
  sseGate(c);
  i.ea(c, i);
  const v = c.mmu.read32(c.eaLo, c.eaHi);
  if ((v & ~c.mxcsrMask) !== 0) c.raise(Vector.GP, 0);
  c.mxcsr = v >>> 0;
}

/** stmxcsr Md */
function opStmxcsr(c: Cpu, i: Insn): void {
  sseGate(c);
  i.ea(c, i);
  c.mmu.write32(c.eaLo, c.eaHi, c.mxcsr);
}

export const SSE_STATE_OPS: OpEntry[] = [
  { code: 0xae, map: 1, pfx: NP, mod: 'mem', ext: 0, mn: 'fxsave', ops: 'M', fn: opFxsave },
  { code: 0xae, map: 1, pfx: NP, mod: 'mem', ext: 1, mn: 'fxrstor', ops: 'M', fn: opFxrstor },
  { code: 0xae, map: 1, pfx: NP, mod: 'mem', ext: 2, mn: 'ldmxcsr', ops: 'Md', fn: opLdmxcsr },
  { code: 0xae, map: 1, pfx: NP, mod: 'mem', ext: 3, mn: 'stmxcsr', ops: 'Md', fn: opStmxcsr },
];
