/**
 * Encodings outside the one-byte and 0F maps that the core recognizes but
 * does not implement: the 0F 38 and 0F 3A maps (SSSE3, SSE4, AES, SHA,
 * MOVBE, CRC32, ...) and VEX/EVEX (AVX, AVX-512; C4/C5/62 are always
 * VEX/EVEX in 64-bit mode). The decoder measures them, so a block and the
 * disassembly stay in step, and their handler stops the run.
 */
import type { Cpu } from './cpu.js';
import { mmxGate, sseGate } from './fpu.js';
import { Vector } from './fault.js';
import type { OpEntry } from './optable.js';

/** Instruction bytes relative to the instruction's first byte. */
export type ByteSource = { byte(k: number): number };

/** Unimplemented-instruction handlers by the checks their class makes first. */
export function opUnimpl(c: Cpu): void {
  c.unimplemented();
}
export function opUnimplSse(c: Cpu): void {
  sseGate(c);
  c.unimplemented();
}
export function opUnimplMmx(c: Cpu): void {
  mmxGate(c);
  c.unimplemented();
}

export const MAP38: OpEntry = { code: 0x38, map: 1, mn: '(0f 38)', ops: '', fn: opUnimplSse, unimpl: '0f 38 map (SSSE3/SSE4/...)' };
export const MAP3A: OpEntry = { code: 0x3a, map: 1, mn: '(0f 3a)', ops: '', fn: opUnimplSse, unimpl: '0f 3a map (SSSE3/SSE4/...)' };
export const VEX: OpEntry = { code: 0xc5, map: 0, mn: '(vex)', ops: '', fn: opUnimpl, end: true, unimpl: 'AVX (VEX-encoded)' };
export const EVEX: OpEntry = { code: 0x62, map: 0, mn: '(evex)', ops: '', fn: opUnimpl, end: true, unimpl: 'AVX-512 (EVEX-encoded)' };

function opUD(c: Cpu): void {
  c.raise(Vector.UD);
}
/** A VEX/EVEX prefix after a 66, F2, F3, REX or LOCK prefix. */
export const BAD_VEX: OpEntry = { code: 0xc5, map: 0, mn: '(bad)', ops: '', fn: opUD, end: true };

/** Bytes after a ModRM byte at offset p (SIB, displacement). */
export function modrmTail(f: ByteSource, p: number): number {
  const m = f.byte(p);
  const mod = m >> 6;
  if (mod === 3) return 0;
  let n = 0;
  let base = m & 7;
  if (base === 4) {
    n = 1;
    base = f.byte(p + 1) & 7;
  }
  if (mod === 1) return n + 1;
  if (mod === 2 || base === 5) return n + 4;
  return n;
}

/** 0F-map VEX/EVEX opcodes that take an 8-bit immediate. */
const IMM_0F = new Set([0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6]);

/**
 * Length from the C4/C5/62 byte at offset p to the end of the instruction,
 * or -1 when the map is not one of 0F, 0F 38, 0F 3A (an invalid encoding).
 */
export function vexLength(f: ByteSource, p: number, b: number): number {
  let map: number;
  let n: number;
  if (b === 0xc5) {
    map = 1;
    n = 2;
  } else if (b === 0xc4) {
    map = f.byte(p + 1) & 0x1f;
    n = 3;
  } else {
    map = f.byte(p + 1) & 7;
    n = 4;
  }
  if (map < 1 || map > 3) return -1;
  const op = f.byte(p + n);
  n++;
  if (map === 1 && op === 0x77) return n;
  n += 1 + modrmTail(f, p + n);
  if (map === 3 || (map === 1 && IMM_0F.has(op))) n++;
  return n;
}
