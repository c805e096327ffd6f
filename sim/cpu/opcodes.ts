/**
 * The opcode table: the single source of truth for the decoder, the
 * executor dispatch, the disassembler and the random-instruction generator.
 * Each instruction family contributes its entries from its own file.
 *
 * Not implemented (decode as #UD, by design for now): x87, MMX, SSE/AVX
 * (guests are built with -mgeneral-regs-only), the 0F 38 / 0F 3A maps,
 * far calls/jumps/returns other than iretq, BCD arithmetic and other
 * opcodes invalid in 64-bit mode.
 */
import { ALU_OPS } from './exec/alu.js';
import { BITS_OPS } from './exec/bits.js';
import { BRANCH_OPS } from './exec/branch.js';
import { MOV_OPS } from './exec/mov.js';
import { MULDIV_OPS } from './exec/muldiv.js';
import { SHIFT_OPS } from './exec/shift.js';
import { STACK_OPS } from './exec/stack.js';
import { STRING_OPS } from './exec/string.js';
import { SYSTEM_OPS } from './exec/system.js';
import type { OpEntry } from './optable.js';

export const OPCODES: readonly OpEntry[] = [
  ...ALU_OPS,
  ...MOV_OPS,
  ...BRANCH_OPS,
  ...STACK_OPS,
  ...SHIFT_OPS,
  ...MULDIV_OPS,
  ...BITS_OPS,
  ...STRING_OPS,
  ...SYSTEM_OPS,
];
