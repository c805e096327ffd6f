/**
 * MXCSR layout (Intel SDM vol. 1, 10.2.3) and the return convention of every
 * function in this folder.
 *
 * Every operation returns a number: its low six bits are the exception
 * flags to OR into MXCSR (same positions as MXCSR[5:0]); XM is set when one
 * of them is unmasked, in which case nothing was written and the instruction
 * must fault (#XM, or #UD when CR4.OSXMMEXCPT is clear).
 */
export const MX = {
  IE: 0x1, DE: 0x2, ZE: 0x4, OE: 0x8, UE: 0x10, PE: 0x20,
  DAZ: 0x40,
  IM: 0x80, DM: 0x100, ZM: 0x200, OM: 0x400, UM: 0x800, PM: 0x1000,
  /** rounding control, 2 bits at 13 (values in RC) */
  RC_SHIFT: 13,
  FZ: 0x8000,
} as const;

/** MXCSR.RC values. */
export const RC = { NEAREST: 0, DOWN: 1, UP: 2, ZERO: 3 } as const;

/** The six exception flags, MXCSR[5:0]. */
export const FLAGS = 0x3f;
/** Flags detected before computing (invalid, denormal operand, zero divide). */
export const PRE = 0x7;
/** Set in a return value when an unmasked exception makes the instruction fault. */
export const XM = 0x40000000;
/** MXCSR after reset / the Linux default. */
export const MXCSR_DEFAULT = 0x1f80;
/**
 * Bits of MXCSR software may set: ldmxcsr/fxrstor raise #GP(0) for any other.
 * This is the MXCSR_MASK FXSAVE should report: Intel's 0xffff. (Some AMD
 * parts, this host included, add bit 17, MM, for misaligned-access faults;
 * not modelled, so that guests see the same CPU on either vendor.)
 */
export const MXCSR_WRITABLE = 0xffff;

/** Rounding control field of `mx` (an RC value). */
export const rcOf = (mx: number): number => (mx >>> MX.RC_SHIFT) & 3;
