/**
 * A PV vCPU: the x86-64 core plus the state Xen keeps for a PV vCPU that the
 * hardware does not: guest kernel/user mode (both run at CPL 3), the two
 * page-table bases, the virtual trap table and callbacks, the kernel stack
 * for user->kernel transitions, the virtual IOPL, CR2, timers and the
 * scheduler state. vcpu_info lives in guest-visible memory (shared_info, or
 * wherever VCPUOP_register_vcpu_info moved it).
 */
import { Cpu } from '../cpu/cpu.js';
import type { CpuHost } from '../cpu/host.js';
import type { PhysMem } from '../cpu/phys-mem.js';
import { noFifo, type FifoVcpu } from './evtchn-fifo.js';
import { GuestMem } from './guest-mem.js';
import { initialMsrs, type VcpuMsrs } from './msr.js';
import { FLAT_KERNEL_SS } from './public/arch-x86/xen-x86_64.js';
import { RUNSTATE_offline } from './public/vcpu.js';
import { vcpu_info } from './public/xen.js';
import { initialRunstate, type Runstate } from './runstate.js';

export type TrapEntry = { flags: number; cs: number; address: bigint };
export type Callback = { address: bigint; flags: number };

export const VcpuState = { RUNNABLE: 'runnable', BLOCKED: 'blocked', POLLING: 'polling', DOWN: 'down' } as const;
export type VcpuState = (typeof VcpuState)[keyof typeof VcpuState];

const VI_PENDING = vcpu_info.evtchn_upcall_pending;
const VI_MASK = vcpu_info.evtchn_upcall_mask;
const VI_SEL = vcpu_info.evtchn_pending_sel;
const VI_CR2 = vcpu_info.arch_cr2;

export class Vcpu {
  readonly cpu: Cpu;
  readonly guest: GuestMem;
  /** guest kernel mode (true) or guest user mode; both are CPL 3 */
  kernelMode = true;
  /** page-table bases as MFNs; userCr3 0 = not set (MMUEXT_NEW_USER_BASEPTR) */
  kernelCr3 = 0;
  userCr3 = 0;
  readonly traps: (TrapEntry | null)[] = new Array<TrapEntry | null>(256).fill(null);
  /** CALLBACKTYPE_* -> handler */
  readonly callbacks = new Map<number, Callback>();
  kernelSs: number = FLAT_KERNEL_SS;
  kernelSp = 0n;
  /** virtual IOPL (physdev_op set_iopl), 0..3 */
  iopl = 0;
  /** FIFO event channels: control block and queue tails (evtchn-fifo.ts) */
  fifo: FifoVcpu = noFifo();
  /** MSRs Xen keeps per vCPU (msr.ts) */
  readonly msrs: VcpuMsrs = initialMsrs();
  /** I/O permission bitmap (PHYSDEVOP_set_iobitmap): guest VA and the ports it covers */
  iobmp = 0n;
  iobmpLimit = 0;
  cr2 = 0n;
  /** the virtual CR0.TS (fpu_taskswitch, mov to CR0, clts); change it with setCr0Ts so the core follows */
  cr0Ts = false;
  /** the guest's view of CR4 (PV_CR4_GUEST_VISIBLE_MASK bits of Xen's, none of its own set) */
  cr4 = 0x660;
  /** debug registers as set_debugreg left them */
  readonly dr: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n, 0xffff0ff0n, 0x400n];
  state: VcpuState = VcpuState.RUNNABLE;
  up = true;
  /** has a context (vCPU 0 from the builder, the others from VCPUOP_initialise) */
  initialised = false;
  /** ports a SCHEDOP_poll waits on, and its timeout (ns; -1 none) */
  pollPorts: number[] = [];
  pollDeadline = -1;
  /** singleshot timer deadline, ns of system time; -1 when not armed */
  timerDeadline = -1;
  /**
   * Periodic timer (VIRQ_TIMER every `periodicPeriod` ns; 10 ms for every
   * PV vCPU until the guest changes it, 0 = stopped): last firing and the
   * armed deadline, -1 while stopped. It runs only while the vCPU is
   * scheduled (runnable): blocking stops it, waking re-arms it (Xen's
   * sched_context_switch / vcpu_periodic_timer_work).
   */
  periodicPeriod = 10_000_000;
  periodicLast = 0;
  periodicDeadline = -1;
  /** machine address of this vCPU's vcpu_info; whether VCPUOP_register_vcpu_info moved it (once only) */
  vcpuInfoMa = 0;
  vcpuInfoRegistered = false;
  /** guest VA of a secondary vcpu_time_info (VCPUOP_register_vcpu_time_memory_area), 0 = none */
  timeInfoVa = 0n;
  /** VCPUOP_send_nmi raised an NMI not yet delivered; one is being handled (until the iret) */
  nmiPending = false;
  nmiMasked = false;
  /** holds the (simulated, single) physical CPU: set and cleared by the machine at context switches */
  onCpu = false;
  /** runstate accounting (runstate.ts) and the guest's registered copy (a guest VA, 0 = none) */
  runstate: Runstate = initialRunstate(RUNSTATE_offline);
  runstateVa = 0n;
  gdtFrames: number[] = [];
  gdtEntries = 0;
  ldtBase = 0n;
  ldtEntries = 0;

  constructor(readonly id: number, readonly domId: number, readonly mem: PhysMem, host: CpuHost) {
    this.cpu = new Cpu(mem, host);
    this.cpu.userPagesAtCpl3 = false;
    this.cpu.setCpl(3);
    this.cpu.fsgsbase = false;
    this.cpu.mmu.paging = true;
    this.cpu.mmu.nxe = true;
    this.guest = new GuestMem(this.cpu);
  }

  private vi(): DataView {
    return this.mem.frame(Math.floor(this.vcpuInfoMa / 4096))!;
  }
  private get viOff(): number {
    return this.vcpuInfoMa % 4096;
  }

  get upcallPending(): boolean {
    return this.vi().getUint8(this.viOff + VI_PENDING) !== 0;
  }
  set upcallPending(v: boolean) {
    this.vi().setUint8(this.viOff + VI_PENDING, v ? 1 : 0);
  }
  get upcallMask(): boolean {
    return this.vi().getUint8(this.viOff + VI_MASK) !== 0;
  }
  set upcallMask(v: boolean) {
    this.vi().setUint8(this.viOff + VI_MASK, v ? 1 : 0);
  }
  /** Set bit `word` of evtchn_pending_sel; returns whether it was already set. */
  setPendingSel(word: number): boolean {
    const v = this.vi();
    const sel = v.getBigUint64(this.viOff + VI_SEL, true);
    const bit = 1n << BigInt(word);
    v.setBigUint64(this.viOff + VI_SEL, sel | bit, true);
    return (sel & bit) !== 0n;
  }
  set arch_cr2(v: bigint) {
    this.vi().setBigUint64(this.viOff + VI_CR2, v, true);
  }
  /** The vcpu_time_info inside vcpu_info. */
  get timeInfoMa(): number {
    return this.vcpuInfoMa + vcpu_info.time;
  }

  /** Set the virtual CR0.TS: x87/SSE instructions raise #NM while it is set (Xen sets the real TS for it). */
  setCr0Ts(on: boolean): void {
    this.cr0Ts = on;
    this.cpu.ts = on;
  }

  /** Switch the active page tables: kernel or user base. */
  loadCr3(mfn: number): void {
    this.cpu.mmu.cr3Pfn = mfn;
    this.cpu.mmu.flush();
  }

  /** Enter guest kernel or user mode, switching page tables and swapping GS bases as Xen does. */
  setKernelMode(kernel: boolean): void {
    if (kernel === this.kernelMode) return;
    this.kernelMode = kernel;
    const c = this.cpu;
    [c.gsLo, c.gsHi, c.kgsLo, c.kgsHi] = [c.kgsLo, c.kgsHi, c.gsLo, c.gsHi];
    this.loadCr3(kernel ? this.kernelCr3 : this.userCr3);
  }

  /** The page-table base the current mode uses. */
  get cr3(): number {
    return this.kernelMode ? this.kernelCr3 : this.userCr3;
  }
}
