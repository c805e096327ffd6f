/**
 * VCPUOP_initialise: a whole PV vCPU context from a vcpu_guest_context
 * (arch_set_info_guest, 64-bit PV path), the x87/SSE state included (the
 * FXSAVE image in fpu_ctxt with VGCF_I387_VALID). Once per vCPU (-EEXIST after);
 * the vCPU stays down unless VGCF_online is set, and VCPUOP_up needs it.
 *
 * Checks, in Xen's order: canonical addresses and the LDT (-EINVAL), the
 * vm_assist bits (vCPU 0), the GDT size, a user L4 when starting in user
 * mode; then the GDT frames (descriptor type) and the kernel and user L4s
 * (L4 type, validated now) -- a failure there undoes what it took.
 */
import { fpuReset } from '../../cpu/fpu.js';
import { FXSAVE_USED, fxrstorImage, imageMxcsr } from '../../cpu/fxsave.js';
import * as A from '../public/arch-x86/xen.js';
import { trap_info as T } from '../public/arch-x86/xen.js';
import { VMASST_TYPE_m2p_strict } from '../public/xen.js';
import { cpu_user_regs as R, HYPERVISOR_VIRT_END, HYPERVISOR_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import { PGT } from '../page-types.js';
import { fixupGuestCr4 } from '../cpuid.js';
import type { Vcpu } from '../vcpu.js';
import { PV64_VM_ASSIST_MASK } from './mm.js';
import { isCanonical, pvSetGdt } from './traps.js';
import { CALLBACKF_mask_events, CALLBACKTYPE_event, CALLBACKTYPE_failsafe, CALLBACKTYPE_syscall } from '../public/callback.js';
import { E, type HcCtx } from './types.js';

const C = A.vcpu_guest_context;
/** ctrlreg[n] and debugreg[n]. */
const CR = (n: number): number => C.ctrlreg + C.ctrlreg_stride * n;
const DR = (n: number): number => C.debugreg + C.debugreg_stride * n;
const TRAP = (i: number): number => C.trap_ctxt + C.trap_ctxt_stride * i;
const XEN_AREA = HYPERVISOR_VIRT_START;
const XEN_AREA_END = HYPERVISOR_VIRT_END;
const GPRS: Array<[number, number]> = [[0, R.rax], [1, R.rcx], [2, R.rdx], [3, R.rbx], [4, R.rsp], [5, R.rbp], [6, R.rsi], [7, R.rdi], [8, R.r8], [9, R.r9], [10, R.r10], [11, R.r11], [12, R.r12], [13, R.r13], [14, R.r14], [15, R.r15]];

export function initialiseVcpu(h: HcCtx, t: Vcpu, arg: bigint): number {
  const raw = h.v.guest.read(arg, C.size);
  if (raw === null) return -E.EFAULT;
  if (t.initialised) return -E.EEXIST;
  const dv = new DataView(raw.buffer);
  const q = (off: number): bigint => dv.getBigUint64(off, true);
  const u = C.user_regs;
  const flags = Number(q(C.flags) & 0xffffffffn);
  const ldtBase = q(C.ldt_base);
  const ldtEnts = Number(q(C.ldt_ents) & 0xffffffffn);
  const canon = [q(u + R.rip), q(u + R.rsp), q(C.kernel_sp), q(C.fs_base), q(C.gs_base_kernel), q(C.gs_base_user), q(C.event_callback_eip), q(C.syscall_callback_eip), q(C.failsafe_callback_eip)];
  if (ldtEnts !== 0) canon.push(ldtBase);
  for (let i = 0; i < 256; i++) canon.push(q(TRAP(i) + T.address));
  if (!canon.every(isCanonical)) return -E.EINVAL;
  if ((ldtBase >= XEN_AREA && ldtBase < XEN_AREA_END) || (ldtBase & 0xfffn) !== 0n || q(C.ldt_ents) > 8192n) return -E.EINVAL;
  const vmAssist = Number(q(C.vm_assist) & 0xffffffffn);
  if (t.id === 0 && (q(C.vm_assist) & ~PV64_VM_ASSIST_MASK) !== 0n) return -E.EINVAL;
  const gdtEnts = Number(q(C.gdt_ents) & 0xffffffffn);
  const nrGdt = Math.ceil(gdtEnts / 512);
  if (q(C.gdt_ents) > 16n * 512n) return -E.EINVAL;
  const cr1 = q(CR(1));
  if ((flags & A.VGCF_in_kernel) === 0 && cr1 === 0n) return -E.EINVAL;

  // References: GDT frames, then the kernel L4, then the user L4.
  const { xen, d } = h;
  const gdt = Array.from({ length: nrGdt }, (_, k) => {
    const f = q(C.gdt_frames + C.gdt_frames_stride * k);
    return f < BigInt(xen.frames.frameCount) ? Number(f) : -1;
  });
  const rc = pvSetGdt(xen, d, t, gdt, gdtEnts);
  if (rc !== 0) return rc;
  const takeL4 = (cr: bigint): number => {
    const mfn = Number((cr >> 12n) & 0xffffffffffn);
    if (!xen.pages.owned(d, mfn)) return -E.EINVAL;
    const r = xen.pages.getType(d, mfn, PGT.L4);
    return r === 0 ? mfn : r;
  };
  const k3 = takeL4(q(CR(3)));
  const k1 = k3 < 0 || cr1 === 0n ? 0 : takeL4(cr1);
  if (k3 < 0 || k1 < 0) {
    if (k3 > 0) xen.pages.putType(d, k3);
    pvSetGdt(xen, d, t, [], 0);
    return k3 < 0 ? k3 : k1;
  }

  // The context itself.
  const c = t.cpu;
  for (const [reg, off] of GPRS) c.setReg(reg, q(u + off));
  c.rip = q(u + R.rip);
  const rflags = Number(q(u + R.rflags) & 0x3f7fd5n);
  t.iopl = (rflags >> 12) & 3;
  c.rflags = (rflags & ~0x3000) | 0x202;
  const sel = (off: number): number => {
    const s = dv.getUint16(u + off, true);
    return s !== 0 && (s & 3) === 0 ? s | 3 : s;
  };
  c.sreg[1] = sel(R.cs);
  c.sreg[2] = sel(R.ss);
  c.sreg[0] = dv.getUint16(u + R.es, true);
  c.sreg[3] = dv.getUint16(u + R.ds, true);
  c.sreg[4] = dv.getUint16(u + R.fs, true);
  c.sreg[5] = dv.getUint16(u + R.gs, true);
  for (let i = 0; i < 256; i++) {
    const at = TRAP(i);
    const address = q(at + T.address);
    const vec = dv.getUint8(at + T.vector);
    if (address !== 0n) t.traps[vec] = { flags: dv.getUint8(at + T.flags), cs: dv.getUint16(at + T.cs, true) | 3, address };
  }
  t.ldtBase = ldtEnts !== 0 ? ldtBase : 0n;
  t.ldtEntries = ldtEnts;
  t.kernelSs = Number(q(C.kernel_ss) & 0xffffn) | 3;
  t.kernelSp = q(C.kernel_sp);
  t.callbacks.set(CALLBACKTYPE_event, { address: q(C.event_callback_eip), flags: 0 });
  t.callbacks.set(CALLBACKTYPE_failsafe, { address: q(C.failsafe_callback_eip), flags: (flags & A.VGCF_failsafe_disables_events) !== 0 ? CALLBACKF_mask_events : 0 });
  t.callbacks.set(CALLBACKTYPE_syscall, { address: q(C.syscall_callback_eip), flags: (flags & A.VGCF_syscall_disables_events) !== 0 ? CALLBACKF_mask_events : 0 });
  t.setCr0Ts((q(CR(0)) & 8n) !== 0n);
  // vcpu_setup_fpu / vcpu_reset_fpu: the FXSAVE image when VGCF_I387_VALID, else the power-on state.
  // An image FXRSTOR refuses (MXCSR reserved bits) is cleared and loaded again, as Xen's fixup does.
  fpuReset(c);
  if ((flags & A.VGCF_I387_VALID) !== 0) {
    const img = raw.slice(C.fpu_ctxt, C.fpu_ctxt + FXSAVE_USED);
    if ((imageMxcsr(img) & ~c.mxcsrMask) !== 0) img.fill(0);
    fxrstorImage(c, img, true);
  }
  t.cr4 = fixupGuestCr4(Number(q(CR(4)) & 0xffffffffn));
  c.fsgsbase = false;
  for (const r of [0, 1, 2, 3, 6, 7]) t.dr[r] = q(DR(r));
  const kernel = (flags & A.VGCF_in_kernel) !== 0;
  const [gsK, gsU] = [q(C.gs_base_kernel), q(C.gs_base_user)];
  const split = (x: bigint): [number, number] => [Number(x & 0xffffffffn), Number(x >> 32n)];
  [c.fsLo, c.fsHi] = split(q(C.fs_base));
  [c.gsLo, c.gsHi] = split(kernel ? gsK : gsU);
  [c.kgsLo, c.kgsHi] = split(kernel ? gsU : gsK);
  if (t.id === 0) {
    d.vmAssist = vmAssist;
    d.m2pStrict = (q(C.vm_assist) >> BigInt(VMASST_TYPE_m2p_strict) & 1n) !== 0n;
  }
  t.kernelCr3 = k3;
  t.userCr3 = k1;
  t.kernelMode = kernel;
  t.loadCr3(kernel ? k3 : k1);
  t.initialised = true;
  if ((flags & A.VGCF_online) !== 0 && !t.up) {
    t.up = true;
    h.xen.account(t, 'runnable');
  }
  return 0;
}
