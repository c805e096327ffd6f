/**
 * Protocol checks on hand-built event streams: each check fires on the
 * pattern it names and stays quiet on its correct twin.
 */
import { describe, expect, it } from 'vitest';
import type { Decoded, SimEvent, SimEventBody } from '../../sim/events.js';
import { checkEvents } from './check.js';

/** A stream builder: events get increasing seq and time; `dom`/`vcpu` default to d1v0. */
function stream() {
  const evs: SimEvent[] = [];
  const add = (body: SimEventBody, dom = 1, vcpu = 0, stack?: bigint[]): SimEvent => {
    const e = { seq: evs.length, time: evs.length * 10, dom, vcpu, icount: evs.length, rip: 0x1000n, ...(stack ? { stack } : {}), ...body } as SimEvent;
    evs.push(e);
    return e;
  };
  const blk = { ring: 'blkif' as const, frontDom: 1, backDom: 2, gref: 8, port: 3 };
  return {
    evs,
    add,
    /** ring traffic on the blkif ring d1 -> d2 (gref 8, frontend port 3), by `dom` */
    ring: (dom: number, req: [number, number], rsp: [number, number], events: [number, number], seen: 'notify' | 'block' | 'poll' | 'deschedule' | undefined, vcpu = 0) =>
      add({ kind: 'ring', ...blk, reqProdBefore: req[0], reqProdAfter: req[1], rspProdBefore: rsp[0], rspProdAfter: rsp[1], reqCons: events[0], rspCons: events[1], slots: [], ...(seen ? { seen } : {}) }, dom, vcpu),
    /** the frontend's notify (port 3 -> d2:4) or the backend's (port 4 -> d1:3) */
    notify: (dom: number, masked = false, vcpu = 0) => add({ kind: 'evtchn_send', port: dom === 1 ? 3 : 4, toDom: dom === 1 ? 2 : 1, toPort: dom === 1 ? 4 : 3, virq: -1, ...(masked ? { masked: true as const } : {}) }, dom, vcpu),
    block: (dom: number, rings?: Decoded[], vcpu = 0) => add({ kind: 'sched', what: 'block', until: -1, ...(rings ? { rings } : {}) }, dom, vcpu),
    wake: (dom: number, vcpu = 0) => add({ kind: 'sched', what: 'wake', until: 0 }, dom, vcpu),
    indices: (req: number, reqEvent: number, rsp: number, rspEvent: number): Decoded => ({ ring: 'blkif', front: 1, back: 2, gref: 8, port: 3, req_prod: req, req_event: reqEvent, rsp_prod: rsp, rsp_event: rspEvent }),
    xs: (dom: number, path: string, value: string, txId = 0, op = 'WRITE', result = 'OK') => add({ kind: 'xenstore', op, txId, path, value, result }, dom),
    grants: (dom: number, granted: Decoded[], mapped: Decoded[]) => add({ kind: 'grants', granted, mapped }, dom),
    hc: (dom: number, subName: string, decoded: Decoded, result = 0) => add({ kind: 'hypercall', op: 0, name: 'x', sub: 0, subName, args: [0n, 0n, 0n, 0n, 0n], decoded, result, caller: 0n }, dom),
  };
}

const checks = (evs: SimEvent[], stop = 'all-stopped') => checkEvents(evs, stop).map((v) => [v.check, v.seq]);

describe('ring index invariants', () => {
  it('responses beyond requests, at the push that made them', () => {
    const s = stream();
    s.ring(1, [0, 4], [0, 0], [1, 1], 'notify');
    const bad = s.ring(2, [4, 4], [0, 5], [5, 1], 'notify');
    s.ring(2, [4, 4], [5, 6], [5, 1], 'notify'); // the same problem again: reported once
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq, v.dom])).toEqual([['ring-index', bad.seq, 2]]);
    expect(vs[0]!.message).toContain('rsp_prod 5 is beyond req_prod 4');
    expect(vs[0]!.ring).toEqual({ kind: 'blkif', front: 1, back: 2, gref: 8, port: 3 });
  });

  it('a producer index moving backwards or jumping past the ring size; too many requests out', () => {
    const s = stream();
    s.ring(1, [0, 4], [0, 0], [1, 1], 'notify');
    const back = s.ring(1, [4, 2], [0, 0], [1, 1], 'notify');
    const jump = s.ring(1, [2, 40], [0, 0], [1, 1], 'notify');
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => v.seq)).toEqual([back.seq, jump.seq, jump.seq]);
    expect(vs[0]!.message).toMatch(/req_prod .* moved backwards, 4 -> 2 \(by 2\)/);
    expect(vs[1]!.message).toMatch(/advanced by 38, 2 -> 40: more than the ring's 32 slots/);
    expect(vs[2]!.message).toMatch(/req_prod 40 is 40 past rsp_prod 0 .* more than its 32 slots/);
  });

  it('indices wrap around 2^32 without complaint', () => {
    const s = stream();
    s.ring(1, [0xfffffffe, 2], [0xfffffffe, 0xfffffffe], [0xffffffff, 0xffffffff], 'notify');
    s.ring(2, [2, 2], [0xfffffffe, 2], [3, 0xffffffff], 'notify');
    expect(checks(s.evs)).toEqual([]);
  });

  it('console and xenstore: a consumer index beyond its producer, or moving back', () => {
    const s = stream();
    const ring = { ring: 'xenstore' as const, frontDom: 1, backDom: 0, gref: 0, port: 1, slots: [], seen: 'notify' as const };
    s.add({ kind: 'ring', ...ring, reqProdBefore: 0, reqProdAfter: 20, rspProdBefore: 0, rspProdAfter: 0, reqCons: 20, rspCons: 0 });
    const beyond = s.add({ kind: 'ring', ...ring, reqProdBefore: 20, reqProdAfter: 30, rspProdBefore: 0, rspProdAfter: 10, reqCons: 31, rspCons: 10 });
    const back = s.add({ kind: 'ring', ...ring, reqProdBefore: 30, reqProdAfter: 40, rspProdBefore: 10, rspProdAfter: 10, reqCons: 25, rspCons: 10 });
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => v.seq)).toEqual([beyond.seq, back.seq]);
    expect(vs[0]!.message).toContain('req_cons 31 is beyond its producer 30');
    expect(vs[1]!.message).toContain('req_cons of the xenstore ring d1->d0 gref 0 port 1 moved backwards, 31 -> 25');
  });
});

describe('lost wake-ups', () => {
  it('a push with req_event in (old, new] and no notify before the producer blocks', () => {
    const s = stream();
    const push = s.ring(1, [60, 61], [60, 60], [61, 61], 'block');
    const blk = s.block(1);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['lost-wakeup', push.seq]]);
    expect(vs[0]!.message).toMatch(/d1v0 published requests 60 -> 61 .* req_event was 61, in \(60, 61\]: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY says notify, but d1v0 blocked/);
    expect(vs[0]!.related.map((r) => r.seq)).toEqual([blk.seq]);
  });

  it('quiet when the push was notified, when the event was not reached, or when the notify came after a preemption', () => {
    const s = stream();
    s.ring(1, [0, 4], [0, 0], [1, 1], 'notify');
    s.notify(1);
    s.block(1);
    s.ring(1, [4, 8], [4, 4], [3, 5], 'block'); // req_event 3 is not in (4, 8]
    s.block(1);
    s.ring(1, [8, 12], [8, 8], [9, 9], 'deschedule'); // preempted between the push and its notify
    s.wake(2);
    s.notify(1);
    s.block(1);
    expect(checks(s.evs)).toEqual([]);
  });

  it('responses: the backend owes the frontend a notify when rsp_event is reached', () => {
    const s = stream();
    s.ring(1, [0, 4], [0, 0], [1, 1], 'notify');
    s.notify(1);
    const push = s.ring(2, [4, 4], [0, 4], [5, 1], 'deschedule');
    s.block(2);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['lost-wakeup', push.seq]]);
    expect(vs[0]!.message).toContain('RING_PUSH_RESPONSES_AND_CHECK_NOTIFY');
    // ... unless it notifies on its port bound to the ring
    const t = stream();
    t.ring(2, [4, 4], [0, 4], [5, 1], 'deschedule');
    t.notify(2);
    t.block(2);
    expect(checks(t.evs)).toEqual([]);
  });

  it('a ring dom0 serves (blkback): responses owed a notify when its handler returns without one', () => {
    // dom0's backends run no vCPU (events d0, vcpu -1): the look as the handler returns ends their turn.
    type RingBody = Extract<SimEventBody, { kind: 'ring' }>;
    const d0 = (req: [number, number], rsp: [number, number], events: [number, number], seen: 'notify' | 'deschedule'): RingBody =>
      ({ kind: 'ring', ring: 'blkif', frontDom: 1, backDom: 0, gref: 8, port: 3, reqProdBefore: req[0], reqProdAfter: req[1], rspProdBefore: rsp[0], rspProdAfter: rsp[1], reqCons: events[0], rspCons: events[1], slots: [], seen });
    const front: RingBody = { kind: 'ring', ring: 'blkif', frontDom: 1, backDom: 0, gref: 8, port: 3, reqProdBefore: 0, reqProdAfter: 4, rspProdBefore: 0, rspProdAfter: 0, reqCons: 1, rspCons: 1, slots: [], seen: 'notify' };
    const s = stream();
    s.add(front);
    const push = s.add(d0([4, 4], [0, 4], [5, 1], 'deschedule'), 0, -1);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq, v.dom])).toEqual([['lost-wakeup', push.seq, 0]]);
    expect(vs[0]!.message).toMatch(/^d0v- published responses 0 -> 4 on the blkif ring d1->d0 gref 8 port 3 while the frontend d1's rsp_event was 1, in \(0, 4\]: RING_PUSH_RESPONSES_AND_CHECK_NOTIFY says notify, but dom0's backend returned from its handler at #1 without notifying/);
    // Its twins: seen at its notify; or a push the frontend did not ask to hear of (rsp_event 9 beyond it).
    const t = stream();
    t.add({ ...front, reqProdAfter: 8 });
    t.add(d0([8, 8], [0, 4], [5, 1], 'notify'), 0, -1);
    t.add(d0([8, 8], [4, 6], [9, 9], 'deschedule'), 0, -1);
    expect(checks(t.evs)).toEqual([]);
  });

  it('a multi-page ring is judged by its own size (entries)', () => {
    const s = stream();
    s.add({ kind: 'ring', ring: 'blkif', frontDom: 1, backDom: 2, gref: 8, port: 3, reqProdBefore: 0, reqProdAfter: 60, rspProdBefore: 0, rspProdAfter: 0, reqCons: 1, rspCons: 1, slots: [], seen: 'notify', entries: 64 });
    expect(checks(s.evs)).toEqual([]);
    const over = s.add({ kind: 'ring', ring: 'blkif', frontDom: 1, backDom: 2, gref: 8, port: 3, reqProdBefore: 60, reqProdAfter: 65, rspProdBefore: 0, rspProdAfter: 0, reqCons: 1, rspCons: 1, slots: [], seen: 'notify', entries: 64 });
    expect(checkEvents(s.evs).map((v) => v.message)).toEqual([expect.stringMatching(/req_prod 65 is 65 past rsp_prod 0 .* more than its 64 slots/)]);
    expect(checks(s.evs)).toEqual([['ring-index', over.seq]]);
  });

  it('a trace from before `seen` is not judged', () => {
    const s = stream();
    s.ring(1, [60, 61], [60, 60], [61, 61], undefined);
    s.block(1);
    expect(checks(s.evs)).toEqual([]);
  });

  it('a consumer sleeping with its event index at or behind the producer', () => {
    const s = stream();
    const blk = s.block(2, [s.indices(4, 1, 4, 5)]);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq, v.dom])).toEqual([['lost-wakeup', blk.seq, 2]]);
    expect(vs[0]!.message).toMatch(/req_event 1 <= req_prod 4 .*RING_FINAL_CHECK_FOR_REQUESTS/);
    // armed (event = prod + 1), or ahead of prod (netfront's half-way trick): quiet
    const t = stream();
    t.block(2, [t.indices(4, 5, 4, 5)]);
    t.block(1, [t.indices(4, 5, 4, 9)]);
    expect(checks(t.evs)).toEqual([]);
  });

  it('not when the producer notified after its last push: the consumer was told (a Linux backend\'s kthread defers)', () => {
    const s = stream();
    s.ring(1, [0, 4], [0, 0], [1, 1], 'notify');
    s.notify(1);
    s.block(2, [s.indices(4, 1, 0, 1)]);
    expect(checks(s.evs)).toEqual([]);
    // a push after that notify, not notified (req_event 1 not in (4, 6]): told up to 4 only
    const push = s.ring(1, [4, 6], [0, 0], [1, 1], 'block');
    const blk = s.block(2, [s.indices(6, 1, 0, 1)]);
    expect(checks(s.evs)).toEqual([['lost-wakeup', blk.seq]]);
    expect(push.seq).toBeLessThan(blk.seq);
  });

  it('not while another vCPU of the consumer runs, nor once the device is closing', () => {
    const s = stream();
    s.wake(2, 1);
    s.block(2, [s.indices(4, 1, 4, 5)], 0);
    expect(checks(s.evs)).toEqual([]);
    const t = stream();
    t.xs(1, '/local/domain/1/data/vbd/0/backend-id', '2');
    t.xs(1, '/local/domain/1/data/vbd/0/state', '5');
    t.block(2, [t.indices(4, 1, 4, 5)]);
    expect(checks(t.evs)).toEqual([]);
  });

  it('a notify that found the receiver port masked, the receiver asleep to the end of a deadlock', () => {
    const s = stream();
    const bind = s.hc(2, 'EVTCHNOP_bind_interdomain', { remote_dom: 1, remote_port: 3, local_port: 4 });
    s.block(2);
    const send = s.notify(1, true);
    s.block(1);
    const vs = checkEvents(s.evs, 'deadlock');
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['lost-wakeup', send.seq]]);
    expect(vs[0]!.message).toMatch(/found the port masked, and d2 slept to the end of the run \(deadlock\)/);
    expect(vs[0]!.related.map((r) => r.seq)).toEqual([bind.seq]);
    expect(checks(s.evs, 'budget')).toEqual([]);
    // delivered (or unmasked) since: quiet
    s.add({ kind: 'evtchn_deliver', ports: [4] }, 2);
    s.block(2);
    expect(checks(s.evs, 'deadlock')).toEqual([]);
  });
});

describe('xenbus state machine', () => {
  const F = '/local/domain/1/device/vbd/51712';
  const B = '/local/domain/2/backend/vbd/1/51712';

  it('blkif.h startup and unplug: no violation', () => {
    const s = stream();
    s.xs(1, `${F}/backend-id`, '2');
    s.xs(1, `${F}/state`, '1');
    s.xs(2, `${B}/state`, '1');
    s.xs(2, `${B}/state`, '2');
    s.xs(1, `${F}/state`, '3');
    s.xs(2, `${B}/state`, '4');
    s.xs(1, `${F}/state`, '4');
    s.xs(1, `${F}/state`, '5');
    s.xs(2, `${B}/state`, '5');
    s.xs(1, `${F}/state`, '6');
    s.xs(2, `${B}/state`, '6');
    s.xs(1, `${F}/state`, '1'); // starting over
    s.xs(2, `${B}/state`, '2');
    expect(checks(s.evs)).toEqual([]);
  });

  it('a backend skipping InitWait to Connected before its frontend is Initialised', () => {
    const s = stream();
    s.xs(1, `${F}/backend-id`, '2');
    s.xs(1, `${F}/state`, '1');
    s.xs(2, `${B}/state`, '1');
    const bad = s.xs(2, `${B}/state`, '4');
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq, v.dom])).toEqual([['xenbus', bad.seq, 2]]);
    expect(vs[0]!.message).toMatch(/went Initialising -> Connected: .*skipped InitWait; connected before the frontend is ready: d1 is Initialising/);
    expect(vs[0]!.device).toBe('vbd 51712 of d1 (backend d2)');
  });

  it('a frontend going back from Connected, and a vbd frontend connecting before its backend', () => {
    const s = stream();
    s.xs(1, `${F}/backend-id`, '2');
    s.xs(2, `${B}/state`, '2');
    const early = s.xs(1, `${F}/state`, '4');
    const back = s.xs(1, `${F}/state`, '3');
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => v.seq)).toEqual([early.seq, back.seq]);
    expect(vs[0]!.message).toContain('connected before the backend is ready: d2 is InitWait (blkif.h');
    expect(vs[1]!.message).toContain('Connected -> Initialised is not a xenbus transition');
  });

  it('writes in a transaction count at its commit, and not at all when it is aborted or fails', () => {
    const s = stream();
    s.xs(2, `${B}/state`, '1');
    s.xs(2, `${B}/state`, '4', 7);
    s.xs(2, '', 'F', 7, 'TRANSACTION_END');
    s.xs(2, `${B}/state`, '4', 8);
    s.xs(2, '', 'T', 8, 'TRANSACTION_END', 'EAGAIN');
    expect(checks(s.evs)).toEqual([]);
    const write = s.xs(2, `${B}/state`, '4', 9);
    s.xs(2, '', 'T', 9, 'TRANSACTION_END');
    expect(checks(s.evs)).toEqual([['xenbus', write.seq]]);
  });
});

describe('grant leaks', () => {
  const F = '/local/domain/1/data/vbd/0';
  const B = '/local/domain/2/data/vbd-back/1/0';
  const setup = () => {
    const s = stream();
    s.xs(1, `${F}/backend-id`, '2');
    s.xs(1, `${F}/data-ref`, '9');
    s.hc(2, 'GNTTABOP_map_grant_ref', { count: 1, ref: 8, dom: 1, flags: 2, status: 0, handle: 0 }, 0);
    return s;
  };

  it('a frontend Closed still granting a page its backend does not map, and still at its shutdown', () => {
    const s = setup();
    s.grants(1, [{ ref: 8, domid: 2, frame: 100, flags: 1 | 8 | 16 }, { ref: 9, domid: 2, frame: 101, flags: 1 }], []);
    const closed = s.xs(1, `${F}/state`, '6');
    // Not yet: a frontend may end its grants after writing Closed (Linux's blkfront_remove, the corpus blkfront).
    expect(checks(s.evs)).toEqual([]);
    s.grants(1, [{ ref: 9, domid: 2, frame: 101, flags: 1 }], []);
    s.add({ kind: 'domain_state', state: 'shutdown', reason: 'poweroff' }, 1);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['grant-leak', closed.seq]]);
    expect(vs[0]!.message).toMatch(/d1v0 went Closed on vbd 0 of d1 \(backend d2\) still granting d2 grant ref 9, which d2 does not map and still did when it shut down \(poweroff\)/);
    expect(vs[0]!.related[0]!.what).toBe(`grant ref 9 published as ${F}/data-ref`);
  });

  it('a frontend that ends its grants after going Closed leaks nothing', () => {
    const s = setup();
    s.grants(1, [{ ref: 9, domid: 2, frame: 101, flags: 1 }], []);
    s.xs(1, `${F}/state`, '6');
    s.grants(1, [], []);
    s.add({ kind: 'domain_state', state: 'shutdown', reason: 'poweroff' }, 1);
    expect(checks(s.evs)).toEqual([]);
  });

  it('a backend Closed (or shut down) still mapping its frontend\'s grant; quiet after the unmap', () => {
    const s = setup();
    s.grants(2, [], [{ handle: 0, dom: 1, ref: 8, flags: 2 }]);
    const closed = s.xs(2, `${B}/state`, '6');
    s.grants(2, [], [{ handle: 0, dom: 1, ref: 8, flags: 2 }]);
    s.add({ kind: 'domain_state', state: 'shutdown', reason: 'poweroff' }, 2);
    const vs = checkEvents(s.evs);
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['grant-leak', closed.seq]]); // once
    expect(vs[0]!.message).toContain('still mapping d1\'s grant ref 8 (handle 0): GNTTABOP_map_grant_ref without GNTTABOP_unmap_grant_ref');
    expect(vs[0]!.related.map((r) => r.seq)).toEqual([2]);
    const t = setup();
    t.grants(2, [], []);
    t.xs(2, `${B}/state`, '6');
    t.grants(1, [{ ref: 9, domid: 2, frame: 101, flags: 1 }], []);
    t.add({ kind: 'domain_state', state: 'crashed', reason: 'crash' }, 1);
    expect(checks(t.evs)).toEqual([]);
  });

  it('a mapping still held at a clean shutdown, without any device', () => {
    const s = stream();
    s.grants(2, [], [{ handle: 3, dom: 1, ref: 10, flags: 2 }]);
    const down = s.add({ kind: 'domain_state', state: 'shutdown', reason: 'poweroff' }, 2);
    expect(checks(s.evs)).toEqual([['grant-leak', down.seq]]);
  });
});
