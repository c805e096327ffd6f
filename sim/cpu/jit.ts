/**
 * Hot-block translation to JavaScript. A block that has run HOT_RUNS times
 * becomes one generated function: the commonest 32/64-bit forms (mov, the
 * basic ALU ops, lea, jmp/jcc) are emitted inline with their operands as
 * constants, and every other instruction calls its interpreter handler.
 * A compare or logic op followed by a jcc in the same block is fused: the
 * branch tests the operands directly instead of the lazy flags.
 *
 * Contract (the interpreter's, exactly; jit.test.ts compares the two):
 * - registers, memory, flags (lazy record included) and RIP end up as the
 *   interpreter leaves them;
 * - before any instruction that can fault, `c.bi` holds its index, so the run
 *   loop can restart at it; emitted register-only code cannot fault;
 * - after any instruction that may set `c.stop` (a store, which may hit
 *   decoded code, or a handler call) the function returns early;
 * - the return value is the number of instructions retired.
 */
import type { Cpu } from './cpu.js';
import type { Block, Insn } from './decode.js';
import { cond, getCF, LOP } from './flags.js';
import { STATUS_FLAGS } from './regs.js';

export type CompiledBlock = (c: Cpu) => number;

/**
 * Entries into a block before it is translated. Generated functions start in
 * V8's own interpreter and only pay off once V8 optimizes them, so only
 * really hot blocks are worth it (measured on the compute guests: 50 runs
 * made branchy code slower, 2,000-10,000 did not).
 */
export const HOT_RUNS = 4096;

/** Blocks with fewer inline-emitted instructions stay interpreted (the call-per-instruction form gains nothing). */
const MIN_EMITTED = 3;

/** ALU ops by ModRM.reg / row (alu-core.ts AluOp), and TEST = 8. */
const ADD = 0, OR = 1, AND = 4, SUB = 5, XOR = 6, CMP = 7, TEST = 8;

/** Flags of the last emitted flag-setting instruction, for jcc fusion. */
type FlagSrc = { kind: 'sub' | 'logic'; sz: 4 | 8 } | null;

/** Emits one instruction as JS, or returns null to call its handler. `fl` is the fusion state in/out. */
function emit(i: Insn, k: number, st: { fl: FlagSrc }): string | null {
  const e = i.e;
  if (e === null || i.lock || i.rep !== 0) return null;
  const sz = i.osz;
  if (sz !== 4 && sz !== 8) return jcc(i, k, st) ?? jmp(i);
  const fn = e.fn.name;
  const d = 2 * i.rm;
  const g = 2 * i.reg;
  // mov
  if (fn === 'opMovEvGv' || fn === 'opMovGvEv') {
    const toE = fn === 'opMovEvGv';
    if (i.rm >= 0) {
      const [dst, src] = toE ? [d, g] : [g, d];
      return `r[${dst}] = r[${src}]; r[${dst + 1}] = ${sz === 8 ? `r[${src + 1}]` : '0'};`;
    }
    const ea = `c.bi = ${k}; i${k}.ea(c, i${k});`;
    if (toE) {
      const w = sz === 8 ? `m.write64(c.eaLo, c.eaHi, r[${g}], r[${g + 1}]);` : `m.write32(c.eaLo, c.eaHi, r[${g}]);`;
      return `${ea} ${w} if (c.stop) return ${k + 1};`;
    }
    return sz === 8
      ? `${ea} r[${g}] = m.read64(c.eaLo, c.eaHi); r[${g + 1}] = m.hi32;`
      : `${ea} r[${g}] = m.read32(c.eaLo, c.eaHi); r[${g + 1}] = 0;`;
  }
  if (fn === 'opMovZvIv' || (fn === 'opMovEvIz' && i.rm >= 0)) {
    const dst = fn === 'opMovZvIv' ? g : d;
    return `r[${dst}] = ${i.immLo >>> 0}; r[${dst + 1}] = ${sz === 8 ? i.immHi >>> 0 : 0};`;
  }
  if (fn === 'opLea' && i.asz === 8 && i.seg < 0) {
    return `eaFull(c, i${k}); r[${g}] = c.eaLo; r[${g + 1}] = ${sz === 8 ? 'c.eaHi' : '0'};`;
  }
  // add/sub/cmp/and/or/xor/test with register operands
  const alu = fn === 'opAluEvGv' || fn === 'opAluGvEv' || fn === 'opAluEvIz' || fn === 'opTestEvGv' || fn === 'opTestEvIz';
  if (alu && i.rm >= 0) {
    const op = fn.startsWith('opTest') ? TEST : i.sub;
    if (![ADD, OR, AND, SUB, XOR, CMP, TEST].includes(op)) return null;
    const imm = fn.endsWith('Iz');
    const [dst, src] = fn === 'opAluGvEv' ? [g, d] : [d, g];
    const bLo = imm ? `${i.immLo >>> 0}` : `r[${src}]`;
    const bHi = imm ? `${i.immHi >>> 0}` : `r[${src + 1}]`;
    const write = op !== CMP && op !== TEST;
    st.fl = op === ADD ? null : { kind: op === SUB || op === CMP ? 'sub' : 'logic', sz };
    return sz === 4 ? alu32(op, dst, bLo, write) : alu64(op, dst, bLo, bHi, write);
  }
  return jcc(i, k, st) ?? jmp(i);
}

function alu32(op: number, dst: number, b: string, write: boolean): string {
  const w = write ? `r[${dst}] = x; r[${dst + 1}] = 0; ` : '';
  if (op === ADD || op === SUB || op === CMP) {
    const x = op === ADD ? 'a + b' : 'a - b';
    return `{ const a = r[${dst}], b = ${b}; const x = (${x}) >>> 0; ${w}c.lop = ${op === ADD ? LOP.ADD : LOP.SUB}; c.lsz = 4; c.la = a; c.lb = b; c.lres = x; fa = a; fb = b; fx = x; }`;
  }
  const x = op === OR ? 'a | b' : op === XOR ? 'a ^ b' : 'a & b';
  return `{ const a = r[${dst}], b = ${b}; const x = (${x}) >>> 0; ${w}c.flags &= ${~STATUS_FLAGS}; c.lop = ${LOP.RES}; c.lsz = 4; c.lres = x; fx = x; }`;
}

function alu64(op: number, dst: number, b: string, bH: string, write: boolean): string {
  const w = write ? `r[${dst}] = x; r[${dst + 1}] = xH; ` : '';
  const head = `const a = r[${dst}], aH = r[${dst + 1}], b = ${b}, bH = ${bH};`;
  if (op === ADD || op === SUB || op === CMP) {
    const calc =
      op === ADD
        ? 'const s = a + b; const x = s >>> 0; const xH = (aH + bH + (s > 0xffffffff ? 1 : 0)) >>> 0;'
        : 'const s = a - b; const x = s >>> 0; const xH = (aH - bH - (s < 0 ? 1 : 0)) >>> 0;';
    return `{ ${head} ${calc} ${w}c.lop = ${op === ADD ? LOP.ADD : LOP.SUB}; c.lsz = 8; c.la = a; c.laH = aH; c.lb = b; c.lbH = bH; c.lres = x; c.lresH = xH; fa = a; faH = aH; fb = b; fbH = bH; fx = x; fxH = xH; }`;
  }
  const o = op === OR ? '|' : op === XOR ? '^' : '&';
  return `{ ${head} const x = (a ${o} b) >>> 0, xH = (aH ${o} bH) >>> 0; ${w}c.flags &= ${~STATUS_FLAGS}; c.lop = ${LOP.RES}; c.lsz = 8; c.lres = x; c.lresH = xH; fx = x; fxH = xH; }`;
}

/** Target of a relative branch, or null if it is not canonical (the handler raises #GP). */
function target(i: Insn): [number, number] | null {
  const s = i.nextLo + i.immLo;
  const lo = s >>> 0;
  const hi = (i.nextHi + i.immHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
  const t = hi >> 15;
  return t === 0 || t === -1 ? [lo, hi] : null;
}

function jmp(i: Insn): string | null {
  if (i.e?.fn.name !== 'opJmpJz') return null;
  const t = target(i);
  return t === null ? null : `c.ripLo = ${t[0]}; c.ripHi = ${t[1]};`;
}

/** Condition `cc` computed from the fused compare's operands, or null when not fusable. */
function fused(cc: number, fl: NonNullable<FlagSrc>): string | null {
  const neg = (cc & 1) !== 0;
  let t: string | null = null;
  const base = cc >> 1;
  if (fl.sz === 4) {
    if (base === 2) t = 'fx === 0';
    else if (fl.kind === 'sub') {
      if (base === 1) t = 'fa < fb';
      else if (base === 3) t = 'fa <= fb';
      else if (base === 6) t = '(fa | 0) < (fb | 0)';
      else if (base === 7) t = '(fa | 0) <= (fb | 0)';
    } else if (base === 4) t = '(fx | 0) < 0';
  } else {
    if (base === 2) t = 'fx === 0 && fxH === 0';
    else if (fl.kind === 'sub') {
      const ltU = '(faH < fbH || (faH === fbH && fa < fb))';
      const ltS = '((faH | 0) < (fbH | 0) || (faH === fbH && fa < fb))';
      if (base === 1) t = ltU;
      else if (base === 3) t = `(${ltU} || (fa === fb && faH === fbH))`;
      else if (base === 6) t = ltS;
      else if (base === 7) t = `(${ltS} || (fa === fb && faH === fbH))`;
    } else if (base === 4) t = '(fxH | 0) < 0';
  }
  return t === null ? null : neg ? `!(${t})` : t;
}

function jcc(i: Insn, _k: number, st: { fl: FlagSrc }): string | null {
  if (i.e?.fn.name !== 'opJcc') return null;
  const t = target(i);
  if (t === null) return null;
  const cc = i.sub;
  const test = (st.fl !== null ? fused(cc, st.fl) : null) ?? `cond(c, ${cc})`;
  return `if (${test}) { c.ripLo = ${t[0]}; c.ripHi = ${t[1]}; }`;
}

/** Instructions that leave the flags alone, so a pending fusion survives them. */
function keepsFlags(i: Insn): boolean {
  const n = i.e?.fn.name ?? '';
  return /^op(Mov|Lea|Nop|Push|Pop)/.test(n);
}

/** Translate a block; the result runs all its instructions (the caller checks the budget). */
export function compileBlock(b: Block, eaFull: (c: Cpu, i: Insn) => void): CompiledBlock | null {
  const params = ['cond', 'getCF', 'eaFull'];
  const args: unknown[] = [cond, getCF, eaFull];
  const st: { fl: FlagSrc } = { fl: null };
  let body = '';
  let emitted = 0;
  b.insns.forEach((i, k) => {
    params.push(`f${k}`, `i${k}`);
    args.push(i.fn, i);
    const before = st.fl;
    const code = emit(i, k, st);
    if (code !== null) {
      body += `${code}\n`;
      emitted++;
    }
    else {
      body += `c.bi = ${k}; f${k}(c, i${k}); if (c.stop) return ${k + 1};\n`;
      st.fl = null;
    }
    if (code !== null && st.fl === before && !keepsFlags(i)) st.fl = null;
  });
  if (emitted < MIN_EMITTED) return null;
  const src = `return function block(c) {\nconst r = c.r, m = c.mmu;\nlet fa = 0, faH = 0, fb = 0, fbH = 0, fx = 0, fxH = 0;\n${body}return ${b.insns.length};\n};`;
  const factory = new Function(...params, src) as (...a: unknown[]) => CompiledBlock;
  return factory(...args);
}
