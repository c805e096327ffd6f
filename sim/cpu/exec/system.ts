/**
 * System instructions. The core decodes them and hands their meaning to the
 * host interface (host.ts); what remains here is operand plumbing plus the
 * few purely architectural ones (ud2, int3/int n traps, rd/wr fs/gs base,
 * iretq, segment-register moves).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { Vector } from '../fault.js';
import { materialize, setFlagsWord } from '../flags.js';
import { PrivOp } from '../host.js';
import { OSZ, type OpEntry } from '../optable.js';
import { pop, rdE, rdReg, storeE, wrReg } from '../operands.js';

function opUd2(c: Cpu): void {
  c.raise(Vector.UD);
}
function opInt3(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.softInt(c, Vector.BP, i.len);
}
function opIntIb(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.softInt(c, i.immLo & 0xff, i.len);
}
function opInt1(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.softInt(c, Vector.DB, i.len);
}
function opCpuid(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.cpuid(c, c.r[0]!, c.r[2]!);
}
function opRdtsc(c: Cpu, i: Insn): void {
  c.cur = i;
  const [lo, hi] = c.host.rdtsc(c);
  wrReg(c, 0, 4, lo, 0);
  wrReg(c, 2, 4, hi, 0);
}
function opRdtscp(c: Cpu, i: Insn): void {
  opRdtsc(c, i);
  wrReg(c, 1, 4, c.host.tscAux(c), 0);
}
function opRdmsr(c: Cpu, i: Insn): void {
  c.cur = i;
  const [lo, hi] = c.host.rdmsr(c, c.r[2]!);
  wrReg(c, 0, 4, lo, 0);
  wrReg(c, 2, 4, hi, 0);
}
function opWrmsr(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.wrmsr(c, c.r[2]!, c.r[0]!, c.r[4]!);
}
function opSyscall(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.syscall(c);
}

/** in AL/eAX, Ib|DX (sub bit 0: port in DX) */
function opIn(c: Cpu, i: Insn): void {
  c.cur = i;
  const sz = i.osz === 1 ? 1 : i.osz === 2 ? 2 : 4;
  const port = i.sub & 1 ? c.r[4]! & 0xffff : i.immLo & 0xff;
  wrReg(c, 0, sz, c.host.portIn(c, port, sz), 0);
}
function opOut(c: Cpu, i: Insn): void {
  c.cur = i;
  const sz = i.osz === 1 ? 1 : i.osz === 2 ? 2 : 4;
  const port = i.sub & 1 ? c.r[4]! & 0xffff : i.immLo & 0xff;
  c.host.portOut(c, port, sz, rdReg(c, 0, sz));
}

/** Privileged instructions without operands. */
function opPriv(c: Cpu, i: Insn): void {
  c.cur = i;
  c.host.priv(c, i.sub as PrivOp, 0, 0, 0);
}
/** mov Rq, Cq/Dq and back (0F 20-23): the reg field names the CR/DR, r/m the GPR (mod ignored). */
function opMovFromCr(c: Cpu, i: Insn): void {
  c.cur = i;
  const v = c.host.priv(c, i.sub as PrivOp, i.reg, 0, 0);
  if (v) wrReg(c, i.rm, 8, v[0]!, v[1]!);
}
function opMovToCr(c: Cpu, i: Insn): void {
  c.cur = i;
  const lo = rdReg(c, i.rm, 8);
  c.host.priv(c, i.sub as PrivOp, i.reg, lo, c.hi);
}
/** invlpg M, lgdt/lidt M: the address goes to the host */
function opPrivMem(c: Cpu, i: Insn): void {
  c.cur = i;
  i.ea(c, i);
  c.host.priv(c, i.sub as PrivOp, 0, c.eaLo, c.eaHi);
}
/** sgdt/sidt M: the host returns [limit, baseLo, baseHi]; 10 bytes are stored (limit, then the 64-bit base). */
function opStoreDt(c: Cpu, i: Insn): void {
  c.cur = i;
  i.ea(c, i);
  const v = c.host.priv(c, i.sub as PrivOp, 0, 0, 0) ?? [0, 0, 0];
  c.mmu.probeWrite(c.eaLo, c.eaHi, 10);
  c.mmu.write16(c.eaLo, c.eaHi, v[0]!);
  const s = c.eaLo + 2;
  c.mmu.write64(s >>> 0, s > 0xffffffff ? (c.eaHi + 1) >>> 0 : c.eaHi, v[1]!, v[2]!);
}
/** lldt/ltr/lmsw Ew */
function opPrivEw(c: Cpu, i: Insn): void {
  c.cur = i;
  const v = rdE(c, i, 2);
  c.host.priv(c, i.sub as PrivOp, 0, v, 0);
}
/** sldt/str/smsw Ev */
function opPrivStore(c: Cpu, i: Insn): void {
  c.cur = i;
  const v = c.host.priv(c, i.sub as PrivOp, 0, 0, 0);
  const sz = i.rm >= 0 ? i.osz : 2;
  storeE(c, i, sz, v ? v[0]! : 0, 0);
}

/** mov Ev, Sw */
function opMovEvSw(c: Cpu, i: Insn): void {
  const s = i.reg & 7;
  if (s > 5) c.raise(Vector.UD);
  const sz = i.rm >= 0 ? i.osz : 2;
  storeE(c, i, sz, c.sreg[s]!, 0);
}
/** mov Sw, Ew: loading CS is #UD */
function opMovSwEw(c: Cpu, i: Insn): void {
  const s = i.reg & 7;
  if (s > 5 || s === 1) c.raise(Vector.UD);
  const v = rdE(c, i, 2);
  c.cur = i;
  c.host.loadSeg(c, s, v);
}

/** rdfsbase/rdgsbase/wrfsbase/wrgsbase (F3 0F AE /0-/3, register forms); #UD unless CR4.FSGSBASE */
function opFsGsBase(c: Cpu, i: Insn): void {
  if (!c.fsgsbase) c.raise(Vector.UD);
  const gs = (i.sub & 1) !== 0;
  const sz = i.osz === 8 ? 8 : 4;
  if (i.sub < 2) {
    wrReg(c, i.rm, sz, gs ? c.gsLo : c.fsLo, gs ? c.gsHi : c.fsHi);
  } else {
    const lo = rdReg(c, i.rm, sz);
    const hi = sz === 8 ? c.hi : 0;
    const s = hi >> 15;
    if (s !== 0 && s !== -1) c.raise(Vector.GP, 0);
    if (gs) {
      c.gsLo = lo;
      c.gsHi = hi;
    } else {
      c.fsLo = lo;
      c.fsHi = hi;
    }
  }
}

/**
 * iretq (64-bit operand size): pops RIP, CS, RFLAGS, RSP, SS. The new CPL is
 * CS.RPL; the host validates selectors through loadSeg. Returning to a
 * higher privilege level is #GP.
 */
function opIret(c: Cpu, i: Insn): void {
  c.cur = i;
  const r = c.r;
  const saveLo = r[8]!;
  const saveHi = r[9]!;
  try {
    const ripLo = pop(c, 8);
    const ripHi = c.hi;
    const cs = pop(c, 8) & 0xffff;
    const fl = pop(c, 8);
    const spLo = pop(c, 8);
    const spHi = c.hi;
    const ss = pop(c, 8) & 0xffff;
    const cpl = cs & 3;
    if (cpl < c.cpl) c.raise(Vector.GP, cs & 0xfffc);
    let mask = 0x257fd5;
    if (c.cpl > 0) mask &= ~0x3000;
    if (c.cpl > ((c.flags >> 12) & 3)) mask &= ~0x200;
    materialize(c);
    setFlagsWord(c, (c.flags & ~mask) | (fl & mask) | 2);
    c.sreg[1] = cs;
    c.host.loadSeg(c, 2, ss);
    c.setCpl(cpl);
    c.ripLo = ripLo;
    c.ripHi = ripHi;
    r[8] = spLo;
    r[9] = spHi;
  } catch (e) {
    r[8] = saveLo;
    r[9] = saveHi;
    throw e;
  }
}

const P = PrivOp;
export const SYSTEM_OPS: OpEntry[] = [
  { code: 0x0b, map: 1, mn: 'ud2', ops: '', fn: opUd2, end: true },
  { code: 0xcc, map: 0, mn: 'int3', ops: '', fn: opInt3, end: true },
  { code: 0xcd, map: 0, mn: 'int', ops: 'Ib', fn: opIntIb, end: true, noOracle: 'delivers through the IDT' },
  { code: 0xf1, map: 0, mn: 'int1', ops: '', fn: opInt1, end: true, noOracle: 'delivers through the IDT' },
  { code: 0xa2, map: 1, mn: 'cpuid', ops: '', fn: opCpuid, end: true, noOracle: 'policy is the host interface' },
  { code: 0x31, map: 1, mn: 'rdtsc', ops: '', fn: opRdtsc, end: true, noOracle: 'virtual time' },
  { code: 0x01, map: 1, mod: 'reg', ext: 7, rmv: 1, mn: 'rdtscp', ops: '', fn: opRdtscp, end: true, noOracle: 'virtual time' },
  { code: 0x32, map: 1, mn: 'rdmsr', ops: '', fn: opRdmsr, end: true, noOracle: 'privileged' },
  { code: 0x30, map: 1, mn: 'wrmsr', ops: '', fn: opWrmsr, end: true, noOracle: 'privileged' },
  { code: 0x05, map: 1, mn: 'syscall', ops: '', fn: opSyscall, end: true, noOracle: 'enters the host kernel' },
  { code: 0x07, map: 1, mn: 'sysret', ops: '', fn: opPriv, sub: P.SYSRET, end: true, noOracle: 'privileged' },
  { code: 0xe4, map: 0, mn: 'in', ops: 'AL,Ib', fn: opIn, osz: OSZ.B, sub: 0, end: true, noOracle: 'privileged' },
  { code: 0xe5, map: 0, mn: 'in', ops: 'eAX,Ib', fn: opIn, sub: 0, end: true, noOracle: 'privileged' },
  { code: 0xec, map: 0, mn: 'in', ops: 'AL,DX', fn: opIn, osz: OSZ.B, sub: 1, end: true, noOracle: 'privileged' },
  { code: 0xed, map: 0, mn: 'in', ops: 'eAX,DX', fn: opIn, sub: 1, end: true, noOracle: 'privileged' },
  { code: 0xe6, map: 0, mn: 'out', ops: 'Ib,AL', fn: opOut, osz: OSZ.B, sub: 0, end: true, noOracle: 'privileged' },
  { code: 0xe7, map: 0, mn: 'out', ops: 'Ib,eAX', fn: opOut, sub: 0, end: true, noOracle: 'privileged' },
  { code: 0xee, map: 0, mn: 'out', ops: 'DX,AL', fn: opOut, osz: OSZ.B, sub: 1, end: true, noOracle: 'privileged' },
  { code: 0xef, map: 0, mn: 'out', ops: 'DX,eAX', fn: opOut, sub: 1, end: true, noOracle: 'privileged' },
  { code: 0xf4, map: 0, mn: 'hlt', ops: '', fn: opPriv, sub: P.HLT, end: true, noOracle: 'privileged' },
  { code: 0xfa, map: 0, mn: 'cli', ops: '', fn: opPriv, sub: P.CLI, end: true, noOracle: 'privileged' },
  { code: 0xfb, map: 0, mn: 'sti', ops: '', fn: opPriv, sub: P.STI, end: true, noOracle: 'privileged' },
  { code: 0x06, map: 1, mn: 'clts', ops: '', fn: opPriv, sub: P.CLTS, end: true, noOracle: 'privileged' },
  { code: 0x08, map: 1, mn: 'invd', ops: '', fn: opPriv, sub: P.INVD, end: true, noOracle: 'privileged' },
  { code: 0x09, map: 1, mn: 'wbinvd', ops: '', fn: opPriv, sub: P.WBINVD, end: true, noOracle: 'privileged' },
  { code: 0x20, map: 1, mn: 'mov', ops: 'Rq,Cq', fn: opMovFromCr, osz: OSZ.F64, sub: P.MOV_FROM_CR, end: true, noOracle: 'privileged' },
  { code: 0x22, map: 1, mn: 'mov', ops: 'Cq,Rq', fn: opMovToCr, osz: OSZ.F64, sub: P.MOV_TO_CR, end: true, noOracle: 'privileged' },
  { code: 0x21, map: 1, mn: 'mov', ops: 'Rq,Dq', fn: opMovFromCr, osz: OSZ.F64, sub: P.MOV_FROM_DR, end: true, noOracle: 'privileged' },
  { code: 0x23, map: 1, mn: 'mov', ops: 'Dq,Rq', fn: opMovToCr, osz: OSZ.F64, sub: P.MOV_TO_DR, end: true, noOracle: 'privileged' },
  { code: 0x01, map: 1, mod: 'mem', ext: 0, mn: 'sgdt', ops: 'M', fn: opStoreDt, sub: P.SGDT, end: true, noOracle: 'descriptor tables' },
  { code: 0x01, map: 1, mod: 'mem', ext: 1, mn: 'sidt', ops: 'M', fn: opStoreDt, sub: P.SIDT, end: true, noOracle: 'descriptor tables' },
  { code: 0x01, map: 1, mod: 'mem', ext: 2, mn: 'lgdt', ops: 'M', fn: opPrivMem, sub: P.LGDT, end: true, noOracle: 'privileged' },
  { code: 0x01, map: 1, mod: 'mem', ext: 3, mn: 'lidt', ops: 'M', fn: opPrivMem, sub: P.LIDT, end: true, noOracle: 'privileged' },
  { code: 0x01, map: 1, ext: 4, mn: 'smsw', ops: 'Ew', fn: opPrivStore, sub: P.SMSW, end: true, noOracle: 'UMIP' },
  { code: 0x01, map: 1, ext: 6, mn: 'lmsw', ops: 'Ew', fn: opPrivEw, sub: P.LMSW, end: true, noOracle: 'privileged' },
  { code: 0x01, map: 1, mod: 'mem', ext: 7, mn: 'invlpg', ops: 'M', fn: opPrivMem, sub: P.INVLPG, end: true, noOracle: 'privileged' },
  { code: 0x01, map: 1, mod: 'reg', ext: 7, rmv: 0, mn: 'swapgs', ops: '', fn: opPriv, sub: P.SWAPGS, end: true, noOracle: 'privileged' },
  { code: 0x00, map: 1, ext: 0, mn: 'sldt', ops: 'Ew', fn: opPrivStore, sub: P.SLDT, end: true, noOracle: 'UMIP' },
  { code: 0x00, map: 1, ext: 1, mn: 'str', ops: 'Ew', fn: opPrivStore, sub: P.STR, end: true, noOracle: 'UMIP' },
  { code: 0x00, map: 1, ext: 2, mn: 'lldt', ops: 'Ew', fn: opPrivEw, sub: P.LLDT, end: true, noOracle: 'privileged' },
  { code: 0x00, map: 1, ext: 3, mn: 'ltr', ops: 'Ew', fn: opPrivEw, sub: P.LTR, end: true, noOracle: 'privileged' },
  { code: 0x8c, map: 0, mn: 'mov', ops: 'Ev,Sw', fn: opMovEvSw },
  { code: 0x8e, map: 0, mn: 'mov', ops: 'Sw,Ew', fn: opMovSwEw, end: true, noOracle: 'descriptor tables' },
  { code: 0xae, map: 1, pfx: 0xf3, mod: 'reg', ext: 0, mn: 'rdfsbase', ops: 'Rq', fn: opFsGsBase, sub: 0 },
  { code: 0xae, map: 1, pfx: 0xf3, mod: 'reg', ext: 1, mn: 'rdgsbase', ops: 'Rq', fn: opFsGsBase, sub: 1 },
  { code: 0xae, map: 1, pfx: 0xf3, mod: 'reg', ext: 2, mn: 'wrfsbase', ops: 'Rq', fn: opFsGsBase, sub: 2, noOracle: 'changes the host TLS' },
  { code: 0xae, map: 1, pfx: 0xf3, mod: 'reg', ext: 3, mn: 'wrgsbase', ops: 'Rq', fn: opFsGsBase, sub: 3 },
  { code: 0xcf, map: 0, mn: 'iretq', ops: '', fn: opIret, osz: OSZ.D64, end: true, noOracle: 'privilege transitions' },
];
