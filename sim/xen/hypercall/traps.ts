/**
 * Trap and callback registration, stacks, segments, debug registers:
 * set_trap_table, set_callbacks, callback_op, stack_switch, set_gdt,
 * fpu_taskswitch, set_segment_base, set_debugreg, get_debugreg,
 * update_descriptor.
 */
import { xen_pfn_t } from '../public/arch-x86/xen.js';
import { checkDescriptor, FIRST_RESERVED_GDT_ENTRY } from '../descriptors.js';
import type { Domain } from '../domain.js';
import { PGT } from '../page-types.js';
import type { Vcpu } from '../vcpu.js';
import type { Xen } from '../xen.js';
import * as CB from '../public/callback.js';
import { callback_register as CR, callback_unregister, CALLBACKF_mask_events, CALLBACKOP_register, CALLBACKOP_unregister, CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_nmi, CALLBACKTYPE_syscall, CALLBACKTYPE_syscall32, CALLBACKTYPE_sysenter } from '../public/callback.js';
import { trap_info } from '../public/arch-x86/xen.js';
import * as X64 from '../public/arch-x86/xen-x86_64.js';
import { SEGBASE_FS, SEGBASE_GS_KERNEL, SEGBASE_GS_USER, SEGBASE_GS_USER_SEL } from '../public/arch-x86/xen-x86_64.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const M64 = (1n << 64n) - 1n;
export const isCanonical = (a: bigint): boolean => {
  const top = (a & M64) >> 47n;
  return top === 0n || top === 0x1ffffn;
};

/** set_trap_table(traps): merge a list ended by address 0; NULL clears the table. */
export function setTrapTable(h: HcCtx): number {
  const list = h.args[0]!;
  if (list === 0n) {
    h.v.traps.fill(null);
    h.decoded.cleared = true;
    return 0;
  }
  const vectors: number[] = [];
  for (let k = 0; k < 256; k++) {
    const raw = h.v.guest.read(fld(list, trap_info.size * k), trap_info.size);
    if (raw === null) return -E.EFAULT;
    const dv = new DataView(raw.buffer);
    const address = dv.getBigUint64(trap_info.address, true);
    if (address === 0n) break;
    if (!isCanonical(address)) return -E.EINVAL;
    const vector = dv.getUint8(trap_info.vector);
    h.v.traps[vector] = { flags: dv.getUint8(trap_info.flags), cs: dv.getUint16(trap_info.cs, true) | 3, address };
    vectors.push(vector);
  }
  h.decoded.vectors = vectors;
  return 0;
}

/** CALLBACKTYPE_* that can be registered on 64-bit PV. */
const CALLBACK_TYPES = new Set<number>([CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall, CALLBACKTYPE_nmi, CALLBACKTYPE_sysenter, CALLBACKTYPE_syscall32]);
const CALLBACK_NAMES: Record<number, string> = Object.fromEntries([...CALLBACK_TYPES].map((t) => [t, namesFrom(CB, 'CALLBACKTYPE')[t]!]));

/** callback_op(CALLBACKOP_register | CALLBACKOP_unregister, arg) */
export function callbackOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  h.sub = cmd;
  if (cmd === CALLBACKOP_register) {
    h.subName = 'CALLBACKOP_register';
    const raw = h.v.guest.read(h.args[1]!, CR.size);
    if (raw === null) return -E.EFAULT;
    const dv = new DataView(raw.buffer);
    const type = dv.getUint16(CR.type, true);
    const flags = dv.getUint16(CR.flags, true);
    const address = dv.getBigUint64(CR.address, true);
    h.decoded.type = CALLBACK_NAMES[type] ?? String(type);
    h.decoded.address = address;
    h.decoded.flags = flags;
    if (!CALLBACK_TYPES.has(type) || !isCanonical(address)) return -E.EINVAL;
    h.v.callbacks.set(type, { address, flags });
    return 0;
  }
  if (cmd === CALLBACKOP_unregister) {
    h.subName = 'CALLBACKOP_unregister';
    const type = h.v.guest.u16(fld(h.args[1]!, callback_unregister.type));
    if (type === null) return -E.EFAULT;
    h.decoded.type = CALLBACK_NAMES[type] ?? String(type);
    if (type !== CALLBACKTYPE_nmi) return -E.EINVAL; // only the NMI callback can be unregistered
    h.v.callbacks.delete(type);
    return 0;
  }
  return -E.ENOSYS;
}

/** set_callbacks(event, failsafe, syscall) */
export function setCallbacks(h: HcCtx): number {
  const [event, failsafe, syscall] = h.args as [bigint, bigint, bigint];
  if (![event, failsafe, syscall].every(isCanonical)) return -E.EINVAL;
  h.v.callbacks.set(CALLBACKTYPE_event, { address: event, flags: 0 });
  h.v.callbacks.set(CALLBACKTYPE_failsafe, { address: failsafe, flags: 0 });
  h.v.callbacks.set(CALLBACKTYPE_syscall, { address: syscall, flags: CALLBACKF_mask_events });
  h.decoded.event = event;
  h.decoded.failsafe = failsafe;
  h.decoded.syscall = syscall;
  return 0;
}

/** stack_switch(ss, sp): the kernel stack for user->kernel transitions. */
export function stackSwitch(h: HcCtx): number {
  h.v.kernelSs = u32(h.args[0]!) | 3;
  h.v.kernelSp = h.args[1]!;
  h.decoded.ss = h.v.kernelSs;
  h.decoded.sp = h.v.kernelSp;
  return 0;
}

/**
 * pv_set_gdt: every frame of the new GDT takes a segment-descriptor type
 * reference (its descriptors are checked and fixed up; a frame mapped
 * writable anywhere cannot become one), then the old GDT's are dropped.
 */
export function pvSetGdt(xen: Xen, d: Domain, v: Vcpu, frames: number[], entries: number): number {
  if (entries > FIRST_RESERVED_GDT_ENTRY) return -E.EINVAL;
  for (let k = 0; k < frames.length; k++) {
    if (!xen.pages.owned(d, frames[k]!) || xen.pages.getType(d, frames[k]!, PGT.SEG_DESC) !== 0) {
      while (k-- > 0) xen.pages.putType(d, frames[k]!);
      return -E.EINVAL;
    }
  }
  for (const f of v.gdtFrames) xen.pages.putType(d, f);
  v.gdtFrames = frames;
  v.gdtEntries = entries;
  return 0;
}

/** set_gdt(frame_list, entries) */
export function setGdt(h: HcCtx): number {
  const entries = u32(h.args[1]!);
  h.decoded.entries = entries;
  if (entries > FIRST_RESERVED_GDT_ENTRY) return -E.EINVAL;
  const frames: number[] = [];
  for (let k = 0; k < Math.ceil(entries / 512); k++) {
    const f = h.v.guest.u64(fld(h.args[0]!, xen_pfn_t.size * k));
    if (f === null) return -E.EFAULT;
    frames.push(f < BigInt(h.xen.frames.frameCount) ? Number(f) : -1);
  }
  h.decoded.frames = frames;
  const rc = pvSetGdt(h.xen, h.d, h.v, frames, entries);
  if (rc === 0) h.v.cpu.mmu.flush();
  return rc;
}

export function fpuTaskswitch(h: HcCtx): number {
  h.v.setCr0Ts(h.args[0] !== 0n);
  h.decoded.set = h.v.cr0Ts ? 1 : 0;
  return 0;
}

const SEGBASE_NAMES = subOpNames('SEGBASE', namesFrom(X64, 'SEGBASE'));

/** set_segment_base(which, base) */
export function setSegmentBase(h: HcCtx): number {
  const which = u32(h.args[0]!);
  const base = h.args[1]! & M64;
  h.sub = which;
  h.subName = SEGBASE_NAMES(which);
  h.decoded.base = base;
  const c = h.v.cpu;
  const lo = Number(base & 0xffffffffn);
  const hi = Number(base >> 32n);
  if (which !== SEGBASE_GS_USER_SEL && !isCanonical(base)) return -E.EINVAL;
  switch (which) {
    case SEGBASE_FS:
      [c.fsLo, c.fsHi] = [lo, hi];
      return 0;
    case SEGBASE_GS_USER: // the user GS base is the inactive one while in kernel mode
      [c.kgsLo, c.kgsHi] = [lo, hi];
      return 0;
    case SEGBASE_GS_KERNEL:
      [c.gsLo, c.gsHi] = [lo, hi];
      return 0;
    case SEGBASE_GS_USER_SEL:
      c.sreg[5] = Number(base & 0xffffn);
      [c.kgsLo, c.kgsHi] = [0, 0];
      return 0;
    default:
      return -E.EINVAL;
  }
}

/** set_debugreg(reg, value) / get_debugreg(reg): DR0-3, DR6, DR7 with Xen's validity checks. */
export function setDebugreg(h: HcCtx): number {
  const r = u32(h.args[0]!);
  const val = h.args[1]! & M64;
  h.decoded.reg = r;
  h.decoded.value = val;
  if (r <= 3) {
    if (!isCanonical(val) || val >= 0xffff800000000000n) return -E.EPERM;
  } else if (r !== 6 && r !== 7) return -E.EINVAL;
  else if (r === 7 && (val & 0xffffffff00000000n) !== 0n) return -E.EPERM;
  h.v.dr[r] = val;
  return 0;
}
export function getDebugreg(h: HcCtx): number {
  const r = u32(h.args[0]!);
  h.decoded.reg = r;
  if (r > 7 || r === 4 || r === 5) return -E.EINVAL;
  return Number(h.v.dr[r]! & 0x7fffffffn);
}

/**
 * update_descriptor(ma, desc): one descriptor, checked and fixed up as
 * check_descriptor does, into a frame of the domain that is a descriptor
 * page or can be typed writable (not a page table).
 */
export function updateDescriptor(h: HcCtx): number {
  const ma = h.args[0]!;
  h.decoded.ma = ma;
  h.decoded.desc = h.args[1]!;
  const desc = checkDescriptor(h.args[1]! & M64);
  const mfn = Number((ma >> 12n) & 0xffffffffffn);
  if ((ma & 7n) !== 0n || desc === null || !h.xen.pages.owned(h.d, mfn)) return -E.EINVAL;
  const pages = h.xen.pages;
  const type = pages.type[mfn] === PGT.SEG_DESC ? PGT.SEG_DESC : PGT.WRITABLE;
  if (pages.getType(h.d, mfn, type) !== 0) return -E.EINVAL;
  pages.store(Number(ma & 0xffffffffffffn), desc);
  pages.putType(h.d, mfn);
  return 0;
}
