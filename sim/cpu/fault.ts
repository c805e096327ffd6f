/**
 * Architectural exceptions as values.
 *
 * `Cpu.step`/`Cpu.run` never let a JS exception escape: an instruction that
 * faults unwinds to the run loop (internally via the FAULT sentinel, which is
 * caught there and nowhere else), RIP is reset to the faulting instruction and
 * the caller receives a `CpuExit` of kind `exception` carrying the vector,
 * error code and CR2.
 */
export const Vector = {
  DE: 0, DB: 1, NMI: 2, BP: 3, OF: 4, BR: 5, UD: 6, NM: 7, DF: 8,
  TS: 10, NP: 11, SS: 12, GP: 13, PF: 14, MF: 16, AC: 17, XM: 19,
} as const;

/** #PF error-code bits (Intel SDM vol. 3, 4.7). */
export const PfErr = { P: 1, W: 2, U: 4, RSVD: 8, I: 16 } as const;

/** Thrown (by reference) from deep inside memory accesses; caught only by the run loop. */
export const FAULT: { readonly fault: true } = Object.freeze({ fault: true });

/** Why `run` returned. */
export const ExitKind = {
  /** the instruction budget ran out */
  BUDGET: 0,
  /** an architectural exception: see vector/errorCode/cr2 */
  EXCEPTION: 1,
  /** the host interface asked the loop to stop (hlt, hypercall, ...) */
  HOST: 2,
  /**
   * an architecturally valid instruction this core does not implement (x87
   * arithmetic, MMX, SSE floating point, SSE3 and later, AVX): RIP is at it,
   * nothing of it retired. Not an exception: the embedder stops the run and
   * says so, since no guest-visible outcome would be the hardware's.
   */
  UNIMPLEMENTED: 3,
  /** RIP reached a code breakpoint (Cpu.breakpoints): stopped before executing it */
  BREAKPOINT: 4,
  /** the instruction just retired accessed memory a debugger watches (Mmu.setDataWatch, Cpu.watchAccess) */
  WATCH: 5,
} as const;
export type ExitKind = (typeof ExitKind)[keyof typeof ExitKind];
