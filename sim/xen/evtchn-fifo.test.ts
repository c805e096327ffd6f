/**
 * FIFO event channels as xen/common/event_fifo.c runs them: the switch at
 * the first EVTCHNOP_init_control, event-array pages, linking raised ports
 * into per-vCPU priority queues, masking, priorities, and the way back.
 */
import { describe, expect, it } from 'vitest';
import { PGT } from './page-types.js';
import * as EC from './public/event_channel.js';
import * as X from './public/xen.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from './test-domain.js';

const { Errno } = X;
const eop = X.__HYPERVISOR_event_channel_op;
const CB = 0x3000n; // control block page (scratch + CB), event array page at scratch + ARR
const ARR = 0x2000n;
const P = 2 ** 31;
const M = 1 << 30;
const L = 1 << 29;

function mfnOf(t: TestDomain, off: bigint): number {
  return t.d.p2m[Number((t.scratch + off) >> 12n)]!; // corpus kernels: VA == PFN << 12
}
function initControl(t: TestDomain, vcpu = 0, offset = 0): number {
  t.put(t.scratch, struct(24, [[0, 8, mfnOf(t, CB)], [8, 4, offset], [12, 4, vcpu]]));
  return t.call(eop, EC.EVTCHNOP_init_control, t.scratch)!;
}
function expand(t: TestDomain): number {
  t.put(t.scratch + 32n, struct(8, [[0, 8, mfnOf(t, ARR)]]));
  return t.call(eop, EC.EVTCHNOP_expand_array, t.scratch + 32n)!;
}
function ipi(t: TestDomain): number {
  t.put(t.scratch + 64n, struct(8, [[0, 4, 0]]));
  expect(t.call(eop, EC.EVTCHNOP_bind_ipi, t.scratch + 64n)).toBe(0);
  return t.u32(t.scratch + 68n);
}
function send(t: TestDomain, port: number): void {
  t.put(t.scratch + 96n, struct(4, [[0, 4, port]]));
  expect(t.call(eop, EC.EVTCHNOP_send, t.scratch + 96n)).toBe(0);
}
const word = (t: TestDomain, port: number): number => t.u32(t.scratch + ARR + BigInt(4 * port));
const head = (t: TestDomain, prio: number): number => t.u32(t.scratch + CB + 8n + BigInt(4 * prio));
const ready = (t: TestDomain): number => t.u32(t.scratch + CB);

describe.skipIf(!corpusBuilt)('FIFO event channels', () => {
  it('init_control: checks the vCPU, offset and page; answers link_bits; one control block per vCPU', () => {
    const [t] = testDomains();
    expect(initControl(t!, 9)).toBe(-Errno.ENOENT);
    expect(initControl(t!, 0, 4)).toBe(-Errno.EINVAL); // not 8-aligned
    expect(initControl(t!, 0, 4096 - 64)).toBe(-Errno.EINVAL); // crosses the page
    t!.put(t!.scratch, struct(24, [[0, 8, [...t!.d.ptFrames][0]!], [8, 4, 0], [12, 4, 0]]));
    expect(t!.call(eop, EC.EVTCHNOP_init_control, t!.scratch)).toBe(-Errno.EINVAL); // a page table
    expect(t!.d.fifo).toBe(false);
    expect(initControl(t!)).toBe(0);
    expect(t!.u32(t!.scratch + 16n)).toBe(EC.EVTCHN_FIFO_LINK_BITS);
    expect(t!.d.fifo).toBe(true);
    expect(t!.xen.pages.type[mfnOf(t!, CB)]).toBe(PGT.WRITABLE);
    expect(initControl(t!)).toBe(-Errno.EINVAL);
  });

  it('expand_array needs FIFO; a raised port is linked at the head of its priority queue, READY set, an upcall made pending', () => {
    const [t] = testDomains();
    expect(expand(t!)).toBe(-Errno.EOPNOTSUPP);
    expect(initControl(t!)).toBe(0);
    expect(expand(t!)).toBe(0);
    const a = ipi(t!);
    const b = ipi(t!);
    t!.v.upcallPending = false;
    send(t!, a);
    expect(word(t!, a)).toBe((P | L) >>> 0);
    expect(head(t!, EC.EVTCHN_FIFO_PRIORITY_DEFAULT)).toBe(a);
    expect(ready(t!)).toBe(1 << EC.EVTCHN_FIFO_PRIORITY_DEFAULT);
    expect(t!.v.upcallPending).toBe(true);
    send(t!, b); // appended: a's LINK names b, head unchanged
    expect(word(t!, a)).toBe((P | L | b) >>> 0);
    expect(word(t!, b)).toBe((P | L) >>> 0);
    expect(head(t!, EC.EVTCHN_FIFO_PRIORITY_DEFAULT)).toBe(a);
    expect(t!.xen.isPending(t!.d, b)).toBe(true);
  });

  it('a masked port only becomes pending; EVTCHNOP_unmask links it', () => {
    const [t] = testDomains();
    expect(initControl(t!)).toBe(0);
    expect(expand(t!)).toBe(0);
    const a = ipi(t!);
    t!.put(t!.scratch + ARR + BigInt(4 * a), struct(4, [[0, 4, M]]));
    send(t!, a);
    expect(word(t!, a)).toBe((P | M) >>> 0);
    expect(ready(t!)).toBe(0);
    t!.put(t!.scratch + 96n, struct(4, [[0, 4, a]]));
    expect(t!.call(eop, EC.EVTCHNOP_unmask, t!.scratch + 96n)).toBe(0);
    expect(word(t!, a)).toBe((P | L) >>> 0);
    expect(head(t!, EC.EVTCHN_FIFO_PRIORITY_DEFAULT)).toBe(a);
  });

  it('pending state survives the switch and a missing array page: raised when the page arrives', () => {
    const [t] = testDomains();
    const a = ipi(t!);
    send(t!, a); // 2-level pending
    expect(initControl(t!)).toBe(0);
    const b = ipi(t!);
    send(t!, b); // FIFO, but no array page yet
    expect(ready(t!)).toBe(0);
    expect(expand(t!)).toBe(0);
    expect(word(t!, a) >>> 31).toBe(1);
    expect(word(t!, b) >>> 31).toBe(1);
    expect(head(t!, EC.EVTCHN_FIFO_PRIORITY_DEFAULT)).toBe(a);
  });

  it('set_priority: -ENOSYS under 2-level, -EINVAL past the lowest priority; a new priority picks the queue', () => {
    const [t] = testDomains();
    const a = ipi(t!);
    t!.put(t!.scratch + 128n, struct(8, [[0, 4, a], [4, 4, 2]]));
    expect(t!.call(eop, EC.EVTCHNOP_set_priority, t!.scratch + 128n)).toBe(-Errno.ENOSYS);
    expect(initControl(t!)).toBe(0);
    expect(expand(t!)).toBe(0);
    expect(t!.call(eop, EC.EVTCHNOP_set_priority, t!.scratch + 128n)).toBe(0);
    t!.put(t!.scratch + 160n, struct(8, [[0, 4, a], [4, 4, 16]]));
    expect(t!.call(eop, EC.EVTCHNOP_set_priority, t!.scratch + 160n)).toBe(-Errno.EINVAL);
    send(t!, a);
    expect(head(t!, 2)).toBe(a);
    expect(ready(t!)).toBe(1 << 2);
  });

  it('EVTCHNOP_reset goes back to 2-level and drops Xen\'s page references', () => {
    const [t] = testDomains();
    expect(initControl(t!)).toBe(0);
    expect(expand(t!)).toBe(0);
    t!.put(t!.scratch + 192n, struct(2, [[0, 2, X.DOMID_SELF]]));
    expect(t!.call(eop, EC.EVTCHNOP_reset, t!.scratch + 192n)).toBe(0);
    expect(t!.d.fifo).toBe(false);
    expect(t!.xen.pages.count[mfnOf(t!, CB)]).toBe(1); // only its own writable mapping is left
  });
});
