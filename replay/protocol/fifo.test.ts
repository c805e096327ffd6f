/**
 * The lost-wakeup check's masked notifications under the FIFO ABI (the one
 * Linux picks on Xen 4.17): the simulator reports a notify's destination
 * as masked by the port's event word (MASKED, or no event word yet), not by
 * the 2-level bitmap in shared_info, and the check judges those sends as
 * it judges 2-level ones. (Hypercalls are made here straight into Xen, so
 * the stream has their effects but not their own events.)
 */
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import * as EC from '../../sim/xen/public/event_channel.js';
import { SCHEDOP_block } from '../../sim/xen/public/sched.js';
import * as X from '../../sim/xen/public/xen.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from '../../sim/xen/test-domain.js';
import { checkEvents } from './check.js';

const eop = X.__HYPERVISOR_event_channel_op;
const CB = 0x3000n;
const ARR = 0x2000n;
const MASKED = 1 << EC.EVTCHN_FIFO_MASKED;
/** shared_info's 2-level mask bitmap (public/xen.h evtchn_mask) */
const SI_MASK = 2560;

const mfnOf = (t: TestDomain, off: bigint): number => t.d.p2m[Number((t.scratch + off) >> 12n)]!;

/** `t` switches to FIFO with one event-array page (ports 0..1023), every word MASKED as Linux initialises it. */
function fifo(t: TestDomain): void {
  t.put(t.scratch, struct(24, [[0, 8, mfnOf(t, CB)], [8, 4, 0], [12, 4, 0]]));
  expect(t.call(eop, EC.EVTCHNOP_init_control, t.scratch)).toBe(0);
  t.put(t.scratch + ARR, new Uint8Array(new Uint32Array(1024).fill(MASKED).buffer));
  t.put(t.scratch + 32n, struct(8, [[0, 8, mfnOf(t, ARR)]]));
  expect(t.call(eop, EC.EVTCHNOP_expand_array, t.scratch + 32n)).toBe(0);
}

/** An interdomain channel: `back` allocates a port for `front`, which binds it. Returns [front port, back port]. */
function channel(front: TestDomain, back: TestDomain): [number, number] {
  back.put(back.scratch + 64n, struct(8, [[0, 2, X.DOMID_SELF], [2, 2, front.d.id]]));
  expect(back.call(eop, EC.EVTCHNOP_alloc_unbound, back.scratch + 64n)).toBe(0);
  const bp = back.u32(back.scratch + 68n);
  front.put(front.scratch + 64n, struct(12, [[0, 2, back.d.id], [4, 4, bp]]));
  expect(front.call(eop, EC.EVTCHNOP_bind_interdomain, front.scratch + 64n)).toBe(0);
  return [front.u32(front.scratch + 72n), bp];
}

function send(t: TestDomain, port: number): void {
  t.put(t.scratch + 96n, struct(4, [[0, 4, port]]));
  expect(t.call(eop, EC.EVTCHNOP_send, t.scratch + 96n)).toBe(0);
}

/** Two FIFO domains, d2 asleep in SCHEDOP_block, then d1 notifies it after `prepare` set up d2's port. */
function run(prepare: (back: TestDomain, port: number) => void) {
  const events: SimEvent[] = [];
  const [front, back] = testDomains(2, 'hello', { sink: (e) => events.push(e) });
  fifo(front!);
  fifo(back!);
  const [fp, bp] = channel(front!, back!);
  prepare(back!, bp);
  back!.v.upcallPending = false;
  expect(back!.call(X.__HYPERVISOR_sched_op, SCHEDOP_block, 0)).toBe(0);
  send(front!, fp);
  const sent = events.filter((e) => e.kind === 'evtchn_send' && e.dom === 1).at(-1)!;
  return { events, sent, back: back!, bp };
}

describe.skipIf(!corpusBuilt)('masked notifications under FIFO event channels', () => {
  it('a port whose event word is MASKED: the notify says so, wakes no one, and a deadlock then is a lost wake-up', () => {
    const r = run(() => {});
    expect(r.sent).toMatchObject({ kind: 'evtchn_send', toDom: 2, toPort: r.bp, masked: true });
    expect(r.events.some((e) => e.kind === 'sched' && e.what === 'wake' && e.dom === 2)).toBe(false);
    const vs = checkEvents(r.events, 'deadlock');
    expect(vs.map((v) => [v.check, v.seq])).toEqual([['lost-wakeup', r.sent.seq]]);
    expect(vs[0]!.message).toMatch(new RegExp(`to d2 port ${r.bp} found the port masked, and d2 slept to the end of the run \\(deadlock\\)`));
  });

  it('unmasked in its event word but masked in the 2-level bitmap: not masked under FIFO; the notify wakes d2', () => {
    const r = run((back, port) => {
      back.put(back.scratch + ARR + BigInt(4 * port), struct(4, [[0, 4, 0]]));
      const si = back.xen.frames.mem.frame(back.d.sharedInfoMfn)!;
      si.setUint8(SI_MASK + (port >> 3), si.getUint8(SI_MASK + (port >> 3)) | (1 << (port & 7)));
    });
    expect(r.sent.kind === 'evtchn_send' && r.sent.masked).toBeUndefined();
    expect(r.events.some((e) => e.kind === 'sched' && e.what === 'wake' && e.dom === 2)).toBe(true);
    expect(checkEvents(r.events, 'deadlock')).toEqual([]);
  });

  it('a port beyond the event array (no event word yet) counts as masked, as evtchn_fifo_is_masked has it', () => {
    const events: SimEvent[] = [];
    const [front, back] = testDomains(2, 'hello', { sink: (e) => events.push(e) });
    fifo(front!);
    // d2 on FIFO with a control block but no array page: every port lacks its word.
    back!.put(back!.scratch, struct(24, [[0, 8, mfnOf(back!, CB)], [8, 4, 0], [12, 4, 0]]));
    expect(back!.call(eop, EC.EVTCHNOP_init_control, back!.scratch)).toBe(0);
    const [fp, bp] = channel(front!, back!);
    send(front!, fp);
    expect(events.filter((e) => e.kind === 'evtchn_send').at(-1)).toMatchObject({ toDom: 2, toPort: bp, masked: true });
  });
});
