/**
 * The memory images of the x87/SSE state: FXSAVE's 512-byte area (legacy
 * and REX.W/FXSAVE64 layouts) and the FNSTENV/FNSAVE environments (32-bit
 * 28-byte and 16-bit 14-byte protected-mode formats), as the Intel SDM
 * lays them out and the host CPU writes them (the oracle tests compare).
 *
 * FXSAVE area: 0 FCW, 2 FSW, 4 abridged FTW, 5 reserved, 6 FOP, 8 FIP
 * (64-bit with REX.W; else FIP[31:0] and FCS at 12), 16 FDP (likewise,
 * FDS at 20), 24 MXCSR, 28 MXCSR_MASK, 32 + 16*i ST(i) (10 bytes, 6
 * zero), 160 + 16*i XMM(i); 416-511 are neither written nor read.
 * Environment (32-bit): dwords FCW, FSW, FTW (full), FIP[31:0], FCS |
 * FOP << 16, FDP[31:0], FDS, the unused high halves of the 16-bit fields
 * stored as 0xffff. 16-bit: words FCW FSW FTW FIP FCS FDP FDS.
 */
import type { Cpu } from './cpu.js';
import { fullTagWord, setFcw, setFullTagWord, syncEs, X87 } from './fpu.js';

/** Bytes of the FXSAVE area the instruction writes and reads. */
export const FXSAVE_USED = 416;

const get16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 0xff;
  b[o + 1] = (v >> 8) & 0xff;
};

/** Physical register number of ST(i). */
export const stReg = (c: Cpu, i: number): number => (((c.x87[X87.FSW]! >> 11) & 7) + i) & 7;

/** Copy physical register r to 10 bytes at b[o] (or back with `load`). */
function reg80(c: Cpu, r: number, b: Uint8Array, o: number, load: boolean): void {
  const at = X87.REGS + 5 * r;
  for (let k = 0; k < 5; k++) {
    if (load) c.x87[at + k] = get16(b, o + 2 * k);
    else put16(b, o + 2 * k, c.x87[at + k]!);
  }
}

/** Copy a 64-bit pointer field (4 words at x87[w]) to/from b[o] (`n` bytes: 8, 4 or 2). */
function ptr(c: Cpu, w: number, b: Uint8Array, o: number, n: number, load: boolean): void {
  for (let k = 0; k < 4; k++) {
    if (!load) {
      if (2 * k < n) put16(b, o + 2 * k, c.x87[w + k]!);
    } else c.x87[w + k] = 2 * k < n ? get16(b, o + 2 * k) : 0;
  }
}

/** The FXSAVE image of the current state into out[0..415] (`w64`: the REX.W layout). */
export function fxsaveImage(c: Cpu, out: Uint8Array, w64: boolean): void {
  const x = c.x87;
  out.fill(0, 0, FXSAVE_USED);
  put16(out, 0, x[X87.FCW]!);
  put16(out, 2, x[X87.FSW]!);
  out[4] = x[X87.FTW]! & 0xff;
  put16(out, 6, x[X87.FOP]! & 0x7ff);
  ptr(c, X87.FIP, out, 8, w64 ? 8 : 4, false);
  ptr(c, X87.FDP, out, 16, w64 ? 8 : 4, false);
  if (!w64) {
    put16(out, 12, x[X87.FCS]!);
    put16(out, 20, x[X87.FDS]!);
  }
  for (let k = 0; k < 4; k++) out[24 + k] = (c.mxcsr >>> (8 * k)) & 0xff;
  for (let k = 0; k < 4; k++) out[28 + k] = (c.mxcsrMask >>> (8 * k)) & 0xff;
  for (let i = 0; i < 8; i++) reg80(c, stReg(c, i), out, 32 + 16 * i, false);
  out.set(c.xv.b.subarray(0, 256), 160);
}

/** MXCSR of an FXSAVE image. */
export const imageMxcsr = (img: Uint8Array): number => (img[24]! | (img[25]! << 8) | (img[26]! << 16) | (img[27]! << 24)) >>> 0;

/**
 * Load the state from an FXSAVE image (img[0..415]). The caller has checked
 * MXCSR against the mask (FXRSTOR raises #GP(0) otherwise).
 */
export function fxrstorImage(c: Cpu, img: Uint8Array, w64: boolean): void {
  const x = c.x87;
  setFcw(c, get16(img, 0));
  x[X87.FSW] = get16(img, 2);
  syncEs(c);
  x[X87.FTW] = img[4]!;
  x[X87.FOP] = get16(img, 6) & 0x7ff;
  ptr(c, X87.FIP, img, 8, w64 ? 8 : 4, true);
  ptr(c, X87.FDP, img, 16, w64 ? 8 : 4, true);
  x[X87.FCS] = w64 ? 0 : get16(img, 12);
  x[X87.FDS] = w64 ? 0 : get16(img, 20);
  c.mxcsr = imageMxcsr(img);
  for (let i = 0; i < 8; i++) reg80(c, stReg(c, i), img, 32 + 16 * i, true);
  c.xv.b.set(img.subarray(160, 416), 0);
}

/** Size of the FNSTENV environment for an operand size (2: 16-bit format). */
export const envSize = (osz: number): number => (osz === 2 ? 14 : 28);

/** The FNSTENV environment into out[0..envSize) (`o16`: the 16-bit format). */
export function storeEnv(c: Cpu, out: Uint8Array, o16: boolean): void {
  const x = c.x87;
  const ftw = fullTagWord(c);
  if (o16) {
    const words = [x[X87.FCW]!, x[X87.FSW]!, ftw, x[X87.FIP]!, x[X87.FCS]!, x[X87.FDP]!, x[X87.FDS]!];
    words.forEach((v, k) => put16(out, 2 * k, v));
    return;
  }
  const dw = (o: number, lo: number, hi: number): void => {
    put16(out, o, lo);
    put16(out, o + 2, hi);
  };
  dw(0, x[X87.FCW]!, 0xffff);
  dw(4, x[X87.FSW]!, 0xffff);
  dw(8, ftw, 0xffff);
  dw(12, x[X87.FIP]!, x[X87.FIP + 1]!);
  dw(16, x[X87.FCS]!, x[X87.FOP]! & 0x7ff);
  dw(20, x[X87.FDP]!, x[X87.FDP + 1]!);
  dw(24, x[X87.FDS]!, 0xffff);
}

/** FLDENV from an environment image. */
export function loadEnv(c: Cpu, img: Uint8Array, o16: boolean): void {
  const x = c.x87;
  const at = (k: number): number => get16(img, o16 ? 2 * k : 4 * k);
  setFcw(c, at(0));
  x[X87.FSW] = at(1);
  syncEs(c);
  setFullTagWord(c, at(2));
  x.fill(0, X87.FIP, X87.FDS + 1);
  if (o16) {
    x[X87.FIP] = at(3);
    x[X87.FCS] = at(4);
    x[X87.FDP] = at(5);
    x[X87.FDS] = at(6);
    return;
  }
  x[X87.FIP] = get16(img, 12);
  x[X87.FIP + 1] = get16(img, 14);
  x[X87.FCS] = get16(img, 16);
  x[X87.FOP] = get16(img, 18) & 0x7ff;
  x[X87.FDP] = get16(img, 20);
  x[X87.FDP + 1] = get16(img, 22);
  x[X87.FDS] = get16(img, 24);
}

/** FNSAVE's register part: ST(0)-ST(7), 10 bytes each, after the environment at `o` (or back with `load`). */
export function stackImage(c: Cpu, b: Uint8Array, o: number, load: boolean): void {
  for (let i = 0; i < 8; i++) reg80(c, stReg(c, i), b, o + 10 * i, load);
}
