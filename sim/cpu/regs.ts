/**
 * Register file layout. 64-bit registers are held as two uint32 halves in one
 * Uint32Array (`lo` at 2*i, `hi` at 2*i+1) so the hot path never touches
 * BigInt and a snapshot or compare is one typed-array copy.
 */
export const Reg = {
  RAX: 0, RCX: 1, RDX: 2, RBX: 3, RSP: 4, RBP: 5, RSI: 6, RDI: 7,
  R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
} as const;

export const REG_NAMES = [
  'rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
] as const;

/** Byte-register operand ids: 0..15 are the low bytes, 16..19 are AH CH DH BH. */
export const HIGH_BYTE = 16;

/** Segment register numbers in ModRM.reg order. */
export const Seg = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** RFLAGS bits. */
export const F = {
  CF: 0x1, PF: 0x4, AF: 0x10, ZF: 0x40, SF: 0x80, TF: 0x100, IF: 0x200,
  DF: 0x400, OF: 0x800, IOPL: 0x3000, NT: 0x4000, RF: 0x10000, AC: 0x40000, ID: 0x200000,
} as const;

/** The six arithmetic status flags. */
export const STATUS_FLAGS = F.CF | F.PF | F.AF | F.ZF | F.SF | F.OF;

/** Model-specific registers the core itself implements (the rest go to the host). */
export const Msr = {
  EFER: 0xc0000080, STAR: 0xc0000081, LSTAR: 0xc0000082, CSTAR: 0xc0000083, FMASK: 0xc0000084,
  FS_BASE: 0xc0000100, GS_BASE: 0xc0000101, KERNEL_GS_BASE: 0xc0000102, TSC_AUX: 0xc0000103,
} as const;

export const toBig = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
export const loOf = (v: bigint): number => Number(v & 0xffffffffn);
export const hiOf = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);

/**
 * A canonical linear address as one exact number, its signed 64-bit value
 * (canonical addresses fit a double's 53 bits): the keys of Cpu.breakpoints.
 */
export const bpKey = (lo: number, hi: number): number => (hi | 0) * 4294967296 + (lo >>> 0);
export const bpKeyOf = (a: bigint): number => Number(BigInt.asIntN(64, a));
