/**
 * SSE/SSE2 floating-point semantics (issue 12): add sub mul div min max sqrt
 * (ps pd ss sd), cmp* with predicates 0-7, comis/ucomis, and the cvt*
 * family, bit-exact with x86 hardware under every MXCSR setting (rounding
 * control, DAZ, FTZ, masks). Pure functions over numbers and Uint32Arrays:
 * no Cpu, no allocation, no BigInt. Checked against the host CPU by
 * sse.test.ts through fp-oracle.c.
 *
 * Calling convention
 * ------------------
 * 128-bit operands are four uint32 (little-endian dwords) at an index in a
 * Uint32Array: pass the XMM file (`xmm`, register i at 4*i) for a register
 * operand, or a scratch Uint32Array holding what was read from memory.
 * `d, di` is the destination and first source, `s, si` the second source;
 * only the dwords the instruction reads are touched (e.g. cvtps2pd reads
 * s[si], s[si+1]; a scalar op reads s[si] or s[si..si+1]). d and s may
 * alias. Packed forms write all four dwords of d, scalar forms only their low
 * element (legacy-SSE merge; cvtpd2ps/cvtpd2dq zero the upper half as the
 * instruction does). `mx` is the current MXCSR.
 *
 * Every function returns r: r & FLAGS (MXCSR[5:0] positions) are the
 * exception flags the instruction raised, r & XM says it faults.
 *
 * What a handler does with r
 * --------------------------
 *   const r = arithPs(OP.ADD, c.xmm, 4 * dst, src, si, c.mxcsr);
 *   c.mxcsr |= r & FLAGS;           // always, also when faulting: a #XM
 *                                   // handler reads the cause from MXCSR
 *   if (r & XM) c.raise(cr4.OSXMMEXCPT ? 19 : Vector.UD);
 * On XM nothing has been written (XMM, and the handler must not write the
 * GPR of cvt*2si or the EFLAGS of comis either) and the instruction does not
 * retire: #XM (vector 19, no error code) is a fault, RIP at the instruction.
 * Without XM the results are in place; for the GPR/EFLAGS forms take them
 * from `res`: cvtss2si/cvtsd2si leave the integer in res[0] (32-bit: zero-
 * extend into the 64-bit register) or res[0..1] (64-bit, lo/hi); comiss/
 * comisd leave in res[0] the new ZF|PF|CF, with OF SF AF (COMIS_FLAGS) to
 * clear. Checks that precede all this stay with the handler: #UD/#NM from
 * CR0/CR4, memory faults on the operand, #GP for a misaligned m128 of a
 * packed form. Flags in MXCSR never fault by themselves: only exceptions an
 * instruction newly detects do.
 *
 * Which flags and when (packed.ts, round.ts, arith64.ts, cmp.ts, cvt.ts have
 * the details): per lane, pre-computation conditions in priority order (NaN
 * operand > invalid / zero divide > denormal operand), then the rounded
 * result's OE/UE/PE. If any lane has an unmasked IE/DE/ZE, only the lanes'
 * pre-computation flags are reported; else if any flag is unmasked, all of
 * them are; either way with XM and no write.
 *
 * Entry points
 * ------------
 *   arithPs/arithSs/arithPd/arithSd(op: OP.*, d, di, s, si, mx)
 *   cmpPs/cmpSs/cmpPd/cmpSd(imm8 & 7, d, di, s, si, mx)
 *   comiss/comisd(d, di, s, si, signal, mx)
 *     signal = 1 for comis (IE on any NaN), 0 for ucomis (IE on SNaN only)
 *   cvtss2sd cvtsd2ss cvtps2pd cvtpd2ps cvtdq2ps cvtdq2pd (d, di, s, si, mx)
 *   cvtps2dq/cvtpd2dq(trunc, d, di, s, si, mx)   trunc = 1 for cvtt*
 *   cvtsi2ss/cvtsi2sd(d, di, s, si, is64, mx)    signed source s[si] (is64:
 *     s[si] low, s[si+1] high): the GPR file (r, 2 * reg) or a scratch array
 *   cvtss2si/cvtsd2si(s, si, is64, trunc, mx)
 * The per-lane functions (add32, mul64, cmp32, cvt64to32, ...) are exported
 * too, for instructions that combine lanes differently (SSE3 addsubps,
 * haddps): same (array, index) operands, they return their flags only and
 * leave the result in res; combine flags with `outcome`.
 *
 * Performance: operands go in as (array, index) and results come out in
 * res, never as number arguments or return values: V8 boxes doubles and
 * uint32 words >= 2^30 passed to a function it does not inline.
 *
 * Not here: the bitwise and/andn/or/xor (no exceptions), moves and shuffles
 * (the core's), rcpps/rsqrtps (approximations whose exact values differ
 * between Intel and AMD), the MMX-operand cvtpi2ps/cvtps2pi/cvtpi2pd/
 * cvtpd2pi (their lanes are cvtInt32/cvtInt64/cvt32toInt/cvt64toInt).
 */
export { FLAGS, MX, MXCSR_DEFAULT, MXCSR_WRITABLE, PRE, RC, XM, rcOf } from './mxcsr.js';
export { res } from './bits.js';
export { CMP, COMIS_FLAGS, cmp32, cmp64, comis32, comis64 } from './cmp.js';
export { add32, div32, minmax32, mul32, sqrt32, sub32 } from './arith32.js';
export { add64, div64, minmax64, mul64, sqrt64, sub64 } from './arith64.js';
export { cvt32to64, cvt32toInt, cvt64to32, cvt64toInt, cvtInt32, cvtInt64 } from './cvt.js';
export {
  OP, arithPd, arithPs, arithSd, arithSs, cmpPd, cmpPs, cmpSd, cmpSs, comisd, comiss, cvtdq2pd, cvtdq2ps, cvtpd2dq,
  cvtpd2ps, cvtps2dq, cvtps2pd, cvtsd2si, cvtsd2ss, cvtsi2sd, cvtsi2ss, cvtss2sd, cvtss2si, outcome,
} from './packed.js';
