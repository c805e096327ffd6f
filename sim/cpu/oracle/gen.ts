/**
 * Random instruction generator driven by the opcode table: for an entry it
 * builds a whole, valid encoding (prefixes, REX, ModRM/SIB, displacement,
 * immediates) and a register state that points memory operands into the
 * oracle's data region most of the time, so the host and the interpreter can
 * be compared on the same bytes.
 *
 * Randomness comes from a word stream (fast-check supplies it in the tests),
 * so a case is reproducible from its entry index and the stream.
 */
import { ENTRIES } from '../decode.js';
import { hasModrm, OSZ, type OpEntry } from '../optable.js';
import { memSpan, randomFpu, usesFpu } from './gen-fpu.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, fillData, type OracleCase } from './host-cpu.js';

/** Entries the host can run from user mode with deterministic results (and the core implements). */
export const ORACLE_ENTRIES: readonly OpEntry[] = ENTRIES.filter((e) => e.noOracle === undefined && e.unimpl === undefined);

const M64 = (1n << 64n) - 1n;
const SPECIAL = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n] as const;

class Stream {
  private k = 0;
  constructor(private readonly w: readonly number[]) {}
  next(): number {
    const v = this.w[this.k % this.w.length]! >>> 0;
    this.k++;
    return (v ^ Math.imul(this.k, 0x9e3779b9)) >>> 0;
  }
  below(n: number): number {
    return this.next() % n;
  }
  chance(num: number, den: number): boolean {
    return this.below(den) < num;
  }
  u64(): bigint {
    switch (this.below(4)) {
      case 0:
        return SPECIAL[this.below(SPECIAL.length)]!;
      case 1:
        return BigInt(this.below(256));
      default:
        return (BigInt(this.next()) << 32n) | BigInt(this.next());
    }
  }
}

/** lea rax, [rax+1]: marks a fall-through without touching the flags. */
const SKIP = [0x48, 0x8d, 0x40, 0x01] as const;

const isString = (e: OpEntry): boolean => e.code >= 0xa4 && e.code <= 0xaf && e.map === 0 && e.code !== 0xa8 && e.code !== 0xa9;
const hasMem = (e: OpEntry): boolean => /(^|,)([EMW][a-z]*)(,|$)/.test(e.ops);
const usesModrm = hasModrm;

/** Build one case for `e` from the word stream `words`. */
export function buildCase(e: OpEntry, words: readonly number[]): OracleCase {
  const s = new Stream(words);
  const regs: bigint[] = Array.from({ length: 16 }, () => s.u64());
  const bytes: number[] = [];
  const str = isString(e);

  if (s.chance(1, 8)) bytes.push([0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65][s.below(6)]!);
  // A 66 would select another SSE instruction unless F2/F3 is the mandatory prefix.
  const o16 = (e.osz === undefined || e.osz === OSZ.V || e.osz === OSZ.D64) && (e.pfx === undefined || e.pfx >= 0xf2) && s.chance(1, 4);
  if (o16) bytes.push(0x66);
  const a32 = (hasMem(e) || str || e.code === 0xe2 || e.code === 0xe3) && s.chance(1, 8);
  if (a32) bytes.push(0x67);
  let lock = false;
  if (str && s.chance(2, 3)) bytes.push(s.chance(1, 2) ? 0xf3 : 0xf2);
  if (e.pfx) bytes.push(e.pfx);
  let rex = 0;
  if (s.chance(1, 2)) rex = 0x40 | s.below(16);
  const w = (rex & 8) !== 0;
  const osz = e.osz === OSZ.B ? 1 : e.osz === OSZ.F64 ? 8 : w ? 8 : o16 ? 2 : e.osz === OSZ.D64 ? 8 : 4;

  // ModRM shape decided before the lock prefix (only memory forms may lock).
  let mod = 3;
  if (usesModrm(e)) {
    if (e.mod === 'reg') mod = 3;
    else if (e.mod === 'mem') mod = s.below(3);
    else mod = s.chance(1, 2) ? 3 : s.below(3);
  }
  if (e.lock && mod !== 3 && usesModrm(e) && s.chance(1, 3)) {
    lock = true;
    bytes.unshift(0xf0);
  }
  void lock;
  if (rex) bytes.push(rex);
  if (e.map === 1) bytes.push(0x0f);
  bytes.push(e.plus ? e.code + s.below(8) : e.code);

  // Memory operand plan: registers to fix up once the length is known.
  let ripDispAt = -1;
  const fpu = usesFpu(e);
  const span = fpu ? memSpan(e) : 16;
  let target = DATA_BASE + s.below(DATA_SIZE - 16 - span);
  if (fpu && s.chance(3, 4)) target &= ~15; // SSE: mostly aligned, else #GP(0) for the aligned forms
  // Areas larger than 16 bytes stay inside the data region: where the host
  // reports CR2 for them (the area's last byte, on this AMD) is vendor-specific.
  if (span <= 16 && s.chance(1, 16)) target = s.chance(1, 2) ? DATA_BASE - 8 + s.below(16) : DATA_BASE + DATA_SIZE - 8 + s.below(16);
  else if (span <= 16 && s.chance(1, 8)) target = DATA_BASE + 0x1000 - 8 + s.below(16); // straddles the two data pages
  let base = -1;
  let index = -1;
  let scale = 0;
  let disp = 0;
  let gReg = -1;
  if (usesModrm(e)) {
    const reg = e.ext ?? s.below(8);
    gReg = reg | ((rex & 4) << 1);
    let rm = e.rmv ?? s.below(8);
    if (mod !== 3 && rm === 5 && mod === 0) {
      ripDispAt = bytes.length + 1;
    }
    bytes.push((mod << 6) | (reg << 3) | rm);
    if (mod !== 3) {
      if (rm === 4) {
        const sib = s.below(256);
        bytes.push(sib);
        scale = sib >> 6;
        const idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
        index = idx === 4 ? -1 : idx;
        if ((sib & 7) === 5 && mod === 0) {
          disp = (s.next() % 4096) - 2048;
          pushLe(bytes, disp, 4);
        } else base = (sib & 7) | ((rex & 1) << 3);
        rm = -1;
      } else if (rm === 5 && mod === 0) {
        pushLe(bytes, 0, 4);
      } else base = rm | ((rex & 1) << 3);
      if (mod === 1) {
        disp = (s.below(256) << 24) >> 24;
        bytes.push(disp & 0xff);
      } else if (mod === 2) {
        disp = (s.next() % 8192) - 4096;
        pushLe(bytes, disp, 4);
      }
    }
  }

  // Immediates.
  for (const op of e.ops.split(',')) {
    switch (op) {
      case 'Ib':
        bytes.push(e.mn.match(/^(sh|sa|ro|rc|bt)/) ? s.below(80) : s.below(256));
        break;
      case 'Iw':
        pushLe(bytes, s.below(e.mn === 'enter' ? 64 : 65536), 2);
        break;
      case 'Iz':
        pushLe(bytes, s.next(), osz === 2 ? 2 : 4);
        break;
      case 'Iv':
        pushLe(bytes, s.next(), osz === 8 ? 4 : osz);
        if (osz === 8) pushLe(bytes, s.next(), 4);
        break;
      case 'Jb':
        bytes.push(SKIP.length);
        break;
      case 'Jz':
        pushLe(bytes, SKIP.length, 4);
        break;
      case 'Ob':
      case 'Ov':
        pushLe(bytes, target, 4);
        if (!a32) pushLe(bytes, 0, 4);
        break;
    }
  }
  // A taken branch skips SKIP, a fall-through runs it: both end at the code's end.
  if (/(^|,)J/.test(e.ops)) bytes.push(...SKIP);
  if (ripDispAt >= 0) {
    const d = target - (CODE_BASE + bytes.length);
    for (let k = 0; k < 4; k++) bytes[ripDispAt + k] = (d >> (8 * k)) & 0xff;
  }

  // Registers: stack in the data region, memory operands aimed at `target`.
  regs[4] = BigInt(DATA_BASE + 0x800 + 8 * s.below(256) + (s.chance(1, 8) ? s.below(8) : 0));
  if (str) {
    regs[6] = BigInt(DATA_BASE + s.below(DATA_SIZE));
    regs[7] = BigInt(DATA_BASE + s.below(DATA_SIZE));
    regs[1] = BigInt(s.below(20));
  }
  if (e.mn.startsWith('loop') || e.mn === 'jrcxz') regs[1] = BigInt(s.below(4));
  if (/^(sh|sa|ro|rc)/.test(e.mn)) regs[1] = BigInt(s.below(80));
  if (e.mn === 'enter') regs[5] = BigInt(DATA_BASE + 0x1000 + 8 * s.below(64));
  // maskmovdqu stores to [rDI]: inside the data region (a fault with a partial mask is vendor-specific)
  if (e.mn === 'maskmovdqu') regs[7] = BigInt(target);
  if (/^bt/.test(e.mn) && mod !== 3 && !e.ops.includes('Ib')) regs[gReg] = (BigInt(s.below(512)) - 256n) & M64;
  if (index >= 0 && index !== base) regs[index] = (BigInt(s.below(64)) - 32n) & M64;
  if (base >= 0) {
    const ix = index >= 0 && index !== base ? regs[index]! << BigInt(scale) : 0n;
    let v = BigInt(target) - BigInt(disp) - ix;
    if (index === base) v = (BigInt(target) - BigInt(disp)) / (1n + (1n << BigInt(scale)));
    regs[base] = v & M64;
  } else if (index >= 0) {
    regs[index] = ((BigInt(target) - BigInt(disp)) >> BigInt(scale)) & M64;
  }
  const rflags = s.next() & 0x8d5 | (s.chance(1, 4) ? 0x400 : 0);
  const seed = s.next();
  // popf of a word with TF set single-steps the host (#DB), which the core does not model: pop one without.
  if (e.mn === 'popf') {
    const data = fillData(seed);
    let off = Number(regs[4]!) - DATA_BASE;
    for (let k = 0; k < 64 && (data[off + 1]! & 1) !== 0; k++) off = 0x800 + ((off - 0x800 + 8) % 0x7f0);
    regs[4] = BigInt(DATA_BASE + off);
  }
  const c: OracleCase = { regs: regs.map((r) => r & M64), rflags, code: Uint8Array.from(bytes), seed };
  if (fpu) c.fpu = randomFpu(() => s.next());
  return c;
}

function pushLe(out: number[], v: number, n: number): void {
  for (let k = 0; k < n; k++) out.push((v >>> (8 * k)) & 0xff);
}

/** A short description of the entry for reports: `add Ev,Gv (01)`. */
export function entryName(e: OpEntry): string {
  const code = `${e.map ? '0f ' : ''}${e.code.toString(16).padStart(2, '0')}${e.ext !== undefined ? ` /${e.ext}` : ''}`;
  return `${e.mn} ${e.ops} (${e.pfx ? `${e.pfx.toString(16)} ` : ''}${code})`;
}
