/**
 * Page tables: mmu_update, update_va_mapping, mmuext_op; and vm_assist.
 *
 * The guest's page tables hold machine addresses and are read-only to it;
 * it changes them only through these hypercalls. Every change goes through
 * Xen's page typing (page-types.ts): references are taken for what a new
 * entry names and dropped for what the old one named, so no writable
 * mapping of a page table or descriptor page can ever exist.
 */
import type { Domain } from '../domain.js';
import { PGT, PTE_P, type Pgt } from '../page-types.js';
import type { Vcpu } from '../vcpu.js';
import type { Xen } from '../xen.js';
import { isCanonical } from './traps.js';
import { HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import * as X from '../public/xen.js';
import {
  MMU_MACHPHYS_UPDATE, MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_NO_TRANSLATE, MMU_PT_UPDATE_PRESERVE_AD, mmu_update, mmuext_op,
  MMUEXT_CLEAR_PAGE, MMUEXT_COPY_PAGE, MMUEXT_FLUSH_CACHE, MMUEXT_FLUSH_CACHE_GLOBAL, MMUEXT_INVLPG_ALL, MMUEXT_INVLPG_LOCAL,
  MMUEXT_INVLPG_MULTI, MMUEXT_MARK_SUPER, MMUEXT_NEW_BASEPTR, MMUEXT_NEW_USER_BASEPTR, MMUEXT_PIN_L1_TABLE, MMUEXT_PIN_L2_TABLE,
  MMUEXT_PIN_L3_TABLE, MMUEXT_PIN_L4_TABLE, MMUEXT_SET_LDT, MMUEXT_TLB_FLUSH_ALL, MMUEXT_TLB_FLUSH_LOCAL, MMUEXT_TLB_FLUSH_MULTI,
  MMUEXT_UNMARK_SUPER, MMUEXT_UNPIN_TABLE, VMASST_CMD_disable, VMASST_CMD_enable, VMASST_TYPE_4gb_segments, VMASST_TYPE_4gb_segments_notify,
  VMASST_TYPE_architectural_iopl, VMASST_TYPE_m2p_strict, VMASST_TYPE_pae_extended_cr3, VMASST_TYPE_runstate_update_flag,
  VMASST_TYPE_writable_pagetables,
} from '../public/xen.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const M64 = (1n << 64n) - 1n;
const PTE_PS = 0x80n;
/** A page-table entry's Accessed and Dirty bits. */
const PTE_AD = 0x60n;
const ADDR_MASK = 0x000ffffffffff000n;
const XEN_HOLE_START = HYPERVISOR_VIRT_START;
const XEN_HOLE_END = HYPERVISOR_VIRT_END;
/** The low bits of mmu_update.ptr that carry the MMU_* command (Xen masks 3 bits). */
const MMU_CMD_MASK = 7n;

/** May `d` reference `mfn` as a data page (copies, COPY_PAGE sources): its own RAM or a frame Xen shares with it. */
export function mayMap(h: HcCtx, d: Domain, mfn: number): boolean {
  return h.xen.pages.owned(d, mfn) || h.xen.pages.shared(d, mfn);
}

/** Machine address of the L1 entry mapping `va` in the tables rooted at `cr3`, or -1 (map_guest_l1e). */
export function l1Slot(h: HcCtx, cr3: number, va: bigint): number {
  const mem = h.xen.frames.mem;
  let table = cr3;
  const v = va & M64;
  for (let level = 3; level >= 1; level--) {
    const idx = Number((v >> BigInt(12 + 9 * level)) & 511n);
    const f = mem.frame(table);
    if (f === null) return -1;
    const e = f.getBigUint64(idx * 8, true);
    if ((e & PTE_P) === 0n || (level < 3 && (e & PTE_PS) !== 0n)) return -1;
    table = Number((e & ADDR_MASK) >> 12n);
  }
  return table * 4096 + Number((v >> 12n) & 511n) * 8;
}

/** The L1 entry for `va` in `v`'s current tables, if that L1 is a validated L1 table; else -1. */
export function guestL1e(h: HcCtx, va: bigint): number {
  if (!isCanonical(va) || ((va & M64) >= XEN_HOLE_START && (va & M64) < XEN_HOLE_END)) return -1;
  const slot = l1Slot(h, h.v.cr3, va);
  return slot >= 0 && h.xen.pages.tableLevel(Math.floor(slot / 4096)) === PGT.L1 ? slot : -1;
}

/** Every vCPU of the domain drops cached translations after a page-table change. */
export function flushAll(h: HcCtx): void {
  for (const v of h.d.vcpus) v.cpu.mmu.flush();
}

/**
 * new_guest_cr3 / MMUEXT_NEW_USER_BASEPTR: make `mfn` the vCPU's kernel or
 * user L4, taking an L4 type reference (validating it on first use) before
 * dropping the old one. A user base of 0 means none.
 */
export function setBaseptr(xen: Xen, d: Domain, v: Vcpu, mfn: number, user: boolean): number {
  const old = user ? v.userCr3 : v.kernelCr3;
  if (mfn !== old) {
    if (mfn !== 0 || !user) {
      if (!xen.pages.owned(d, mfn)) return -E.EINVAL;
      const rc = xen.pages.getType(d, mfn, PGT.L4);
      if (rc !== 0) return rc;
    }
    if (old !== 0) xen.pages.putType(d, old);
    if (user) v.userCr3 = mfn;
    else v.kernelCr3 = mfn;
  }
  if (v.kernelMode !== user) v.loadCr3(mfn);
  return 0;
}

/** update_va_mapping(va, val, flags): mod_l1_entry on the L1 entry for va in the current tables. */
export function updateVaMapping(h: HcCtx): number {
  const [va, val, flags] = h.args as [bigint, bigint, bigint];
  h.decoded.va = va;
  h.decoded.val = val;
  h.decoded.flags = Number(flags & 7n);
  const slot = guestL1e(h, va);
  if (slot < 0) return -E.EINVAL;
  const stale = h.xen.pages.present(slot);
  const rc = h.xen.pages.modL1e(h.d, slot, val & M64);
  if (rc === 0 && stale) flushAll(h);
  return rc;
}

/** mmu_update(reqs, count, done, foreigndom): entries of validated tables, raw writes elsewhere, M2P updates. */
export function mmuUpdate(h: HcCtx): number {
  const [reqs, count, done] = h.args as [bigint, bigint, bigint];
  const n = u32(count);
  const pages = h.xen.pages;
  h.decoded.count = n;
  const updates: number[] = [];
  let k = 0;
  let rc = 0;
  for (; k < n; k++) {
    const raw = h.v.guest.read(fld(reqs, mmu_update.size * k), mmu_update.size);
    if (raw === null) {
      rc = -E.EFAULT;
      break;
    }
    const dv = new DataView(raw.buffer);
    const ptr = dv.getBigUint64(mmu_update.ptr, true);
    const val = dv.getBigUint64(mmu_update.val, true);
    const cmd = Number(ptr & MMU_CMD_MASK);
    const ma = Number(ptr & ~MMU_CMD_MASK & 0xffffffffffffn);
    const mfn = Math.floor(ma / 4096);
    if (k < 4) updates.push(ma, Number(val & 0xffffffffn));
    rc = -E.EINVAL;
    if (cmd === MMU_NORMAL_PT_UPDATE || cmd === MMU_PT_UPDATE_PRESERVE_AD || cmd === MMU_PT_UPDATE_NO_TRANSLATE) {
      if (!mayMap(h, h.d, mfn)) break;
      const level = pages.tableLevel(mfn);
      // (a raw write to a page that is no table, or a new entry where none was, changes no cached translation)
      const stale = level !== 0 && pages.present(ma);
      // MMU_PT_UPDATE_PRESERVE_AD (update_intpte): Accessed/Dirty the hardware set meanwhile survive.
      const nv = cmd === MMU_PT_UPDATE_PRESERVE_AD && level !== 0 ? val | (h.xen.frames.mem.frame(mfn)!.getBigUint64(ma % 4096, true) & PTE_AD) : val;
      if (level === PGT.L1) rc = pages.modL1e(h.d, ma, nv);
      else if (level !== 0) rc = pages.modPde(h.d, ma, nv, level);
      else if (pages.count[mfn] === 0 || pages.type[mfn] === PGT.WRITABLE) {
        pages.store(ma, val);
        rc = 0;
      }
      if (rc === 0 && stale) flushAll(h);
    } else if (cmd === MMU_MACHPHYS_UPDATE) {
      if (!pages.owned(h.d, mfn)) break;
      h.xen.frames.setM2p(mfn, val);
      rc = 0;
    } else rc = -E.ENOSYS;
    if (rc !== 0) break;
  }
  h.decoded.updates = updates;
  if (done !== 0n && !h.v.guest.putU32(done, k)) return -E.EFAULT;
  return rc;
}

const MMUEXT_NAMES = namesFrom(X, 'MMUEXT');
const MMUEXT_SUB = subOpNames('MMUEXT', MMUEXT_NAMES);
/** MMUEXT_PIN_Ln_TABLE -> the page type (level) it pins. */
const PIN_LEVEL: Record<number, Pgt> = { [MMUEXT_PIN_L1_TABLE]: PGT.L1, [MMUEXT_PIN_L2_TABLE]: PGT.L2, [MMUEXT_PIN_L3_TABLE]: PGT.L3, [MMUEXT_PIN_L4_TABLE]: PGT.L4 };

/** One mmuext_op; 0 or -errno. */
function mmuextOne(h: HcCtx, cmd: number, arg1: bigint, arg2: bigint): number {
  const { xen, d, v } = h;
  const pages = xen.pages;
  const mfn = Number(arg1 & 0xfffffffffn);
  switch (cmd) {
    case MMUEXT_PIN_L1_TABLE: case MMUEXT_PIN_L2_TABLE: case MMUEXT_PIN_L3_TABLE: case MMUEXT_PIN_L4_TABLE: {
      if (!pages.owned(d, mfn)) return -E.EINVAL;
      const level = PIN_LEVEL[cmd]!;
      const rc = pages.getType(d, mfn, level);
      if (rc !== 0) return rc;
      if (d.pinned.has(mfn)) {
        pages.putType(d, mfn);
        return -E.EINVAL;
      }
      d.pinned.set(mfn, level);
      return 0;
    }
    case MMUEXT_UNPIN_TABLE:
      if (!pages.owned(d, mfn) || !d.pinned.delete(mfn)) return -E.EINVAL;
      pages.putType(d, mfn);
      flushAll(h);
      return 0;
    case MMUEXT_NEW_BASEPTR:
      return setBaseptr(xen, d, v, mfn, false);
    case MMUEXT_NEW_USER_BASEPTR:
      return setBaseptr(xen, d, v, mfn, true);
    case MMUEXT_TLB_FLUSH_LOCAL: case MMUEXT_TLB_FLUSH_MULTI: case MMUEXT_TLB_FLUSH_ALL:
      for (const x of cmd === MMUEXT_TLB_FLUSH_LOCAL ? [v] : d.vcpus) x.cpu.mmu.flush();
      return 0;
    case MMUEXT_INVLPG_LOCAL: case MMUEXT_INVLPG_MULTI: case MMUEXT_INVLPG_ALL:
      for (const x of cmd === MMUEXT_INVLPG_LOCAL ? [v] : d.vcpus) x.cpu.mmu.flushPage(Number(arg1 & 0xffffffffn), Number((arg1 >> 32n) & 0xffffffffn));
      return 0;
    case MMUEXT_FLUSH_CACHE:
      return d.privileged ? 0 : -E.EACCES;
    case MMUEXT_FLUSH_CACHE_GLOBAL:
      return d.privileged ? 0 : -E.EINVAL;
    case MMUEXT_SET_LDT: {
      const ents = Number(arg2 & 0xffffffffn);
      if (ents > 8192 || (ents !== 0 && ((arg1 & 0xfffn) !== 0n || !isCanonical(arg1) || (arg1 & M64) >= XEN_HOLE_START))) return -E.EINVAL;
      v.ldtBase = ents === 0 ? 0n : arg1;
      v.ldtEntries = ents;
      return 0;
    }
    case MMUEXT_CLEAR_PAGE:
    case MMUEXT_COPY_PAGE: {
      const src = Number(arg2 & 0xfffffffffn);
      if (cmd === MMUEXT_COPY_PAGE && !pages.owned(d, src)) return -E.EINVAL;
      if (!pages.owned(d, mfn) || pages.getType(d, mfn, PGT.WRITABLE) !== 0) return -E.EINVAL;
      if (cmd === MMUEXT_CLEAR_PAGE) xen.frames.mem.fill(mfn * 4096, 4096);
      else xen.frames.mem.write(mfn * 4096, xen.frames.mem.read(src * 4096, 4096));
      pages.putType(d, mfn);
      return 0;
    }
    case MMUEXT_MARK_SUPER:
    case MMUEXT_UNMARK_SUPER:
      return -E.EOPNOTSUPP;
    default:
      return -E.ENOSYS;
  }
}

/** mmuext_op(ops, count, done, foreigndom): stops at the first failing op; done = ops completed. */
export function mmuextOp(h: HcCtx): number {
  const [ops, count, done] = h.args as [bigint, bigint, bigint];
  const n = u32(count);
  const names: string[] = [];
  let k = 0;
  let rc = 0;
  for (; k < n; k++) {
    const raw = h.v.guest.read(fld(ops, mmuext_op.size * k), mmuext_op.size);
    if (raw === null) {
      rc = -E.EFAULT;
      break;
    }
    const dv = new DataView(raw.buffer);
    const cmd = dv.getUint32(mmuext_op.cmd, true);
    const arg1 = dv.getBigUint64(mmuext_op.arg1, true);
    const arg2 = dv.getBigUint64(mmuext_op.arg2, true);
    names.push(MMUEXT_NAMES[cmd] ?? String(cmd));
    if (k === 0) {
      h.sub = cmd;
      h.subName = MMUEXT_SUB(cmd);
      h.decoded.arg1 = arg1;
      h.decoded.arg2 = arg2;
    }
    rc = mmuextOne(h, cmd, arg1, arg2);
    if (rc !== 0) break;
  }
  h.decoded.ops = names.join(',');
  if (done !== 0n && !h.v.guest.putU32(done, k)) return -E.EFAULT;
  return rc;
}

/**
 * VMASST types a 64-bit PV guest may use (asm/domain.h PV64_VM_ASSIST_MASK):
 * the 32-bit ones too, "but we can't make such requests fail all of the
 * sudden", plus m2p_strict.
 */
export const PV64_VM_ASSIST_MASK =
  (1n << BigInt(VMASST_TYPE_4gb_segments)) | (1n << BigInt(VMASST_TYPE_4gb_segments_notify)) | (1n << BigInt(VMASST_TYPE_writable_pagetables)) |
  (1n << BigInt(VMASST_TYPE_pae_extended_cr3)) | (1n << BigInt(VMASST_TYPE_architectural_iopl)) | (1n << BigInt(VMASST_TYPE_runstate_update_flag)) |
  (1n << BigInt(VMASST_TYPE_m2p_strict));

/** d->vm_assist is an unsigned long: types past its width are invalid. */
const VMASST_TYPE_BITS = 64;

/** vm_assist(cmd, type): common/domain.c do_vm_assist -- the type is checked (-EINVAL) before the command (-ENOSYS). */
export function vmAssist(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const type = u32(h.args[1]!);
  h.decoded.cmd = cmd;
  h.decoded.type = type;
  if (type >= VMASST_TYPE_BITS || ((PV64_VM_ASSIST_MASK >> BigInt(type)) & 1n) === 0n) return -E.EINVAL;
  if (cmd !== VMASST_CMD_enable && cmd !== VMASST_CMD_disable) return -E.ENOSYS;
  if (type === VMASST_TYPE_m2p_strict) {
    h.d.m2pStrict = cmd === VMASST_CMD_enable;
    return 0;
  }
  const bit = 1 << type;
  h.d.vmAssist = cmd === VMASST_CMD_enable ? h.d.vmAssist | bit : h.d.vmAssist & ~bit;
  return 0;
}
