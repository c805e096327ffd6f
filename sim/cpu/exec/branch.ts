/**
 * Control transfer: jmp, jcc, call, ret (imm), loop/loope/loopne, jrcxz,
 * and the far forms lcall/ljmp m16:{16,32,64} and lret. Near branches always
 * use 64-bit operand size in long mode (66 is ignored, as on Intel). Every
 * entry here ends a decoded block.
 *
 * Far transfers hand the new CS to the host (`loadSeg` with Seg CS), which
 * checks the descriptor and raises #GP/#NP(selector) as the hardware would;
 * they must leave the CPU in 64-bit mode (the core has no compatibility
 * mode). The pointer is offset then selector, the offset as wide as the
 * operand size (REX.W: 8, as Intel reads it).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { CC_NAMES, cond, getCF, getZF } from '../flags.js';
import { OSZ, type Handler, type OpEntry } from '../optable.js';
import { addRsp, checkStack, pop, push, rdE, rdMem } from '../operands.js';

/** Non-canonical branch targets fault on the branch itself (#GP(0)). */
function checkCanonical(c: Cpu, hi: number): void {
  const s = hi >> 15;
  if (s !== 0 && s !== -1) c.raise(Vector.GP, 0);
}

/** RIP = next RIP + sign-extended immediate. */
function relTarget(c: Cpu, i: Insn): void {
  const s = i.nextLo + i.immLo;
  c.ripLo = s >>> 0;
  c.ripHi = (i.nextHi + i.immHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
  checkCanonical(c, c.ripHi);
}


function opJmpJz(c: Cpu, i: Insn): void {
  relTarget(c, i);
}
function opJcc(c: Cpu, i: Insn): void {
  if (cond(c, i.sub)) relTarget(c, i);
}
// The commonest conditions, specialized (table `fast` hook).
function opJz(c: Cpu, i: Insn): void {
  if (getZF(c)) relTarget(c, i);
}
function opJnz(c: Cpu, i: Insn): void {
  if (!getZF(c)) relTarget(c, i);
}
function opJb(c: Cpu, i: Insn): void {
  if (getCF(c)) relTarget(c, i);
}
function opJae(c: Cpu, i: Insn): void {
  if (!getCF(c)) relTarget(c, i);
}
const FAST_JCC: Array<Handler | null> = [null, null, opJb, opJae, opJz, opJnz, null, null, null, null, null, null, null, null, null, null];
const fastJcc = (i: Insn): Handler | null => FAST_JCC[i.sub] ?? null;
/**
 * Calls store the return address before checking the target: a non-canonical
 * target raises #GP with the store visible in memory but RSP unchanged (as
 * measured on Intel hardware).
 */
function callTo(c: Cpu, i: Insn, lo: number, hi: number): void {
  const r = c.r;
  const spLo = r[8]!;
  const spHi = r[9]!;
  push(c, 8, i.nextLo, i.nextHi);
  const s = hi >> 15;
  if (s !== 0 && s !== -1) {
    r[8] = spLo;
    r[9] = spHi;
    c.raise(Vector.GP, 0);
  }
  c.ripLo = lo;
  c.ripHi = hi;
}
function opCallJz(c: Cpu, i: Insn): void {
  const s = i.nextLo + i.immLo;
  callTo(c, i, s >>> 0, (i.nextHi + i.immHi + (s > 0xffffffff ? 1 : 0)) >>> 0);
}
function opJmpEv(c: Cpu, i: Insn): void {
  const lo = rdE(c, i, 8);
  const hi = c.hi;
  checkCanonical(c, hi);
  c.ripLo = lo;
  c.ripHi = hi;
}
function opCallEv(c: Cpu, i: Insn): void {
  const lo = rdE(c, i, 8);
  callTo(c, i, lo, c.hi);
}
function opRet(c: Cpu, i: Insn): void {
  const lo = pop(c, 8);
  const hi = c.hi;
  if ((hi >> 15 !== 0 && hi >> 15 !== -1)) {
    addRsp(c, -8);
    c.raise(Vector.GP, 0);
  }
  c.ripLo = lo;
  c.ripHi = hi;
  if (i.e!.code === 0xc2) addRsp(c, i.immLo & 0xffff);
}

/** loop / loope / loopne (sub 0, 1, 2) and jrcxz (sub 3); the counter is RCX, or ECX with 67 */
function opLoop(c: Cpu, i: Insn): void {
  const r = c.r;
  if (i.sub === 3) {
    const zero = i.asz === 4 ? r[2] === 0 : r[2] === 0 && r[3] === 0;
    if (zero) relTarget(c, i);
    return;
  }
  let lo = r[2]!;
  let hi = r[3]!;
  if (i.asz === 4) {
    lo = (lo - 1) >>> 0;
    r[2] = lo;
    hi = 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
    r[2] = lo;
    r[3] = hi;
  }
  let take = lo !== 0 || hi !== 0;
  if (i.sub === 1) take &&= getZF(c);
  else if (i.sub === 2) take &&= !getZF(c);
  if (take) relTarget(c, i);
}

/** Pop `sz` (2, 4, 8) bytes, zero-extended; hi in c.hi. */
function popSz(c: Cpu, sz: number): number {
  if (sz !== 4) {
    const v = pop(c, sz);
    if (sz === 2) c.hi = 0;
    return v;
  }
  const r = c.r;
  checkStack(c, r[9]!);
  const v = c.mmu.read32(r[8]!, r[9]!);
  addRsp(c, 4);
  c.hi = 0;
  return v;
}
/** Push `sz` (2, 4, 8) bytes. */
function pushSz(c: Cpu, sz: number, lo: number, hi: number): void {
  if (sz !== 4) return push(c, sz, lo, hi);
  const r = c.r;
  const s = r[8]! - 4;
  const nlo = s >>> 0;
  const nhi = s < 0 ? (r[9]! - 1) >>> 0 : r[9]!;
  checkStack(c, nhi);
  c.mmu.write32(nlo, nhi, lo);
  r[8] = nlo;
  r[9] = nhi;
}

const CS = 1;

/** lret / lret imm16: pop RIP and CS (operand size each); a return to an outer ring also pops RSP and SS. */
function opLret(c: Cpu, i: Insn): void {
  c.cur = i;
  const r = c.r;
  const [spLo, spHi, oldCs] = [r[8]!, r[9]!, c.sreg[CS]!];
  try {
    const sz = i.osz;
    const ripLo = popSz(c, sz);
    const ripHi = c.hi;
    const sel = popSz(c, sz) & 0xffff;
    if ((sel & 3) < c.cpl) c.raise(Vector.GP, sel & 0xfffc);
    const outer = (sel & 3) > c.cpl;
    if (i.e!.code === 0xca) addRsp(c, i.immLo & 0xffff);
    let nsLo = 0;
    let nsHi = 0;
    let ss = 0;
    if (outer) {
      nsLo = popSz(c, sz);
      nsHi = c.hi;
      ss = popSz(c, sz) & 0xffff;
    }
    checkCanonical(c, ripHi);
    c.host.loadSeg(c, CS, sel);
    if (outer) {
      c.setCpl(sel & 3);
      c.host.loadSeg(c, 2, ss);
      r[8] = nsLo;
      r[9] = nsHi;
      if (i.e!.code === 0xca) addRsp(c, i.immLo & 0xffff);
    }
    c.ripLo = ripLo;
    c.ripHi = ripHi;
  } catch (e) {
    [r[8], r[9], c.sreg[CS]] = [spLo, spHi, oldCs];
    throw e;
  }
}

/** lcall m16:x (sub 0) / ljmp m16:x (sub 1): the selector follows the offset in memory. */
function opFarEv(c: Cpu, i: Insn): void {
  c.cur = i;
  const r = c.r;
  const sz = i.osz;
  i.ea(c, i);
  const offLo = rdMem(c, sz);
  const offHi = sz === 8 ? c.hi : 0;
  const s = c.eaLo + sz;
  c.eaHi = s > 0xffffffff ? (c.eaHi + 1) >>> 0 : c.eaHi;
  c.eaLo = s >>> 0;
  const sel = rdMem(c, 2);
  const tLo = sz === 2 ? offLo & 0xffff : offLo;
  const [spLo, spHi, oldCs] = [r[8]!, r[9]!, c.sreg[CS]!];
  try {
    if (i.sub === 0) {
      pushSz(c, sz, oldCs, 0);
      pushSz(c, sz, i.nextLo, i.nextHi);
    }
    c.host.loadSeg(c, CS, sel);
    checkCanonical(c, offHi);
  } catch (e) {
    [r[8], r[9], c.sreg[CS]] = [spLo, spHi, oldCs];
    throw e;
  }
  c.ripLo = tLo;
  c.ripHi = offHi;
}

export const BRANCH_OPS: OpEntry[] = [
  { code: 0xcb, map: 0, mn: 'lret', ops: '', fn: opLret, end: true, noOracle: 'far transfers load CS from descriptor tables' },
  { code: 0xca, map: 0, mn: 'lret', ops: 'Iw', fn: opLret, end: true, noOracle: 'far transfers load CS from descriptor tables' },
  { code: 0xff, map: 0, ext: 3, mod: 'mem', mn: 'lcall', ops: 'M', fn: opFarEv, sub: 0, end: true, noOracle: 'far transfers load CS from descriptor tables' },
  { code: 0xff, map: 0, ext: 5, mod: 'mem', mn: 'ljmp', ops: 'M', fn: opFarEv, sub: 1, end: true, noOracle: 'far transfers load CS from descriptor tables' },
  { code: 0xeb, map: 0, mn: 'jmp', ops: 'Jb', fn: opJmpJz, osz: OSZ.F64, end: true },
  { code: 0xe9, map: 0, mn: 'jmp', ops: 'Jz', fn: opJmpJz, osz: OSZ.F64, end: true },
  { code: 0xe8, map: 0, mn: 'call', ops: 'Jz', fn: opCallJz, osz: OSZ.F64, end: true },
  { code: 0xff, map: 0, ext: 2, mn: 'call', ops: 'Eq', fn: opCallEv, osz: OSZ.F64, end: true },
  { code: 0xff, map: 0, ext: 4, mn: 'jmp', ops: 'Eq', fn: opJmpEv, osz: OSZ.F64, end: true },
  { code: 0xc3, map: 0, mn: 'ret', ops: '', fn: opRet, osz: OSZ.F64, end: true },
  { code: 0xc2, map: 0, mn: 'ret', ops: 'Iw', fn: opRet, osz: OSZ.F64, end: true },
  { code: 0xe2, map: 0, mn: 'loop', ops: 'Jb', fn: opLoop, osz: OSZ.F64, sub: 0, end: true },
  { code: 0xe1, map: 0, mn: 'loope', ops: 'Jb', fn: opLoop, osz: OSZ.F64, sub: 1, end: true },
  { code: 0xe0, map: 0, mn: 'loopne', ops: 'Jb', fn: opLoop, osz: OSZ.F64, sub: 2, end: true },
  { code: 0xe3, map: 0, mn: 'jrcxz', ops: 'Jb', fn: opLoop, osz: OSZ.F64, sub: 3, end: true },
  ...Array.from({ length: 16 }, (_, cc): OpEntry[] => [
    { code: 0x70 + cc, map: 0, mn: `j${CC_NAMES[cc]}`, ops: 'Jb', fn: opJcc, osz: OSZ.F64, sub: cc, end: true, fast: fastJcc },
    { code: 0x80 + cc, map: 1, mn: `j${CC_NAMES[cc]}`, ops: 'Jz', fn: opJcc, osz: OSZ.F64, sub: cc, end: true, fast: fastJcc },
  ]).flat(),
];
