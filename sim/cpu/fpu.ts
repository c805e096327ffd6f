/**
 * x87 and SSE architectural state, held in typed arrays on the Cpu, and the
 * checks every x87/SSE instruction makes before touching it.
 *
 * Layout (no BigInt, no allocation on the hot path):
 * - `Cpu.xmm`: XMM0-15 as 64 uint32, register i dword j at 4*i+j (lane 0
 *   is the least significant). `Cpu.xv` views the same memory as bytes,
 *   words, dwords (signed and unsigned) and floats, with two extra 16-byte
 *   scratch slots after XMM15: XS_SRC (a memory operand just read) and
 *   XS_TMP (a result built before it replaces its destination).
 * - `Cpu.x87`: X87.* words: FCW, FSW (TOP in bits 11-13), the abridged tag
 *   (bit i set: physical register i is in use, as FXSAVE stores it), FOP,
 *   FIP and FDP (4 words each, 64-bit), FCS, FDS, then the eight physical
 *   registers R0-R7 as 5 words (64-bit significand, then sign|exponent).
 *   ST(i) is R((TOP + i) & 7).
 * - `Cpu.mxcsr`.
 * Gates: CR0.EM/TS/MP and CR4.OSFXSR/OSXMMEXCPT as `Cpu.em/ts/mp/osfxsr/
 * osxmmexcpt`, set by the host when the guest writes CR0/CR4 (or, for a PV
 * guest, when Xen changes its virtual CR0.TS).
 */
import type { Cpu } from './cpu.js';
import { Vector } from './fault.js';
import { FLAGS, XM } from './sse/mxcsr.js';

export const X87 = {
  FCW: 0, FSW: 1, FTW: 2, FOP: 3, FIP: 4, FDP: 8, FCS: 12, FDS: 13,
  /** physical register i starts at REGS + 5 * i */
  REGS: 16,
  SIZE: 56,
} as const;

export const FCW_DEFAULT = 0x37f;
export const MXCSR_DEFAULT = 0x1f80;
/** MXCSR bits this model accepts (ldmxcsr, fxrstor) and FXSAVE reports: all but MM, as on Intel. */
export const MXCSR_MASK = 0xffff;

/** Scratch slots of `Cpu.xv` (in 16-byte units): a memory source, a result under construction. */
export const XS_SRC = 16;
export const XS_TMP = 17;

/** Views of the XMM file and its scratch slots; all share one buffer with `Cpu.xmm`. */
export class XmmViews {
  readonly b: Uint8Array;
  readonly w: Uint16Array;
  readonly d: Uint32Array;
  readonly sb: Int8Array;
  readonly sw: Int16Array;
  readonly sd: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  constructor(readonly buf: ArrayBuffer) {
    this.b = new Uint8Array(buf);
    this.w = new Uint16Array(buf);
    this.d = new Uint32Array(buf);
    this.sb = new Int8Array(buf);
    this.sw = new Int16Array(buf);
    this.sd = new Int32Array(buf);
    this.f32 = new Float32Array(buf);
    this.f64 = new Float64Array(buf);
  }
}

/** The XMM register file (64 dwords) and its views, backed by one buffer with room for the scratch slots. */
export function newXmmFile(): { xmm: Uint32Array; xv: XmmViews } {
  const buf = new ArrayBuffer(18 * 16);
  return { xmm: new Uint32Array(buf, 0, 64), xv: new XmmViews(buf) };
}

/** FNINIT: control word 0x37f, status, tags, opcode and pointers cleared; register contents stay. */
export function x87Init(c: Cpu): void {
  const x = c.x87;
  x.fill(0, 0, X87.REGS);
  x[X87.FCW] = FCW_DEFAULT;
}

/** Power-on state: FNINIT, registers zero, MXCSR default, XMM zero. */
export function fpuReset(c: Cpu): void {
  c.x87.fill(0);
  x87Init(c);
  c.mxcsr = MXCSR_DEFAULT;
  c.xmm.fill(0);
}

// ---- gates: checked before anything else the instruction does ---------------

/** x87 instructions other than WAIT: #NM when CR0.EM or CR0.TS. */
export function x87Gate(c: Cpu): void {
  if (c.em || c.ts) c.raise(Vector.NM);
}

/** SSE instructions: #UD when CR0.EM or not CR4.OSFXSR, then #NM when CR0.TS. */
export function sseGate(c: Cpu): void {
  if (c.em || !c.osfxsr) c.raise(Vector.UD);
  if (c.ts) c.raise(Vector.NM);
}

/**
 * The outcome `r` of an SSE floating-point library call (sse/index.ts): its
 * exception flags go into MXCSR (also when it faults: a #XM handler reads
 * the cause there), then an unmasked exception faults: #XM, or #UD while
 * CR4.OSXMMEXCPT is clear (SDM vol. 1 11.5.2). The library wrote nothing in
 * that case; the caller must not write its GPR or EFLAGS results either,
 * so it calls this before them.
 */
export function simdResult(c: Cpu, r: number): void {
  if (r === 0) return;
  c.mxcsr = (c.mxcsr | (r & FLAGS)) >>> 0;
  if ((r & XM) !== 0) c.raise(c.osxmmexcpt ? Vector.XM : Vector.UD);
}

/** MMX instructions: #UD when CR0.EM, #NM when CR0.TS. */
export function mmxGate(c: Cpu): void {
  if (c.em) c.raise(Vector.UD);
  if (c.ts) c.raise(Vector.NM);
}

/** WAIT/FWAIT: #NM when CR0.TS and CR0.MP; then #MF when an unmasked x87 exception is pending (FSW.ES). */
export function waitGate(c: Cpu): void {
  if (c.ts && c.mp) c.raise(Vector.NM);
  if ((c.x87[X87.FSW]! & 0x80) !== 0) c.raise(Vector.MF);
}

// ---- x87 tags ---------------------------------------------------------------

/**
 * The 2-bit tag of physical register i as FNSTENV/FNSAVE store it: 3 empty
 * (abridged bit clear), else from the contents: 1 zero, 2 special (NaN,
 * infinity, denormal, unnormal), 0 valid.
 */
export function fullTag(c: Cpu, i: number): number {
  const x = c.x87;
  if (((x[X87.FTW]! >> i) & 1) === 0) return 3;
  const at = X87.REGS + 5 * i;
  const exp = x[at + 4]! & 0x7fff;
  const j = x[at + 3]! & 0x8000;
  if (exp === 0x7fff) return 2;
  if (exp === 0) return (x[at]! | x[at + 1]! | x[at + 2]! | x[at + 3]!) === 0 ? 1 : 2;
  return j === 0 ? 2 : 0;
}

/** The full tag word (physical register order, 2 bits each). */
export function fullTagWord(c: Cpu): number {
  let t = 0;
  for (let i = 0; i < 8; i++) t |= fullTag(c, i) << (2 * i);
  return t;
}

/** Load a full tag word: only "empty" (3) versus anything else survives. */
export function setFullTagWord(c: Cpu, t: number): void {
  let a = 0;
  for (let i = 0; i < 8; i++) if (((t >> (2 * i)) & 3) !== 3) a |= 1 << i;
  c.x87[X87.FTW] = a;
}

/** Load FCW: the reserved bits read back as the host has them (bit 6 set, 7 and 13-15 clear). */
export function setFcw(c: Cpu, v: number): void {
  c.x87[X87.FCW] = (v & 0x1f3f) | 0x40;
}

/**
 * FSW.ES and B follow the exception flags: set while an exception flag is
 * set whose mask bit in FCW is clear, as the host shows after any load of
 * FCW or FSW.
 */
export function syncEs(c: Cpu): void {
  const x = c.x87;
  const fsw = x[X87.FSW]!;
  const pending = fsw & ~x[X87.FCW]! & 0x3f;
  x[X87.FSW] = pending !== 0 ? fsw | 0x8080 : fsw & ~0x8080;
}
