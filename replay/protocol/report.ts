/**
 * What a protocol check reports: one violation per problem, at the event
 * where it shows (seq, virtual time, domain/vCPU, the guest call stack that
 * event carries), with the ring or device concerned and the other events
 * that explain it (the push that needed a notify, the map that was never
 * undone, the binding of a port left masked...).
 */
import type { SimEvent } from '../../sim/events.js';

export const CHECKS = ['ring-index', 'lost-wakeup', 'grant-leak', 'xenbus'] as const;
export type CheckName = (typeof CHECKS)[number];

/** A ring as the tracker identifies it: kind, frontend and backend domains, ring grant reference, frontend port. */
export type RingRef = { kind: string; front: number; back: number; gref: number; port: number };

/** Another event a violation points to. */
export type Related = { seq: number; dom: number; vcpu: number; what: string; stack?: bigint[] };

export type Violation = {
  check: CheckName;
  seq: number;
  /** virtual time, ns */
  time: number;
  dom: number;
  vcpu: number;
  rip: bigint;
  /** the guest call stack of the event (innermost first), when it carries one */
  stack?: bigint[];
  ring?: RingRef;
  /** the xenbus device, as "vbd 0 of d1 (backend d2)" */
  device?: string;
  /** one line: what is wrong */
  message: string;
  related: Related[];
};

export const ringName = (r: RingRef): string => `${r.kind} ring d${r.front}->d${r.back} gref ${r.gref} port ${r.port}`;
export const ringKey = (r: { ring: string; frontDom: number; backDom: number; gref: number; port: number }): string => `${r.ring}/${r.frontDom}/${r.backDom}/${r.gref}/${r.port}`;

/** A violation reported at event `e`. */
export function at(e: SimEvent, check: CheckName, message: string, more: Partial<Pick<Violation, 'ring' | 'device' | 'related'>> = {}): Violation {
  return {
    check, seq: e.seq, time: e.time, dom: e.dom, vcpu: e.vcpu, rip: e.rip, ...(e.stack ? { stack: e.stack } : {}),
    message, related: more.related ?? [], ...(more.ring ? { ring: more.ring } : {}), ...(more.device ? { device: more.device } : {}),
  };
}

export const related = (e: SimEvent, what: string): Related => ({ seq: e.seq, dom: e.dom, vcpu: e.vcpu, what, ...(e.stack ? { stack: e.stack } : {}) });

/** d1v0, or xen. */
export const who = (e: { dom: number; vcpu: number }): string => (e.dom < 0 ? 'xen' : `d${e.dom}v${e.vcpu < 0 ? '-' : e.vcpu}`);

/** Which vCPUs of each domain are asleep (block, poll, down): a domain sleeps when all it has run are. */
export class Sleepers {
  private readonly awake = new Map<number, Set<number>>();
  private readonly asleep = new Map<number, Set<number>>();

  private set(m: Map<number, Set<number>>, dom: number): Set<number> {
    let s = m.get(dom);
    if (s === undefined) m.set(dom, (s = new Set()));
    return s;
  }

  /** Follow one event. */
  see(e: SimEvent): void {
    if (e.dom < 0 || e.vcpu < 0) return;
    if (e.kind === 'sched') {
      if (e.what === 'block' || e.what === 'poll') this.sleep(e.dom, e.vcpu);
      else if (e.what === 'wake' || e.what === 'yield') this.wake(e.dom, e.vcpu);
    } else if (e.kind === 'hypercall') {
      if (e.subName === 'VCPUOP_down' && e.result === 0) this.sleep(e.dom, Number(e.decoded.vcpu));
      // The block/poll call's own event follows its sched event: it changes nothing.
      else if (e.subName !== 'SCHEDOP_block' && e.subName !== 'SCHEDOP_poll') this.wake(e.dom, e.vcpu);
    } else if (e.kind === 'evtchn_deliver' || e.kind === 'exception') this.wake(e.dom, e.vcpu);
    // Timers and VIRQs are stamped with their (perhaps sleeping) target vCPU: they say nothing.
  }

  private sleep(dom: number, vcpu: number): void {
    this.set(this.awake, dom).delete(vcpu);
    this.set(this.asleep, dom).add(vcpu);
  }

  private wake(dom: number, vcpu: number): void {
    this.set(this.asleep, dom).delete(vcpu);
    this.set(this.awake, dom).add(vcpu);
  }

  /** Every vCPU of `dom` that has run is asleep (and at least one has run). */
  domainAsleep(dom: number): boolean {
    return (this.awake.get(dom)?.size ?? 0) === 0 && (this.asleep.get(dom)?.size ?? 0) > 0;
  }
}
