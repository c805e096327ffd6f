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
 * XMM operands: V ModRM.reg, W ModRM.rm (register or memory), U ModRM.rm
 *   register only; MMX: P ModRM.reg, Q rm, N rm register; sizes x (128), ss/d (32), sd/q (64), and y (32 or 64
 *   by REX.W) for general registers. x87 memory forms are M with a size
 *   (Mw, Md, Mq, Mt for 80-bit); register forms name ST and STi.
 */
import type { Cpu } from './cpu.js';
import type { Insn } from './decode.js';

export type Handler = (c: Cpu, i: Insn) => void;

/**
 * Mandatory prefixes (`OpEntry.pfx`). The prefix an instruction carries is
 * the last F2/F3 if any, else 66 if present, else none (NP): an entry with
 * `pfx` matches only that exact value, so 66/F2/F3 select different SSE
 * instructions and a combination no entry lists is #UD. A 66 serving as
 * mandatory prefix does not change the operand size.
 */
export const NP = 0;
export type Pfx = typeof NP | 0x66 | 0xf2 | 0xf3;

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
  /** mandatory prefix (F3 0F B8 popcnt, 66 0F 6F movdqa) or NP: see `Pfx`; absent: prefixes do not select */
  pfx?: Pfx;
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
  /**
   * An architecturally valid instruction the core does not implement, and
   * its class ('x87 arithmetic', 'SSE floating point', 'MMX', ...): its
   * handler stops the run (Cpu.unimplemented) after the checks it shares
   * with its class (#UD/#NM from CR0/CR4).
   */
  unimpl?: string;
};

/** Whether the entry's encoding has a ModRM byte. */
export function hasModrm(e: OpEntry): boolean {
  return /(^|,)([EGMRSVWUPQN][a-z]*|[CD]q|STi)(,|$)/.test(e.ops) || e.ext !== undefined;
}
