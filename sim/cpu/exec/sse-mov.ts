/**
 * SSE/SSE2 data movement: whole-register moves (movaps/movups/movdqa/
 * movdqu and the pd forms, aligned ones #GP(0) on a misaligned address),
 * scalar moves (movss/movsd: the register form merges, the load zeroes the
 * rest), half moves (movlps/movhps/movlpd/movhpd, movhlps/movlhps), GPR
 * <-> XMM (movd/movq), the sign-mask extractions (movmskps/pd, pmovmskb)
 * and the non-temporal stores (movntps/pd, movntdq, movnti, maskmovdqu),
 * which are plain stores here (no caches are modelled).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { sseGate } from '../fpu.js';
import { NP, type OpEntry } from '../optable.js';
import { rdE, rdReg, storeE, wrMem, wrReg } from '../operands.js';
import { rd128, srcQ, srcX, st64, wr128, xmmEa } from '../xmm-ops.js';

const ALIGNED = 1;

/** mov{a,u}p{s,d}, movdq{a,u} V,W: sub ALIGNED requires 16-byte alignment */
function opMovVxWx(c: Cpu, i: Insn): void {
  sseGate(c);
  const d = c.xmm;
  if (i.rm >= 0) {
    d.copyWithin(4 * i.reg, 4 * i.rm, 4 * i.rm + 4);
    return;
  }
  xmmEa(c, i, i.sub === ALIGNED);
  rd128(c, i.reg);
}
/** the stores W,V and the non-temporal M,V */
function opMovWxVx(c: Cpu, i: Insn): void {
  sseGate(c);
  if (i.rm >= 0) {
    c.xmm.copyWithin(4 * i.rm, 4 * i.reg, 4 * i.reg + 4);
    return;
  }
  xmmEa(c, i, i.sub === ALIGNED);
  wr128(c, i.reg);
}

/** movss/movsd V,W (sub 1 or 2 dwords): a register source merges into the low lanes, a load zeroes the rest */
function opMovsVW(c: Cpu, i: Insn): void {
  sseGate(c);
  const d = c.xmm;
  const v = 4 * i.reg;
  if (i.rm >= 0) {
    d[v] = d[4 * i.rm]!;
    if (i.sub === 2) d[v + 1] = d[4 * i.rm + 1]!;
    return;
  }
  i.ea(c, i);
  if (i.sub === 2) {
    const lo = c.mmu.read64(c.eaLo, c.eaHi);
    d[v] = lo;
    d[v + 1] = c.mmu.hi32;
  } else {
    d[v] = c.mmu.read32(c.eaLo, c.eaHi);
    d[v + 1] = 0;
  }
  d[v + 2] = 0;
  d[v + 3] = 0;
}
/** movss/movsd W,V */
function opMovsWV(c: Cpu, i: Insn): void {
  sseGate(c);
  const d = c.xmm;
  const v = 4 * i.reg;
  if (i.rm >= 0) {
    d[4 * i.rm] = d[v]!;
    if (i.sub === 2) d[4 * i.rm + 1] = d[v + 1]!;
    return;
  }
  i.ea(c, i);
  if (i.sub === 2) c.mmu.write64(c.eaLo, c.eaHi, d[v]!, d[v + 1]!);
  else c.mmu.write32(c.eaLo, c.eaHi, d[v]!);
}

/** movlps/movlpd V,M (sub 0) and movhps/movhpd V,M (sub 2): 8 bytes into one half */
function opMovHalfLoad(c: Cpu, i: Insn): void {
  sseGate(c);
  i.ea(c, i);
  const lo = c.mmu.read64(c.eaLo, c.eaHi);
  const k = 4 * i.reg + i.sub;
  c.xmm[k] = lo;
  c.xmm[k + 1] = c.mmu.hi32;
}
/** movlps/movlpd M,V (sub 0) and movhps/movhpd M,V (sub 2) */
function opMovHalfStore(c: Cpu, i: Insn): void {
  sseGate(c);
  st64(c, i, i.reg, i.sub === 2);
}
/** movhlps V,U (sub 0: low half := source's high) and movlhps V,U (sub 2: high half := source's low) */
function opMovHalfReg(c: Cpu, i: Insn): void {
  sseGate(c);
  const d = c.xmm;
  const from = 4 * i.rm + (i.sub === 0 ? 2 : 0);
  const to = 4 * i.reg + i.sub;
  const a = d[from]!;
  const b = d[from + 1]!;
  d[to] = a;
  d[to + 1] = b;
}

/** movd/movq V,Ey (66 0F 6E): zero-extended into the register */
function opMovdVE(c: Cpu, i: Insn): void {
  sseGate(c);
  const lo = rdE(c, i, i.osz);
  const d = c.xmm;
  const v = 4 * i.reg;
  d[v] = lo;
  d[v + 1] = i.osz === 8 ? c.hi : 0;
  d[v + 2] = 0;
  d[v + 3] = 0;
}
/** movd/movq Ey,V (66 0F 7E) */
function opMovdEV(c: Cpu, i: Insn): void {
  sseGate(c);
  const v = 4 * i.reg;
  storeE(c, i, i.osz, c.xmm[v]!, c.xmm[v + 1]!);
}
/** movq V,Wq (F3 0F 7E): low 64 bits, high half zeroed */
function opMovqVW(c: Cpu, i: Insn): void {
  sseGate(c);
  const s = srcQ(c, i);
  const d = c.xmm;
  const v = 4 * i.reg;
  d[v] = c.xv.d[4 * s]!;
  d[v + 1] = c.xv.d[4 * s + 1]!;
  d[v + 2] = 0;
  d[v + 3] = 0;
}
/** movq Wq,V (66 0F D6): to memory 8 bytes, to a register with its high half zeroed */
function opMovqWV(c: Cpu, i: Insn): void {
  sseGate(c);
  const d = c.xmm;
  const v = 4 * i.reg;
  if (i.rm < 0) return st64(c, i, i.reg, false);
  const r = 4 * i.rm;
  d[r] = d[v]!;
  d[r + 1] = d[v + 1]!;
  d[r + 2] = 0;
  d[r + 3] = 0;
}

/** movmskps (sub 4: dword signs), movmskpd (8: qword signs), pmovmskb (1: byte signs) Gd,U */
function opMovmsk(c: Cpu, i: Insn): void {
  sseGate(c);
  const b = c.xv.b;
  const base = 16 * i.rm;
  const step = i.sub;
  let m = 0;
  for (let k = 0, bit = 0; k < 16; k += step, bit++) m |= (b[base + k + step - 1]! >> 7) << bit;
  wrReg(c, i.reg, 4, m, 0);
}

/** movnti My,Gy: a plain 32/64-bit store (no SSE state involved) */
function opMovnti(c: Cpu, i: Insn): void {
  const lo = rdReg(c, i.reg, i.osz);
  const hi = c.hi;
  i.ea(c, i);
  wrMem(c, i.osz, lo, hi);
}

/**
 * maskmovdqu V,U: the bytes of V whose mask byte in U has bit 7 set go to
 * [rDI] (DS, or an FS/GS override). The whole 16 bytes are checked
 * writable first, whatever the mask (a fault reports them as a 16-byte
 * store, as the host does, even with an all-zero mask).
 */
function opMaskmov(c: Cpu, i: Insn): void {
  sseGate(c);
  const b = c.xv.b;
  const src = 16 * i.reg;
  const mask = 16 * i.rm;
  const rdi = rdReg(c, 7, i.asz);
  const hi = i.asz === 8 ? c.hi : 0;
  const segLo = i.seg === 4 ? c.fsLo : i.seg === 5 ? c.gsLo : 0;
  const segHi = i.seg === 4 ? c.fsHi : i.seg === 5 ? c.gsHi : 0;
  const s = rdi + segLo;
  const lo = s >>> 0;
  const hi2 = (hi + segHi + (s > 0xffffffff ? 1 : 0)) >>> 0;
  c.mmu.probeWrite(lo, hi2, 16);
  for (let k = 0; k < 16; k++) {
    if ((b[mask + k]! & 0x80) === 0) continue;
    const a = lo + k;
    c.mmu.write8(a >>> 0, a > 0xffffffff ? (hi2 + 1) >>> 0 : hi2, b[src + k]!);
  }
}

const e = (code: number, pfx: OpEntry['pfx'], mn: string, ops: string, fn: OpEntry['fn'], more: Partial<OpEntry> = {}): OpEntry => ({ code, map: 1, pfx, mn, ops, fn, ...more });
const A = { sub: ALIGNED };
const U = { sub: 0 };
const mem = { mod: 'mem' } as const;
const reg = { mod: 'reg' } as const;

export const SSE_MOV_OPS: OpEntry[] = [
  e(0x10, NP, 'movups', 'Vx,Wx', opMovVxWx, U),
  e(0x10, 0x66, 'movupd', 'Vx,Wx', opMovVxWx, U),
  e(0x10, 0xf3, 'movss', 'Vss,Wss', opMovsVW, { sub: 1 }),
  e(0x10, 0xf2, 'movsd', 'Vsd,Wsd', opMovsVW, { sub: 2 }),
  e(0x11, NP, 'movups', 'Wx,Vx', opMovWxVx, U),
  e(0x11, 0x66, 'movupd', 'Wx,Vx', opMovWxVx, U),
  e(0x11, 0xf3, 'movss', 'Wss,Vss', opMovsWV, { sub: 1 }),
  e(0x11, 0xf2, 'movsd', 'Wsd,Vsd', opMovsWV, { sub: 2 }),
  e(0x12, NP, 'movlps', 'Vq,Mq', opMovHalfLoad, { ...mem, sub: 0 }),
  e(0x12, NP, 'movhlps', 'Vq,Uq', opMovHalfReg, { ...reg, sub: 0 }),
  e(0x12, 0x66, 'movlpd', 'Vq,Mq', opMovHalfLoad, { ...mem, sub: 0 }),
  e(0x13, NP, 'movlps', 'Mq,Vq', opMovHalfStore, { ...mem, sub: 0 }),
  e(0x13, 0x66, 'movlpd', 'Mq,Vq', opMovHalfStore, { ...mem, sub: 0 }),
  e(0x16, NP, 'movhps', 'Vq,Mq', opMovHalfLoad, { ...mem, sub: 2 }),
  e(0x16, NP, 'movlhps', 'Vq,Uq', opMovHalfReg, { ...reg, sub: 2 }),
  e(0x16, 0x66, 'movhpd', 'Vq,Mq', opMovHalfLoad, { ...mem, sub: 2 }),
  e(0x17, NP, 'movhps', 'Mq,Vq', opMovHalfStore, { ...mem, sub: 2 }),
  e(0x17, 0x66, 'movhpd', 'Mq,Vq', opMovHalfStore, { ...mem, sub: 2 }),
  e(0x28, NP, 'movaps', 'Vx,Wx', opMovVxWx, A),
  e(0x28, 0x66, 'movapd', 'Vx,Wx', opMovVxWx, A),
  e(0x29, NP, 'movaps', 'Wx,Vx', opMovWxVx, A),
  e(0x29, 0x66, 'movapd', 'Wx,Vx', opMovWxVx, A),
  e(0x2b, NP, 'movntps', 'Mx,Vx', opMovWxVx, { ...mem, ...A }),
  e(0x2b, 0x66, 'movntpd', 'Mx,Vx', opMovWxVx, { ...mem, ...A }),
  e(0x50, NP, 'movmskps', 'Gy,Ux', opMovmsk, { ...reg, sub: 4 }),
  e(0x50, 0x66, 'movmskpd', 'Gy,Ux', opMovmsk, { ...reg, sub: 8 }),
  e(0x6e, 0x66, 'movd', 'Vx,Ey', opMovdVE),
  e(0x6f, 0x66, 'movdqa', 'Vx,Wx', opMovVxWx, A),
  e(0x6f, 0xf3, 'movdqu', 'Vx,Wx', opMovVxWx, U),
  e(0x7e, 0x66, 'movd', 'Ey,Vx', opMovdEV),
  e(0x7e, 0xf3, 'movq', 'Vx,Wq', opMovqVW),
  e(0x7f, 0x66, 'movdqa', 'Wx,Vx', opMovWxVx, A),
  e(0x7f, 0xf3, 'movdqu', 'Wx,Vx', opMovWxVx, U),
  e(0xc3, NP, 'movnti', 'My,Gy', opMovnti, mem),
  e(0xd6, 0x66, 'movq', 'Wq,Vx', opMovqWV),
  e(0xd7, 0x66, 'pmovmskb', 'Gy,Ux', opMovmsk, { ...reg, sub: 1 }),
  e(0xe7, 0x66, 'movntdq', 'Mx,Vx', opMovWxVx, { ...mem, ...A }),
  e(0xf7, 0x66, 'maskmovdqu', 'Vx,Ux', opMaskmov, reg),
];

