/**
 * Emitters for data movement (mov.ts) and the stack (stack.ts): mov in
 * every form but moffs, movzx/movsx/movsxd, lea, xchg, cmovcc, setcc,
 * cbw/cwd and their wider forms, nop, push/pop of registers and
 * immediates, push of memory, leave. Stack forms with a 16-bit operand size
 * stay with their handlers.
 */
import type { Insn } from './decode.js';
import { immOf, type Emitter } from './jit-alu.js';
import { condOf } from './jit-flags.js';
import type { Gen } from './jit-gen.js';

function opMovEvGv(g: Gen, i: Insn): string {
  const sz = i.osz;
  const lo = g.reg(i.reg, sz);
  const hi = g.regH(i.reg);
  if (i.rm >= 0) return g.setReg(i.rm, sz, lo, hi);
  return `${g.ea()} if (${g.hit(sz, true)}) { ${g.store(sz, lo, hi)} } else { ${g.exitBefore()} }`;
}

/** Load E (size sz) into v/vH, then `then` (register form: straight from the register). */
function loadE(g: Gen, i: Insn, sz: number, then: (lo: string, hi: string) => string): string {
  if (i.rm >= 0) return then(g.reg(i.rm, sz), g.regH(i.rm));
  const t = then('v', 'vH');
  return `${g.ea()} if (${g.hit(sz)}) { v = ${g.load(sz)};${sz === 8 ? ` vH = ${g.load(8, true)};` : ''} ${t} } else { ${g.exitBefore()} }`;
}

function opMovGvEv(g: Gen, i: Insn): string {
  return loadE(g, i, i.osz, (lo, hi) => g.setReg(i.reg, i.osz, lo, hi));
}

function opMovEvIz(g: Gen, i: Insn): string {
  const sz = i.osz;
  const [lo, hi] = immOf(i, sz);
  if (i.rm >= 0) return g.setReg(i.rm, sz, lo, hi);
  return `${g.ea()} if (${g.hit(sz, true)}) { ${g.store(sz, lo, hi)} } else { ${g.exitBefore()} }`;
}

function opMovZvIv(g: Gen, i: Insn): string {
  const [lo, hi] = immOf(i, i.osz);
  return g.setReg(i.reg, i.osz, lo, hi);
}

/** movzx Gv, Eb/Ew (sub = source size) */
function opMovzx(g: Gen, i: Insn): string {
  return loadE(g, i, i.sub, (lo) => g.setReg(i.reg, i.osz, lo, '0'));
}

/** movsx Gv, Eb/Ew, movsxd Gv, Ed: x = the source sign-extended to int32 */
function opMovsx(g: Gen, i: Insn): string {
  const s = i.sub;
  return loadE(g, i, s, (lo) => {
    const x = s === 1 ? `x = (${lo} << 24) >> 24;` : s === 2 ? `x = (${lo} << 16) >> 16;` : `x = ${lo} | 0;`;
    return `${x} ${g.setReg(i.reg, i.osz, i.osz === 2 ? '(x & 65535)' : '(x >>> 0)', '((x >> 31) >>> 0)')}`;
  });
}

function opLea(g: Gen, i: Insn): string {
  return `${g.ea(i, true)} ${g.setReg(i.reg, i.osz, i.osz === 2 ? '(ea & 65535)' : 'ea', '(eaH >>> 0)')}`;
}

function opXchgEvGv(g: Gen, i: Insn): string {
  const sz = i.osz;
  const back = g.setReg(i.reg, sz, 'a', 'aH');
  if (i.rm >= 0) return `a = ${g.reg(i.rm, sz)}; aH = ${g.regH(i.rm)}; b = ${g.reg(i.reg, sz)}; bH = ${g.regH(i.reg)}; ${g.setReg(i.rm, sz, 'b', 'bH')} ${back}`;
  const load = `a = ${g.load(sz)};${sz === 8 ? ` aH = ${g.load(8, true)};` : ''}`;
  return `${g.ea()} if (${g.hit(sz, true)}) { ${load} ${g.store(sz, g.reg(i.reg, sz), g.regH(i.reg))} ${back} } else { ${g.exitBefore()} }`;
}

function opXchgZvAx(g: Gen, i: Insn): string {
  if (i.reg === 0) return '';
  const sz = i.osz;
  return `a = ${g.reg(i.reg, sz)}; aH = ${g.regH(i.reg)}; b = ${g.reg(0, sz)}; bH = ${g.regH(0)}; ${g.setReg(0, sz, 'a', 'aH')} ${g.setReg(i.reg, sz, 'b', 'bH')}`;
}

function opNop(): string {
  return '';
}

/** cmovcc: the source is always read; a 32-bit cmov zero-extends even when false */
function opCmov(g: Gen, i: Insn): string {
  const sz = i.osz;
  const c = condOf(i.sub, g.known);
  const known = g.known;
  const s = loadE(g, i, sz, (lo, hi) => `if (${c}) { ${g.setReg(i.reg, sz, lo, hi)} }${sz === 4 ? ` else r[${2 * i.reg + 1}] = 0;` : ''}`);
  g.known = known;
  return s;
}

function opSetcc(g: Gen, i: Insn): string {
  const c = condOf(i.sub, g.known);
  const known = g.known;
  let s: string;
  if (i.rm >= 0) s = g.setReg(i.rm, 1, `(${c} ? 1 : 0)`);
  else s = `${g.ea()} if (${g.hit(1, true)}) { ${g.store(1, `(${c} ? 1 : 0)`)} } else { ${g.exitBefore()} }`;
  g.known = known;
  return s;
}

/** cbw / cwde / cdqe */
function opCbw(g: Gen, i: Insn): string {
  const sz = i.osz;
  const x = sz === 2 ? `x = (${g.reg(0, 1)} << 24) >> 24;` : sz === 4 ? `x = (${g.reg(0, 2)} << 16) >> 16;` : `x = ${g.reg(0, 4)} | 0;`;
  return `${x} ${g.setReg(0, sz, sz === 2 ? '(x & 65535)' : '(x >>> 0)', '((x >> 31) >>> 0)')}`;
}

/** cwd / cdq / cqo */
function opCwd(g: Gen, i: Insn): string {
  const sz = i.osz;
  const top = sz === 8 ? `(${g.regH(0)} >>> 31)` : sz === 4 ? `(${g.reg(0, 4)} >>> 31)` : `((${g.reg(0, 2)} >>> 15) & 1)`;
  return `x = ${top} ? 0xffffffff : 0; ${g.setReg(2, sz, sz === 2 ? '(x & 65535)' : 'x', 'x')}`;
}

// ---- stack (64-bit operand size only) ------------------------------------------

/** ea/eaH = RSP - 8 */
const BELOW_RSP = 'ea = (r[8] - 8) >>> 0; eaH = (r[8] < 8 ? r[9] - 1 : r[9]) | 0;';
/** RSP = ea/eaH (after a push) */
const SET_RSP = 'r[8] = ea; r[9] = eaH;';

/** Push lo/hi (evaluated before RSP moves): store first, then RSP, as push() does. */
export function pushCode(g: Gen, lo: string, hi: string): string {
  return `${BELOW_RSP} if (${g.hit(8, true)}) { ${g.store(8, lo, hi)} ${SET_RSP} } else { ${g.exitBefore()} }`;
}

function opPushZv(g: Gen, i: Insn): string | null {
  if (i.osz !== 8) return null;
  return pushCode(g, g.reg(i.reg, 8), g.regH(i.reg));
}

function opPushIz(g: Gen, i: Insn): string | null {
  if (i.osz !== 8) return null;
  return pushCode(g, `${i.immLo >>> 0}`, `${i.immHi >>> 0}`);
}

/** push Ev: load the operand, then push it; both accesses must take the fast path. */
function opPushEv(g: Gen, i: Insn): string | null {
  if (i.osz !== 8) return null;
  if (i.rm >= 0) return pushCode(g, g.reg(i.rm, 8), g.regH(i.rm));
  return `${g.ea()} if (${g.hit(8)}) { v = ${g.load(8)}; vH = ${g.load(8, true)}; ${BELOW_RSP} if (${g.hit(8, true)}) { ${g.store(8, 'v', 'vH')} ${SET_RSP} } else { ${g.exitBefore()} } } else { ${g.exitBefore()} }`;
}

/** ea/eaH = RSP; after the load, RSP += 8 */
const AT_RSP = 'ea = r[8]; eaH = r[9] | 0;';
export const POP_RSP = 'r[8] = (ea + 8) >>> 0; r[9] = ea > 0xfffffff7 ? eaH + 1 : eaH;';

function opPopZv(g: Gen, i: Insn): string | null {
  if (i.osz !== 8) return null;
  return `${AT_RSP} if (${g.hit(8)}) { v = ${g.load(8)}; vH = ${g.load(8, true)}; ${POP_RSP} ${g.setReg(i.reg, 8, 'v', 'vH')} } else { ${g.exitBefore()} }`;
}

/** leave: RSP = RBP, then pop RBP */
function opLeave(g: Gen, i: Insn): string | null {
  if (i.osz !== 8) return null;
  return `ea = r[10]; eaH = r[11] | 0; if (${g.hit(8)}) { v = ${g.load(8)}; vH = ${g.load(8, true)}; ${POP_RSP} r[10] = v; r[11] = vH; } else { ${g.exitBefore()} }`;
}

export const MOV_EMITTERS: Record<string, Emitter> = {
  opMovEvGv,
  opMovGvEv,
  opMovEvIz,
  opMovZvIv,
  opMovzx,
  opMovsx,
  opLea,
  opXchgEvGv,
  opXchgZvAx,
  opNop,
  opCmov,
  opSetcc,
  opCbw,
  opCwd,
  opPushZv,
  opPushIz,
  opPushEv,
  opPopZv,
  opLeave,
};
