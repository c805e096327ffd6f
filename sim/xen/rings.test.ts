/**
 * Ring observation on synthetic rings: blkif and netif requests/responses
 * decoded from an sring page, the console and xenstore layouts, wrap-around,
 * and learning a split-driver ring from its xenstore handshake.
 */
import { describe, expect, it } from 'vitest';
import { PhysMem } from '../cpu/phys-mem.js';
import type { SimEventBody } from '../events.js';
import { blkif_request, blkif_response } from './public/io/blkif.js';
import { xencons_interface as CONS } from './public/io/console.js';
import { netif_tx_request } from './public/io/netif.js';
import { sring } from './public/io/ring.js';
import { xenstore_domain_interface as XSI } from './public/io/xs_wire.js';
import { RingTracker } from './rings.js';

function setup(grants: Record<number, number> = {}, store: Record<string, string> = {}) {
  const mem = new PhysMem(64 * 4096);
  const events: Array<SimEventBody & { dom: number }> = [];
  const t = new RingTracker(mem, (dom, body) => events.push({ ...body(), dom }), (_d, gref) => grants[gref] ?? -1, (p) => store[p] ?? null);
  return { mem, t, events, page: (mfn: number) => mem.frame(mfn)! };
}

describe('ring tracker', () => {
  it('decodes new blkif requests and responses at a notify', () => {
    const { t, events, page } = setup();
    t.add({ kind: 'blkif', frontDom: 1, backDom: 0, port: 5, gref: 8, mfn: 10 });
    const v = page(10);
    for (let k = 0; k < 2; k++) {
      const o = sring.ring + k * 112;
      v.setUint8(o + blkif_request.operation, 0); // BLKIF_OP_read
      v.setUint8(o + blkif_request.nr_segments, 1);
      v.setBigUint64(o + blkif_request.id, BigInt(100 + k), true);
      v.setBigUint64(o + blkif_request.sector_number, 2048n + BigInt(k * 8), true);
      v.setUint32(o + blkif_request.seg, 40 + k, true);
      v.setUint8(o + blkif_request.seg + 5, 7);
    }
    v.setUint32(sring.req_prod, 2, true);
    t.check(1, 'notify', 6); // another port: nothing
    expect(events).toHaveLength(0);
    t.check(1, 'notify', 5);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    if (e.kind !== 'ring') throw new Error('not a ring event');
    expect([e.ring, e.reqProdBefore, e.reqProdAfter, e.rspProdAfter]).toEqual(['blkif', 0, 2, 0]);
    expect(e.slots).toEqual([
      { dir: 'req', idx: 0, operation: 0, nr_segments: 1, handle: 0, id: 100n, sector_number: 2048n, seg: [{ gref: 40, first_sect: 0, last_sect: 7 }] },
      { dir: 'req', idx: 1, operation: 0, nr_segments: 1, handle: 0, id: 101n, sector_number: 2056n, seg: [{ gref: 41, first_sect: 0, last_sect: 7 }] },
    ]);
    // the backend answers the first: one response, nothing repeated
    v.setBigUint64(sring.ring + blkif_response.id, 100n, true);
    v.setUint8(sring.ring + blkif_response.operation, 0);
    v.setInt16(sring.ring + blkif_response.status, 0, true);
    v.setUint32(sring.rsp_prod, 1, true);
    t.check(1, 'deschedule');
    const r = events[1]!;
    if (r.kind !== 'ring') throw new Error('not a ring event');
    expect(r.slots).toEqual([{ dir: 'rsp', idx: 0, id: 100n, operation: 0, status: 0 }]);
    t.check(1, 'deschedule');
    expect(events).toHaveLength(2);
    expect([e.seen, r.seen]).toEqual(['notify', 'deschedule']);
  });

  it('frames xenstore messages across notifies: a header and its payload sent apart, two messages in one', () => {
    const { t, events, page } = setup();
    t.add({ kind: 'xenstore', frontDom: 1, backDom: 0, port: 1, gref: 0, mfn: 14 });
    const v = page(14);
    let prod = 0;
    const put = (bytes: number[]): void => {
      for (const b of bytes) v.setUint8(XSI.req + (prod++ & (XSI.req_sizeof - 1)), b);
      v.setUint32(XSI.req_prod, prod, true);
      t.check(1, 'notify', 1);
    };
    const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24];
    const header = (type: number, reqId: number, len: number): number[] => [...u32(type), ...u32(reqId), ...u32(0), ...u32(len)];
    const text = (s: string): number[] => [...Buffer.from(`${s}\0`)];
    put(header(4, 7, 9)); // WATCH, payload to follow
    put(text('backend')); // 8 of its 9 bytes
    put([0x41, ...header(2, 8, 5), ...text('name')]); // the last byte, then a READ whole
    const slots = events.map((e) => (e.kind === 'ring' ? e.slots : []));
    expect(slots).toEqual([
      [{ dir: 'req', bytes: 25, type: 'WATCH', req_id: 7, tx_id: 0, len: 9, payload: '' }],
      [{ dir: 'req', bytes: 8, continued: true }],
      [{ dir: 'req', bytes: 21, type: 'READ', req_id: 8, tx_id: 0, len: 5, payload: 'name' }],
    ]);
  });

  it('sees a backend\'s traffic at its notify on the port bound to the ring, and at its deschedule', () => {
    const { t, events, page } = setup();
    const v = page(13);
    t.add({ kind: 'blkif', frontDom: 1, backDom: 2, port: 5, gref: 8, mfn: 13 });
    v.setUint32(sring.req_prod, 1, true);
    v.setUint32(sring.rsp_prod, 1, true);
    v.setUint32(sring.rsp_event, 2, true);
    t.check(2, 'notify', 4, 1, 6); // the backend's port 4 leads to another port of the frontend
    expect(events).toHaveLength(0);
    t.check(2, 'notify', 4, 1, 5);
    expect(events.map((e) => e.kind === 'ring' && [e.reqProdAfter, e.rspProdAfter, e.rspCons, e.seen])).toEqual([[1, 1, 2, 'notify']]);
    v.setUint32(sring.rsp_prod, 2, true);
    t.check(3, 'deschedule'); // not an end of this ring
    expect(events).toHaveLength(1);
    t.check(2, 'block');
    expect(events.map((e) => e.kind === 'ring' && [e.rspProdBefore, e.rspProdAfter, e.seen])[1]).toEqual([1, 2, 'block']);
    expect(t.sringIndices(2)).toEqual([{ ring: 'blkif', front: 1, back: 2, gref: 8, port: 5, req_prod: 1, req_event: 0, rsp_prod: 2, rsp_event: 2 }]);
    expect(t.sringIndices(3)).toEqual([]);
  });

  it('wraps netif-tx indices around the 256-entry ring', () => {
    const { t, events, page } = setup();
    const v = page(11);
    v.setUint32(sring.req_prod, 0xfffffffe, true);
    t.add({ kind: 'netif-tx', frontDom: 2, backDom: 0, port: 3, gref: 9, mfn: 11 });
    for (const idx of [0xfffffffe, 0xffffffff, 0]) {
      const o = sring.ring + (idx & 255) * 12;
      v.setUint16(o + netif_tx_request.id, idx & 0xffff, true);
      v.setUint16(o + netif_tx_request.size_, 60, true);
    }
    v.setUint32(sring.req_prod, 1, true);
    t.check(2, 'deschedule');
    const e = events[0]!;
    if (e.kind !== 'ring') throw new Error('not a ring event');
    expect(e.slots.map((s) => [s.idx, s.id, s.size])).toEqual([[0xfffffffe, 0xfffe, 60], [0xffffffff, 0xffff, 60], [0, 0, 60]]);
  });

  it('reports console output bytes', () => {
    const { t, events, page } = setup();
    const v = page(12);
    t.add({ kind: 'console', frontDom: 1, backDom: 0, port: 2, gref: 0, mfn: 12 });
    const text = 'hello\n';
    for (let k = 0; k < text.length; k++) v.setUint8(CONS.out + k, text.charCodeAt(k));
    v.setUint32(CONS.out_prod, text.length, true);
    t.check(1, 'notify', 2);
    const e = events[0]!;
    if (e.kind !== 'ring') throw new Error('not a ring event');
    expect(e.slots).toEqual([{ dir: 'req', bytes: 6, text: 'hello\n' }]);
  });

  it('learns a vbd ring between guests from the frontend handshake in xenstore', () => {
    const { t } = setup({ 77: 20 }, { '/local/domain/3/device/vbd/51712/backend-id': '2' });
    t.learn(3, '/local/domain/3/device/vbd/51712/ring-ref', '77');
    expect(t.rings).toHaveLength(0);
    t.learn(3, '/local/domain/3/device/vbd/51712/event-channel', '9');
    expect(t.rings.map((r) => [r.kind, r.frontDom, r.backDom, r.gref, r.port, r.mfn])).toEqual([['blkif', 3, 2, 77, 9, 20]]);
    t.learn(4, '/local/domain/3/device/vif/0/tx-ring-ref', '1'); // another domain's path: ignored
    expect(t.rings).toHaveLength(1);
    t.remove(3, 9);
    expect(t.rings).toHaveLength(0);
  });

  it('leaves a ring served by dom0 to its backend (which registers it when it connects), unless dom0 is a guest', () => {
    const { t } = setup({ 77: 20 }, { '/local/domain/3/device/vbd/51712/backend-id': '0' });
    t.learn(3, '/local/domain/3/device/vbd/51712/ring-ref', '77');
    t.learn(3, '/local/domain/3/device/vbd/51712/event-channel', '9');
    expect(t.rings).toHaveLength(0);
    t.guestDom0 = true;
    t.learn(3, '/local/domain/3/device/vbd/51712/ring-ref', '77');
    t.learn(3, '/local/domain/3/device/vbd/51712/event-channel', '9');
    expect(t.rings.map((r) => [r.kind, r.backDom, r.port])).toEqual([['blkif', 0, 9]]);
  });

  it('learns a netfront\'s two rings with split event channels, each on its own port', () => {
    const { t } = setup({ 5: 30, 6: 31 }, { '/local/domain/3/device/vif/0/backend-id': '2' });
    const dir = '/local/domain/3/device/vif/0';
    for (const [k, v] of [['tx-ring-ref', '5'], ['rx-ring-ref', '6'], ['event-channel-tx', '11']] as const) t.learn(3, `${dir}/${k}`, v);
    expect(t.rings).toHaveLength(0);
    t.learn(3, `${dir}/event-channel-rx`, '12');
    expect(t.rings.map((r) => [r.kind, r.gref, r.port, r.mfn])).toEqual([['netif-tx', 5, 11, 30], ['netif-rx', 6, 12, 31]]);
  });

  it('decodes indirect and discard requests, across the pages of a multi-page ring', () => {
    const { t, events, mem } = setup();
    // Four pages (ring-page-order 2): 128 entries; entry 72 (bytes 8128..8239) straddles the second page boundary.
    mem.frame(10)!.setUint32(sring.req_prod, 70, true);
    t.add({ kind: 'blkif', frontDom: 1, backDom: 0, port: 5, gref: 8, mfn: 10, mfns: [10, 11, 12, 13], entries: 128 });
    const put = (off: number, bytes: number[]): void => bytes.forEach((b, i) => mem.frame(10 + Math.floor((off + i) / 4096))!.setUint8((off + i) % 4096, b));
    const le = (v: bigint, n: number): number[] => Array.from({ length: n }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
    const at = (idx: number): number => sring.ring + idx * 112;
    for (let k = 70; k < 72; k++) put(at(k), [2]); // WRITE_BARRIER, no segments
    // 72: an indirect WRITE of 300 segments in 1 page, gref 0x99.
    put(at(72), [6, 1, ...le(300n, 2), 0, 0, 0, 0, ...le(0x1234n, 8), ...le(0x10n, 8), ...le(51712n, 2), 0, 0, ...le(0x99n, 4)]);
    put(at(73), [5, 1, ...le(51712n, 2), 0, 0, 0, 0, ...le(7n, 8), ...le(64n, 8), ...le(8n, 8)]);
    mem.frame(10)!.setUint32(sring.req_prod, 74, true);
    t.check(1, 'notify', 5);
    const e = events[0]!;
    if (e.kind !== 'ring') throw new Error('not a ring event');
    expect(e.slots[0]).toMatchObject({ idx: 70, operation: 2, nr_segments: 0 });
    expect(e.slots[2]).toEqual({ dir: 'req', idx: 72, operation: 6, indirect_op: 1, nr_segments: 300, id: 0x1234n, sector_number: 0x10n, handle: 51712, indirect_grefs: [0x99] });
    expect(e.slots[3]).toEqual({ dir: 'req', idx: 73, operation: 5, flag: 1, handle: 51712, id: 7n, sector_number: 64n, nr_sectors: 8n });
  });
});
