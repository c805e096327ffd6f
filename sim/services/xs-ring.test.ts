import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XsRingServer, encodeXsMsg } from './xs-ring.js';
import { XenStore, XS, bytes, latin1, type XsMsg } from './xenstored.js';
import { xlTest } from './test-xl.js';

const REQ_CONS = 2048, REQ_PROD = 2052, RSP_CONS = 2056, RSP_PROD = 2060, FEATURES = 2064, ERROR = 2072;

/** The guest side of a xenstore page: free-running u32 indices, starting wherever asked. */
class Guest {
  readonly page = new DataView(new ArrayBuffer(4096));
  constructor(reqStart = 0, rspStart = 0) {
    this.page.setUint32(REQ_CONS, reqStart, true), this.page.setUint32(REQ_PROD, reqStart, true);
    this.page.setUint32(RSP_CONS, rspStart, true), this.page.setUint32(RSP_PROD, rspStart, true);
  }
  u32(off: number): number {
    return this.page.getUint32(off, true);
  }
  /** Write up to `max` bytes of `b` into free req space (data first, then req_prod); returns the count. */
  write(b: Uint8Array, max = Infinity): number {
    const prod = this.u32(REQ_PROD), free = 1024 - ((prod - this.u32(REQ_CONS)) >>> 0);
    const n = Math.min(b.length, free, max);
    for (let i = 0; i < n; i++) this.page.setUint8((prod + i) & 1023, b[i]!);
    this.page.setUint32(REQ_PROD, (prod + n) >>> 0, true);
    return n;
  }
  /** Read up to `max` response bytes (then rsp_cons). */
  read(max = Infinity): Uint8Array {
    const cons = this.u32(RSP_CONS), n = Math.min((this.u32(RSP_PROD) - cons) >>> 0, max);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.page.getUint8(1024 + ((cons + i) & 1023));
    this.page.setUint32(RSP_CONS, (cons + n) >>> 0, true);
    return out;
  }
}
const m = (type: number, payload: string | Uint8Array, reqId = 1, txId = 0): XsMsg =>
  ({ type, reqId, txId, payload: typeof payload === 'string' ? bytes(payload) : payload });
function parse(stream: Uint8Array): XsMsg[] {
  const out: XsMsg[] = [], v = new DataView(stream.buffer, stream.byteOffset);
  for (let o = 0; o + 16 <= stream.length;) {
    const len = v.getUint32(o + 12, true);
    out.push({ type: v.getUint32(o, true), reqId: v.getUint32(o + 4, true), txId: v.getUint32(o + 8, true), payload: stream.slice(o + 16, o + 16 + len) });
    o += 16 + len;
  }
  return out;
}
const text = (ms: XsMsg[]): string[] => ms.map((x) => `${x.type}:${x.reqId}:${latin1(x.payload).replace(/\0/g, '|')}`);
function setup(domid = 1, reqStart = 0, rspStart = 0) {
  const store = new XenStore();
  xlTest(store, 1, 'one');
  const g = new Guest(reqStart, rspStart);
  return { store, g, ring: new XsRingServer(store, domid, domid === 0, g.page) };
}

describe('XsRingServer', () => {
  it('answers a request and advertises the error feature', () => {
    const { g, ring } = setup();
    expect(g.u32(FEATURES) & 2).toBe(2);
    g.write(encodeXsMsg(m(XS.READ, 'domid\0', 9)));
    const r = ring.service();
    expect(r.error).toBeNull();
    expect([r.produced, r.consumed]).toEqual([true, true]);
    expect(r.records).toEqual([{ op: 'READ', txId: 0, path: '/local/domain/1/domid', value: '1', result: 'OK' }]);
    expect(g.u32(REQ_CONS)).toBe(g.u32(REQ_PROD));
    expect(text(parse(g.read()))).toEqual(['2:9:1']);
    const idle = ring.service();
    expect([idle.records.length, idle.produced, idle.consumed]).toEqual([0, false, false]);
  });

  it('handles messages split across the end of the ring and u32 index wrap', () => {
    const { g, ring } = setup(1, 0xffffffff - 9, 0xffffffff - 3);
    const a = encodeXsMsg(m(XS.WRITE, 'data/k\0value', 1)), b = encodeXsMsg(m(XS.READ, 'data/k\0', 2));
    expect(g.write(a) + g.write(b)).toBe(a.length + b.length);
    const r = ring.service();
    expect(r.records.map((x) => x.result)).toEqual(['OK', 'OK']);
    expect(g.u32(REQ_CONS)).toBe((0xffffffff - 9 + a.length + b.length) >>> 0);
    expect(text(parse(g.read()))).toEqual(['11:1:OK|', '2:2:value']);
    expect(g.u32(RSP_PROD)).toBeLessThan(100);
  });

  it('keeps a partial message until the rest arrives, consuming what it can', () => {
    const { g, ring } = setup();
    const a = encodeXsMsg(m(XS.READ, 'name\0', 3));
    g.write(a, 10);
    let r = ring.service();
    expect([r.records.length, r.consumed, r.produced]).toEqual([0, true, false]);
    expect(g.u32(REQ_CONS)).toBe(10);
    g.write(a.subarray(10), 10);
    expect(ring.service().records).toHaveLength(0);
    g.write(a.subarray(20));
    r = ring.service();
    expect(r.records).toHaveLength(1);
    expect(text(parse(g.read()))).toEqual(['2:3:one']);
  });

  it('streams a request larger than the ring', () => {
    const { g, ring, store } = setup(0);
    const big = encodeXsMsg(m(XS.WRITE, `/big\0${'z'.repeat(3000)}`, 4));
    let off = 0, kicks = 0;
    while (off < big.length) {
      off += g.write(big.subarray(off));
      const r = ring.service();
      kicks++;
      expect(r.error).toBeNull();
    }
    expect(kicks).toBeGreaterThan(2);
    expect(store.read('/big')).toHaveLength(3000);
    expect(text(parse(g.read()))).toEqual(['11:4:OK|']);
  });

  it('holds responses that do not fit until the guest frees space', () => {
    const { g, ring, store } = setup(0);
    store.write('/v', 'x'.repeat(700));
    for (let i = 0; i < 3; i++) g.write(encodeXsMsg(m(XS.READ, '/v\0', i)));
    const r = ring.service();
    expect(r.records).toHaveLength(3);
    expect(g.u32(RSP_PROD) - g.u32(RSP_CONS)).toBe(1024);
    let got = g.read();
    expect(ring.service().produced).toBe(true);
    got = new Uint8Array([...got, ...g.read()]);
    ring.service();
    got = new Uint8Array([...got, ...g.read()]);
    expect(parse(got).map((x) => [x.reqId, x.payload.length])).toEqual([[0, 700], [1, 700], [2, 700]]);
    expect(ring.service().produced).toBe(false);
  });

  it('stops reading an unprivileged domain\'s requests with 20 replies pending', () => {
    const { g, ring, store } = setup();
    store.write('/local/domain/1/data/v', 'y'.repeat(200));
    const one = encodeXsMsg(m(XS.READ, 'data/v\0'));
    const pending = (): number => (g.u32(REQ_PROD) - g.u32(REQ_CONS)) >>> 0;
    let sent = 0, handled = 0;
    while (1024 - pending() >= one.length) g.write(one), sent++, (handled += ring.service().records.length);
    const stalled = ring.service();
    expect([stalled.records.length, stalled.consumed]).toEqual([0, false]);
    expect(handled).toBe(24); // 4 replies fit the rsp ring, 20 wait
    expect(pending()).toBeGreaterThan(900);
    const stream: number[] = [];
    for (let k = 0; k < 50; k++) stream.push(...g.read()), (handled += ring.service().records.length);
    expect(handled).toBe(sent);
    expect(parse(Uint8Array.from(stream)).length).toBe(sent);
  });

  it('appends watch events after the reply, and delivers other domains\' events on the next service', () => {
    const { g, ring, store } = setup();
    g.write(encodeXsMsg(m(XS.WATCH, 'data\0tk\0', 5)));
    g.write(encodeXsMsg(m(XS.WRITE, 'data/a\0v', 6)));
    ring.service();
    expect(text(parse(g.read()))).toEqual(['4:5:OK|', '15:0:data|tk|', '11:6:OK|', '15:0:data/a|tk|']);
    store.write('/local/domain/1/data/b', 'w');
    expect(store.eventsPending()).toEqual([1]);
    const r = ring.service();
    expect([r.records.length, r.produced]).toEqual([0, true]);
    expect(text(parse(g.read()))).toEqual(['15:0:data/b|tk|']);
  });

  it('breaks the connection on inconsistent request indices, never throwing', () => {
    const { g, ring, store } = setup();
    g.write(encodeXsMsg(m(XS.WATCH, 'data\0tk\0')));
    ring.service();
    g.read();
    g.page.setUint32(REQ_PROD, g.u32(REQ_CONS) + 1025, true);
    const r = ring.service();
    expect(r.error).toMatch(/req_prod - req_cons = 1025/);
    expect(g.u32(ERROR)).toBe(2);
    store.write('/local/domain/1/data/x', 'v');
    expect(store.takeWatchEvents(1)).toEqual([]); // watches dropped
    g.page.setUint32(REQ_PROD, g.u32(REQ_CONS), true);
    g.write(encodeXsMsg(m(XS.READ, 'domid\0')));
    const again = ring.service();
    expect([again.records.length, again.produced, again.error]).toEqual([0, false, r.error]);
    expect(ring.error).toBe(r.error);
  });

  it('breaks the connection on an oversized payload length', () => {
    const { g, ring } = setup();
    const h = encodeXsMsg(m(XS.READ, ''));
    new DataView(h.buffer).setUint32(12, 4097, true);
    g.write(h);
    const r = ring.service();
    expect(r.error).toMatch(/4097/);
    expect(g.u32(ERROR)).toBe(3);
  });

  it('breaks the connection on inconsistent response indices', () => {
    const { g, ring } = setup();
    g.page.setUint32(RSP_CONS, 5000, true);
    g.write(encodeXsMsg(m(XS.READ, 'domid\0')));
    const r = ring.service();
    expect(r.records).toHaveLength(1);
    expect(r.error).toMatch(/rsp_prod - rsp_cons/);
    expect(g.u32(ERROR)).toBe(2);
  });
});

/** Requests a fuzzing guest might send: mostly meaningful, some garbage. */
const PATHS = ['data', 'data/a', 'data/a/b', 'data/c', '/local/domain/1/data/x', 'domid', 'bad//p', '@releaseDomain', '/', 'control/shutdown'];
const arbMsg: fc.Arbitrary<XsMsg> = fc.oneof(
  fc.record({
    type: fc.constantFrom(XS.READ, XS.DIRECTORY, XS.MKDIR, XS.RM, XS.GET_PERMS),
    path: fc.constantFrom(...PATHS), tx: fc.constantFrom(0, 0, 0, 1, 2, 77),
  }).map(({ type, path, tx }) => m(type, `${path}\0`, 0, tx)),
  fc.record({ path: fc.constantFrom(...PATHS), len: fc.oneof(fc.nat(20), fc.nat(4000)), tx: fc.constantFrom(0, 0, 1) })
    .map(({ path, len, tx }) => m(XS.WRITE, `${path}\0${'v'.repeat(len)}`, 0, tx)),
  fc.record({ type: fc.constantFrom(XS.WATCH, XS.UNWATCH), path: fc.constantFrom(...PATHS), tok: fc.constantFrom('t', 'u') })
    .map(({ type, path, tok }) => m(type, `${path}\0${tok}\0`)),
  fc.constantFrom(m(XS.TRANSACTION_START, '\0'), m(XS.TRANSACTION_END, 'T\0', 0, 1), m(XS.TRANSACTION_END, 'F\0', 0, 2)),
  fc.record({ type: fc.nat(30), payload: fc.uint8Array({ maxLength: 40 }) }).map(({ type, payload }) => m(type, payload)),
);

describe('XsRingServer property', () => {
  it('a guest writing requests in random chunks gets exactly what direct requests return', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(arbMsg, fc.nat(0xffffffff)), { minLength: 1, maxLength: 25 }),
        fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 1500 }), { minLength: 1, maxLength: 8 }),
        fc.nat(0xffffffff), fc.nat(0xffffffff), fc.boolean(),
        (reqs, wChunks, rChunks, reqStart, rspStart, dom0) => {
          const domid = dom0 ? 0 : 1;
          const direct = new XenStore(), viaRing = new XenStore();
          xlTest(direct, 1, 'one'), xlTest(viaRing, 1, 'one');
          const expected: number[] = [], expRecords = [];
          for (const [msg, reqId] of reqs) {
            const r = direct.request(domid, dom0, { ...msg, reqId });
            expRecords.push(r.record);
            for (const x of [...r.replies, ...direct.takeWatchEvents(domid)]) expected.push(...encodeXsMsg(x));
          }
          const input = reqs.flatMap(([msg, reqId]) => [...encodeXsMsg({ ...msg, reqId })]);
          const g = new Guest(reqStart, rspStart);
          const ring = new XsRingServer(viaRing, domid, dom0, g.page);
          const got: number[] = [], records = [];
          let off = 0;
          for (let k = 0; (off < input.length || got.length < expected.length) && k < 10_000; k++) {
            off += g.write(Uint8Array.from(input.slice(off, off + wChunks[k % wChunks.length]!)));
            const r = ring.service();
            expect(r.error).toBeNull();
            records.push(...r.records);
            got.push(...g.read(rChunks[k % rChunks.length]!));
          }
          expect(records).toEqual(expRecords);
          expect(got.length).toBe(expected.length);
          expect(text(parse(Uint8Array.from(got)))).toEqual(text(parse(Uint8Array.from(expected))));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 150, seed: 0x5eed },
    );
  });
});
