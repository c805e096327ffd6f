/**
 * Ordering and cache hints: lfence/mfence/sfence, pause, the prefetches
 * (0F 18 /0-/3, 0F 0D) and the hint-NOP space around them, clflush,
 * clflushopt and clwb. One in-order CPU with no caches needs none of them
 * to do anything, so they change no state; what remains is their faults:
 * clflush* check their byte like a load (#PF, #GP for a non-canonical
 * address) and prefetches never fault, even on unmapped or non-canonical
 * addresses. The fences are NP: with 66/F2/F3 they are other (or no)
 * instructions (#UD, as on the host).
 */
import type { Cpu } from '../cpu.js';
import type { Insn } from '../decode.js';
import { NP, type OpEntry } from '../optable.js';
import { rdReg, wrReg } from '../operands.js';

function opHint(): void {}

/** clflush/clflushopt/clwb M: the line's byte is checked as a load would be */
function opClflush(c: Cpu, i: Insn): void {
  i.ea(c, i);
  c.mmu.read8(c.eaLo, c.eaHi);
}

/** pause (F3 90); with REX.B it is xchg r8, rAX (the F3 ignored) */
function opPause(c: Cpu, i: Insn): void {
  if ((i.rex & 1) === 0) return;
  const sz = i.osz;
  const a = rdReg(c, 0, sz);
  const ah = c.hi;
  const b = rdReg(c, 8, sz);
  wrReg(c, 0, sz, b, c.hi);
  wrReg(c, 8, sz, a, ah);
}

const PREFETCH_18 = ['prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2'];
const PREFETCH_0D = ['prefetch', 'prefetchw', 'prefetchwt1', 'prefetch', 'prefetch', 'prefetch', 'prefetch', 'prefetch'];

export const FENCE_OPS: OpEntry[] = [
  { code: 0xae, map: 1, pfx: NP, mod: 'reg', ext: 5, mn: 'lfence', ops: '', fn: opHint },
  { code: 0xae, map: 1, pfx: NP, mod: 'reg', ext: 6, mn: 'mfence', ops: '', fn: opHint },
  { code: 0xae, map: 1, pfx: NP, mod: 'reg', ext: 7, mn: 'sfence', ops: '', fn: opHint },
  { code: 0xae, map: 1, pfx: NP, mod: 'mem', ext: 7, mn: 'clflush', ops: 'Mb', fn: opClflush },
  { code: 0xae, map: 1, pfx: 0x66, mod: 'mem', ext: 7, mn: 'clflushopt', ops: 'Mb', fn: opClflush },
  { code: 0xae, map: 1, pfx: 0x66, mod: 'mem', ext: 6, mn: 'clwb', ops: 'Mb', fn: opClflush },
  { code: 0x90, map: 0, pfx: 0xf3, mn: 'pause', ops: '', fn: opPause },
  ...PREFETCH_18.map((mn, ext): OpEntry => ({ code: 0x18, map: 1, mod: 'mem', ext, mn, ops: 'Mb', fn: opHint })),
  // The rest of 0F 18 is hint-NOP space, like 0F 19-1F.
  ...[0, 1, 2, 3].map((ext): OpEntry => ({ code: 0x18, map: 1, mod: 'reg', ext, mn: 'nop', ops: 'Ev', fn: opHint })),
  ...[4, 5, 6, 7].map((ext): OpEntry => ({ code: 0x18, map: 1, ext, mn: 'nop', ops: 'Ev', fn: opHint })),
  ...PREFETCH_0D.map((mn, ext): OpEntry => ({ code: 0x0d, map: 1, mod: 'mem', ext, mn, ops: 'Mb', fn: opHint })),
];
