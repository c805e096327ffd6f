import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../sim/events.js';
import { KIND_CODES } from '../trace/schema.js';
import { KIND_ALIASES, summary } from './format.js';

const hc = (subName: string, decoded: Record<string, number>, result = 0): SimEvent => ({
  seq: 0, time: 0, dom: 1, vcpu: 0, icount: 0, rip: 0n, kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 6, subName, args: [], decoded, result, caller: 0n,
});

describe('event summaries', () => {
  it('name the reserved domain ids in fields that hold a domain, and leave other numbers alone', () => {
    expect(summary(hc('EVTCHNOP_alloc_unbound', { dom: 0x7ff0, remote_dom: 2, port: 3 }))).toBe('EVTCHNOP_alloc_unbound dom=DOMID_SELF remote_dom=2 port=3 -> 0');
    expect(summary(hc('XENMEM_populate_physmap', { nr_extents: 1, domid: 0x7ff2 }))).toBe('XENMEM_populate_physmap nr_extents=1 domid=DOMID_XEN -> 0');
    expect(summary(hc('EVTCHNOP_send', { port: 0x7ff0 }, -22))).toBe('EVTCHNOP_send port=32752 -> -EINVAL');
  });
});

describe('ring summaries', () => {
  it('name the two ends; dom0\'s own xenstore ring goes to xenstored (the stub domain), not to dom0', () => {
    const ring = (frontDom: number, backDom: number, r: 'xenstore' | 'blkif'): SimEvent => ({
      seq: 0, time: 0, dom: frontDom, vcpu: 0, icount: 0, rip: 0n, kind: 'ring', ring: r, frontDom, backDom, gref: 0, port: 1,
      reqProdBefore: 0, reqProdAfter: 16, rspProdBefore: 0, rspProdAfter: 0, reqCons: 0, rspCons: 0, slots: [], seen: 'notify',
    });
    expect(summary(ring(0, 0, 'xenstore'))).toBe('xenstore dom0->xenstored req 0->16 rsp 0->0 (0 slots)');
    expect(summary(ring(1, 0, 'xenstore'))).toBe('xenstore dom1->dom0 req 0->16 rsp 0->0 (0 slots)');
    expect(summary(ring(1, 0, 'blkif'))).toBe('blkif dom1->dom0 req 0->16 rsp 0->0 (0 slots)');
  });
});

describe('kind filter words', () => {
  it('take every kind by the name info prints, meaning just that kind', () => {
    for (const k of Object.keys(KIND_CODES)) expect(KIND_ALIASES[k]).toEqual([k]);
  });
});
