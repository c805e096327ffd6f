/**
 * The trace container: every event kind round-trips exactly; chunks are
 * hash-chained and indexed; a trace cut short reads up to its last complete
 * chunk with a warning; truncations and byte flips give a clear TraceError
 * or a valid prefix, never another exception and never a hang.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonical, eventJson } from './columns.js';
import { TraceError, TraceReader } from './reader.js';
import { events, testHeader } from './test-events.js';
import { TraceWriter } from './writer.js';
import { initZstd } from './zstd.js';

const DIR = 'build/trace-test';
const FUZZ = Number(process.env.XENRR_TRACE_FUZZ ?? 10_000);

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});

function write(path: string, evs: ReturnType<typeof events>, chunkEvents = 64): Uint8Array {
  const w = new TraceWriter(path, testHeader(), chunkEvents);
  for (const e of evs) w.append(e);
  w.close('all-stopped', evs.at(-1)?.time ?? 0);
  return new Uint8Array(readFileSync(path));
}

describe('trace container', () => {
  it('round-trips 20,000 synthetic events of every kind exactly', () => {
    const evs = events(20_000, 1);
    write(`${DIR}/synthetic.xrr`, evs, 1000);
    const r = TraceReader.open(`${DIR}/synthetic.xrr`);
    expect(r.complete).toBe(true);
    expect(r.warnings).toEqual([]);
    const back = [...r.events()];
    expect(back.length).toBe(evs.length);
    back.forEach((e, i) => expect(eventJson(e)).toBe(eventJson(canonical(evs[i]!))));
    expect(new Set(evs.map((e) => e.kind)).size).toBe(14);
    // The optional fields (set only when they say something) come back where they were, and only there.
    const optional = (es: typeof evs): number[] => es.map((e) => (e.kind === 'evtchn_send' && e.masked ? 1 : 0) + (e.kind === 'sched' && e.rings ? 2 : 0) + (e.kind === 'ring' && e.seen ? 4 : 0) + (e.kind === 'ring' && e.entries ? 8 : 0));
    expect(optional(back)).toEqual(optional(evs));
    expect(new Set(optional(evs))).toEqual(new Set([0, 1, 2, 4, 8, 12]));
    // Call stacks come back as recorded (shared, value-equal and distinct ones alike).
    expect(evs.filter((e) => e.stack !== undefined).length).toBeGreaterThan(5000);
    back.forEach((e, i) => expect(e.stack).toEqual(evs[i]!.stack));
    expect(r.index.chunks.length).toBe(20);
    expect(r.index.eventCount).toBe(20_000);
    r.close();
  });

  it('seeks by sequence number through the index', () => {
    const evs = events(5000, 2);
    write(`${DIR}/seek.xrr`, evs, 100);
    const r = TraceReader.open(`${DIR}/seek.xrr`);
    expect(r.chunkOf(0)).toBe(0);
    expect(r.chunkOf(4999)).toBe(49);
    expect(r.chunkOf(5000)).toBe(-1);
    const mid = [...r.events(2345, 2350)];
    expect(mid.map((e) => e.seq)).toEqual([2345, 2346, 2347, 2348, 2349]);
    expect(eventJson(mid[0]!)).toBe(eventJson(canonical(evs[2345]!)));
    r.close();
  });

  it('chains chunk hashes: each chunk names the hash of the previous one', async () => {
    const { EventBatchMsg } = await import('./schema.js');
    const { unpackCompressed } = await import('./container.js');
    write(`${DIR}/chain.xrr`, events(1000, 3), 100);
    const r = TraceReader.open(`${DIR}/chain.xrr`);
    const bytes = readFileSync(`${DIR}/chain.xrr`);
    r.index.chunks.forEach((c, i) => {
      const len = bytes.readUInt32LE(c.offset + 1);
      const raw = unpackCompressed(new Uint8Array(bytes.subarray(c.offset + 9, c.offset + 9 + len)))!;
      const prev = (EventBatchMsg.decode(raw) as unknown as { prevHash: Uint8Array }).prevHash;
      expect(Buffer.from(prev).toString('hex')).toBe(i === 0 ? '' : Buffer.from(r.index.chunks[i - 1]!.hash).toString('hex'));
    });
    r.close();
  });

  it('a trace without its footer reads up to the last complete chunk, with a warning', () => {
    const evs = events(1000, 4);
    const full = write(`${DIR}/cut.xrr`, evs, 100);
    const r0 = TraceReader.open(`${DIR}/cut.xrr`);
    const cutAt = r0.index.chunks[7]!.offset + 20; // inside chunk 7
    r0.close();
    writeFileSync(`${DIR}/cut2.xrr`, full.subarray(0, cutAt));
    const r = TraceReader.open(`${DIR}/cut2.xrr`);
    expect(r.complete).toBe(false);
    expect(r.warnings[0]).toMatch(/no footer index: the recording did not finish; read 7 complete chunks \(700 events\)/);
    expect([...r.events()].map(eventJson)).toEqual(evs.slice(0, 700).map((e) => eventJson(canonical(e))));
    r.close();
  });

  it('rejects files that are not traces with one clear line', () => {
    writeFileSync(`${DIR}/junk.xrr`, 'hello');
    expect(() => TraceReader.open(`${DIR}/junk.xrr`)).toThrow(/not a xenrr trace \(bad magic\)/);
    expect(() => TraceReader.open(`${DIR}/nonexistent.xrr`)).toThrow(/no such file/);
    writeFileSync(`${DIR}/hdr.xrr`, 'XENRRTRC\x01\xff\xff');
    expect(() => TraceReader.open(`${DIR}/hdr.xrr`)).toThrow(/truncated or damaged header at offset 0x8/);
  });

  it(`${FUZZ} truncations and byte flips: a TraceError or a valid prefix, never anything else`, () => {
    const evs = events(240, 5);
    const good = write(`${DIR}/fuzz.xrr`, evs, 40);
    const expected = evs.map((e) => eventJson(canonical(e)));
    const mutation = fc.oneof(
      fc.record({ cut: fc.nat({ max: good.length }) }),
      fc.record({ flips: fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }) }),
    );
    let errors = 0;
    let prefixes = 0;
    for (const m of fc.sample(mutation, { seed: 11, numRuns: FUZZ })) {
      const bytes = 'cut' in m ? good.subarray(0, m.cut) : good.slice();
      if ('flips' in m) for (const [at, x] of m.flips) bytes[at]! ^= x;
      writeFileSync(`${DIR}/m.xrr`, bytes);
      let got: string[] = [];
      try {
        const r = TraceReader.open(`${DIR}/m.xrr`);
        try {
          for (const e of r.events()) got.push(eventJson(e));
        } finally {
          r.close();
        }
      } catch (e) {
        if (!(e instanceof TraceError)) throw new Error(`mutation ${JSON.stringify(m)} threw ${(e as Error).stack}`);
        expect((e as Error).message.split('\n')).toHaveLength(1);
        errors++;
        got = [];
        continue;
      }
      // Whatever was read is a prefix of the original stream.
      expect(got, JSON.stringify(m)).toEqual(expected.slice(0, got.length));
      prefixes++;
    }
    expect(errors).toBeGreaterThan(0);
    expect(prefixes).toBeGreaterThan(0);
  });
});
