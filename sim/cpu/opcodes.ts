/**
 * The opcode table: the single source of truth for the decoder, the
 * executor dispatch, the disassembler and the random-instruction generator.
 * Each instruction family contributes its entries from its own file.
 *
 * Valid but not implemented (listed with `unimpl`: executing one stops the
 * run): x87 arithmetic, MMX, the SSE reciprocal approximations, SSE3, rdrand/rdseed/rdpid; the 0F 38 / 0F 3A
 * maps and VEX/EVEX are recognized by the decoder itself (decode-ext.ts).
 * Absent (#UD): far calls/jumps/returns other than iretq, BCD arithmetic
 * and other opcodes invalid in 64-bit mode.
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
import { FENCE_OPS } from './exec/fence.js';
import { MISC_UNIMPL_OPS } from './exec/misc-unimpl.js';
import { SSE_CMP_OPS } from './exec/sse-cmp.js';
import { SSE_CVT_OPS } from './exec/sse-cvt.js';
import { SSE_FP_OPS } from './exec/sse-fp.js';
import { SSE_INT_OPS } from './exec/sse-int.js';
import { SSE_MOV_OPS } from './exec/sse-mov.js';
import { SSE_SHUF_OPS } from './exec/sse-shuf.js';
import { SSE_STATE_OPS } from './exec/sse-state.js';
import { SSE_UNIMPL_OPS } from './exec/sse-unimpl.js';
import { X87_CTL_OPS } from './exec/x87-ctl.js';
import { X87_UNIMPL_OPS } from './exec/x87-table.js';
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
  ...FENCE_OPS,
  ...SSE_STATE_OPS,
  ...SSE_MOV_OPS,
  ...SSE_INT_OPS,
  ...SSE_SHUF_OPS,
  ...SSE_FP_OPS,
  ...SSE_CMP_OPS,
  ...SSE_CVT_OPS,
  ...SSE_UNIMPL_OPS,
  ...X87_CTL_OPS,
  ...X87_UNIMPL_OPS,
  ...MISC_UNIMPL_OPS,
];
