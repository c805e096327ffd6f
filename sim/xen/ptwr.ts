/**
 * Writable page tables (VMASST_TYPE_writable_pagetables), as Xen 4.17 does
 * them for a PV guest (xen/arch/x86/traps.c fixup_page_fault ->
 * pv/ro-page-fault.c ptwr_do_page_fault): a guest-kernel write that faults
 * on a present, read-only mapping of one of the domain's own L1 page tables
 * is emulated by Xen as an update of that table -- the new entries are
 * validated and referenced exactly as mmu_update would (get_page_from_l1e),
 * the old ones released -- and the guest continues after the instruction.
 * Linux relies on it for native PTE writes it does not route through a
 * hypercall (ptep_get_and_clear's xchg in vunmap, set_pte on a live table).
 *
 * The instruction is executed by the core itself, with the faulting page
 * made writable for that one step; the bytes it changed are then put back
 * and re-applied through page typing. Anything Xen's emulator would refuse
 * (an entry that does not validate, a second fault while executing) leaves
 * memory and registers as they were and the original #PF goes to the guest.
 */
import { PGT, PTE_P, PTE_RW } from './page-types.js';
import type { Domain } from './domain.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';
import { ExitKind } from '../cpu/fault.js';

/** #PF error-code bits. */
const PFEC_PRESENT = 1;
const PFEC_WRITE = 2;
const PFEC_RSVD = 8;
const PFEC_INSN = 16;
const ADDR = 0x000ffffffffff000n;

/** Machine address of the kernel-table L1 entry that maps `va`, or -1 (guest_get_eff_kern_l1e). */
function kernelL1Slot(xen: Xen, v: Vcpu, va: bigint): number {
  const mem = xen.frames.mem;
  let table = v.kernelCr3;
  for (let level = 3; level >= 1; level--) {
    const f = mem.frame(table);
    if (f === null) return -1;
    const e = f.getBigUint64(Number((va >> BigInt(12 + 9 * level)) & 511n) * 8, true);
    if ((e & PTE_P) === 0n || (level < 3 && (e & 0x80n) !== 0n)) return -1;
    table = Number((e & ADDR) >> 12n);
  }
  return table * 4096 + Number((va >> 12n) & 511n) * 8;
}

/**
 * Try to emulate the write behind #PF(`err`) at `cr2` as an L1 update.
 * Returns true when the instruction completed (RIP after it), false when
 * the guest must get the #PF.
 */
export function ptwrFault(xen: Xen, d: Domain, v: Vcpu, err: number, cr2: bigint): boolean {
  if (!v.kernelMode || (d.vmAssist & (1 << 2)) === 0) return false;
  if ((err & (PFEC_RSVD | PFEC_INSN)) !== 0 || (err & (PFEC_WRITE | PFEC_PRESENT)) !== (PFEC_WRITE | PFEC_PRESENT)) return false;
  const va = BigInt.asUintN(64, cr2);
  const slot = kernelL1Slot(xen, v, va);
  if (slot < 0) return false;
  const mem = xen.frames.mem;
  const slotView = mem.frame(Math.floor(slot / 4096))!;
  const pte = slotView.getBigUint64(slot % 4096, true);
  if ((pte & (PTE_P | PTE_RW)) !== PTE_P) return false;
  const mfn = Number((pte & ADDR) >> 12n);
  if (!xen.pages.owned(d, mfn) || xen.pages.tableLevel(mfn) !== PGT.L1) return false;

  // Run the instruction once against the table made writable for it.
  const c = v.cpu;
  const table = mem.frame(mfn)!;
  const before = new Uint8Array(table.buffer, table.byteOffset, 4096).slice();
  const regs = c.r.slice();
  const rip = c.rip;
  const rflags = c.rflags;
  const icount = c.icount;
  const lo = Number(va & 0xffffffffn);
  const hi = Number(va >> 32n);
  slotView.setBigUint64(slot % 4096, pte | PTE_RW, true);
  c.mmu.flushPage(lo, hi);
  const exit = c.step();
  slotView.setBigUint64(slot % 4096, pte, true);
  c.mmu.flushPage(lo, hi);

  const undo = (): false => {
    new Uint8Array(table.buffer, table.byteOffset, 4096).set(before);
    c.r.set(regs);
    c.rip = rip;
    c.rflags = rflags;
    c.icount = icount;
    return false;
  };
  if (exit.kind === ExitKind.EXCEPTION || c.icount !== icount + 1) return undo();

  // Re-apply every changed entry through page typing, in address order.
  const applied: Array<[number, bigint]> = [];
  const prev = new DataView(before.buffer);
  for (let off = 0; off < 4096; off += 8) {
    const nv = table.getBigUint64(off, true);
    const ov = prev.getBigUint64(off, true);
    if (nv === ov) continue;
    table.setBigUint64(off, ov, true);
    if (xen.pages.modL1e(d, mfn * 4096 + off, nv) !== 0) {
      for (const [o, old] of applied.reverse()) xen.pages.modL1e(d, mfn * 4096 + o, old);
      return undo();
    }
    applied.push([off, ov]);
  }
  // (only a replaced present entry can be cached: PageTypes.present)
  if (applied.some(([, ov]) => (ov & 1n) !== 0n)) for (const w of d.vcpus) w.cpu.mmu.flush();
  return true;
}
