/**
 * What a debugger shows of a machine at one instant: every vCPU's registers
 * and position, event-channel ports, ring producer indices, console tails.
 * A MachineView is plain data, taken once; it does not follow the machine.
 */
import type { Cpu } from '../sim/cpu/cpu.js';
import { FCW_DEFAULT, MXCSR_DEFAULT, X87 } from '../sim/cpu/fpu.js';
import type { Machine, RingState } from '../sim/machine.js';
import { EvtState } from '../sim/xen/domain.js';

/** x87/SSE state of a vCPU: MXCSR, FCW, FSW, abridged FTW, XMM0-15 (128-bit). */
export type FpuView = { mxcsr: number; fcw: number; fsw: number; ftw: number; xmm: bigint[] };
export type VcpuView = { dom: number; vcpu: number; regs: Record<string, bigint>; rip: bigint; rflags: number; kernelMode: boolean; state: string; icount: number; fpu?: FpuView };
export type MachineView = {
  /**
   * Events before `seq` have happened. At an event (ReplaySession.seek,
   * continue) event `seq` is the one being emitted; elsewhere it is the next
   * event to come.
   */
  seq: number;
  time: number;
  vcpus: VcpuView[];
  ports: Array<{ dom: number; pending: number[]; masked: number[]; bound: number[] }>;
  rings: RingState[];
  /** each domain's last PV console output (`tail`) and console_io output (`log`) */
  console: Array<{ dom: number; name: string; tail: string; log: string }>;
};

/** General-purpose registers in encoding order; `rip` and `rflags` are separate fields of VcpuView. */
export const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

export function machineView(m: Machine, seq: number, time: number): MachineView {
  const xen = m.xen;
  return {
    seq,
    time,
    vcpus: m.domains.flatMap((d) =>
      d.vcpus.map((v) => ({
        dom: d.id, vcpu: v.id, icount: v.cpu.retired(), rip: v.cpu.rip, rflags: v.cpu.rflags, kernelMode: v.kernelMode, state: v.state,
        regs: Object.fromEntries(REG_NAMES.map((n, i) => [n, v.cpu.getReg(i)])),
        fpu: fpuView(v.cpu),
      })),
    ),
    ports: m.domains.map((d) => {
      const bound: number[] = [];
      for (let p = 1; p < d.ports.length; p++) if (d.ports[p] && d.ports[p]!.state !== EvtState.CLOSED) bound.push(p);
      return { dom: d.id, bound, pending: bound.filter((p) => xen.isPending(d, p)), masked: bound.filter((p) => xen.isMasked(d, p)) };
    }),
    rings: m.ringState(),
    console: m.domains.map((d) => ({ dom: d.id, name: d.name, tail: Buffer.from(d.console.slice(-2000)).toString('latin1'), log: Buffer.from(d.log.slice(-2000)).toString('latin1') })),
  };
}

export function fpuView(c: Cpu): FpuView {
  const xmm: bigint[] = [];
  for (let i = 0; i < 16; i++) {
    let v = 0n;
    for (let j = 3; j >= 0; j--) v = (v << 32n) | BigInt(c.xmm[4 * i + j]!);
    xmm.push(v);
  }
  return { mxcsr: c.mxcsr, fcw: c.x87[X87.FCW]!, fsw: c.x87[X87.FSW]!, ftw: c.x87[X87.FTW]!, xmm };
}

/**
 * The x87/SSE state as `key=value` items for a compact display: nothing
 * while it is the power-on state (a guest that never used the FPU), else
 * MXCSR, FCW, FSW, FTW and every non-zero XMM register.
 */
export function fpuItems(f: FpuView | undefined): string[] {
  if (f === undefined) return [];
  const used = f.mxcsr !== MXCSR_DEFAULT || f.fcw !== FCW_DEFAULT || f.fsw !== 0 || f.ftw !== 0 || f.xmm.some((x) => x !== 0n);
  if (!used) return [];
  const h = (x: number): string => `0x${x.toString(16)}`;
  const items = [`mxcsr=${h(f.mxcsr)}`, `fcw=${h(f.fcw)}`, `fsw=${h(f.fsw)}`, `ftw=${h(f.ftw)}`];
  f.xmm.forEach((x, i) => {
    if (x !== 0n) items.push(`xmm${i}=0x${x.toString(16).padStart(32, '0')}`);
  });
  return items;
}

/** One register of a vCPU in a view: a general-purpose register by name, `rip`, `rflags`, `mxcsr` or `xmm0`..`xmm15`. */
export function viewRegister(v: MachineView, dom: number, vcpu: number, name: string): bigint {
  const c = v.vcpus.find((x) => x.dom === dom && x.vcpu === vcpu);
  if (c === undefined) throw new RangeError(`no vCPU ${dom}.${vcpu} in this trace`);
  const n = name.toLowerCase();
  if (n === 'rip') return c.rip;
  if (n === 'rflags') return BigInt(c.rflags);
  if (n === 'mxcsr' && c.fpu !== undefined) return BigInt(c.fpu.mxcsr);
  const x = /^xmm([0-9]|1[0-5])$/.exec(n);
  if (x !== null && c.fpu !== undefined) return c.fpu.xmm[Number(x[1])]!;
  const r = c.regs[n];
  if (r === undefined) throw new RangeError(`unknown register '${name}' (rax..r15, rip, rflags, mxcsr, xmm0..xmm15)`);
  return r;
}
