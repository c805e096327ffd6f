/**
 * x87 control instructions: fninit, fnclex, fwait, fnstcw/fldcw, fnstsw
 * (m16 and AX), fnstenv/fldenv, fnsave/frstor (fxsave.ts has the memory
 * formats; a 66 prefix selects the 16-bit ones). They move the x87 state
 * around but compute nothing, which is all a kernel does with the x87
 * (initialise it, save and restore it); the arithmetic instructions are in
 * x87-table.ts and stop the run.
 *
 * Faults: #NM when CR0.EM or CR0.TS (fwait: TS and MP), then #MF when an
 * unmasked exception is pending (FSW.ES) for the waiting forms (fwait,
 * fldcw, fldenv, frstor: the FN forms never wait), then #PF from memory
 * (nothing is written before the whole area checks out).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { setFcw, syncEs, waitGate, x87Gate, x87Init, X87 } from '../fpu.js';
import { envSize, loadEnv, stackImage, storeEnv } from '../fxsave.js';
import { OSZ, type OpEntry } from '../optable.js';
import { wrReg } from '../operands.js';
import { memIn, memOut } from '../xmm-ops.js';

const buf = new Uint8Array(108);

function opFninit(c: Cpu): void {
  x87Gate(c);
  x87Init(c);
}
/** fnclex: exception flags, stack fault, ES and B cleared */
function opFnclex(c: Cpu): void {
  x87Gate(c);
  c.x87[X87.FSW] = c.x87[X87.FSW]! & 0x7f00;
}
function opFwait(c: Cpu): void {
  waitGate(c);
}
/** The checks of a waiting x87 control instruction: #NM, then #MF for a pending unmasked exception. */
function x87WaitGate(c: Cpu): void {
  x87Gate(c);
  if ((c.x87[X87.FSW]! & 0x80) !== 0) c.raise(Vector.MF);
}

function opFnstcw(c: Cpu, i: Insn): void {
  x87Gate(c);
  i.ea(c, i);
  c.mmu.write16(c.eaLo, c.eaHi, c.x87[X87.FCW]!);
}
function opFldcw(c: Cpu, i: Insn): void {
  x87WaitGate(c);
  i.ea(c, i);
  setFcw(c, c.mmu.read16(c.eaLo, c.eaHi));
  syncEs(c);
}
/** fnstsw m16 (sub 0) / fnstsw ax (sub 1) */
function opFnstsw(c: Cpu, i: Insn): void {
  x87Gate(c);
  const v = c.x87[X87.FSW]!;
  if (i.sub === 1) wrReg(c, 0, 2, v, 0);
  else {
    i.ea(c, i);
    c.mmu.write16(c.eaLo, c.eaHi, v);
  }
}

/** fnstenv (sub 0): the environment, then every exception masked; fnsave (sub 1): also the registers, then fninit */
function opFnstenv(c: Cpu, i: Insn): void {
  x87Gate(c);
  i.ea(c, i);
  const o16 = i.osz === 2;
  const n = envSize(i.osz);
  storeEnv(c, buf, o16);
  if (i.sub === 1) stackImage(c, buf, n, false);
  memOut(c, buf, i.sub === 1 ? n + 80 : n);
  if (i.sub === 1) x87Init(c);
  else {
    c.x87[X87.FCW] = c.x87[X87.FCW]! | 0x3f;
    syncEs(c);
  }
}

/** fldenv (sub 0) / frstor (sub 1) */
function opFldenv(c: Cpu, i: Insn): void {
  x87WaitGate(c);
  i.ea(c, i);
  const o16 = i.osz === 2;
  const n = envSize(i.osz);
  memIn(c, buf, i.sub === 1 ? n + 80 : n);
  loadEnv(c, buf, o16);
  if (i.sub === 1) stackImage(c, buf, n, true);
}

export const X87_CTL_OPS: OpEntry[] = [
  { code: 0x9b, map: 0, mn: 'fwait', ops: '', fn: opFwait },
  { code: 0xdb, map: 0, mod: 'reg', ext: 4, rmv: 2, mn: 'fnclex', ops: '', fn: opFnclex },
  { code: 0xdb, map: 0, mod: 'reg', ext: 4, rmv: 3, mn: 'fninit', ops: '', fn: opFninit },
  { code: 0xd9, map: 0, mod: 'mem', ext: 4, mn: 'fldenv', ops: 'M', fn: opFldenv, sub: 0 },
  { code: 0xd9, map: 0, mod: 'mem', ext: 5, mn: 'fldcw', ops: 'Mw', fn: opFldcw },
  { code: 0xd9, map: 0, mod: 'mem', ext: 6, mn: 'fnstenv', ops: 'M', fn: opFnstenv, sub: 0 },
  { code: 0xd9, map: 0, mod: 'mem', ext: 7, mn: 'fnstcw', ops: 'Mw', fn: opFnstcw },
  { code: 0xdd, map: 0, mod: 'mem', ext: 4, mn: 'frstor', ops: 'M', fn: opFldenv, sub: 1 },
  { code: 0xdd, map: 0, mod: 'mem', ext: 6, mn: 'fnsave', ops: 'M', fn: opFnstenv, sub: 1 },
  { code: 0xdd, map: 0, mod: 'mem', ext: 7, mn: 'fnstsw', ops: 'Mw', fn: opFnstsw, sub: 0 },
  { code: 0xdf, map: 0, mod: 'reg', ext: 4, rmv: 0, mn: 'fnstsw', ops: 'AX', fn: opFnstsw, sub: 1, osz: OSZ.V },
];
