/**
 * XMM operand access for the SSE families (exec/sse-*.ts): the ModRM
 * operands V (reg), W (rm: register or memory) and U (rm register), as
 * 16-byte slot numbers into `Cpu.xv` (0-15 the registers, XS_SRC where a
 * memory source was read).
 *
 * Memory operands: a 16-byte access that is not 16-byte aligned is #GP(0)
 * when the instruction requires alignment (checked before any page walk);
 * loads translate every page first, so a fault leaves no register written;
 * stores probe both pages before writing anything.
 */
import type { Cpu } from './cpu.js';
import type { Insn } from './decode.js';
import { Vector } from './fault.js';
import { XS_SRC } from './fpu.js';

/** Compute the memory operand's address; with `align`, #GP(0) unless 16-byte aligned. */
export function xmmEa(c: Cpu, i: Insn, align: boolean): void {
  i.ea(c, i);
  if (align && (c.eaLo & 15) !== 0) c.raise(Vector.GP, 0);
}

/** Read 16 bytes at c.ea into slot `s`. */
export function rd128(c: Cpu, s: number): void {
  const m = c.mmu;
  const d = c.xv.d;
  const lo = c.eaLo;
  const hi = c.eaHi;
  const a = lo + 8;
  const ahi = a > 0xffffffff ? (hi + 1) >>> 0 : hi;
  // Both halves translated before either is stored (the high half may fault).
  const l0 = m.read64(lo, hi);
  const l1 = m.hi32;
  const h0 = m.read64(a >>> 0, ahi);
  d[4 * s] = l0;
  d[4 * s + 1] = l1;
  d[4 * s + 2] = h0;
  d[4 * s + 3] = m.hi32;
}

/** Write slot `s` as 16 bytes at c.ea (both pages checked first). */
export function wr128(c: Cpu, s: number): void {
  const m = c.mmu;
  const d = c.xv.d;
  const lo = c.eaLo;
  const hi = c.eaHi;
  m.probeWrite(lo, hi, 16);
  const a = lo + 8;
  m.write64(lo, hi, d[4 * s]!, d[4 * s + 1]!);
  m.write64(a >>> 0, a > 0xffffffff ? (hi + 1) >>> 0 : hi, d[4 * s + 2]!, d[4 * s + 3]!);
}

/** The W operand as 16 bytes: its register's slot, or XS_SRC holding the memory operand. */
export function srcX(c: Cpu, i: Insn, align: boolean): number {
  if (i.rm >= 0) return i.rm;
  xmmEa(c, i, align);
  rd128(c, XS_SRC);
  return XS_SRC;
}

/** The W operand's low 64 bits (a register's low half, or an 8-byte memory read) into XS_SRC dwords 0-1; returns its slot. */
export function srcQ(c: Cpu, i: Insn): number {
  if (i.rm >= 0) return i.rm;
  i.ea(c, i);
  const d = c.xv.d;
  d[4 * XS_SRC] = c.mmu.read64(c.eaLo, c.eaHi);
  d[4 * XS_SRC + 1] = c.mmu.hi32;
  return XS_SRC;
}

/** The W operand's low 32 bits (a register's low dword, or a 4-byte memory read into XS_SRC dword 0); returns its slot. */
export function srcD(c: Cpu, i: Insn): number {
  if (i.rm >= 0) return i.rm;
  i.ea(c, i);
  c.xv.d[4 * XS_SRC] = c.mmu.read32(c.eaLo, c.eaHi);
  return XS_SRC;
}

/** Copy slot `from` to slot `to` (16 bytes). */
export function copy128(c: Cpu, to: number, from: number): void {
  const d = c.xv.d;
  d[4 * to] = d[4 * from]!;
  d[4 * to + 1] = d[4 * from + 1]!;
  d[4 * to + 2] = d[4 * from + 2]!;
  d[4 * to + 3] = d[4 * from + 3]!;
}

/** Store 8 bytes (dwords 0-1 of slot `s`, or 2-3 with `high`) at the memory operand. */
export function st64(c: Cpu, i: Insn, s: number, high: boolean): void {
  i.ea(c, i);
  const d = c.xv.d;
  const k = 4 * s + (high ? 2 : 0);
  c.mmu.write64(c.eaLo, c.eaHi, d[k]!, d[k + 1]!);
}

/**
 * Check that the `span`-byte area at c.ea can be read (or written): its
 * first byte, then its last. A fault on the last byte's page reports that
 * byte's address in CR2, as the host CPU does for the x87/FXSAVE areas.
 */
function probeArea(c: Cpu, span: number, write: boolean): void {
  const m = c.mmu;
  const e = c.eaLo + span - 1;
  const eLo = e >>> 0;
  const eHi = e > 0xffffffff ? (c.eaHi + 1) >>> 0 : c.eaHi;
  if (write) {
    m.probeWrite(c.eaLo, c.eaHi, 1);
    m.probeWrite(eLo, eHi, 1);
  } else {
    m.read8(c.eaLo, c.eaHi);
    m.read8(eLo, eHi);
  }
}

/** Read n bytes (n even) of the `span`-byte area at c.ea into b[0..n); the whole area is checked first. */
export function memIn(c: Cpu, b: Uint8Array, n: number, span = n): void {
  probeArea(c, span, false);
  const m = c.mmu;
  for (let k = 0; k < n; k += 2) {
    const a = c.eaLo + k;
    const v = m.read16(a >>> 0, a > 0xffffffff ? (c.eaHi + 1) >>> 0 : c.eaHi);
    b[k] = v & 0xff;
    b[k + 1] = v >> 8;
  }
}

/** Write b[0..n) (n even) into the `span`-byte area at c.ea; the whole area is checked before any byte is stored. */
export function memOut(c: Cpu, b: Uint8Array, n: number, span = n): void {
  probeArea(c, span, true);
  const m = c.mmu;
  for (let k = 0; k < n; k += 2) {
    const a = c.eaLo + k;
    m.write16(a >>> 0, a > 0xffffffff ? (c.eaHi + 1) >>> 0 : c.eaHi, b[k]! | (b[k + 1]! << 8));
  }
}
