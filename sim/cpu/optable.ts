/**
 * The shape of the one opcode table (`opcodes.ts`) that drives the decoder,
 * the executor dispatch, the disassembler and the random-instruction test
 * generator.
 *
 * Operand notation follows the Intel manual's opcode map (appendix A):
 *   E? ModRM r/m, G? ModRM reg, M memory-only r/m, R register-only r/m,
 *   I? immediate, J? relative branch target, O? absolute moffs, Z? register
 *   in the opcode's low bits, S segment register, C/D control/debug register;
 *   size letters b (8), w (16), d (32), q (64), v (16/32/64 by operand
 *   size), z (16 or 32, sign-extended to 64 for 64-bit ops). Fixed
 *   registers are named: AL, rAX, CL, DX, 1.
 */
import type { Cpu } from './cpu.js';
import type { Insn } from './decode.js';

export type Handler = (c: Cpu, i: Insn) => void;

/** How the operand size is chosen. */
export const OSZ = {
  /** 16/32/64 by 66 and REX.W (default 32) */
  V: 0,
  /** always 8-bit */
  B: 1,
  /** default 64 in long mode; 66 selects 16 (push, pop, ...) */
  D64: 2,
  /** always 64 (near branches) */
  F64: 3,
} as const;

export type OpEntry = {
  /** opcode byte */
  code: number;
  /** 0: one-byte map, 1: 0F map */
  map: 0 | 1;
  /** ModRM.reg opcode extension for group opcodes */
  ext?: number;
  /** restrict to mod == 3 ('reg') or mod != 3 ('mem') */
  mod?: 'reg' | 'mem';
  /** exact ModRM.rm for mod == 3 forms such as 0F 01 F8 (swapgs) */
  rmv?: number;
  /** mandatory prefix (F3 0F B8 popcnt) */
  pfx?: 0xf3 | 0xf2;
  /** opcode + register in the low 3 bits (50+r, B8+r): registers code..code+7 */
  plus?: boolean;
  mn: string;
  /** operands, comma-separated, in Intel order (destination first) */
  ops: string;
  fn: Handler;
  osz?: (typeof OSZ)[keyof typeof OSZ];
  /** LOCK is allowed (with a memory destination) */
  lock?: boolean;
  /** ends a decoded block: control transfers and system instructions */
  end?: boolean;
  /** handler-specific constant (ALU op, condition code, ...) */
  sub?: number;
  /**
   * Optional specializer, called once per decoded instruction: returns a
   * faster handler for this exact form (operand size, register vs memory)
   * or null to keep `fn`. Specialized handlers must behave exactly as `fn`.
   */
  fast?: (i: Insn) => Handler | null;
  /** not comparable with the host CPU from user mode (privileged, non-deterministic) */
  noOracle?: string;
};
