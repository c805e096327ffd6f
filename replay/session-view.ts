/**
 * What a debugger shows of a machine at one instant: every vCPU's registers
 * and position, event-channel ports, ring producer indices, console tails.
 * A MachineView is plain data, taken once; it does not follow the machine.
 */
import type { Machine, RingState } from '../sim/machine.js';
import { EvtState } from '../sim/xen/domain.js';

export type VcpuView = { dom: number; vcpu: number; regs: Record<string, bigint>; rip: bigint; rflags: number; kernelMode: boolean; state: string; icount: number };
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

/** One register of a vCPU in a view: a general-purpose register by name, `rip` or `rflags`. */
export function viewRegister(v: MachineView, dom: number, vcpu: number, name: string): bigint {
  const c = v.vcpus.find((x) => x.dom === dom && x.vcpu === vcpu);
  if (c === undefined) throw new RangeError(`no vCPU ${dom}.${vcpu} in this trace`);
  const n = name.toLowerCase();
  if (n === 'rip') return c.rip;
  if (n === 'rflags') return BigInt(c.rflags);
  const r = c.regs[n];
  if (r === undefined) throw new RangeError(`unknown register '${name}' (rax..r15, rip, rflags)`);
  return r;
}
