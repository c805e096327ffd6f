/**
 * The detail pane's fields: a hypercall's guest call stack comes last,
 * symbolized when symbols are at hand, raw addresses otherwise.
 */
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../sim/events.js';
import type { MachineView } from '../replay/session.js';
import { eventFields, stateLines } from './text.js';

const send: SimEvent = {
  seq: 7, time: 1500, dom: 1, vcpu: 0, icount: 420, rip: 0x10440an, stack: [0x101581n, 0x1033c6n],
  kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 4, subName: 'EVTCHNOP_send', args: [4n, 0x2000n, 0n, 0n, 0n], decoded: { port: 3 }, result: 0, caller: 0x101581n,
};

describe('detail fields', () => {
  it('end with the call stack, symbolized', () => {
    const f = eventFields(send, 'evtchn_send+0x21', ['evtchn_send+0x21', 'run_front+0x5b6']);
    expect(f.slice(0, 8)).toEqual(['seq=7', 'time=1500ns', 'dom=1', 'vcpu=0', 'icount=420', 'rip=0x10440a', 'at=evtchn_send+0x21', 'kind=hypercall']);
    expect(f.slice(-2)).toEqual(['stack=evtchn_send+0x21', '<- run_front+0x5b6']);
    expect(f.filter((x) => x.startsWith('stack'))).toHaveLength(1);
  });

  it('show raw addresses without symbols, and no stack line for an event without one', () => {
    expect(eventFields(send, '').slice(-2)).toEqual(['stack=0x101581', '<- 0x1033c6']);
    const { stack: _, ...plain } = send;
    expect(eventFields(plain as SimEvent, '').some((x) => x.startsWith('stack'))).toBe(false);
  });
});

describe('state pane x87/SSE lines', () => {
  const vcpu = {
    dom: 1, vcpu: 0, regs: {}, rip: 0x1000n, rflags: 0x202, kernelMode: true, state: 'running', icount: 5,
    fpu: { mxcsr: 0x1f80, fcw: 0x37f, fsw: 0, ftw: 0, xmm: Array<bigint>(16).fill(0n) },
  };
  const view = (fpu: typeof vcpu.fpu): MachineView => ({ seq: 1, time: 0, vcpus: [{ ...vcpu, fpu }], ports: [], rings: [], console: [] });

  it('say nothing while the FPU is in its power-on state', () => {
    expect(stateLines(view(vcpu.fpu), 1, 0, () => '', 80).some((l) => l.includes('mxcsr'))).toBe(false);
  });

  it('show MXCSR, FCW, FSW, FTW and the non-zero XMM registers once used', () => {
    const xmm = Array<bigint>(16).fill(0n);
    xmm[2] = 0xff00n;
    const lines = stateLines(view({ mxcsr: 0x9fc0, fcw: 0x27f, fsw: 0x3800, ftw: 0x80, xmm }), 1, 0, () => '', 80).map((l) => l.trimEnd());
    expect(lines).toContain('mxcsr=0x9fc0  fcw=0x27f  fsw=0x3800  ftw=0x80');
    expect(lines).toContain('xmm2=0x0000000000000000000000000000ff00');
    expect(lines.some((l) => l.includes('xmm0='))).toBe(false);
  });
});
