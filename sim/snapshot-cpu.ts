/**
 * The x86-64 core's part of a machine snapshot (sim/snapshot.ts): its
 * architectural state, 64-bit values as "0x" + 16 hex digits. RFLAGS are
 * stored materialized (the lazy-flags record is an encoding, not state);
 * the MMU's settings are stored, its TLB is not (restore flushes it).
 * The x87/SSE state (`fpu`) was added later: a snapshot without it is of a
 * build with no FPU, and restores as the power-on state.
 */
import type { Cpu } from './cpu/cpu.js';
import { fpuReset } from './cpu/fpu.js';
import { getAF, getCF, getOF, getPF, getSF, getZF, LOP, setFlagsWord } from './cpu/flags.js';
import { F, hiOf, loOf, STATUS_FLAGS, toBig } from './cpu/regs.js';
import { fromHex, hex64, parseBig, SnapshotError, toHex } from './snapshot-codec.js';

/**
 * Every own field of Cpu and Mmu, state or not. Not state: decoded-block
 * caches and JIT bookkeeping, the TLB and its epoch, scratch values of the
 * executing instruction, exit bookkeeping reset by each `run`, a debugger's
 * code breakpoints and data watch, a recorder's code-entry counts, the derived user/supervisor access masks
 * (setCpl recomputes them), references, the XMM views (`xv`, the same memory
 * as `xmm`) and the model's MXCSR mask.
 */
const CPU_FIELDS = ['r', 'ripLo', 'ripHi', 'flags', 'lop', 'lsz', 'lres', 'lresH', 'la', 'laH', 'lb', 'lbH', 'lcf', 'sreg', 'fsLo', 'fsHi', 'gsLo', 'gsHi',
  'kgsLo', 'kgsHi', 'cpl', 'fsgsbase', 'xmm', 'xv', 'mxcsr', 'x87', 'ts', 'em', 'mp', 'osfxsr', 'osxmmexcpt', 'mxcsrMask', 'exUnimpl', 'hi', 'eaLo', 'eaHi', 'cur', 'icount', 'mmu', 'stop', 'bi', 'xb', 'nb', 'nbAt', 'jitThreshold', 'breakpoints', 'bpSkip', 'exitReq', 'hostExit', 'exTrap', 'exVector', 'exErr',
  'exCr2Lo', 'exCr2Hi', 'codeEntries', 'lastFrame', 'frameSet', 'frameEntries', 'codeSet', 'blocks', 'pageBlocks', 'curBlockPfn', 'userPagesAtCpl3', 'mem', 'host'] as const;
const MMU_FIELDS = ['paging', 'cr3Pfn', 'wp', 'nxe', 'xenSlots', 'user', 'tlbR', 'tlbW', 'tlbHi', 'tlbView', 'perm', 'pfn', 'tag', 'dwatch', 'epoch', 'lastPfn',
  'hi32', 'walkErr', 'walkPerm', 'mem', 'raise'] as const;

/** Throw unless every own field of `obj` is in `known`: a new field must be classified as state or not. */
export function checkFields(name: string, obj: object, known: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!known.includes(k)) throw new SnapshotError(`${name}.${k} is not covered by machine snapshots (sim/snapshot*.ts)`);
  }
}

/** RFLAGS with the lazy status flags folded in, without touching the lazy record. */
export function rflagsOf(c: Cpu): number {
  if (c.lop === LOP.NONE) return c.flags;
  let f = c.flags & ~STATUS_FLAGS;
  if (getCF(c)) f |= F.CF;
  if (getPF(c)) f |= F.PF;
  if (getAF(c)) f |= F.AF;
  if (getZF(c)) f |= F.ZF;
  if (getSF(c)) f |= F.SF;
  if (getOF(c)) f |= F.OF;
  return f;
}

export type CpuState = {
  gpr: string[]; rip: string; rflags: number; sreg: number[]; fsBase: string; gsBase: string; kernelGsBase: string;
  cpl: number; fsgsbase: boolean; userPagesAtCpl3: boolean; icount: number;
  mmu: { paging: boolean; cr3Pfn: number; wp: boolean; nxe: boolean; xenSlots: boolean };
  /** XMM0-15 as 256 bytes of hex (register 0 first, little-endian), MXCSR, the x87 words (fpu.ts X87), CR0/CR4 gates */
  fpu?: { xmm: string; mxcsr: number; x87: number[]; ts: boolean; em: boolean; mp: boolean; osfxsr: boolean; osxmmexcpt: boolean };
};

export function cpuState(c: Cpu): CpuState {
  checkFields('Cpu', c, CPU_FIELDS);
  checkFields('Mmu', c.mmu, MMU_FIELDS);
  const m = c.mmu;
  return {
    gpr: Array.from({ length: 16 }, (_, i) => hex64(c.getReg(i))),
    rip: hex64(c.rip),
    rflags: rflagsOf(c),
    sreg: [...c.sreg],
    fsBase: hex64(toBig(c.fsLo, c.fsHi)),
    gsBase: hex64(toBig(c.gsLo, c.gsHi)),
    kernelGsBase: hex64(toBig(c.kgsLo, c.kgsHi)),
    cpl: c.cpl,
    fsgsbase: c.fsgsbase,
    userPagesAtCpl3: c.userPagesAtCpl3,
    icount: c.icount,
    mmu: { paging: m.paging, cr3Pfn: m.cr3Pfn, wp: m.wp, nxe: m.nxe, xenSlots: m.xenSlots !== null },
    fpu: {
      xmm: toHex(new Uint8Array(c.xmm.buffer, c.xmm.byteOffset, 256)), mxcsr: c.mxcsr, x87: [...c.x87],
      ts: c.ts, em: c.em, mp: c.mp, osfxsr: c.osfxsr, osxmmexcpt: c.osxmmexcpt,
    },
  };
}

export function restoreCpu(c: Cpu, s: CpuState, xenSlots: DataView, where: string): void {
  if (s.gpr.length !== 16 || s.sreg.length !== 6) throw new SnapshotError(`${where}: malformed register file`);
  s.gpr.forEach((g, i) => c.setReg(i, parseBig(g, `${where}.gpr[${i}]`)));
  c.rip = parseBig(s.rip, `${where}.rip`);
  setFlagsWord(c, s.rflags);
  c.sreg.set(s.sreg);
  const base = (h: string, k: string): [number, number] => {
    const v = parseBig(h, `${where}.${k}`);
    return [loOf(v), hiOf(v)];
  };
  [c.fsLo, c.fsHi] = base(s.fsBase, 'fsBase');
  [c.gsLo, c.gsHi] = base(s.gsBase, 'gsBase');
  [c.kgsLo, c.kgsHi] = base(s.kernelGsBase, 'kernelGsBase');
  c.userPagesAtCpl3 = s.userPagesAtCpl3;
  c.setCpl(s.cpl);
  c.fsgsbase = s.fsgsbase;
  c.icount = s.icount;
  const m = c.mmu;
  m.paging = s.mmu.paging;
  m.cr3Pfn = s.mmu.cr3Pfn;
  m.wp = s.mmu.wp;
  m.nxe = s.mmu.nxe;
  m.xenSlots = s.mmu.xenSlots ? xenSlots : null;
  restoreFpu(c, s.fpu, where);
}

function restoreFpu(c: Cpu, f: CpuState['fpu'], where: string): void {
  fpuReset(c);
  if (f === undefined) return;
  const xmm = fromHex(f.xmm, `${where}.fpu.xmm`);
  if (xmm.length !== 256 || f.x87.length !== c.x87.length) throw new SnapshotError(`${where}.fpu: malformed x87/SSE state`);
  new Uint8Array(c.xmm.buffer, c.xmm.byteOffset, 256).set(xmm);
  c.x87.set(f.x87);
  c.mxcsr = f.mxcsr;
  c.ts = f.ts;
  c.em = f.em;
  c.mp = f.mp;
  c.osfxsr = f.osfxsr;
  c.osxmmexcpt = f.osxmmexcpt;
}
