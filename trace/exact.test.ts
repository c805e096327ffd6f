/**
 * The trace holds any value a guest can produce: every 64-bit field with
 * any of its 2^64 values (RIPs, canonical or not, arguments, addresses,
 * stacks), 32-bit columns given wider values (a sub-op from a 64-bit
 * register), numbers that are not 53-bit integers (a timeout converted from
 * a u64): written, read back, equal. Values that fit their columns (all of
 * a corpus run's) add nothing to a batch.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Decoded, SimEvent, SimEventBody } from '../sim/events.js';
import { canonical } from './columns.js';
import { unpackCompressed } from './container.js';
import { TraceReader } from './reader.js';
import { EventBatchMsg } from './schema.js';
import { testHeader } from './test-events.js';
import { TraceWriter } from './writer.js';
import { initZstd } from './zstd.js';

const DIR = 'build/trace-test';
const RUNS = Number(process.env.XENRR_EXACT_FUZZ ?? 200);

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});

const u64 = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(0n, 1n, 0x7fffffffffffn, 0x800000000000n, 0xffff800000000000n, 0x8000000000000000n, (1n << 64n) - 1n));
/** RIPs: canonical, around the canonical boundary (a syscall from the last bytes below it leaves 0x800000000000), and anything else. */
const rip = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 47n) - 1n }),
  fc.bigInt({ min: 0xffff800000000000n, max: (1n << 64n) - 1n }),
  fc.bigInt({ min: 0x7ffffffffff0n, max: 0x800000000010n }),
  u64,
);
/** Any JS number: integers of every width, fractions, infinities, NaN (-0 is 0: numbers are kept as values). */
const num = fc.oneof(fc.integer({ min: -1, max: 0xffffffff }), fc.integer(), fc.maxSafeInteger(), fc.maxSafeNat(), fc.double(), fc.constantFrom(2 ** 53, 2 ** 63, 2 ** 64, -(2 ** 63), Number.MAX_VALUE)).map((x) => (x === 0 ? 0 : x));
const u32 = fc.oneof(fc.nat({ max: 0xffffffff }), num);
const latin1 = fc.string({ unit: fc.nat({ max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
const key = fc.constantFrom('port', 'a', 'b_c', 'timeout', 'x1');
const decoded: fc.Arbitrary<Decoded> = fc.dictionary(key, fc.oneof(num, u64, latin1, fc.boolean()), { maxKeys: 4 });

const body: fc.Arbitrary<SimEventBody> = fc.oneof(
  fc.record({ kind: fc.constant('hypercall' as const), op: u32, name: fc.constantFrom('sched_op', 'event_channel_op'), sub: fc.oneof(fc.constant(-1), u32), subName: fc.constantFrom('', 'EVTCHNOP_send'), args: fc.array(u64, { minLength: 5, maxLength: 5 }), decoded, result: num, caller: u64 }),
  fc.record({ kind: fc.constant('evtchn_send' as const), port: u32, toDom: num, toPort: num, virq: num }),
  fc.record({ kind: fc.constant('exception' as const), vector: u32, errorCode: u32, cr2: u64, bounced: fc.boolean(), handler: u64 }),
  fc.record({ kind: fc.constant('timer' as const), deadline: num }),
  fc.record({ kind: fc.constant('sched' as const), what: fc.constantFrom('block' as const, 'poll' as const), until: num }),
  fc.record({ kind: fc.constant('xenstore' as const), op: fc.constantFrom('READ', 'WRITE'), txId: u32, path: latin1, value: latin1, result: fc.constantFrom('OK', 'EINVAL') }),
  fc.record({ kind: fc.constant('ring' as const), ring: fc.constantFrom('blkif' as const, 'console' as const), frontDom: u32, backDom: u32, gref: u32, port: u32, reqProdBefore: u32, reqProdAfter: u32, rspProdBefore: u32, rspProdAfter: u32, reqCons: u32, rspCons: u32, slots: fc.array(fc.dictionary(fc.constantFrom('id', 'sector', 'status'), fc.oneof(num, u64), { minKeys: 1, maxKeys: 3 }), { maxLength: 2 }) }),
  fc.record({ kind: fc.constant('console' as const), text: latin1, source: fc.constant('ring' as const) }),
);

/** A stream with machine-made positions (seq, time, per-vCPU icount) and guest-made everything else. */
const stream = fc.array(fc.tuple(body, fc.nat({ max: 2 }), rip, fc.option(fc.array(u64, { minLength: 1, maxLength: 4 }), { nil: undefined }), fc.nat({ max: 1000 })), { minLength: 1, maxLength: 120 }).map((rows) => {
  const icount = [0, 0, 0];
  let time = 0;
  return rows.map(([b, dom, r, stack, dt], seq): SimEvent => {
    time += dt;
    icount[dom]! += dt;
    return { seq, time, dom: dom + 1, vcpu: 0, icount: icount[dom]!, rip: r, ...(stack === undefined ? {} : { stack }), ...b } as SimEvent;
  });
});

function roundTrip(evs: SimEvent[], chunkEvents: number): SimEvent[] {
  const path = `${DIR}/exact.xrr`;
  const w = new TraceWriter(path, testHeader(), chunkEvents);
  for (const e of evs) w.append(e);
  w.close('all-stopped', evs.at(-1)?.time ?? 0);
  const r = TraceReader.open(path);
  try {
    expect(r.integrity()).toEqual([]);
    return [...r.events()];
  } finally {
    r.close();
  }
}

describe('trace values', () => {
  it(`${RUNS} random streams with any 64-bit field and any number read back equal`, () => {
    fc.assert(
      fc.property(stream, fc.integer({ min: 1, max: 40 }), (evs, chunk) => {
        const back = roundTrip(evs, chunk);
        expect(back).toHaveLength(evs.length);
        // toEqual compares numbers with Object.is (NaN equals NaN) and bigints exactly.
        back.forEach((e, i) => expect(e, `event ${i}`).toEqual(evs[i]));
        // The replay comparison form (canonical) is lossless too.
        evs.forEach((e) => expect(canonical(e)).toEqual(e));
      }),
      { numRuns: RUNS, seed: 7 },
    );
  });

  it('a syscall from the last bytes below the canonical boundary (XTF test-pv64-xsa-7): RIP 0x800000000000 is written and read back', () => {
    const base = { time: 10, dom: 1, vcpu: 0, icount: 5 } as const;
    const evs: SimEvent[] = [
      { ...base, seq: 0, rip: 0x7ffffffffffen, kind: 'console', text: 'x', source: 'ring' },
      { ...base, seq: 1, icount: 6, rip: 0x800000000000n, kind: 'hypercall', op: 29, name: 'sched_op', sub: 2, subName: 'SCHEDOP_shutdown', args: [2n, 0x7ffffffff000n, 0n, 0n, 0n], decoded: {}, result: 0, caller: 0x7ffffffffffen },
      { ...base, seq: 2, icount: 7, rip: 0xdead000000000000n, kind: 'exception', vector: 13, errorCode: 0, cr2: 0n, bounced: false, handler: 0n },
      { ...base, seq: 3, icount: 8, rip: 0x800000000002n, kind: 'console', text: 'y', source: 'ring' },
    ];
    expect(roundTrip(evs, 64).map((e) => e.rip)).toEqual([0x7ffffffffffen, 0x800000000000n, 0xdead000000000000n, 0x800000000002n]);
  });

  it('values that fit their columns add no exact fields (a corpus-like stream)', async () => {
    const { events } = await import('./test-events.js');
    const path = `${DIR}/exact-none.xrr`;
    const w = new TraceWriter(path, testHeader(), 500);
    for (const e of events(3000, 3)) w.append(e);
    w.close('all-stopped', 0);
    const bytes = readFileSync(path);
    const r = TraceReader.open(path);
    for (const c of r.index.chunks) {
      const raw = unpackCompressed(new Uint8Array(bytes.subarray(c.offset + 9, c.offset + 9 + c.compressedSize)))!;
      const m = EventBatchMsg.decode(raw) as unknown as { exactEvent: number[] };
      expect(m.exactEvent).toEqual([]);
    }
    r.close();
  });
});
