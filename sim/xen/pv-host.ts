/**
 * The PV vCPU's CpuHost: what system instructions mean inside a 64-bit PV
 * guest. The guest kernel and user both run at CPL 3; "kernel mode" is
 * Xen's state (Vcpu.kernelMode).
 *
 * - syscall in kernel mode is a hypercall; in user mode it bounces to the
 *   registered syscall callback (#UD when there is none).
 * - int3 reaches the trap table directly; int n only through a gate whose
 *   DPL allows the current mode, otherwise #GP((n << 3) | 2).
 * - Privileged instructions are emulated the way Xen's emulate_privileged_op
 *   does in guest kernel mode (CR and DR moves, wbinvd, clts, rd/wrmsr of
 *   the MSRs Xen virtualises); anything else, and everything in user mode,
 *   raises #GP(0) for the trap table. cli/sti and port I/O depend on the
 *   virtual IOPL in either mode.
 */
import type { Cpu } from '../cpu/cpu.js';
import { Vector } from '../cpu/fault.js';
import { materialize } from '../cpu/flags.js';
import { PrivOp, type CpuHost } from '../cpu/host.js';
import { bounce, injectException, maybeUpcall } from './bounce.js';
import { CR4_FSGSBASE, CR4_TSD, cpuidLeaf, fixupGuestCr4 } from './cpuid.js';
import { descriptorOf, rightsOf } from './descriptors.js';
import type { Domain } from './domain.js';
import { readMsr, writeMsr } from './msr.js';
import { hypercall, hypercallName } from './hypercall/index.js';
import { setBaseptr } from './hypercall/mm.js';
import { hypercallStack } from './guest-stack.js';
import { CALLBACKF_mask_events, CALLBACKTYPE_syscall } from './public/callback.js';
import { FLAT_KERNEL_CS64, FLAT_KERNEL_SS, FLAT_RING3_CS32, FLAT_RING3_CS64, FLAT_RING3_DS32 } from './public/arch-x86/xen-x86_64.js';
import { __HYPERVISOR_iret, VMASST_TYPE_architectural_iopl } from './public/xen.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

const FLAT_SELECTORS = new Set<number>([FLAT_RING3_CS32, FLAT_RING3_DS32, FLAT_RING3_CS64]);
const FLAT_CS64 = FLAT_KERNEL_CS64;
const FLAT_SS = FLAT_KERNEL_SS;
/** The hypercall page's stub pushed rcx and r11 (two words) above its caller's return address. */
const STUB_PUSHES = 2 * 8;
const CR0 = 0x80050033;
const DF = 0x400;
/** Xen's GDT as sgdt shows it to a PV guest. */
const XEN_GDT = [0xffff, 0xfffe0000, 0xffffffff] as const;
/**
 * Xen's IDT as sidt shows it to a PV guest (no UMIP): 256 gates in Xen's
 * own image, inside the hole a guest may not point hypercalls at (XTF's
 * XSA-212 PoC aims XENMEM_exchange's output list at it).
 */
const XEN_IDT = [0xfff, 0x40a00000, 0xffff82d0] as const;

/** The PCI configuration mechanism #1 address port, and the CMOS/RTC index port (RTC_PORT(0)). */
const PCI_CONFIG_ADDRESS = 0xcf8;
const RTC_INDEX = 0x70;

export class PvHost implements CpuHost {
  vcpu!: Vcpu;

  constructor(private readonly xen: Xen, private readonly d: Domain) {}

  /**
   * CPUID (native: Xen makes it fault and emulates it from the policy). Once
   * the guest turned on CPUID faulting (MISC_FEATURES_ENABLES bit 0) it is
   * #GP at any guest CPL: x86_emulate sees the PV kernel at RPL 3.
   */
  cpuid(c: Cpu, leaf: number): void {
    if ((this.vcpu.msrs.miscFeaturesEnables & 1n) !== 0n) c.raise(Vector.GP, 0);
    this.cpuidValues(c, leaf);
  }

  /** The policy's answer for `leaf` into EAX/EBX/ECX/EDX (also the forced-emulation path). */
  cpuidValues(c: Cpu, leaf: number): void {
    const v = cpuidLeaf(leaf);
    const regs = [0, 3, 1, 2];
    for (let k = 0; k < 4; k++) {
      c.r[2 * regs[k]!] = v[k]!;
      c.r[2 * regs[k]! + 1] = 0;
    }
  }

  rdtsc(c: Cpu): readonly [number, number] {
    if ((this.vcpu.cr4 & CR4_TSD) !== 0 && !this.vcpu.kernelMode) c.raise(Vector.GP, 0);
    const t = this.xen.now();
    return [t >>> 0, Math.floor(t / 2 ** 32) >>> 0];
  }

  /** RDTSCP reads the vCPU's TSC_AUX (Xen loads it on every context switch). */
  tscAux(): number {
    return Number(this.vcpu.msrs.tscAux);
  }

  /**
   * iopl_ok: the virtual IOPL against the guest's assumed CPL: 1 for the
   * kernel (0 with VMASST_TYPE_architectural_iopl), 3 for user space.
   */
  private ioAllowed(): boolean {
    const v = this.vcpu;
    const cpl = v.kernelMode ? ((this.d.vmAssist & (1 << VMASST_TYPE_architectural_iopl)) !== 0 ? 0 : 1) : 3;
    return cpl <= v.iopl;
  }

  /**
   * guest_io_okay: the virtual IOPL, else the I/O bitmap of
   * PHYSDEVOP_set_iobitmap (read through the kernel's page tables; bytes it
   * cannot read deny). A domU is granted no real ports (admin_io_okay), so
   * what passes reads all ones and writes nothing.
   */
  private ioOkay(port: number, bytes: number): boolean {
    if (this.ioAllowed()) return true;
    const v = this.vcpu;
    if (port + bytes > v.iobmpLimit) return false;
    const user = !v.kernelMode;
    if (user) v.setKernelMode(true);
    const at = v.iobmp + BigInt(port >> 3);
    const lo = v.guest.u8(at) ?? 0xff;
    const hi = v.guest.u8(at + 1n) ?? 0xff;
    if (user) v.setKernelMode(false);
    return (((lo | (hi << 8)) >> (port & 7)) & ((1 << bytes) - 1)) === 0;
  }

  /**
   * guest_io_read / guest_io_write once allowed. Two registers are Xen's
   * own, per domain, never the hardware's: a dword at 0xcf8 (PCI
   * CONFIG_ADDRESS, d->arch.pci_cf8) and the CMOS index at 0x70
   * (d->arch.cmos_idx, rtc_guest_read/write). Everything else reaches the
   * machine, an empty PC: no device decodes any port, so reads return all
   * ones (CMOS data at 0x71 and PCI config data at 0xcfc included: no RTC,
   * no device at any config address) and writes are lost.
   */
  portIn(c: Cpu, port: number, size: number): number {
    if (!this.ioOkay(port, size)) c.raise(Vector.GP, 0);
    if (port === PCI_CONFIG_ADDRESS && size === 4) return this.d.pciCf8;
    let data = 0;
    for (let k = 0; k < size; k++) data |= (((port + k) & 0xffff) === RTC_INDEX ? this.d.cmosIdx : 0xff) << (8 * k);
    return data >>> 0;
  }

  portOut(c: Cpu, port: number, size: number, value: number): void {
    if (!this.ioOkay(port, size)) c.raise(Vector.GP, 0);
    if (port === PCI_CONFIG_ADDRESS && size === 4) this.d.pciCf8 = value >>> 0;
    else for (let k = 0; k < size; k++) if (((port + k) & 0xffff) === RTC_INDEX) this.d.cmosIdx = (value >>> (8 * k)) & 0xff;
  }

  /** rd/wrmsr: guest kernel mode only, then the PV MSR policy (msr.ts). */
  rdmsr(c: Cpu, msr: number): readonly [number, number] {
    if (!this.vcpu.kernelMode) c.raise(Vector.GP, 0);
    const val = readMsr(this.xen, this.d, this.vcpu, msr);
    if (val === null) c.raise(Vector.GP, 0);
    return [Number(val & 0xffffffffn), Number(val >> 32n)];
  }

  wrmsr(c: Cpu, msr: number, lo: number, hi: number): void {
    if (!this.vcpu.kernelMode) c.raise(Vector.GP, 0);
    if (!writeMsr(this.xen, this.d, this.vcpu, msr, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0))) c.raise(Vector.GP, 0);
  }

  /** SYSCALL: RCX/R11 as hardware sets them, then a hypercall or a bounce to the syscall callback. */
  syscall(c: Cpu): void {
    const v = this.vcpu;
    const d = this.d;
    const ret = c.rip;
    materialize(c);
    c.setReg(1, ret);
    c.setReg(11, BigInt(c.flags));
    // SYSCALL does not save CS/SS: Xen's entry records the flat 64-bit
    // selectors, and that is what a hypercall returns to or a bounce frame shows.
    c.sreg[1] = FLAT_CS64;
    c.sreg[2] = FLAT_SS;
    if (!v.kernelMode) {
      const cb = v.callbacks.get(CALLBACKTYPE_syscall);
      if (cb === undefined || cb.address === 0n) {
        c.rip = ret - 2n;
        c.raise(Vector.UD);
      }
      c.flags &= ~DF;
      bounce(this.xen, d, v, cb.address, null, (cb.flags & CALLBACKF_mask_events) !== 0);
      return;
    }
    const nr = c.r[0]!;
    const args = [7, 6, 2, 10, 8].map((r) => c.getReg(r));
    // Who called, and the guest's stack, only describe the call's events: for
    // a listener only. The stub pushed rcx and r11 above its caller's return
    // address. Everything Xen does for this call is stamped with the stack;
    // iret is jumped to from anywhere (entry code), so it has none.
    const iret = nr === __HYPERVISOR_iret;
    const described = !iret && this.xen.listening;
    const caller = described ? (v.guest.u64(c.getReg(4) + BigInt(STUB_PUSHES)) ?? 0n) : 0n;
    this.xen.hcStack = described ? { v, stack: hypercallStack(v, caller, c.r[10]!, c.r[11]!) } : undefined;
    const { result, ctx } = hypercall(this.xen, d, v, nr, args);
    if (result !== null) c.setReg(0, BigInt.asUintN(64, BigInt(result)));
    if (!iret || result !== null) {
      this.xen.emit(v, d.id, {
        kind: 'hypercall', op: nr, name: hypercallName(nr), sub: ctx.sub, subName: ctx.subName,
        args, decoded: ctx.decoded, result: result ?? 0, caller,
      });
    } else {
      this.xen.emit(v, d.id, { kind: 'hypercall', op: nr, name: 'iret', sub: -1, subName: '', args, decoded: { rip: c.rip }, result: 0, caller: 0n });
    }
    this.xen.hcStack = undefined;
    // Returning to the guest: end the slice if the call blocked or yielded,
    // otherwise deliver any event that became pending (Xen's test_all_events).
    if (ctx.yieldSlice || !d.alive) c.requestExit();
    else maybeUpcall(this.xen, d, v);
  }

  /** int3 / int1 / int n (see the class comment for the DPL rule). */
  softInt(c: Cpu, vector: number, len: number): void {
    const v = this.vcpu;
    if (vector !== Vector.BP && vector !== Vector.OF && vector !== Vector.DB) {
      const t = v.traps[vector] ?? null;
      const dpl = t === null ? 0 : t.flags & 3;
      if (v.kernelMode ? dpl < 1 : dpl !== 3) {
        c.rip = c.rip - BigInt(len);
        c.raise(Vector.GP, (vector << 3) | 2);
      }
    }
    injectException(this.xen, this.d, v, vector, 0, 0n);
  }

  /**
   * Far CALL/JMP/RET target (seg CS): a present code segment usable at
   * CPL 3, as the hardware checks it; gates and system descriptors #GP
   * (Xen's call-gate emulation is not modelled). The core runs 64-bit code
   * only, so a compatibility-mode segment ends the domain, loudly.
   */
  private loadCs(c: Cpu, sel: number): void {
    if ((sel & 0xfffc) === 0) c.raise(Vector.GP, 0);
    const desc = descriptorOf(this.xen, this.vcpu, sel);
    if (desc === null) c.raise(Vector.GP, sel & 0xfffc);
    const r = rightsOf(desc);
    const cpl = c.cpl;
    if (r.system || !r.code || (r.conforming ? r.dpl > cpl : r.dpl !== cpl || (sel & 3) > cpl)) c.raise(Vector.GP, sel & 0xfffc);
    if (!r.present) c.raise(Vector.NP, sel & 0xfffc);
    if (!r.long) {
      this.xen.crash(this.d, `far transfer to compatibility-mode segment 0x${sel.toString(16)}: 32-bit code is not simulated`);
      c.requestExit();
      return;
    }
    c.sreg[1] = (sel & 0xfffc) | cpl;
  }

  /** Segment loads: CS for far transfers (above); else null (not SS), Xen's flat selectors, or a selector inside the guest's GDT. */
  loadSeg(c: Cpu, seg: number, sel: number): void {
    if (seg === 1) return this.loadCs(c, sel);
    const v = this.vcpu;
    const index = sel >> 3;
    const ok = sel === 0 ? seg !== 2 : FLAT_SELECTORS.has(sel | 3) || ((sel & 4) === 0 && index > 0 && index < v.gdtEntries);
    if (!ok) c.raise(Vector.GP, sel & 0xfffc);
    c.sreg[seg] = sel === 0 ? 0 : sel | 3;
    if (seg === 4) [c.fsLo, c.fsHi] = [0, 0];
    if (seg === 5) [c.gsLo, c.gsHi] = [0, 0];
  }

  priv(c: Cpu, op: PrivOp, reg: number, lo: number, hi: number): readonly number[] | void {
    const v = this.vcpu;
    switch (op) {
      case PrivOp.SGDT:
        return XEN_GDT;
      case PrivOp.SIDT:
        return XEN_IDT;
      case PrivOp.SLDT:
      case PrivOp.STR:
        return [0, 0];
      case PrivOp.SMSW:
        return [(CR0 | (v.cr0Ts ? 8 : 0)) & 0xffff, 0];
      case PrivOp.CLI:
      case PrivOp.STI:
        // In either mode, allowed by the virtual IOPL. Xen 4.17 then skips
        // the instruction without touching the upcall mask (emul-priv-op.c).
        if (!this.ioAllowed()) c.raise(Vector.GP, 0);
        return;
    }
    if (!v.kernelMode) c.raise(Vector.GP, 0);
    switch (op) {
      case PrivOp.MOV_FROM_CR: {
        const x = reg === 0 ? BigInt(CR0 | (v.cr0Ts ? 8 : 0)) : reg === 2 ? v.cr2 : reg === 3 ? BigInt(v.cr3) << 12n : reg === 4 ? BigInt(v.cr4) : c.raise(Vector.UD);
        return [Number(x & 0xffffffffn), Number(x >> 32n)];
      }
      case PrivOp.MOV_TO_CR: {
        const x = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
        if (reg === 0) {
          if ((lo & ~8) !== (CR0 & ~8)) c.raise(Vector.GP, 0);
          v.setCr0Ts((lo & 8) !== 0);
        } else if (reg === 2) v.cr2 = x;
        else if (reg === 3) {
          // new_guest_cr3; a table that does not validate leaves the write unemulated (#GP).
          if (setBaseptr(this.xen, this.d, v, Number((x >> 12n) & 0xffffffffffn), false) !== 0) c.raise(Vector.GP, 0);
        } else if (reg === 4) {
          // Xen never faults a CR4 write: bits outside the policy are discarded.
          v.cr4 = fixupGuestCr4(lo);
          c.fsgsbase = (v.cr4 & CR4_FSGSBASE) !== 0;
          // OSFXSR and OSXMMEXCPT are Xen's, always set (PV_CR4_VISIBLE): the core's defaults
          c.osfxsr = (v.cr4 & 0x200) !== 0;
          c.osxmmexcpt = (v.cr4 & 0x400) !== 0;
        } else c.raise(Vector.UD);
        return;
      }
      case PrivOp.MOV_FROM_DR:
        if (reg === 4 || reg === 5) c.raise(Vector.UD);
        return [Number(v.dr[reg]! & 0xffffffffn), Number(v.dr[reg]! >> 32n)];
      case PrivOp.MOV_TO_DR:
        if (reg === 4 || reg === 5) c.raise(Vector.UD);
        v.dr[reg] = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
        return;
      case PrivOp.CLTS:
        v.setCr0Ts(false);
        return;
      case PrivOp.WBINVD:
      case PrivOp.INVD:
        return;
      case PrivOp.INVLPG:
        c.mmu.flushPage(lo, hi);
        return;
      default:
        // hlt, swapgs, lgdt/lidt/lldt/ltr/lmsw, sysret: not emulated for PV.
        c.raise(Vector.GP, 0);
    }
  }
}
