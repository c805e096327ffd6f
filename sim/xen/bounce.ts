/**
 * Event and exception delivery to a PV guest ("bounce frames") and the iret
 * hypercall that returns from them (Xen: create_bounce_frame,
 * pv_inject_event, do_iret).
 *
 * The frame, from low to high address, new RSP pointing at the first word:
 *   RCX, R11, [error code], RIP, CS | saved_upcall_mask << 32, RFLAGS, RSP, SS
 * In guest kernel mode the frame goes on the current stack and the saved CS
 * has its RPL cleared (that is how the guest tells kernel context); from
 * user mode Xen switches to kernel mode and the kernel stack of
 * stack_switch. The saved RFLAGS carry the virtual IF (= !upcall_mask).
 */
import type { Cpu } from '../cpu/cpu.js';
import { materialize } from '../cpu/flags.js';
import { descriptorOf, rightsOf } from './descriptors.js';
import type { Domain } from './domain.js';
import { CALLBACKTYPE_event } from './public/callback.js';
import { FLAT_KERNEL_CS, FLAT_KERNEL_SS, HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START, iret_context as IC, VGCF_in_syscall } from './public/arch-x86/xen-x86_64.js';
import { VMASST_TYPE_architectural_iopl } from './public/xen.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

const IF = 0x200;
const IOPL = 0x3000;
/** TF NT RF VM AC are cleared on handler entry. */
const ENTRY_CLEAR = 0x100 | 0x4000 | 0x10000 | 0x20000 | 0x40000;
/** Vectors that push an error code. */
const HAS_ERR = new Set([8, 10, 11, 12, 13, 14, 17]);

function reg(c: Cpu, i: number): bigint {
  return c.getReg(i);
}

/**
 * Push a bounce frame and enter `handler`. `err` is pushed when not null.
 * Returns false after crashing the domain when the frame cannot be written.
 */
export function bounce(xen: Xen, d: Domain, v: Vcpu, handler: bigint, err: number | null, maskEvents: boolean): boolean {
  const c = v.cpu;
  const savedMask = v.upcallMask;
  const wasKernel = v.kernelMode;
  const rip = c.rip;
  const rsp = reg(c, 4);
  materialize(c);
  let rflags = (c.flags & ~(IF | IOPL)) | (savedMask ? 0 : IF);
  if (d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) rflags |= v.iopl << 12;
  const cs = wasKernel ? c.sreg[1]! & ~3 : c.sreg[1]!;
  const ss = c.sreg[2]!;
  if (!wasKernel) {
    if (v.kernelCr3 === 0) {
      xen.crash(d, 'event from user mode without a kernel page table');
      return false;
    }
    v.setKernelMode(true);
  }
  let sp = (wasKernel ? rsp : v.kernelSp) & ~15n;
  const words: bigint[] = [reg(c, 1), reg(c, 11)];
  if (err !== null) words.push(BigInt(err >>> 0));
  words.push(rip, BigInt(cs) | (BigInt(savedMask ? 1 : 0) << 32n), BigInt(rflags), rsp, BigInt(ss));
  sp -= BigInt(words.length * 8);
  const frame = new Uint8Array(words.length * 8);
  const dv = new DataView(frame.buffer);
  words.forEach((w, k) => dv.setBigUint64(k * 8, w & 0xffffffffffffffffn, true));
  const inHole = sp >= HYPERVISOR_VIRT_START && sp < HYPERVISOR_VIRT_END;
  if (inHole || !v.guest.write(sp & 0xffffffffffffffffn, frame)) {
    xen.crash(d, `cannot write a bounce frame at 0x${(sp & 0xffffffffffffffffn).toString(16)}`);
    return false;
  }
  if (maskEvents) v.upcallMask = true;
  c.setReg(4, sp & 0xffffffffffffffffn);
  c.rip = handler;
  c.sreg[1] = FLAT_KERNEL_CS;
  c.sreg[2] = FLAT_KERNEL_SS;
  c.flags = (c.flags & ~ENTRY_CLEAR) | IF;
  return true;
}

/** Inject the event-channel upcall if one is pending and events are unmasked. */
export function maybeUpcall(xen: Xen, d: Domain, v: Vcpu): boolean {
  if (!d.alive) return false;
  // process_nmi (x86_64/entry.S): a pending NMI first, through trap-table
  // vector 2, unless one is being handled; the iret hypercall unmasks.
  if (v.nmiPending && !v.nmiMasked) {
    v.nmiPending = false;
    const t = v.traps[2];
    if (t !== null && t !== undefined && t.address !== 0n) {
      v.nmiMasked = true;
      xen.emit(v, d.id, { kind: 'exception', vector: 2, errorCode: 0, cr2: 0n, bounced: true, handler: t.address });
      return bounce(xen, d, v, t.address, null, (t.flags & 4) !== 0);
    }
  }
  if (!v.upcallPending || v.upcallMask) return false;
  const cb = v.callbacks.get(CALLBACKTYPE_event);
  if (cb === undefined || cb.address === 0n) return false;
  xen.emit(v, d.id, () => ({ kind: 'evtchn_deliver', ports: xen.pendingPorts(d, v.id) }));
  return bounce(xen, d, v, cb.address, null, true);
}

/**
 * Deliver exception `vector` through the virtual trap table. Returns false
 * when the domain crashed (no handler, or the frame could not be written).
 */
export function injectException(xen: Xen, d: Domain, v: Vcpu, vector: number, err: number, cr2: bigint): boolean {
  const t = v.traps[vector] ?? null;
  const hasErr = HAS_ERR.has(vector);
  if (vector === 14) {
    v.cr2 = cr2;
    v.arch_cr2 = cr2;
    err = v.kernelMode ? err & ~4 : err | 4;
  }
  xen.emit(v, d.id, { kind: 'exception', vector, errorCode: hasErr ? err : 0, cr2: vector === 14 ? cr2 : 0n, bounced: t !== null && t.address !== 0n, handler: t?.address ?? 0n });
  if (t === null || t.address === 0n) {
    xen.crash(d, `unhandled exception ${vector} (error 0x${err.toString(16)}) at rip 0x${v.cpu.rip.toString(16)}`);
    return false;
  }
  return bounce(xen, d, v, t.address, hasErr ? err : null, (t.flags & 4) !== 0);
}

/** The iret hypercall: restore the context the guest pushed. Returns false if the domain crashed. */
export function doIret(xen: Xen, d: Domain, v: Vcpu): boolean {
  const c = v.cpu;
  const sp = c.getReg(4);
  const raw = v.guest.read(sp, IC.size);
  if (raw === null) {
    xen.crash(d, 'iret: context not readable');
    return false;
  }
  const q = new DataView(raw.buffer);
  const [rax, r11, rcx, flags, rip, cs, rflags, rsp, ss] = [IC.rax, IC.r11, IC.rcx, IC.flags, IC.rip, IC.cs, IC.rflags, IC.rsp, IC.ss].map((o) => q.getBigUint64(o, true)) as [bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint, bigint];
  const desc = descriptorOf(xen, v, Number(cs & 0xffffn) | 3);
  if (desc !== null && rightsOf(desc).code && !rightsOf(desc).long) {
    xen.crash(d, `iret to compatibility-mode segment 0x${(cs & 0xffffn).toString(16)}: 32-bit code is not simulated`);
    return false;
  }
  if ((cs & 3n) === 3n) {
    if (v.userCr3 === 0) {
      xen.crash(d, 'iret to user mode without a user page table');
      return false;
    }
    v.setKernelMode(false);
  }
  c.rip = rip;
  c.sreg[1] = Number(cs & 0xffffn) | 3;
  c.sreg[2] = Number(ss & 0xffffn) | 3;
  const fl = Number(rflags & 0x3f7fd5n);
  c.flags = (fl & ~(IOPL | 0x20000)) | IF | 2;
  c.lop = 0;
  c.setReg(4, rsp);
  if ((flags & BigInt(VGCF_in_syscall)) === 0n) {
    c.setReg(11, r11);
    c.setReg(1, rcx);
  }
  v.upcallMask = (fl & IF) === 0;
  v.nmiMasked = false; // async_exception_cleanup
  if (d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) v.iopl = (fl >> 12) & 3;
  c.setReg(0, rax);
  return true;
}
