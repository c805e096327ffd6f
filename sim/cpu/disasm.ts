/**
 * A disassembler (the TUI state pane, diff reports), in AT&T syntax as `objdump -d` and gdb
 * print it. It does not decode by itself: the CPU's own decoder
 * (sim/cpu/decode.ts, driven by the one opcode table) turns bytes into
 * instructions, so what is shown is what the simulator executes; this file
 * only spells the decoded instructions. Opcodes the table lacks print as
 * `.byte`. The tests compare every instruction of the corpus kernels with
 * objdump.
 *
 * Input is a byte buffer with its guest address (the caller reads guest
 * memory through the vCPU's page tables); the decoder's fetches are served
 * from that buffer.
 */
import type { Cpu } from './cpu.js';
import { decodeBlock, NO_REG, type Insn } from './decode.js';
import { hasModrm } from './optable.js';

export type DisasmLine = {
  addr: bigint;
  len: number;
  bytes: Uint8Array;
  /** mnemonic and operands, e.g. `mov    %rsi,0x16001(%rip)        # 116008 <xen_start_info>` */
  text: string;
  /** false for `.byte` (an opcode the table does not have) */
  known: boolean;
};

/** `name+0x12` for an address, or null when it has no symbol. */
export type SymbolName = (addr: bigint) => string | null;

const M64 = (1n << 64n) - 1n;
const hex = (v: bigint): string => `0x${v.toString(16)}`;

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b', 'ah', 'ch', 'dh', 'bh'];
const SEGS = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];
const SUFFIX: Record<number, string> = { 1: 'b', 2: 'w', 4: 'l', 8: 'q' };
/** Prefix bytes the decoder accepts before the opcode. */
const PREFIXES = new Set([0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x64, 0x65, 0x26, 0x2e, 0x36, 0x3e]);
const IGNORED_SEG: Record<number, string> = { 0x26: 'es', 0x2e: 'cs', 0x36: 'ss', 0x3e: 'ds' };

const reg = (id: number, size: number): string => `%${(size === 1 ? R8 : size === 2 ? R16 : size === 4 ? R32 : R64)[id] ?? `r?${id}`}`;

/** Immediates shifted or counted: printed as the unsigned byte they are. */
const COUNT_IMM = new Set(['rol', 'ror', 'rcl', 'rcr', 'shl', 'sal', 'shr', 'sar', 'shld', 'shrd', 'bt', 'bts', 'btr', 'btc', 'int', 'in', 'out', 'enter']);
/** cmpps/cmppd/cmpss/cmpsd predicates by imm8, as objdump spells the pseudo-ops. */
const CMP_PREDICATES = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];
/** Never suffixed, even with only a memory operand (objdump's choice). */
const NO_SUFFIX = new Set(['push', 'pop', 'call', 'jmp', 'lcall', 'ljmp', 'cmpxchg8b', 'sgdt', 'sidt', 'lgdt', 'lidt', 'invlpg', 'prefetchw', 'lea', 'smsw', 'lmsw', 'sldt', 'str', 'lldt', 'ltr']);

/** The raw layout the formatter needs beyond the decoded Insn: prefixes and ModRM. */
type Raw = { prefixes: number[]; modrm: number; sib: number; opAt: number };

function rawLayout(b: Uint8Array): Raw {
  let p = 0;
  const prefixes: number[] = [];
  while (p < b.length && (PREFIXES.has(b[p]!) || (b[p]! >= 0x40 && b[p]! <= 0x4f))) prefixes.push(b[p++]!);
  const opAt = p;
  if (b[p] === 0x0f) p++;
  p++;
  const modrm = b[p] ?? 0;
  const sib = (modrm & 7) === 4 && modrm >> 6 !== 3 ? (b[p + 1] ?? 0) : -1;
  return { prefixes, modrm, sib, opAt };
}

function signed(v: bigint): string {
  const s = BigInt.asIntN(64, v);
  return s < 0n ? `-${hex(-s)}` : hex(s);
}

/** Spell one decoded instruction; `sym` names branch targets and RIP-relative addresses. */
export function formatInsn(ins: Insn, bytes: Uint8Array, sym: SymbolName = () => null): string {
  const e = ins.e;
  if (e === null) return `.byte ${[...bytes].map((x) => `0x${x.toString(16).padStart(2, '0')}`).join(',')}`;
  const raw = rawLayout(bytes);
  const next = (BigInt(ins.nextHi) << 32n) | BigInt(ins.nextLo);
  const imm = (BigInt(ins.immHi) << 32n) | BigInt(ins.immLo);
  const ops = e.ops === '' ? [] : e.ops.split(',');
  const mod = raw.modrm >> 6;
  const ripRel = ins.rm === -1 && mod === 0 && (raw.modrm & 7) === 5 && hasModrm(e);
  const w = (ins.rex & 8) !== 0;
  let mn = e.mn;
  let comment = '';
  let sizedByReg = false;
  let memSize = 0;

  const mem = (): string => {
    const seg = ins.seg === 4 ? '%fs:' : ins.seg === 5 ? '%gs:' : '';
    const disp = (BigInt(ins.dispHi) << 32n) | BigInt(ins.dispLo);
    if (ripRel) {
      const rel = BigInt.asIntN(64, disp - next);
      const s = sym(disp);
      comment = `        # ${s === null ? hex(disp) : `${disp.toString(16)} <${s}>`}`;
      return `${seg}${rel < 0n ? `-${hex(-rel)}` : hex(rel)}(${ins.asz === 4 ? '%eip' : '%rip'})`;
    }
    const areg = (id: number): string => reg(id, ins.asz);
    const sibBase = raw.sib >= 0 ? raw.sib & 7 : -1;
    const hasDisp = mod === 1 || mod === 2 || (mod === 0 && raw.sib >= 0 && sibBase === 5);
    if (ins.base === NO_REG && ins.index === NO_REG) return `${seg}${hex(ins.asz === 4 ? disp & 0xffffffffn : disp)}`;
    const d = hasDisp ? signed(disp) : '';
    const idx = ins.index === NO_REG ? '' : `,${areg(ins.index)},${1 << ins.scale}`;
    return `${seg}${d}(${ins.base === NO_REG ? '' : areg(ins.base)}${idx})`;
  };
  const immText = (v: bigint, size: number): string => {
    // counts and SSE selectors are unsigned bytes
    const mask = COUNT_IMM.has(mn) || /(^|,)[VWUPQN]/.test(e.ops) ? 0xffn : (1n << BigInt(8 * size)) - 1n;
    return `$${hex(v & mask)}`;
  };
  const sizeOf = (op: string): number => {
    const c = op[op.length - 1];
    return c === 'b' ? 1 : c === 'w' ? 2 : c === 'd' ? 4 : c === 'q' ? 8 : c === 'z' ? Math.min(ins.osz, 4) : c === 'y' ? (w ? 8 : 4) : ins.osz;
  };
  const str = (which: 'X' | 'Y'): string => {
    const base = which === 'X' ? 6 : 7;
    const seg = which === 'Y' ? '%es:' : ins.seg === 4 ? '%fs:' : ins.seg === 5 ? '%gs:' : '%ds:';
    return `${seg}(${reg(base, ins.asz)})`;
  };

  const operand = (op: string): string | null => {
    switch (op) {
      case '1':
        return null;
      case 'AL':
        sizedByReg = true;
        return '%al';
      case 'rAX':
      case 'eAX':
        sizedByReg = true;
        return reg(0, op === 'eAX' ? Math.min(ins.osz, 4) : ins.osz);
      case 'CL':
        return '%cl';
      case 'DX':
        return '(%dx)';
      case 'AX':
        sizedByReg = true;
        return '%ax';
      case 'STi':
        sizedByReg = true;
        return `%st(${raw.modrm & 7})`;
      case 'Ib':
      case 'Iw':
      case 'Iz':
      case 'Iv':
        if (op === 'Iw' && mn === 'enter') return `$${hex(imm & 0xffffn)}`;
        return immText(op === 'Ib' && mn === 'enter' ? BigInt(ins.imm2) : imm, op === 'Iw' ? 2 : ins.osz);
      case 'Jb':
      case 'Jz': {
        const t = (next + imm) & M64;
        const s = sym(t);
        return s === null ? hex(t) : `${t.toString(16)} <${s}>`;
      }
      case 'Ob':
      case 'Ov':
        return `${ins.seg === 4 ? '%fs:' : ins.seg === 5 ? '%gs:' : ''}${hex(imm)}`;
      case 'Sw':
        sizedByReg = true;
        return `%${SEGS[ins.reg & 7] ?? '?'}`;
      case 'Cq':
        sizedByReg = true;
        return `%cr${ins.reg}`;
      case 'Dq':
        sizedByReg = true;
        return `%db${ins.reg}`;
      case 'Xb':
      case 'Xv':
      case 'Xz':
        return str('X');
      case 'Yb':
      case 'Yv':
      case 'Yz':
        return str('Y');
      default:
        break;
    }
    const kind = op[0];
    // XMM (V reg, W/U rm) and MMX (P reg, Q/N rm) registers; memory forms as for E.
    if (kind === 'V' || kind === 'P') {
      sizedByReg = true;
      return kind === 'V' ? `%xmm${ins.reg}` : `%mm${ins.reg & 7}`;
    }
    if ((kind === 'W' || kind === 'U' || kind === 'Q' || kind === 'N') && ins.rm !== -1) {
      sizedByReg = true;
      return kind === 'W' || kind === 'U' ? `%xmm${ins.rm}` : `%mm${ins.rm & 7}`;
    }
    if (kind === 'W' || kind === 'Q') return mem();
    if (kind === 'G' || kind === 'Z') {
      sizedByReg = true;
      return reg(ins.reg, sizeOf(op));
    }
    if (kind === 'R') {
      sizedByReg = true;
      return reg(ins.rm, 8);
    }
    if (kind === 'E' || kind === 'M') {
      if (ins.rm !== -1) {
        sizedByReg = true;
        // mov to a segment register names the full register, as objdump does.
        return reg(ins.rm, op === 'Ew' && ops.includes('Sw') ? Math.max(ins.osz, 4) : sizeOf(op));
      }
      // Memory-only operands (x87 and SSE state, prefetches) take no suffix.
      memSize = kind === 'M' ? 0 : sizeOf(op);
      return mem();
    }
    return op;
  };

  let list = ops.map(operand).filter((x): x is string => x !== null);
  const indirect = (mn === 'call' || mn === 'jmp') && ops[0] === 'Eq';
  if (indirect || mn === 'lcall' || mn === 'ljmp') list = list.map((x) => `*${x}`);
  // AT&T: source first (enter keeps its order).
  if (mn !== 'enter') list.reverse();

  // Mnemonics AT&T spells differently.
  const suffixOf = (n: number): string => SUFFIX[n] ?? '';
  switch (mn) {
    case 'movzx':
    case 'movsx':
      mn = `mov${mn[3]}${e.ops.endsWith('Eb') ? 'b' : 'w'}${suffixOf(ins.osz)}`;
      sizedByReg = true;
      break;
    case 'movsxd':
      if (w) mn = 'movslq';
      break;
    case 'cbw':
      mn = ins.osz === 2 ? 'cbtw' : ins.osz === 8 ? 'cltq' : 'cwtl';
      break;
    case 'cwd':
      mn = ins.osz === 2 ? 'cwtd' : ins.osz === 8 ? 'cqto' : 'cltd';
      break;
    case 'sal':
      mn = 'shl';
      break;
    case 'iretq':
      mn = w ? 'iretq' : ins.osz === 2 ? 'iretw' : 'iret';
      break;
    case 'sysret':
      mn = w ? 'sysretq' : 'sysretl';
      break;
    case 'lret':
      if (w) mn = 'lretq';
      break;
    case 'pushf':
    case 'popf':
      if (ins.osz === 2) mn += 'w';
      break;
    case 'movs':
    case 'cmps':
    case 'ins':
    case 'outs':
      mn += suffixOf(e.ops.includes('b') ? 1 : sizeOf(ops.find((o) => /^[XY]/.test(o)) ?? 'Xv'));
      break;
    case 'xchg':
      if (e.code === 0x90 && e.map === 0 && ins.reg === 0) {
        if (ins.rep === 0xf3) return 'pause';
        if (ins.osz === 4) return 'nop';
      }
      break;
    case 'movd':
      if (w && e.pfx === 0x66) mn = 'movq';
      break;
    case 'cmpps':
    case 'cmppd':
    case 'cmpss':
    case 'cmpsd':
      // predicates 0-7 as pseudo-ops (cmpltps); reserved bits set: the plain form with its immediate
      if ((imm & 0xffn) < 8n) {
        mn = `cmp${CMP_PREDICATES[Number(imm & 7n)]}${mn.slice(3)}`;
        list = list.slice(1);
      }
      break;
    case 'cvtsi2ss':
    case 'cvtsi2sd':
      if (ins.rm === -1) mn += w ? 'q' : 'l';
      break;
    case 'fxsave':
    case 'fxrstor':
      if (w) mn += '64';
      break;
    case 'fnstenv':
    case 'fldenv':
    case 'fnsave':
    case 'frstor':
      if (ins.osz === 2) mn += 's'; // the 16-bit environment format
      break;
    case 'mov':
      if (ops[1] === 'Iv' && ins.osz === 8) mn = 'movabs';
      if (ops.includes('Ob') || ops.includes('Ov')) mn = ins.asz === 8 ? 'movabs' : 'addr32 mov';
      break;
    default:
      break;
  }
  if (!sizedByReg && memSize > 0 && !NO_SUFFIX.has(e.mn) && !/^(set|cmov)/.test(e.mn)) mn += suffixOf(memSize);

  // Prefixes objdump spells as words: lock, rep/repz/repnz on string instructions, ignored segments, extra 66s.
  const words: string[] = [];
  let opsize = raw.prefixes.filter((p) => p === 0x66).length;
  for (const p of raw.prefixes) {
    const ig = IGNORED_SEG[p];
    if (ig !== undefined) words.push(ig);
    // FS/GS with no memory operand to apply to: objdump names the prefix
    else if ((p === 0x64 || p === 0x65) && ins.rm !== -1) words.push(p === 0x64 ? 'fs' : 'gs');
    else if (p === 0x66 && opsize > 1) {
      words.push('data16');
      opsize--;
    }
  }
  if (ins.lock) words.unshift('lock');
  if (ins.rep !== 0 && e.pfx === undefined) {
    const strOp = /^(movs|cmps|stos|lods|scas|ins|outs)$/.test(e.mn);
    const cmpLike = e.mn === 'cmps' || e.mn === 'scas';
    if (strOp) words.unshift(ins.rep === 0xf2 ? 'repnz' : cmpLike ? 'repz' : 'rep');
    else words.unshift(ins.rep === 0xf2 ? 'repnz' : 'repz');
  }
  const head = [...words, mn].join(' ');
  return list.length === 0 ? head : `${head.padEnd(6)} ${list.join(',')}${comment}`;
}

/** A CPU stand-in whose instruction fetches read `bytes` (at guest address `base`); other addresses read as zero. */
function bufferCpu(bytes: Uint8Array, base: bigint): Cpu {
  const mmu = {
    lastPfn: 0,
    fetchView(lo: number, hi: number): DataView {
      const page = ((BigInt(hi) << 32n) | BigInt(lo >>> 0)) & ~0xfffn;
      const out = new Uint8Array(4096);
      const from = page - base;
      for (let k = 0; k < 4096; k++) {
        const at = from + BigInt(k);
        if (at >= 0n && at < BigInt(bytes.length)) out[k] = bytes[Number(at)]!;
      }
      mmu.lastPfn = Number((page >> 12n) & 0xfffffffn);
      return new DataView(out.buffer);
    },
  };
  return { mmu, breakpoints: null } as unknown as Cpu;
}

/**
 * Disassemble `bytes` found at guest address `base`, from the start, up to
 * `max` instructions or the last instruction that fits in the buffer.
 */
export function disassemble(bytes: Uint8Array, base: bigint, sym: SymbolName = () => null, max = Number.MAX_SAFE_INTEGER): DisasmLine[] {
  const cpu = bufferCpu(bytes, base);
  const out: DisasmLine[] = [];
  let at = base;
  const end = base + BigInt(bytes.length);
  while (at < end && out.length < max) {
    const block = decodeBlock(cpu, Number(at & 0xffffffffn), Number((at >> 32n) & 0xffffffffn));
    for (const ins of block.insns) {
      const addr = (BigInt(ins.startHi) << 32n) | BigInt(ins.startLo);
      if (addr + BigInt(ins.len) > end || out.length >= max) return out;
      const raw = bytes.subarray(Number(addr - base), Number(addr - base) + ins.len);
      out.push({ addr, len: ins.len, bytes: raw, text: formatInsn(ins, raw, sym), known: ins.e !== null });
      at = addr + BigInt(ins.len);
    }
  }
  return out;
}

/**
 * The instructions around `rip`, gdb style: decoding starts at `start` (the
 * enclosing symbol: x86 cannot be decoded backwards) and keeps up to
 * `before` instructions before the one at `rip` and `after` after it. When
 * decoding from `start` does not land on `rip` (data in the code, a wrong
 * symbol), it restarts at `rip` itself. `cur` is the index of rip's line, or
 * -1 when there is nothing to decode.
 */
export function around(bytes: Uint8Array, base: bigint, start: bigint, rip: bigint, before: number, after: number, sym?: SymbolName): { lines: DisasmLine[]; cur: number } {
  const from = start >= base && start <= rip ? start : rip;
  if (rip < base || rip >= base + BigInt(bytes.length)) return { lines: [], cur: -1 };
  const slice = (a: bigint): Uint8Array => bytes.subarray(Number(a - base));
  let lines = disassemble(slice(from), from, sym);
  let cur = lines.findIndex((l) => l.addr === rip);
  if (cur < 0) {
    lines = disassemble(slice(rip), rip, sym, after + 1);
    cur = lines.length > 0 ? 0 : -1;
  }
  if (cur < 0) return { lines: [], cur: -1 };
  const lo = Math.max(0, cur - before);
  return { lines: lines.slice(lo, cur + after + 1), cur: cur - lo };
}

/**
 * What the first instruction of `bytes` is, for the report of a run that
 * stopped at it because the core does not implement it:
 * "unimplemented instruction `fadd` (d8 c1)", or by its class when the
 * decoder only measured it: "unimplemented AVX (VEX-encoded) instruction
 * (c5 f8 77)".
 */
export function unimplementedText(bytes: Uint8Array, base: bigint): string {
  const ins = decodeFirst(bytes, base);
  const n = Math.min(ins.len, bytes.length);
  const hex = [...bytes.subarray(0, n)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  const e = ins.e;
  if (e === null) return `unimplemented instruction (${hex})`;
  return e.mn.startsWith('(') ? `unimplemented ${e.unimpl ?? ''} instruction (${hex})` : `unimplemented instruction \`${e.mn}\` (${hex})`;
}

/** The decoded first instruction of `bytes` (for tools and tests that need its operands). */
export function decodeFirst(bytes: Uint8Array, base = 0n): Insn {
  return decodeBlock(bufferCpu(bytes, base), Number(base & 0xffffffffn), Number((base >> 32n) & 0xffffffffn)).insns[0]!;
}
