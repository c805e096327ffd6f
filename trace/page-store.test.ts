/**
 * The page store on its own (page-store.ts, cdc.ts): what a page costs
 * (new, unchanged, zero, a duplicate, a copy of a base page, a base page
 * patched a little), state pieces shared between similar states, and the
 * blocks decoding back to the entries stored.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { chunkBytes } from './cdc.js';
import { BLOCK_BYTES, decodePageBlock, frameRuns, PAGE, PageStore, unrunFrames, type PageBlockData } from './page-store.js';

const page = (seed: number, fill?: number): Uint8Array => {
  const p = new Uint8Array(PAGE);
  let x = seed * 2 + 1;
  for (let i = 0; i < PAGE; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    p[i] = fill ?? x & 0xff;
  }
  return p;
};

/** Everything the store has written, decoded, by id. */
function drain(s: PageStore, into: Map<number, { data: Uint8Array; base: number; crc: number }>): void {
  for (let b = s.block(true); b !== null; b = s.block(true)) {
    const d = decodePageBlock(b.raw) as PageBlockData;
    expect(typeof d).toBe('object');
    for (let k = 0; k < d.count; k++) into.set(d.firstId + k, { data: d.data.subarray(d.at[k]!, d.at[k + 1]!), base: d.base[k]!, crc: d.crc[k]! });
  }
}

describe('frame runs', () => {
  it('encode ascending frames as (gap, count) and back', () => {
    const mfns = [0, 1, 2, 7, 9, 10, 11, 4000];
    expect(frameRuns(mfns)).toEqual([0, 3, 4, 1, 1, 3, 3988, 1]);
    expect(unrunFrames(frameRuns(mfns))).toEqual(mfns);
    expect(unrunFrames([])).toEqual([]);
    expect(unrunFrames([1, 0])).toBeNull();
    expect(unrunFrames([1])).toBeNull();
  });
});

describe('the page store', () => {
  it('a page costs its bytes once per trace; unchanged, zero and duplicate pages cost an id', () => {
    const s = new PageStore();
    const stored = new Map<number, { data: Uint8Array; base: number; crc: number }>();
    const a = page(1);
    const b = page(2);
    expect(s.ref({ mfn: 5, data: a })).toBe(1);
    expect(s.ref({ mfn: 6, data: new Uint8Array(PAGE) })).toBe(0);
    expect(s.ref({ mfn: 7, data: b })).toBe(2);
    expect(s.ref({ mfn: 8, data: a.slice() })).toBe(1); // the same bytes elsewhere
    // The next checkpoint: 5 unchanged (null), 7 changed, 8 zeroed.
    expect(s.ref({ mfn: 5, data: null })).toBe(1);
    const b2 = b.slice();
    b2[100]! ^= 1;
    expect(s.ref({ mfn: 7, data: b2 })).toBe(3);
    expect(s.ref({ mfn: 8, data: new Uint8Array(PAGE) })).toBe(0);
    expect(s.ref({ mfn: 8, data: null })).toBe(0);
    expect(s.count).toBe(3);
    drain(s, stored);
    expect([...stored.keys()]).toEqual([1, 2, 3]);
    for (const [id, want] of [[1, a], [2, b], [3, b2]] as const) {
      expect(Buffer.from(stored.get(id)!.data).equals(Buffer.from(want))).toBe(true);
      expect(stored.get(id)!.base).toBe(-1);
      expect(stored.get(id)!.crc).toBe(crc32(want));
    }
    expect(() => s.ref({ mfn: 99, data: null })).toThrow(/no earlier checkpoint or base has it/);
  });

  it('against a base: a base page costs a zero XOR, a patched one its differences, an unrelated one its bytes', () => {
    const k = page(3);
    const text = page(4);
    // Frame 12 holds the same bytes as 11: a copy is stored against the first.
    const s = new PageStore([{ mfn: 10, data: k }, { mfn: 11, data: text }, { mfn: 12, data: text.slice() }]);
    const stored = new Map<number, { data: Uint8Array; base: number; crc: number }>();
    // Unchanged since the base: stored on first use, as an all-zero XOR.
    expect(s.ref({ mfn: 10, data: null })).toBe(1);
    // The base's bytes moved to another frame.
    expect(s.ref({ mfn: 20, data: text.slice() })).toBe(2);
    // Patched in place: XOR against its own base frame.
    const patched = k.slice();
    patched.set([0x0f, 0x1f, 0x44, 0, 0], 1000);
    expect(s.ref({ mfn: 10, data: patched })).toBe(3);
    // Nothing like its base frame: its bytes.
    const other = page(5, 0x11);
    expect(s.ref({ mfn: 11, data: other })).toBe(4);
    drain(s, stored);
    expect(stored.get(1)!.base).toBe(10);
    expect(stored.get(1)!.data.every((x) => x === 0)).toBe(true);
    expect(stored.get(2)!.base).toBe(11);
    expect(stored.get(2)!.data.every((x) => x === 0)).toBe(true);
    expect(stored.get(3)!.base).toBe(10);
    expect(stored.get(3)!.data.filter((x) => x !== 0).length).toBeLessThanOrEqual(5);
    expect(stored.get(3)!.crc).toBe(crc32(patched));
    expect(stored.get(4)!.base).toBe(-1);
    expect(Buffer.from(stored.get(4)!.data).equals(Buffer.from(other))).toBe(true);
    // A page already stored as an XOR (copied from a trace) is kept as it is, and deduplicated as such.
    const x = stored.get(3)!;
    expect(s.ref({ mfn: 30, data: x.data, base: 10, crc: x.crc })).toBe(5);
    expect(s.ref({ mfn: 31, data: x.data, base: 10, crc: x.crc })).toBe(5);
  });

  it('pages given as views of live memory (unaligned too) are stored as they were when given', () => {
    const base = page(6);
    const s = new PageStore([{ mfn: 3, data: base }]);
    // One buffer as memory: frame 3 at an unaligned offset, a new page after it.
    const mem = new Uint8Array(1 + 2 * PAGE);
    const f3 = mem.subarray(1, 1 + PAGE);
    const f4 = mem.subarray(1 + PAGE);
    f3.set(base);
    f3[5]! ^= 0xff;
    f4.set(page(7));
    const want3 = f3.slice();
    const want4 = f4.slice();
    expect(s.ref({ mfn: 3, data: f3 })).toBe(1);
    expect(s.ref({ mfn: 4, data: f4 })).toBe(2);
    expect(s.blockReady).toBe(false);
    // The machine runs on: memory changes before the block is written.
    mem.fill(0x5a);
    const stored = new Map<number, { data: Uint8Array; base: number; crc: number }>();
    drain(s, stored);
    const x = stored.get(1)!;
    expect(x.base).toBe(3);
    expect(Buffer.from(x.data.map((b, i) => b ^ base[i]!)).equals(Buffer.from(want3))).toBe(true);
    expect(stored.get(2)!.base).toBe(-1);
    expect(Buffer.from(stored.get(2)!.data).equals(Buffer.from(want4))).toBe(true);
  });

  it('blocks hold about BLOCK_BYTES, numbered on from the last', () => {
    const s = new PageStore();
    const n = (2 * BLOCK_BYTES) / PAGE + 3;
    for (let i = 0; i < n; i++) {
      s.ref({ mfn: i, data: page(100 + i) });
      expect(s.blockReady).toBe(i + 1 >= BLOCK_BYTES / PAGE);
    }
    const first = s.block(false)!;
    const second = s.block(false)!;
    expect(s.block(false)).toBeNull();
    const third = s.block(true)!;
    expect([first.firstId, first.count, second.firstId, second.count, third.firstId, third.count]).toEqual([1, BLOCK_BYTES / PAGE, 1 + BLOCK_BYTES / PAGE, BLOCK_BYTES / PAGE, 1 + (2 * BLOCK_BYTES) / PAGE, 3]);
    expect(s.block(true)).toBeNull();
  });

  it('a block that does not add up is refused', () => {
    const s = new PageStore();
    s.ref({ mfn: 1, data: page(9) });
    const raw = s.block(true)!.raw;
    expect(typeof decodePageBlock(raw)).toBe('object');
    expect(decodePageBlock(raw.subarray(0, raw.length - 10))).toMatch(/does not decode|malformed/);
    expect(decodePageBlock(new Uint8Array([8, 0]))).toBe('malformed page block');
  });
});

describe('state pieces', () => {
  it('cut by content: a state that grew in the middle shares the pieces before and after', () => {
    const text = (mid: string): Uint8Array => new TextEncoder().encode(JSON.stringify({ a: Array.from({ length: 3000 }, (_, i) => i * 7), mid, z: Array.from({ length: 3000 }, (_, i) => `k${i * 13}`) }));
    const one = text('x');
    const two = text('a much longer value in the middle of the state');
    const a = chunkBytes(one);
    const b = chunkBytes(two);
    expect(Buffer.concat(a).equals(Buffer.from(one))).toBe(true);
    expect(Buffer.concat(b).equals(Buffer.from(two))).toBe(true);
    expect(a.every((p) => p.length <= 8192)).toBe(true);
    expect(a.length).toBeGreaterThan(one.length / 8192);
    const seen = new Set(a.map((p) => Buffer.from(p).toString('base64')));
    const shared = b.filter((p) => seen.has(Buffer.from(p).toString('base64'))).length;
    // The changed piece, and the next one or two when a forced cut (at the longest piece) was near.
    expect(shared).toBeGreaterThanOrEqual(b.length - 3);
    // In the store: the second state costs only its new pieces.
    const s = new PageStore();
    const ids1 = s.refState(one);
    const before = s.count;
    const ids2 = s.refState(two);
    expect(s.count - before).toBeLessThanOrEqual(3);
    expect(ids2.filter((id) => ids1.includes(id)).length).toBe(shared);
    expect(chunkBytes(new Uint8Array(0))).toEqual([]);
  });
});
