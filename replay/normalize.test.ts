/**
 * Normalization rules: addresses, frames and times never reach the key;
 * ports, counts, status and text do; --ignore names work at any depth.
 */
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../sim/events.js';
import { changedFields, FieldFilter, Normalizer } from './normalize.js';

const at = { seq: 7, time: 1234, dom: 1, vcpu: 0, icount: 99, rip: 0xffffffff81000123n };
const norm = (ignore: string[] = [], locate = (_d: number, a: bigint) => (a >= 0xffffffff81000000n ? 'f' : null)) => new Normalizer(new FieldFilter(new Set(ignore)), locate);

describe('normalize', () => {
  it('keeps op, sub, result and plain decoded values; drops pointers, 64-bit values, frames and timeouts', () => {
    const e: SimEvent = {
      ...at, kind: 'hypercall', op: 14, name: 'update_va_mapping', sub: -1, subName: '', args: [1n, 2n, 3n, 4n, 5n], result: 0, caller: 0xffffffff81000456n,
      decoded: { va: 0x10a000n, val: 0x1017063n, flags: 2, updates: [4096, 7], mfn: 12, timeout: 5000, count: 3, status: -1, text: 'mfn 0x7c8' },
    };
    expect(norm().normalize(e).key).toBe('hypercall dom=1 vcpu=0 at="f" op="update_va_mapping" result=0 arg.flags=2 arg.count=3 arg.status=-1 arg.text="mfn 0x7c8"');
    // Console text is masked: console_io text, console events, console ring slots.
    expect(norm().normalize({ ...e, name: 'console_io', decoded: { text: 'mfn 0x7c8' } }).key).toContain('arg.text="mfn 0x…"');
    expect(norm().normalize({ ...at, kind: 'console', source: 'ring', text: 'at 0xffff8000 ok' }).key).toBe('console dom=1 vcpu=0 at="f" source="ring" text="at 0x… ok"');
    // printk's time stamp is a time: two boots print the same line at different times.
    const line = (text: string) => norm().normalize({ ...at, kind: 'console', source: 'console_io', text }).key;
    expect(line('[    1.603485] iommu')).toBe(line('[    1.603484] iommu'));
    expect(line('[  123.000001] x')).toContain('text="[…] x"');
    expect(line('[    1.603485] iommu')).not.toBe(line('[    1.603485] iommv'));
    expect(norm().normalize({ ...e, name: 'console_io', decoded: { text: '[    0.000000] L' } }).key).toContain('arg.text="[…] L"');
  });

  it('exceptions keep vector and error code, not cr2 or the handler; times are dropped', () => {
    const x = (cr2: bigint, handler: bigint): SimEvent => ({ ...at, kind: 'exception', vector: 14, errorCode: 2, cr2, bounced: true, handler });
    expect(norm().normalize(x(1n, 2n)).key).toBe(norm().normalize({ ...x(3n, 4n), seq: 9, time: 1, icount: 5, rip: 0xffffffff81000999n }).key);
    expect(norm().normalize(x(1n, 2n)).key).toBe('exception dom=1 vcpu=0 at="f" vector=14 errorCode=2 bounced=true');
    expect(norm().normalize({ ...at, kind: 'timer', deadline: 5 }).key).toBe(norm().normalize({ ...at, kind: 'timer', deadline: 6 }).key);
    expect(norm().normalize({ ...at, kind: 'sched', what: 'block', until: 5 }).key).toBe('sched dom=1 vcpu=0 at="f" what="block"');
  });

  it('rings: index advances and slots without grefs, ring indices or 64-bit ids', () => {
    const r = (base: number, gref: number): SimEvent => ({
      ...at, kind: 'ring', ring: 'blkif', frontDom: 1, backDom: 0, gref, port: 5, reqProdBefore: base, reqProdAfter: base + 1, rspProdBefore: base, rspProdAfter: base,
      reqCons: base, rspCons: base, slots: [{ dir: 'req', idx: base, operation: 0, id: 0xffff888000001000n, sector_number: 8n, 'seg[0].gref': gref, 'seg[0].first_sect': 0 }],
    });
    expect(norm().normalize(r(10, 8)).key).toBe(norm().normalize(r(300, 9)).key);
    expect(norm().normalize(r(10, 8)).key).toBe('ring dom=1 vcpu=0 at="f" ring="blkif" frontDom=1 backDom=0 port=5 reqDelta=1 rspDelta=0 slot[0].dir="req" slot[0].operation=0 slot[0].sector_number="0x8" slot[0].seg[0].first_sect=0');
  });

  it('--ignore names a field at any depth, a dotted name only that field; unknown symbols are not compared', () => {
    const send: SimEvent = { ...at, kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 4, subName: 'EVTCHNOP_send', args: [0n, 0n, 0n, 0n, 0n], decoded: { port: 3 }, result: 0, caller: 0x1000n };
    expect(norm().normalize(send).key).toBe('hypercall dom=1 vcpu=0 op="event_channel_op" sub="EVTCHNOP_send" result=0 arg.port=3');
    expect(norm(['port']).normalize(send).key).toBe('hypercall dom=1 vcpu=0 op="event_channel_op" sub="EVTCHNOP_send" result=0');
    expect(norm(['arg.port', 'result']).normalize(send).key).toBe('hypercall dom=1 vcpu=0 op="event_channel_op" sub="EVTCHNOP_send"');
    expect(norm(['arg']).normalize(send).key).not.toContain('arg.');
    const n = norm();
    expect(changedFields(n.fields(send), n.fields({ ...send, result: -22, decoded: { port: 3, extra: 1 } }))).toEqual([
      { field: 'result', a: 0, b: -22 }, { field: 'arg.extra', a: null, b: 1 },
    ]);
  });
});
