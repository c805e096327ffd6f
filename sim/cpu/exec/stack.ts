/**
 * Stack and flag-register instructions: push, pop, enter, leave, pushf,
 * popf, lahf, sahf, clc, stc, cmc, cld, std. Stack operations default to
 * 64-bit; 66 selects 16-bit.
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { getCF, materialize, setCF, setFlagsWord } from '../flags.js';
import { OSZ, type OpEntry } from '../optable.js';
import { addRsp, peek, pop, push, rdE, rdReg, storeE, wrReg } from '../operands.js';
import { F } from '../regs.js';

function opPushZv(c: Cpu, i: Insn): void {
  const v = rdReg(c, i.reg, i.osz);
  push(c, i.osz, v, c.hi);
}
function opPopZv(c: Cpu, i: Insn): void {
  const v = pop(c, i.osz);
  wrReg(c, i.reg, i.osz, v, c.hi);
}
function opPushIz(c: Cpu, i: Insn): void {
  push(c, i.osz, i.osz === 2 ? i.immLo & 0xffff : i.immLo, i.immHi);
}
function opPushEv(c: Cpu, i: Insn): void {
  const v = rdE(c, i, i.osz);
  push(c, i.osz, v, c.hi);
}
/** pop Ev: a memory destination addressed through RSP sees the incremented RSP */
function opPopEv(c: Cpu, i: Insn): void {
  const v = peek(c, i.osz, 0);
  const h = c.hi;
  const r = c.r;
  const oLo = r[8]!;
  const oHi = r[9]!;
  addRsp(c, i.osz);
  try {
    storeE(c, i, i.osz, v, h);
  } catch (e) {
    r[8] = oLo;
    r[9] = oHi;
    throw e;
  }
}

/** enter Iw, Ib: the nesting level is taken mod 32 */
function opEnter(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const size = i.immLo & 0xffff;
  const level = i.imm2 & 31;
  const r = c.r;
  const saveLo = r[8]!;
  const saveHi = r[9]!;
  try {
    push(c, sz, rdReg(c, 5, sz), c.hi);
    const fLo = r[8]!;
    const fHi = r[9]!;
    if (level > 0) {
      for (let k = 1; k < level; k++) {
        const s = r[10]! - k * sz;
        const lo = s >>> 0;
        const hi = s < 0 ? (r[11]! - 1) >>> 0 : r[11]!;
        const v = sz === 8 ? c.mmu.read64(lo, hi) : c.mmu.read16(lo, hi);
        push(c, sz, v, sz === 8 ? c.mmu.hi32 : 0);
      }
      push(c, sz, fLo, fHi);
    }
    addRsp(c, -size);
    wrReg(c, 5, sz, fLo, fHi);
  } catch (e) {
    r[8] = saveLo;
    r[9] = saveHi;
    throw e;
  }
}
function opLeave(c: Cpu, i: Insn): void {
  const r = c.r;
  const oLo = r[8]!;
  const oHi = r[9]!;
  r[8] = r[10]!;
  r[9] = r[11]!;
  try {
    const v = pop(c, i.osz);
    wrReg(c, 5, i.osz, v, c.hi);
  } catch (e) {
    r[8] = oLo;
    r[9] = oHi;
    throw e;
  }
}

/** pushf: VM and RF read as 0 */
function opPushf(c: Cpu, i: Insn): void {
  materialize(c);
  push(c, i.osz, c.flags & 0x3cffff & (i.osz === 2 ? 0xffff : ~0), 0);
}

/** Bits popf may change at CPL 0; IOPL only at CPL 0, IF only when CPL <= IOPL. */
const POPF_MASK = 0x247fd5;
function opPopf(c: Cpu, i: Insn): void {
  const v = pop(c, i.osz);
  let mask = POPF_MASK;
  if (c.cpl > 0) mask &= ~F.IOPL;
  if (c.cpl > ((c.flags & F.IOPL) >> 12)) mask &= ~F.IF;
  if (i.osz === 2) mask &= 0xffff;
  materialize(c);
  setFlagsWord(c, ((c.flags & ~mask) | (v & mask)) | 0x2);
}

const AH_FLAGS = F.SF | F.ZF | F.AF | F.PF | F.CF;
function opLahf(c: Cpu): void {
  materialize(c);
  wrReg(c, 16, 1, (c.flags & AH_FLAGS) | 0x2, 0);
}
function opSahf(c: Cpu): void {
  const ah = rdReg(c, 16, 1);
  materialize(c);
  c.flags = (c.flags & ~AH_FLAGS) | (ah & AH_FLAGS);
}

function opClc(c: Cpu): void {
  setCF(c, false);
}
function opStc(c: Cpu): void {
  setCF(c, true);
}
function opCmc(c: Cpu): void {
  setCF(c, !getCF(c));
}
function opCld(c: Cpu): void {
  c.flags &= ~F.DF;
}
function opStd(c: Cpu): void {
  c.flags |= F.DF;
}

export const STACK_OPS: OpEntry[] = [
  { code: 0x50, map: 0, plus: true, mn: 'push', ops: 'Zv', fn: opPushZv, osz: OSZ.D64 },
  { code: 0x58, map: 0, plus: true, mn: 'pop', ops: 'Zv', fn: opPopZv, osz: OSZ.D64 },
  { code: 0x68, map: 0, mn: 'push', ops: 'Iz', fn: opPushIz, osz: OSZ.D64 },
  { code: 0x6a, map: 0, mn: 'push', ops: 'Ib', fn: opPushIz, osz: OSZ.D64 },
  { code: 0xff, map: 0, ext: 6, mn: 'push', ops: 'Ev', fn: opPushEv, osz: OSZ.D64 },
  { code: 0x8f, map: 0, ext: 0, mn: 'pop', ops: 'Ev', fn: opPopEv, osz: OSZ.D64 },
  { code: 0xc8, map: 0, mn: 'enter', ops: 'Iw,Ib', fn: opEnter, osz: OSZ.D64 },
  { code: 0xc9, map: 0, mn: 'leave', ops: '', fn: opLeave, osz: OSZ.D64 },
  { code: 0x9c, map: 0, mn: 'pushf', ops: '', fn: opPushf, osz: OSZ.D64 },
  { code: 0x9d, map: 0, mn: 'popf', ops: '', fn: opPopf, osz: OSZ.D64, end: true },
  { code: 0x9f, map: 0, mn: 'lahf', ops: '', fn: opLahf },
  { code: 0x9e, map: 0, mn: 'sahf', ops: '', fn: opSahf },
  { code: 0xf8, map: 0, mn: 'clc', ops: '', fn: opClc },
  { code: 0xf9, map: 0, mn: 'stc', ops: '', fn: opStc },
  { code: 0xf5, map: 0, mn: 'cmc', ops: '', fn: opCmc },
  { code: 0xfc, map: 0, mn: 'cld', ops: '', fn: opCld },
  { code: 0xfd, map: 0, mn: 'std', ops: '', fn: opStd },
];
