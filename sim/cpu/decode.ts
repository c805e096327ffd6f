/**
 * Decoder: bytes at a linear address -> `Insn` records, grouped in blocks
 * that end at a control transfer, a system instruction, a page boundary or
 * 64 instructions. Driven entirely by the table in `opcodes.ts`.
 *
 * Undecodable input never throws: an unknown opcode becomes an instruction
 * that raises #UD when executed, an instruction longer than 15 bytes one that
 * raises #GP(0). Valid encodings the core does not implement (table entries
 * with `unimpl`, the 0F 38/0F 3A maps, VEX/EVEX: decode-ext.ts) stop the
 * run instead. Only a fault while fetching the first instruction of a block
 * propagates (as FAULT) to the run loop.
 */
import type { Cpu } from './cpu.js';
import { BAD_VEX, EVEX, MAP38, MAP3A, modrmTail, VEX, vexLength } from './decode-ext.js';
import { FAULT, Vector } from './fault.js';
import type { Region } from './jit.js';
import { OPCODES } from './opcodes.js';
import { hasModrm, OSZ, type Handler, type OpEntry } from './optable.js';
import { bpKey } from './regs.js';

/** Register id used as `base` meaning "no register". */
export const NO_REG = -1;

/** One decoded instruction; every field is a number so the shape stays monomorphic. */
export class Insn {
  fn: Handler = opUD;
  e: OpEntry | null = null;
  startLo = 0;
  startHi = 0;
  nextLo = 0;
  nextHi = 0;
  len = 0;
  /** operand size in bytes (1, 2, 4, 8) and address size (4, 8) */
  osz = 4;
  asz = 8;
  /** ModRM.reg (or the opcode register for Z operands); byte registers use 16..19 for AH..BH */
  reg = 0;
  /** ModRM.rm register, or -1 for a memory operand */
  rm = 0;
  base = NO_REG;
  index = NO_REG;
  scale = 0;
  /** displacement (RIP-relative: already folded with the next RIP) as a 64-bit pair */
  dispLo = 0;
  dispHi = 0;
  /** segment override with a base (4 FS, 5 GS) or -1 */
  seg = -1;
  immLo = 0;
  immHi = 0;
  imm2 = 0;
  /** 0, 0xF2 or 0xF3 (the last of them) */
  rep = 0;
  lock = false;
  rex = 0;
  /** position in its block: instructions retired by the block before this one */
  idx = 0;
  /** the entry's `sub`, or ModRM.reg for groups without one */
  sub = 0;
  /** effective-address calculation picked at decode time */
  ea: (c: Cpu, i: Insn) => void = eaAbs;
}

export type Block = {
  startLo: number;
  startHi: number;
  /** RIP after the last instruction */
  nextLo: number;
  nextHi: number;
  /** times the interpreter entered it; once hot, the translated region holding it and its index there (jit.ts) */
  runs: number;
  region: Region | null;
  rpc: number;
  /** the last two successors, valid while `epoch` equals the MMU's (Cpu.lookup) */
  chain0: Block | null;
  chain1: Block | null;
  epoch: number;
  /** Cpu.icount when `runs` started counting (Cpu.run: a block that took too long to get hot is not translated) */
  born: number;
  /** it starts at a code breakpoint (Cpu.breakpoints): the run loop stops before entering it */
  bp: boolean;
  /** frame of the first byte; `pfns` lists every frame the block's bytes touch */
  pfn: number;
  pfns: number[];
  insns: Insn[];
};

function opUD(c: Cpu): void {
  c.raise(Vector.UD);
}
function opGP0(c: Cpu): void {
  c.raise(Vector.GP, 0);
}

// ---- effective addresses ------------------------------------------------

function segBase(c: Cpu, i: Insn): void {
  const sLo = i.seg === 4 ? c.fsLo : c.gsLo;
  const sHi = i.seg === 4 ? c.fsHi : c.gsHi;
  const s = c.eaLo + sLo;
  c.eaLo = s >>> 0;
  c.eaHi = (c.eaHi + sHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
}
function eaAbs(c: Cpu, i: Insn): void {
  c.eaLo = i.dispLo;
  c.eaHi = i.dispHi;
}
function eaBase(c: Cpu, i: Insn): void {
  const r = c.r;
  const s = r[2 * i.base]! + i.dispLo;
  c.eaLo = s >>> 0;
  c.eaHi = (r[2 * i.base + 1]! + i.dispHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
}
/** General form: base + index << scale + disp, then address-size truncation and FS/GS base. */
export function eaFull(c: Cpu, i: Insn): void {
  const r = c.r;
  let lo = i.dispLo;
  let hi = i.dispHi;
  if (i.base >= 0) {
    const s = lo + r[2 * i.base]!;
    lo = s >>> 0;
    hi = (hi + r[2 * i.base + 1]! + (s > 0xffffffff ? 1 : 0)) >>> 0;
  }
  if (i.index >= 0) {
    let xl = r[2 * i.index]!;
    let xh = r[2 * i.index + 1]!;
    if (i.scale > 0) {
      xh = ((xh << i.scale) | (xl >>> (32 - i.scale))) >>> 0;
      xl = (xl << i.scale) >>> 0;
    }
    const s = lo + xl;
    lo = s >>> 0;
    hi = (hi + xh + (s > 0xffffffff ? 1 : 0)) >>> 0;
  }
  c.eaLo = lo;
  c.eaHi = i.asz === 4 ? 0 : hi;
  if (i.seg >= 0) segBase(c, i);
}

/** base + index << scale + disp, 64-bit addressing, no segment base. */
function eaBaseIndex(c: Cpu, i: Insn): void {
  const r = c.r;
  const s0 = r[2 * i.base]! + i.dispLo;
  let hi = r[2 * i.base + 1]! + i.dispHi + (s0 > 0xffffffff ? 1 : 0);
  let xl = r[2 * i.index]!;
  let xh = r[2 * i.index + 1]!;
  const sc = i.scale;
  if (sc > 0) {
    xh = (xh << sc) | (xl >>> (32 - sc));
    xl = xl << sc;
  }
  const s1 = (s0 >>> 0) + (xl >>> 0);
  c.eaLo = s1 >>> 0;
  c.eaHi = (hi + xh + (s1 > 0xffffffff ? 1 : 0)) >>> 0;
}

/** Addresses formed from RSP or RBP are stack-segment accesses: non-canonical is #SS(0). */
function eaStack(c: Cpu, i: Insn): void {
  eaFull(c, i);
  const s = c.eaHi >> 15;
  if (s !== 0 && s !== -1 && i.seg < 0) c.raise(Vector.SS, 0);
}
function eaStackBase(c: Cpu, i: Insn): void {
  eaBase(c, i);
  const s = c.eaHi >> 15;
  if (s !== 0 && s !== -1) c.raise(Vector.SS, 0);
}

// ---- lookup table -------------------------------------------------------

type Slot = { modrm: boolean; entries: OpEntry[] };
const SLOTS: (Slot | undefined)[] = new Array(512);

for (const e of OPCODES) {
  const n = e.plus ? 8 : 1;
  for (let k = 0; k < n; k++) {
    const key = e.map * 256 + e.code + k;
    const slot = (SLOTS[key] ??= { modrm: hasModrm(e), entries: [] });
    if (slot.modrm !== hasModrm(e)) throw new Error(`opcode table: ${e.mn} disagrees on ModRM at ${key.toString(16)}`);
    slot.entries.push(e);
  }
}

/** The entry for ModRM byte `modrm` and mandatory prefix `mp` (optable.ts Pfx). */
function pick(slot: Slot, modrm: number, mp: number): OpEntry | undefined {
  const mod = modrm >> 6;
  const reg = (modrm >> 3) & 7;
  let fallback: OpEntry | undefined;
  for (const e of slot.entries) {
    if (e.ext !== undefined && e.ext !== reg) continue;
    if (e.mod === 'reg' && mod !== 3) continue;
    if (e.mod === 'mem' && mod === 3) continue;
    if (e.rmv !== undefined && (modrm & 7) !== e.rmv) continue;
    if (e.pfx !== undefined) {
      if (e.pfx === mp) return e;
      continue;
    }
    fallback ??= e;
  }
  return fallback;
}

/** All table entries (for coverage reports and the test generator). */
export const ENTRIES: readonly OpEntry[] = OPCODES;

// ---- byte fetch ---------------------------------------------------------

/** Reads instruction bytes relative to a start address, translating pages lazily. */
class Fetcher {
  private view: DataView | null = null;
  private viewPage = -1;
  pfns: number[] = [];
  constructor(private readonly c: Cpu, public lo: number, public hi: number) {}

  byte(k: number): number {
    const a = this.lo + k;
    const page = Math.floor(a / 4096);
    if (page !== this.viewPage) {
      const lo = a >>> 0;
      const hi = a > 0xffffffff ? (this.hi + 1) >>> 0 : this.hi;
      this.view = this.c.mmu.fetchView(lo, hi);
      this.viewPage = page;
      if (!this.pfns.includes(this.c.mmu.lastPfn)) this.pfns.push(this.c.mmu.lastPfn);
    }
    return this.view!.getUint8(a & 0xfff);
  }
}

// ---- instruction decode -------------------------------------------------

const MAX_LEN = 15;

/** Decode one instruction at fetcher offset `at` into `ins`; returns its length. */
function decodeOne(f: Fetcher, at: number, ins: Insn): number {
  let p = at;
  let opsz16 = false;
  let adsz32 = false;
  let rex = 0;
  let b = f.byte(p);
  for (;;) {
    if (b >= 0x40 && b <= 0x4f) {
      rex = b;
    } else if (b === 0x66) {
      opsz16 = true;
      rex = 0;
    } else if (b === 0x67) {
      adsz32 = true;
      rex = 0;
    } else if (b === 0xf0) {
      ins.lock = true;
      rex = 0;
    } else if (b === 0xf2 || b === 0xf3) {
      ins.rep = b;
      rex = 0;
    } else if (b === 0x64 || b === 0x65) {
      ins.seg = b - 0x60;
      rex = 0;
    } else if (b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e) {
      rex = 0;
    } else break;
    p++;
    if (p - at >= MAX_LEN) return tooLong(ins, p - at);
    b = f.byte(p);
  }
  ins.rex = rex;
  let map = 0;
  if (b === 0xc4 || b === 0xc5 || b === 0x62) return decodeVex(f, at, p, b, ins, opsz16 || rex !== 0 || ins.rep !== 0 || ins.lock);
  if (b === 0x0f) {
    map = 1;
    p++;
    b = f.byte(p);
    if (b === 0x38 || b === 0x3a) return decodeMap3(f, at, p, b, ins);
  }
  p++;
  const slot = SLOTS[map * 256 + b];
  let modrm = 0;
  if (slot?.modrm) {
    modrm = f.byte(p);
    p++;
  }
  const e = slot === undefined ? undefined : pick(slot, modrm, ins.rep !== 0 ? ins.rep : opsz16 ? 0x66 : 0);
  if (e === undefined) {
    ins.fn = opUD;
    return p - at;
  }
  ins.e = e;
  ins.fn = e.fn;
  ins.sub = e.sub ?? (modrm >> 3) & 7;
  const w = (rex & 8) !== 0;
  const osz = e.osz ?? OSZ.V;
  const o16 = opsz16 && e.pfx !== 0x66;
  ins.osz = osz === OSZ.B ? 1 : osz === OSZ.F64 ? 8 : w ? 8 : o16 ? 2 : osz === OSZ.D64 ? 8 : 4;
  ins.asz = adsz32 ? 4 : 8;
  const ops = e.ops;
  const byteReg = (id: number, isByte: boolean): number => (isByte && rex === 0 && id >= 4 && id < 8 ? id + 12 : id);

  if (slot!.modrm) {
    const mod = modrm >> 6;
    const rmField = modrm & 7;
    ins.reg = byteReg(((modrm >> 3) & 7) | ((rex & 4) << 1), /G[b]/.test(ops));
    if (mod === 3) {
      ins.rm = byteReg(rmField | ((rex & 1) << 3), /E[b]/.test(ops));
    } else {
      ins.rm = -1;
      let disp = 0;
      let ripRel = false;
      if (rmField === 4) {
        const sib = f.byte(p++);
        ins.scale = sib >> 6;
        const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
        ins.index = idx === 4 ? NO_REG : idx;
        if ((sib & 7) === 5 && mod === 0) {
          ins.base = NO_REG;
          disp = readS32(f, p);
          p += 4;
        } else ins.base = (sib & 7) | ((rex & 1) << 3);
      } else if (rmField === 5 && mod === 0) {
        ripRel = true;
        disp = readS32(f, p);
        p += 4;
      } else ins.base = rmField | ((rex & 1) << 3);
      if (mod === 1) disp = (f.byte(p++) << 24) >> 24;
      else if (mod === 2) {
        disp = readS32(f, p);
        p += 4;
      }
      ins.dispLo = disp >>> 0;
      ins.dispHi = disp < 0 ? 0xffffffff : 0;
      if (ripRel) ins.scale = -1; // marks RIP-relative until the length is known
    }
  } else if (/(^|,)Z/.test(ops)) {
    ins.reg = byteReg((b & 7) | ((rex & 1) << 3), /Zb/.test(ops));
  }

  // Immediates, in operand order.
  for (const op of ops.split(',')) {
    let n = 0;
    let sx = true;
    switch (op) {
      case 'Ib': case 'Jb': n = 1; break;
      case 'Iw': n = 2; sx = false; break;
      case 'Iz': case 'Jz': n = ins.osz === 2 && op === 'Iz' ? 2 : 4; break;
      case 'Iv': n = ins.osz; break;
      case 'Ob': case 'Ov': n = ins.asz; sx = false; break;
      default: continue;
    }
    if (p - at + n > MAX_LEN) return tooLong(ins, p - at + n);
    let lo = 0;
    let hi = 0;
    for (let k = 0; k < Math.min(n, 4); k++) lo |= f.byte(p + k) << (8 * k);
    for (let k = 4; k < n; k++) hi |= f.byte(p + k) << (8 * (k - 4));
    p += n;
    if (n < 4 && sx) lo = (lo << (32 - 8 * n)) >> (32 - 8 * n);
    if (n < 8) hi = sx && lo < 0 ? 0xffffffff : 0;
    if (n === 2 && !sx) lo &= 0xffff;
    if (op === 'Ib' && ops.startsWith('Iw')) ins.imm2 = lo & 0xff; // ENTER Iw,Ib
    else {
      ins.immLo = lo >>> 0;
      ins.immHi = hi >>> 0;
    }
  }
  if (p - at > MAX_LEN) return tooLong(ins, p - at);
  if (ins.lock && (!e.lock || ins.rm !== -1)) ins.fn = opUD;
  if (/(^|,)(AL|rAX)/.test(ops) && !slot!.modrm && !ops.startsWith('Z')) ins.rm = 0;
  return p - at;
}

/** VEX/EVEX at offset p (prefixes before it make it #UD): measured, stops the run when executed. */
function decodeVex(f: Fetcher, at: number, p: number, b: number, ins: Insn, prefixed: boolean): number {
  const n = vexLength(f, p, b);
  const len = p - at + Math.max(n, 1);
  if (len > MAX_LEN) return tooLong(ins, len);
  ins.e = n < 0 || prefixed ? BAD_VEX : b === 0x62 ? EVEX : VEX;
  ins.fn = ins.e.fn;
  return len;
}

/** The 0F 38 / 0F 3A maps (p at the 38/3A byte): ModRM, plus an 8-bit immediate for 0F 3A. */
function decodeMap3(f: Fetcher, at: number, p: number, b: number, ins: Insn): number {
  p += 2;
  p += 1 + modrmTail(f, p);
  if (b === 0x3a) p++;
  if (p - at > MAX_LEN) return tooLong(ins, p - at);
  ins.e = b === 0x38 ? MAP38 : MAP3A;
  ins.fn = ins.e.fn;
  if (ins.lock) ins.fn = opUD;
  return p - at;
}

function readS32(f: Fetcher, p: number): number {
  return f.byte(p) | (f.byte(p + 1) << 8) | (f.byte(p + 2) << 16) | (f.byte(p + 3) << 24);
}

function tooLong(ins: Insn, len: number): number {
  ins.fn = opGP0;
  ins.e = null;
  return Math.min(len, MAX_LEN);
}

function add64(lo: number, hi: number, dlo: number, dhi: number): [number, number] {
  const s = lo + dlo;
  return [s >>> 0, (hi + dhi + (s > 0xffffffff ? 1 : 0)) >>> 0];
}

const MAX_BLOCK = 64;

/** Decode the block starting at linear (lo, hi). Throws FAULT only if the first byte cannot be fetched. */
export function decodeBlock(c: Cpu, lo: number, hi: number): Block {
  const f = new Fetcher(c, lo, hi);
  const insns: Insn[] = [];
  const bps = c.breakpoints;
  let off = 0;
  for (;;) {
    // A breakpoint address is always a block's first instruction.
    if (bps !== null && insns.length > 0) {
      const [a, b] = add64(lo, hi, off, 0);
      if (bps.has(bpKey(a, b))) break;
    }
    const ins = new Insn();
    let len: number;
    try {
      len = decodeOne(f, off, ins);
    } catch (err) {
      if (err !== FAULT || insns.length === 0) throw err;
      break;
    }
    const crossesPage = ((lo & 0xfff) + off + len - 1) >> 12 !== ((lo & 0xfff) + off) >> 12;
    if (crossesPage && insns.length > 0) break;
    [ins.startLo, ins.startHi] = add64(lo, hi, off, 0);
    [ins.nextLo, ins.nextHi] = add64(lo, hi, off + len, 0);
    ins.len = len;
    ins.idx = insns.length;
    finishEa(ins);
    if (ins.e !== null && ins.e.fast !== undefined && ins.fn === ins.e.fn) ins.fn = ins.e.fast(ins) ?? ins.fn;
    insns.push(ins);
    off += len;
    if (ins.e === null || ins.e.end || crossesPage || insns.length >= MAX_BLOCK) break;
    if (((lo & 0xfff) + off) >> 12 !== 0) break;
  }
  const last = insns[insns.length - 1]!;
  const bp = bps !== null && bps.has(bpKey(lo, hi));
  return { startLo: lo, startHi: hi, nextLo: last.nextLo, nextHi: last.nextHi, runs: 0, born: c.icount, region: null, rpc: 0, chain0: null, chain1: null, epoch: -1, bp, pfn: f.pfns[0]!, pfns: f.pfns, insns };
}

/** Fold RIP-relative displacements and choose the effective-address function. */
function finishEa(ins: Insn): void {
  if (ins.rm !== -1) return;
  if (ins.scale === -1) {
    ins.scale = 0;
    [ins.dispLo, ins.dispHi] = add64(ins.nextLo, ins.nextHi, ins.dispLo, ins.dispHi);
    ins.base = NO_REG;
  }
  const simple = ins.asz === 8 && ins.seg < 0;
  if (ins.base === 4 || ins.base === 5) ins.ea = simple && ins.index < 0 ? eaStackBase : eaStack;
  else if (simple && ins.base >= 0 && ins.index >= 0) ins.ea = eaBaseIndex;
  else if (ins.asz === 4 || ins.seg >= 0 || ins.index >= 0) ins.ea = eaFull;
  else ins.ea = ins.base >= 0 ? eaBase : eaAbs;
}
