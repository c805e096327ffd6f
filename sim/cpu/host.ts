/**
 * The host interface: everything an instruction does beyond registers and
 * memory goes through here, so the Xen layer can give system instructions PV
 * semantics without touching the core.
 *
 * The core calls a hook whatever the CPL; the hook decides. It may update
 * registers, call `cpu.raise(...)` to deliver an exception (this unwinds the
 * instruction; nothing it did is retired) or `cpu.requestExit()` to make
 * `run` return with ExitKind.HOST after the instruction retires. Hooks are
 * called with RIP already pointing at the next instruction, and `cpu.insnRip*`
 * at the one being executed.
 *
 * `bare-host.ts` gives the architectural (bare-metal, CPL 0) behaviour.
 */
import type { Cpu } from './cpu.js';

/** Privileged-instruction operations routed through `CpuHost.priv`. */
export const PrivOp = {
  MOV_FROM_CR: 0, MOV_TO_CR: 1, MOV_FROM_DR: 2, MOV_TO_DR: 3,
  CLI: 4, STI: 5, HLT: 6, INVLPG: 7, SWAPGS: 8, CLTS: 9,
  LGDT: 10, LIDT: 11, LLDT: 12, LTR: 13, SGDT: 14, SIDT: 15, SLDT: 16, STR: 17,
  WBINVD: 18, INVD: 19, LMSW: 20, SMSW: 21, SYSRET: 22,
} as const;
export type PrivOp = (typeof PrivOp)[keyof typeof PrivOp];

export interface CpuHost {
  /** CPUID: read EAX/ECX from the cpu, write EAX EBX ECX EDX. */
  cpuid(cpu: Cpu, leaf: number, subleaf: number): void;
  /** RDTSC/RDTSCP: return the 64-bit TSC as [lo, hi]. */
  rdtsc(cpu: Cpu): readonly [number, number];
  /** RDTSCP: the IA32_TSC_AUX value it returns in ECX (at any CPL). */
  tscAux(cpu: Cpu): number;
  /** IN: return the value read (size 1, 2 or 4). */
  portIn(cpu: Cpu, port: number, size: number): number;
  /** OUT. */
  portOut(cpu: Cpu, port: number, size: number, value: number): void;
  /** RDMSR: return [lo, hi]; raise #GP for unknown MSRs. */
  rdmsr(cpu: Cpu, msr: number): readonly [number, number];
  /** WRMSR. */
  wrmsr(cpu: Cpu, msr: number, lo: number, hi: number): void;
  /** SYSCALL (RIP already at the next instruction). */
  syscall(cpu: Cpu): void;
  /** INT n, INT3 (vector 3) and INTO (vector 4); `len` is the instruction length. */
  softInt(cpu: Cpu, vector: number, len: number): void;
  /** MOV Sreg, r/m and POP Sreg-like loads: validate and load selector `sel` into segment `seg` (Seg.*). */
  loadSeg(cpu: Cpu, seg: number, sel: number): void;
  /**
   * Privileged instructions. `reg` is the CR/DR number or the general
   * register involved; `lo`/`hi` carry a value being written or an address.
   * For the *_FROM_* and S* ops the hook returns the value read as [lo, hi];
   * for SGDT/SIDT as [limit, baseLo, baseHi].
   */
  priv(cpu: Cpu, op: PrivOp, reg: number, lo: number, hi: number): readonly number[] | void;
}
