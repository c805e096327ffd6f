/**
 * Linux's ORC unwind tables (CONFIG_UNWINDER_ORC, x86-64), read from a
 * vmlinux's sections: how the kernel's own unwinder finds the caller's
 * stack pointer, return address and frame pointer at any text address, for
 * a kernel built without frame pointers. Facts from the kernel's
 * arch/x86/include/asm/orc_types.h and arch/x86/kernel/unwind_orc.c:
 *
 * - .orc_unwind_ip: one s32 a row, the row's first address relative to the
 *   s32 itself; sorted at build time. .orc_unwind: the rows, 6 bytes each:
 *   s16 sp_offset, s16 bp_offset, then bit fields sp_reg:4, bp_reg:4, and
 *   either (up to Linux 6.3) type:2 end:1, with types CALL 0, REGS 1,
 *   REGS_PARTIAL 2; or (6.4 on) type:3 signal:1, with types UNDEFINED 0,
 *   END_OF_STACK 1, CALL 2, REGS 3, REGS_PARTIAL 4. The layout is told by
 *   which value most rows based on SP have: CALL is the usual kind.
 * - A row holds from its address to the next row's.
 * - The previous frame's SP (the CFA) is sp_reg + sp_offset; for
 *   SP_INDIRECT *(SP) + sp_offset (5.12 on), for BP_INDIRECT *(BP +
 *   sp_offset); DI, DX, R10, R13: that register (of interrupted registers).
 *   CALL: the return address is at CFA - 8. REGS: CFA is a struct pt_regs;
 *   REGS_PARTIAL: CFA is its iret frame (ip, cs, flags, sp, ss). The saved
 *   BP is at CFA + bp_offset (PREV_SP), at BP + bp_offset (BP), or
 *   unchanged (UNDEFINED). sp_reg UNDEFINED: the end of the stack (with
 *   `end`), or nothing known.
 */
import type { ElfFile } from '../../sim/elf.js';

export const OrcReg = { UNDEFINED: 0, PREV_SP: 1, DX: 2, DI: 3, BP: 4, SP: 5, R10: 6, R13: 7, BP_INDIRECT: 8, SP_INDIRECT: 9 } as const;
/** Row kinds, whatever the table's layout. */
export type OrcKind = 'call' | 'regs' | 'regs-partial' | 'end' | 'undefined';
export type OrcRow = { ip: bigint; spReg: number; spOffset: number; bpReg: number; bpOffset: number; kind: OrcKind };

/** The rows of a vmlinux's ORC tables, by address; null when it has none. */
export function readOrc(f: ElfFile): OrcRow[] | null {
  const ips = f.section('.orc_unwind_ip');
  const rows = f.section('.orc_unwind');
  if (ips === undefined || rows === undefined || ips.data.length === 0) return null;
  const n = ips.size / 4;
  if (!Number.isInteger(n) || rows.size !== 6 * n || ips.data.length !== ips.size || rows.data.length !== rows.size) return null;
  const ip = new DataView(ips.data.buffer, ips.data.byteOffset, ips.size);
  const u = new DataView(rows.data.buffer, rows.data.byteOffset, rows.size);
  const bits = (i: number): number => u.getUint16(6 * i + 4, true);
  // The layout: what type most SP-based rows have (CALL: 0 up to 6.3, 2 from 6.4).
  let typeZero = 0;
  let typeTwo = 0;
  for (let i = 0; i < n; i++) {
    const w = bits(i);
    if ((w & 15) !== OrcReg.SP) continue;
    const t = (w >> 8) & 7;
    if (t === 0) typeZero++;
    else if (t === 2) typeTwo++;
  }
  const wide = typeTwo > typeZero;
  const out: OrcRow[] = [];
  for (let i = 0; i < n; i++) {
    const w = bits(i);
    const spReg = w & 15;
    let kind: OrcKind;
    if (wide) kind = (['undefined', 'end', 'call', 'regs', 'regs-partial'] as const)[(w >> 8) & 7] ?? 'undefined';
    else {
      const t = (w >> 8) & 3;
      const end = ((w >> 10) & 1) === 1;
      kind = spReg === OrcReg.UNDEFINED ? (end ? 'end' : 'undefined') : t === 1 ? 'regs' : t === 2 ? 'regs-partial' : 'call';
    }
    out.push({ ip: ips.addr + BigInt(4 * i + ip.getInt32(4 * i, true)), spReg, spOffset: u.getInt16(6 * i, true), bpReg: (w >> 4) & 15, bpOffset: u.getInt16(6 * i + 2, true), kind });
  }
  // Sorted at build time (scripts/sorttable); kept in order if a kernel did not.
  for (let i = 1; i < out.length; i++) {
    if (out[i - 1]!.ip > out[i]!.ip) {
      out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
      break;
    }
  }
  return out;
}
