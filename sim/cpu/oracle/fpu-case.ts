/**
 * The x87/SSE part of an oracle case on our core: load a case's state, read
 * the final one back in the runner's terms, compare with the host's. The
 * state goes through the core's own FXSAVE image code (fxsave.ts), which
 * the host's fxrstor64/fxsave64 thereby check too.
 */
import type { Cpu } from '../cpu.js';
import { FXSAVE_USED, fxrstorImage, fxsaveImage } from '../fxsave.js';
import { fpuImage, parseFpuImage, type OracleFpu } from './fpu-image.js';
import { hostMxcsrMask } from './host-cpu.js';

/** Give the core the case's state, and the host's MXCSR_MASK (which FXSAVE stores). */
export function loadFpu(cpu: Cpu, f: OracleFpu): void {
  cpu.mxcsrMask = hostMxcsrMask();
  fxrstorImage(cpu, fpuImage(f), true);
}

export function readFpu(cpu: Cpu): OracleFpu {
  const img = new Uint8Array(FXSAVE_USED);
  fxsaveImage(cpu, img, true);
  return parseFpuImage(img);
}

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** First difference in the x87/SSE state between a host and an emulated result (both having one), or null. */
export function compareFpu(native: { fpu?: OracleFpu }, emu: { fpu?: OracleFpu }): string | null {
  const n = native.fpu;
  const e = emu.fpu;
  if (n === undefined || e === undefined) return null;
  for (const k of ['fcw', 'fsw', 'ftw', 'fop', 'fip', 'fdp', 'mxcsr'] as const) {
    // AMD shows the x87 pointers only while an exception is pending (FSW.ES); Intel always. The core does as Intel.
    if ((k === 'fop' || k === 'fip' || k === 'fdp') && (n.fsw & 0x80) === 0 && BigInt(n[k]) === 0n) continue;
    if (n[k] !== e[k]) return `${k}: host ${hex(n[k])}, emulator ${hex(e[k])}`;
  }
  for (let i = 0; i < 8; i++) if (n.st[i] !== e.st[i]) return `st(${i}): host ${hex(n.st[i]!)}, emulator ${hex(e.st[i]!)}`;
  for (let i = 0; i < 16; i++) if (n.xmm[i] !== e.xmm[i]) return `xmm${i}: host ${hex(n.xmm[i]!)}, emulator ${hex(e.xmm[i]!)}`;
  return null;
}
