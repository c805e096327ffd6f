/**
 * Ring checks, from the trace's RING events (every change of a ring's
 * producer indices, attributed to the domain that made it and stamped with
 * when it was seen), sends, and the ring indices block/poll events carry.
 *
 * Index invariants (xen/include/public/io/ring.h), per ring:
 * - producer indices only move forward (mod 2^32), by at most the ring's
 *   size between two looks; the console/xenstore consumer indices too;
 * - a consumer never passes its producer (console/xenstore: prod - cons
 *   stays within the ring), and for blkif/netif, whose consumer indices are
 *   private to each end, responses never pass requests (rsp_prod <=
 *   req_prod) and the frontend never has more requests out than slots
 *   (req_prod - rsp_prod <= size: it reuses no slot before its response).
 *
 * Lost wake-ups:
 * - a push that needed a notify (the peer's req_event/rsp_event in
 *   (old, new], RING_PUSH_*_AND_CHECK_NOTIFY) whose producer then sleeps
 *   (block or poll) without notifying the ring's channel; for a ring dom0
 *   serves (blkback), whose driver runs no vCPU, without notifying before
 *   its handler returns (the ring as it then is: seen "deschedule");
 * - a consumer that sleeps (every vCPU of its domain asleep) with its event
 *   index at or behind the producer's index (req_event <= req_prod): the
 *   next push will not notify it, so it sleeps on work it was never told
 *   about (RING_FINAL_CHECK_FOR_*: arm event = cons + 1, then look again);
 *   not while the device is closing, nor when the producer notified the
 *   channel after its last push and the work is not done (requests
 *   without responses: the consumer was told, and a Linux backend's
 *   kthread may sleep on other things before it looks);
 * - a notification that found its port masked while the receiver slept to
 *   the end of a deadlocked run, the port never delivered, unmasked or
 *   polled since.
 */
import type { SimEvent } from '../../sim/events.js';
import { BLK_RING_SIZE } from '../../sim/xen/public/io/blkif.js';
import { xencons_interface as CONS } from '../../sim/xen/public/io/console.js';
import { NET_RX_RING_SIZE, NET_TX_RING_SIZE } from '../../sim/xen/public/io/netif.js';
import { xenstore_domain_interface as XSI } from '../../sim/xen/public/io/xs_wire.js';
import { at, related, type Related, ringKey, ringName, type RingRef, type Sleepers, type Violation, who } from './report.js';

type RingEvent = Extract<SimEvent, { kind: 'ring' }>;
type Dir = 'req' | 'rsp';
/** A push that needed a notify and has not had one yet. */
type Owed = { push: RingEvent; old: number; now: number; event: number };

const SIZES: Record<string, [number, number]> = {
  console: [CONS.out_sizeof, CONS.in_sizeof], xenstore: [XSI.req_sizeof, XSI.rsp_sizeof],
  blkif: [BLK_RING_SIZE, BLK_RING_SIZE], 'netif-tx': [NET_TX_RING_SIZE, NET_TX_RING_SIZE], 'netif-rx': [NET_RX_RING_SIZE, NET_RX_RING_SIZE],
};
const u32 = (x: number): number => x >>> 0;
/** a - b as a signed 32-bit distance */
const dist = (a: number, b: number): number => (a - b) | 0;

/**
 * `prod`: the producer indices as last seen; `told`: req_prod / rsp_prod
 * when the producer last notified the ring's channel (the consumer has been
 * told of everything up to there, whatever its driver then defers).
 */
type State = { ref: RingRef; sring: boolean; size: [number, number]; reqCons: number; rspCons: number; first: boolean; owed: Partial<Record<Dir, Owed>>; reported: Set<string>; prod: [number, number]; told: [number, number] };

export class RingChecks {
  private readonly rings = new Map<string, State>();
  /** the first masked notification to each receiver `dom:port` not delivered since */
  private readonly masked = new Map<string, SimEvent>();
  /** the event that gave each `dom:port` its channel (bind_interdomain, alloc_unbound) */
  private readonly bound = new Map<string, SimEvent>();

  constructor(
    private readonly out: (v: Violation) => void,
    private readonly sleepers: Sleepers,
    /** whether the device between these domains is closing or closed (the ring may be abandoned) */
    private readonly closing: (front: number, back: number) => boolean,
  ) {}

  /** Follow one event (after Sleepers has). */
  see(e: SimEvent): void {
    switch (e.kind) {
      case 'ring':
        return this.ring(e);
      case 'evtchn_send':
        return this.send(e);
      case 'sched':
        if (e.what === 'block' || e.what === 'poll') this.sleep(e);
        return;
      case 'evtchn_deliver':
        for (const p of e.ports) this.masked.delete(`${e.dom}:${p}`);
        return;
      case 'hypercall':
        return this.hypercall(e);
      case 'domain_state':
        for (const s of this.rings.values()) {
          if (s.ref.front === e.dom) delete s.owed.req;
          if (s.ref.back === e.dom) delete s.owed.rsp;
        }
        return;
      default:
        return;
    }
  }

  /** The end of the trace; `stop` as the recorder gave it. */
  finish(stop: string, alive: (dom: number) => boolean): void {
    if (stop !== 'deadlock') return;
    for (const [key, send] of this.masked) {
      const [dom, port] = key.split(':').map(Number) as [number, number];
      if (!alive(dom) || !this.sleepers.domainAsleep(dom) || send.kind !== 'evtchn_send') continue;
      const bind = this.bound.get(key);
      const ring = this.ringOfSend(send);
      this.out(at(send, 'lost-wakeup',
        `notification from ${who(send)} to d${dom} port ${port} found the port masked, and d${dom} slept to the end of the run (deadlock): nothing unmasked, polled or delivered port ${port} after this${bind ? ` (d${dom} got the port at #${bind.seq} and never unmasked it)` : ''}`,
        { ...(ring ? { ring: ring.ref } : {}), related: bind ? [related(bind, `d${dom} got port ${port} (${bind.kind === 'hypercall' ? bind.subName : bind.kind})`)] : [] }));
    }
  }

  private state(e: RingEvent): State {
    const key = ringKey(e);
    let s = this.rings.get(key);
    if (s === undefined) {
      const sring = e.ring !== 'console' && e.ring !== 'xenstore';
      // A multi-page sring says how many slots it has; a one-page ring has its kind's.
      const size: [number, number] = e.entries !== undefined && sring ? [e.entries, e.entries] : SIZES[e.ring] ?? [2 ** 31, 2 ** 31];
      s = { ref: { kind: e.ring, front: e.frontDom, back: e.backDom, gref: e.gref, port: e.port }, sring, size, reqCons: e.reqCons, rspCons: e.rspCons, first: true, owed: {}, reported: new Set(), prod: [e.reqProdBefore, e.rspProdBefore], told: [-1, -1] };
      this.rings.set(key, s);
    }
    return s;
  }

  /** Report once per ring and kind of problem (a broken producer repeats itself). */
  private once(s: State, what: string, v: () => Violation): void {
    if (s.reported.has(what)) return;
    s.reported.add(what);
    this.out(v());
  }

  private ring(e: RingEvent): void {
    const s = this.state(e);
    const r = s.ref;
    const name = ringName(r);
    const moved = { req: u32(e.reqProdAfter - e.reqProdBefore), rsp: u32(e.rspProdAfter - e.rspProdBefore) };
    for (const [dir, k] of [['req', 0], ['rsp', 1]] as const) {
      const d = moved[dir];
      const [from, to] = dir === 'req' ? [e.reqProdBefore, e.reqProdAfter] : [e.rspProdBefore, e.rspProdAfter];
      if (d >= 2 ** 31) this.once(s, `${dir}-back`, () => at(e, 'ring-index', `${dir}_prod of the ${name} moved backwards, ${from} -> ${to} (by ${2 ** 32 - d})`, { ring: r }));
      else if (d > s.size[k]!) this.once(s, `${dir}-jump`, () => at(e, 'ring-index', `${dir}_prod of the ${name} advanced by ${d}, ${from} -> ${to}: more than the ring's ${s.size[k]} ${s.sring ? 'slots' : 'bytes'}`, { ring: r }));
    }
    if (s.sring) this.srings(e, s, moved);
    else this.byteRing(e, s);
    s.first = false;
    s.prod = [e.reqProdAfter, e.rspProdAfter];
  }

  /** blkif/netif: responses never pass requests, no slot reused early; notifies the pushes needed. */
  private srings(e: RingEvent, s: State, moved: Record<Dir, number>): void {
    const r = s.ref;
    const name = ringName(r);
    const ahead = dist(e.reqProdAfter, e.rspProdAfter);
    if (ahead < 0) {
      this.once(s, 'rsp-beyond', () => at(e, 'ring-index', `rsp_prod ${e.rspProdAfter} is beyond req_prod ${e.reqProdAfter} on the ${name}: ${-ahead} response${ahead === -1 ? '' : 's'} to requests never made (the consumer will read slots nobody wrote)`, { ring: r }));
    } else if (ahead > s.size[0]) {
      this.once(s, 'reuse', () => at(e, 'ring-index', `req_prod ${e.reqProdAfter} is ${ahead} past rsp_prod ${e.rspProdAfter} on the ${name}, more than its ${s.size[0]} slots: requests overwrote slots whose responses were not produced`, { ring: r }));
    }
    if (e.seen === undefined) return; // a trace from before `seen`: who notified when is unknown
    for (const dir of ['req', 'rsp'] as const) {
      const producer = dir === 'req' ? r.front : r.back;
      if (e.dom !== producer) continue;
      if (e.seen === 'notify') {
        delete s.owed[dir];
        continue;
      }
      if (moved[dir] === 0 || moved[dir] >= 2 ** 31) continue;
      const [old, now, event] = dir === 'req' ? [e.reqProdBefore, e.reqProdAfter, e.reqCons] : [e.rspProdBefore, e.rspProdAfter, e.rspCons];
      const need = u32(now - event) < u32(now - old);
      const owed = s.owed[dir];
      if (owed !== undefined) owed.now = now;
      else if (need) s.owed[dir] = { push: e, old, now, event };
      // dom0's backends run no vCPUs: their look as a handler returns ends their turn, as a block or poll ends a guest's.
      if (e.dom === 0 && e.vcpu < 0) this.lost(s, dir, e, `dom0's backend returned from its handler at #${e.seq}`, []);
    }
  }

  /** console/xenstore: the consumer indices are shared, so check them against the producers. */
  private byteRing(e: RingEvent, s: State): void {
    const name = ringName(s.ref);
    for (const [dir, k, prod, cons, last] of [['req', 0, e.reqProdAfter, e.reqCons, s.reqCons], ['rsp', 1, e.rspProdAfter, e.rspCons, s.rspCons]] as const) {
      const cname = dir === 'req' ? (s.ref.kind === 'console' ? 'out_cons' : 'req_cons') : s.ref.kind === 'console' ? 'in_cons' : 'rsp_cons';
      if (!s.first && u32(cons - last) >= 2 ** 31) this.once(s, `${dir}-cons-back`, () => at(e, 'ring-index', `${cname} of the ${name} moved backwards, ${last} -> ${cons}`, { ring: s.ref }));
      const fill = dist(prod, cons);
      if (fill < 0) this.once(s, `${dir}-cons-beyond`, () => at(e, 'ring-index', `${cname} ${cons} is beyond its producer ${prod} on the ${name}: the consumer read bytes never written`, { ring: s.ref }));
      else if (fill > s.size[k]!) this.once(s, `${dir}-overrun`, () => at(e, 'ring-index', `the producer is ${fill} bytes ahead of ${cname} ${cons} on the ${name}, more than its ${s.size[k]}: unread bytes were overwritten`, { ring: s.ref }));
    }
    s.reqCons = e.reqCons;
    s.rspCons = e.rspCons;
  }

  /** The ring whose channel a send is on (the frontend's port, or the backend's port bound to it). */
  private ringOfSend(e: Extract<SimEvent, { kind: 'evtchn_send' }>): State | undefined {
    for (const s of this.rings.values()) {
      if ((s.ref.front === e.dom && s.ref.port === e.port) || (s.ref.back === e.dom && s.ref.front === e.toDom && s.ref.port === e.toPort)) return s;
    }
    return undefined;
  }

  private send(e: Extract<SimEvent, { kind: 'evtchn_send' }>): void {
    if (e.virq >= 0) return;
    for (const s of this.rings.values()) {
      if (s.ref.front === e.dom && s.ref.port === e.port) {
        delete s.owed.req;
        s.told[0] = s.prod[0];
      }
      if (s.ref.back === e.dom && s.ref.front === e.toDom && s.ref.port === e.toPort) {
        delete s.owed.rsp;
        s.told[1] = s.prod[1];
      }
    }
    const key = `${e.toDom}:${e.toPort}`;
    if (e.masked && e.toDom >= 0 && e.toDom !== e.dom && !this.masked.has(key)) this.masked.set(key, e);
  }

  private hypercall(e: Extract<SimEvent, { kind: 'hypercall' }>): void {
    if (e.result !== 0) return;
    const d = e.decoded;
    if (e.subName === 'EVTCHNOP_bind_interdomain' && typeof d.local_port === 'number') this.bound.set(`${e.dom}:${d.local_port}`, e);
    else if (e.subName === 'EVTCHNOP_alloc_unbound' && typeof d.port === 'number') this.bound.set(`${e.dom}:${d.port}`, e);
    else if (e.subName === 'EVTCHNOP_unmask' && typeof d.port === 'number') this.masked.delete(`${e.dom}:${d.port}`);
    else if (e.subName === 'SCHEDOP_poll') {
      for (const [k, v] of Object.entries(d)) if (/^ports(\[\d+\])?$/.test(k) && typeof v === 'number') this.masked.delete(`${e.dom}:${v}`);
      if (Array.isArray(d.ports)) for (const p of d.ports) this.masked.delete(`${e.dom}:${String(p)}`);
    }
  }

  /** A vCPU blocks or polls: pushes it owed a notify are lost; a consumer must not sleep on a stale event index. */
  /** A push owed a notify on `s` in direction `dir`, by the vCPU of `e`, which now `how` (went to sleep, returned): report it. */
  private lost(s: State, dir: Dir, e: SimEvent, how: string, rel: Related[]): void {
    const o = s.owed[dir];
    if (o === undefined || o.push.dom !== e.dom || o.push.vcpu !== e.vcpu) return;
    delete s.owed[dir];
    const peer = dir === 'req' ? `the backend d${s.ref.back}` : `the frontend d${s.ref.front}`;
    const macro = dir === 'req' ? 'RING_PUSH_REQUESTS_AND_CHECK_NOTIFY' : 'RING_PUSH_RESPONSES_AND_CHECK_NOTIFY';
    this.out(at(o.push, 'lost-wakeup',
      `${who(o.push)} published ${dir === 'req' ? 'requests' : 'responses'} ${o.old} -> ${o.now} on the ${ringName(s.ref)} while ${peer}'s ${dir}_event was ${o.event}, in (${o.old}, ${o.now}]: ${macro} says notify, but ${how} without notifying port ${s.ref.port}'s channel`,
      { ring: s.ref, related: rel }));
  }

  private sleep(e: Extract<SimEvent, { kind: 'sched' }>): void {
    const how = `${who(e)} ${e.what === 'poll' ? 'polled' : 'blocked'} at #${e.seq}`;
    const rel = [related(e, `${who(e)} ${e.what === 'poll' ? 'polls' : 'blocks'} without having notified`)];
    for (const s of this.rings.values()) for (const dir of ['req', 'rsp'] as const) this.lost(s, dir, e, how, rel);
    if (e.rings === undefined || !this.sleepers.domainAsleep(e.dom)) return;
    for (const x of e.rings) {
      const front = Number(x.front);
      const back = Number(x.back);
      const consumer: Dir | null = e.dom === back ? 'req' : e.dom === front ? 'rsp' : null;
      if (consumer === null || this.closing(front, back)) continue;
      // A netif rx ring's requests are buffers the backend takes as packets come: it arms req_event
      // only when it lacks slots (Linux's xenvif_rx_ring_slots_available), so a stale one is no lost wake-up.
      if (consumer === 'req' && x.ring === 'netif-rx') continue;
      const prod = Number(consumer === 'req' ? x.req_prod : x.rsp_prod);
      const event = Number(consumer === 'req' ? x.req_event : x.rsp_event);
      if (dist(prod, event) < 0) continue;
      const ref: RingRef = { kind: String(x.ring), front, back, gref: Number(x.gref), port: Number(x.port) };
      const s = this.rings.get(`${ref.kind}/${front}/${back}/${ref.gref}/${ref.port}`);
      // Told of the work by a notify after the last push, and not done with it (a request without its
      // response yet): its driver deferred it (a Linux backend's kthread) and will look again.
      const pending = consumer === 'rsp' || Number(x.rsp_prod) !== Number(x.req_prod);
      if (s !== undefined && s.told[consumer === 'req' ? 0 : 1] === prod && pending) continue;
      const report = (): ReturnType<typeof at> => at(e, 'lost-wakeup',
        `${who(e)} ${e.what === 'poll' ? 'polled' : 'blocked'} with every vCPU of d${e.dom} asleep while ${consumer}_event ${event} <= ${consumer}_prod ${prod} on the ${ringName(ref)}: the ${consumer === 'req' ? 'frontend' : 'backend'}'s next push will not notify it, and any ${consumer === 'req' ? 'requests' : 'responses'} up to ${prod} it has not consumed wait unseen (${consumer === 'req' ? 'RING_FINAL_CHECK_FOR_REQUESTS' : 'RING_FINAL_CHECK_FOR_RESPONSES'} sets ${consumer}_event = ${consumer === 'req' ? 'req_cons' : 'rsp_cons'} + 1 and looks again before sleeping)`,
        { ring: ref });
      if (s !== undefined) this.once(s, `${consumer}-stale-sleep`, report);
      else this.out(report());
    }
  }
}
