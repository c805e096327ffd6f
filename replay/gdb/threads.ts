/**
 * gdb threads are the vCPUs of every domain, in the machine's fixed order
 * (domain id, then vCPU id), numbered from 1; gdb shows them by name,
 * `d1v0`, and with extra information (domain name, scheduler state, guest
 * kernel or user mode). Thread ids are hex on the wire, as gdb writes them.
 */
import type { Machine } from '../../sim/machine.js';
import type { Vcpu } from '../../sim/xen/vcpu.js';

export type Thread = { tid: number; dom: number; vcpu: number; name: string };

export class Threads {
  readonly list: Thread[];

  constructor(vcpus: ReadonlyArray<{ dom: number; vcpu: number }>) {
    this.list = vcpus.map((v, k) => ({ tid: k + 1, dom: v.dom, vcpu: v.vcpu, name: `d${v.dom}v${v.vcpu}` }));
  }

  byTid(tid: number): Thread | undefined {
    return this.list[tid - 1];
  }

  of(dom: number, vcpu: number): Thread {
    return this.list.find((t) => t.dom === dom && t.vcpu === vcpu)!;
  }

  /** A thread id as gdb sends it (hex; `p1.2` with the multiprocess form): 0 any, -1 all, null unreadable. */
  static parse(s: string): number | null {
    const m = /^(?:p[0-9a-f]+\.)?(-1|[0-9a-f]+)$/i.exec(s);
    if (m === null) return null;
    return m[1] === '-1' ? -1 : parseInt(m[1]!, 16);
  }

  /** What `info threads` shows after the name: domain, state, mode. */
  extra(m: Machine, t: Thread): string {
    const d = m.domains.find((x) => x.id === t.dom);
    const v: Vcpu | undefined = d?.vcpus[t.vcpu];
    if (d === undefined || v === undefined) return t.name;
    return `${d.name} ${d.alive ? v.state : d.state} ${v.kernelMode ? 'kernel' : 'user'}`;
  }

  /** qXfer:threads:read. */
  xml(m: Machine): string {
    const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
    return `<?xml version="1.0"?><threads>${this.list.map((t) => `<thread id="${t.tid.toString(16)}" name="${t.name}">${esc(this.extra(m, t))}</thread>`).join('')}</threads>`;
  }
}
