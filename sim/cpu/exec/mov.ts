/**
 * Data movement: mov (all forms incl. movabs and moffs), movzx, movsx,
 * movsxd, lea, xchg, cmovcc, setcc, cbw/cwde/cdqe, cwd/cdq/cqo, and the
 * NOP forms. None of these touch the flags.
 */
import type { Cpu } from '../cpu.js';
import { eaFull, type Insn } from '../decode.js';
import { CC_NAMES, cond } from '../flags.js';
import { OSZ, type Handler, type OpEntry } from '../optable.js';
import { imm, rdE, rdEw, rdMem, rdReg, sext, storeE, wrE, wrMem, wrReg } from '../operands.js';

// Specialized 32/64-bit forms (table `fast` hook).
function opMov32RR(c: Cpu, i: Insn): void {
  c.r[2 * i.rm] = c.r[2 * i.reg]!;
  c.r[2 * i.rm + 1] = 0;
}
function opMov64RR(c: Cpu, i: Insn): void {
  const r = c.r;
  r[2 * i.rm] = r[2 * i.reg]!;
  r[2 * i.rm + 1] = r[2 * i.reg + 1]!;
}
function opMov32MR(c: Cpu, i: Insn): void {
  i.ea(c, i);
  c.mmu.write32(c.eaLo, c.eaHi, c.r[2 * i.reg]!);
}
function opMov64MR(c: Cpu, i: Insn): void {
  i.ea(c, i);
  c.mmu.write64(c.eaLo, c.eaHi, c.r[2 * i.reg]!, c.r[2 * i.reg + 1]!);
}
function opMov32RM(c: Cpu, i: Insn): void {
  i.ea(c, i);
  c.r[2 * i.reg] = c.mmu.read32(c.eaLo, c.eaHi);
  c.r[2 * i.reg + 1] = 0;
}
function opMov64RM(c: Cpu, i: Insn): void {
  i.ea(c, i);
  const lo = c.mmu.read64(c.eaLo, c.eaHi);
  c.r[2 * i.reg] = lo;
  c.r[2 * i.reg + 1] = c.mmu.hi32;
}
function opMovzxRMb(c: Cpu, i: Insn): void {
  i.ea(c, i);
  c.r[2 * i.reg] = c.mmu.read8(c.eaLo, c.eaHi);
  c.r[2 * i.reg + 1] = 0;
}
const fastMovEvGv = (i: Insn): Handler | null =>
  i.osz === 4 ? (i.rm >= 0 ? opMov32RR : opMov32MR) : i.osz === 8 ? (i.rm >= 0 ? opMov64RR : opMov64MR) : null;
/** mov Gv, Ev: a register source is the Ev,Gv register move with the roles swapped */
function opMov32RRs(c: Cpu, i: Insn): void {
  c.r[2 * i.reg] = c.r[2 * i.rm]!;
  c.r[2 * i.reg + 1] = 0;
}
function opMov64RRs(c: Cpu, i: Insn): void {
  const r = c.r;
  r[2 * i.reg] = r[2 * i.rm]!;
  r[2 * i.reg + 1] = r[2 * i.rm + 1]!;
}
const fastMovGvEv = (i: Insn): Handler | null =>
  i.osz === 4 ? (i.rm >= 0 ? opMov32RRs : opMov32RM) : i.osz === 8 ? (i.rm >= 0 ? opMov64RRs : opMov64RM) : null;
const fastMovzxB = (i: Insn): Handler | null => (i.osz !== 2 && i.rm < 0 ? opMovzxRMb : null);

function opMovEvGv(c: Cpu, i: Insn): void {
  const v = rdReg(c, i.reg, i.osz);
  storeE(c, i, i.osz, v, c.hi);
}
function opMovGvEv(c: Cpu, i: Insn): void {
  const v = rdE(c, i, i.osz);
  wrReg(c, i.reg, i.osz, v, c.hi);
}
function opMovEvIz(c: Cpu, i: Insn): void {
  storeE(c, i, i.osz, imm(c, i, i.osz), i.immHi);
}
/** mov Zv, Iv (B8+r; 64-bit form is movabs) and mov Zb, Ib (B0+r) */
function opMovZvIv(c: Cpu, i: Insn): void {
  wrReg(c, i.reg, i.osz, imm(c, i, i.osz), i.immHi);
}
/** mov AL/rAX, moffs and back: the address is the 64-bit (or 32-bit with 67) immediate */
function opMovAxOv(c: Cpu, i: Insn): void {
  moffs(c, i);
  const v = rdMem(c, i.osz);
  wrReg(c, 0, i.osz, v, c.hi);
}
function opMovOvAx(c: Cpu, i: Insn): void {
  moffs(c, i);
  const v = rdReg(c, 0, i.osz);
  wrMem(c, i.osz, v, c.hi);
}
function moffs(c: Cpu, i: Insn): void {
  c.eaLo = i.immLo;
  c.eaHi = i.immHi;
  if (i.seg >= 0) {
    const s = c.eaLo + (i.seg === 4 ? c.fsLo : c.gsLo);
    c.eaLo = s >>> 0;
    c.eaHi = (c.eaHi + (i.seg === 4 ? c.fsHi : c.gsHi) + (s > 0xffffffff ? 1 : 0)) >>> 0;
  }
}

/** movzx Gv, Eb/Ew (sub = source size) */
function opMovzx(c: Cpu, i: Insn): void {
  wrReg(c, i.reg, i.osz, rdE(c, i, i.sub), 0);
}
/** movsx Gv, Eb/Ew and movsxd Gv, Ed (sub = source size) */
function opMovsx(c: Cpu, i: Insn): void {
  const v = sext(c, rdE(c, i, i.sub), i.sub);
  wrReg(c, i.reg, i.osz, i.osz === 2 ? v & 0xffff : v, c.hi);
}

/** lea never faults and never adds a segment base, so it bypasses i.ea (which may raise #SS). */
function opLea(c: Cpu, i: Insn): void {
  const seg = i.seg;
  i.seg = -1;
  eaFull(c, i);
  i.seg = seg;
  wrReg(c, i.reg, i.osz, i.osz === 2 ? c.eaLo & 0xffff : c.eaLo, c.eaHi);
}

/** xchg Ev, Gv (always locked when the operand is memory) */
function opXchgEvGv(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const a = rdEw(c, i, sz);
  const aH = c.hi;
  const b = rdReg(c, i.reg, sz);
  wrE(c, i, sz, b, c.hi);
  wrReg(c, i.reg, sz, a, aH);
}
/** xchg Zv, rAX (90+r; 90 without REX.B is nop) */
function opXchgZvAx(c: Cpu, i: Insn): void {
  if (i.reg === 0) return; // 90 is nop, not xchg eax, eax (which would zero-extend)
  const sz = i.osz;
  const a = rdReg(c, i.reg, sz);
  const aH = c.hi;
  const b = rdReg(c, 0, sz);
  wrReg(c, 0, sz, a, aH);
  wrReg(c, i.reg, sz, b, c.hi);
}

function opNop(_c: Cpu, _i: Insn): void {}

/** cmovcc Gv, Ev: the source is always read; a 32-bit cmov zero-extends even when false */
function opCmov(c: Cpu, i: Insn): void {
  const v = rdE(c, i, i.osz);
  const h = c.hi;
  if (cond(c, i.sub)) wrReg(c, i.reg, i.osz, v, h);
  else if (i.osz === 4) wrReg(c, i.reg, 4, rdReg(c, i.reg, 4), 0);
}
function opSetcc(c: Cpu, i: Insn): void {
  storeE(c, i, 1, cond(c, i.sub) ? 1 : 0, 0);
}

/** cbw / cwde / cdqe */
function opCbw(c: Cpu, i: Insn): void {
  const half = i.osz >> 1;
  const v = sext(c, rdReg(c, 0, half), half);
  wrReg(c, 0, i.osz, i.osz === 2 ? v & 0xffff : v, c.hi);
}
/** cwd / cdq / cqo: rDX = sign of rAX */
function opCwd(c: Cpu, i: Insn): void {
  const sz = i.osz;
  const v = rdReg(c, 0, sz);
  const top = sz === 8 ? c.hi >>> 31 : sz === 4 ? v >>> 31 : (v >>> 15) & 1;
  const s = top ? 0xffffffff : 0;
  wrReg(c, 2, sz, sz === 2 ? s & 0xffff : s, s);
}

export const MOV_OPS: OpEntry[] = [
  { code: 0x88, map: 0, mn: 'mov', ops: 'Eb,Gb', fn: opMovEvGv, osz: OSZ.B },
  { code: 0x89, map: 0, mn: 'mov', ops: 'Ev,Gv', fn: opMovEvGv, fast: fastMovEvGv },
  { code: 0x8a, map: 0, mn: 'mov', ops: 'Gb,Eb', fn: opMovGvEv, osz: OSZ.B },
  { code: 0x8b, map: 0, mn: 'mov', ops: 'Gv,Ev', fn: opMovGvEv, fast: fastMovGvEv },
  { code: 0xc6, map: 0, ext: 0, mn: 'mov', ops: 'Eb,Ib', fn: opMovEvIz, osz: OSZ.B },
  { code: 0xc7, map: 0, ext: 0, mn: 'mov', ops: 'Ev,Iz', fn: opMovEvIz },
  { code: 0xb0, map: 0, plus: true, mn: 'mov', ops: 'Zb,Ib', fn: opMovZvIv, osz: OSZ.B },
  { code: 0xb8, map: 0, plus: true, mn: 'mov', ops: 'Zv,Iv', fn: opMovZvIv },
  { code: 0xa0, map: 0, mn: 'mov', ops: 'AL,Ob', fn: opMovAxOv, osz: OSZ.B },
  { code: 0xa1, map: 0, mn: 'mov', ops: 'rAX,Ov', fn: opMovAxOv },
  { code: 0xa2, map: 0, mn: 'mov', ops: 'Ob,AL', fn: opMovOvAx, osz: OSZ.B },
  { code: 0xa3, map: 0, mn: 'mov', ops: 'Ov,rAX', fn: opMovOvAx },
  { code: 0xb6, map: 1, mn: 'movzx', ops: 'Gv,Eb', fn: opMovzx, sub: 1, fast: fastMovzxB },
  { code: 0xb7, map: 1, mn: 'movzx', ops: 'Gv,Ew', fn: opMovzx, sub: 2 },
  { code: 0xbe, map: 1, mn: 'movsx', ops: 'Gv,Eb', fn: opMovsx, sub: 1 },
  { code: 0xbf, map: 1, mn: 'movsx', ops: 'Gv,Ew', fn: opMovsx, sub: 2 },
  { code: 0x63, map: 0, mn: 'movsxd', ops: 'Gv,Ed', fn: opMovsx, sub: 4 },
  { code: 0x8d, map: 0, mod: 'mem', mn: 'lea', ops: 'Gv,M', fn: opLea },
  { code: 0x86, map: 0, mn: 'xchg', ops: 'Eb,Gb', fn: opXchgEvGv, osz: OSZ.B, lock: true },
  { code: 0x87, map: 0, mn: 'xchg', ops: 'Ev,Gv', fn: opXchgEvGv, lock: true },
  { code: 0x90, map: 0, plus: true, mn: 'xchg', ops: 'Zv,rAX', fn: opXchgZvAx },
  { code: 0x1f, map: 1, ext: 0, mn: 'nop', ops: 'Ev', fn: opNop },
  // 0F 18 (prefetch and hint NOPs) and 0F 0D (prefetch): fence.ts
  ...[0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e].map((code): OpEntry => ({ code, map: 1, mn: 'nop', ops: 'Ev', fn: opNop })),
  { code: 0x98, map: 0, mn: 'cbw', ops: '', fn: opCbw },
  { code: 0x99, map: 0, mn: 'cwd', ops: '', fn: opCwd },
  ...Array.from({ length: 16 }, (_, cc): OpEntry[] => [
    { code: 0x40 + cc, map: 1, mn: `cmov${CC_NAMES[cc]}`, ops: 'Gv,Ev', fn: opCmov, sub: cc },
    { code: 0x90 + cc, map: 1, mn: `set${CC_NAMES[cc]}`, ops: 'Eb', fn: opSetcc, osz: OSZ.B, sub: cc },
  ]).flat(),
];
