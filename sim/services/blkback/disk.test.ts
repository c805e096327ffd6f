/**
 * A disk's contents: the image under a copy-on-write overlay. The image is
 * never changed, reads see every earlier write, discards read back as zero,
 * write-through hands writes and flushes out, and the overlay survives a
 * snapshot and restore exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DiskStore } from './disk.js';

const image = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + (i >> 9)) & 0xff);
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
const read = (d: DiskStore, at: number, len: number): Uint8Array => {
  const b = new Uint8Array(len);
  d.read(at, len, b, 0);
  return b;
};

describe('DiskStore', () => {
  it('reads the image, writes into the overlay only, and reads the writes back', () => {
    const img = image(64 * 1024 + 300);
    const copy = img.slice();
    const d = new DiskStore({ bytes: img });
    expect(d.sectors).toBe(128);
    expect(same(read(d, 1000, 5000), img.subarray(1000, 6000))).toBe(true);
    const w = Uint8Array.from({ length: 6000 }, (_, i) => i & 0xff);
    d.write(4000, w, 0, 6000);
    expect(same(img, copy)).toBe(true);
    const want = img.slice(0, 16384);
    want.set(w, 4000);
    expect(same(read(d, 0, 16384), want)).toBe(true);
    expect(d.overlayBytes).toBe(3 * 4096);
  });

  it('discards to zeros, whole blocks and partial ones', () => {
    const d = new DiskStore({ bytes: image(32 * 1024) });
    d.discard(512, 3 * 4096);
    const got = read(d, 0, 5 * 4096);
    expect(got.subarray(512, 512 + 3 * 4096).every((b) => b === 0)).toBe(true);
    expect(same(got.subarray(0, 512), image(512))).toBe(true);
    d.write(4096 + 8, Uint8Array.of(7), 0, 1); // a write into a discarded whole block
    expect(read(d, 4096, 16)).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0));
  });

  it('hands writes, discards and flushes to a write-through medium', () => {
    const out: Array<[number, number]> = [];
    let flushes = 0;
    const d = new DiskStore({ bytes: image(8192), write: (at, data) => out.push([at, data.length]), flush: () => flushes++ });
    expect(d.writeThrough).toBe(true);
    d.write(100, new Uint8Array(10), 2, 5);
    d.discard(512, 512);
    d.flush();
    expect(out).toEqual([[100, 5], [512, 512]]);
    expect(flushes).toBe(1);
  });

  it('a restored overlay gives the same disk as the one snapshotted', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat(60 * 1024), fc.nat(6000), fc.boolean()), { maxLength: 12 }), (ops) => {
      const a = new DiskStore({ bytes: image(64 * 1024) });
      for (const [at, n, discard] of ops) {
        const len = Math.min(n, 64 * 1024 - at);
        if (discard) a.discard(at, len);
        else a.write(at, Uint8Array.from({ length: len }, (_, i) => (i + at) & 0xff), 0, len);
      }
      const b = new DiskStore({ bytes: image(64 * 1024) });
      b.restore(a.snapshot());
      expect(same(read(b, 0, 64 * 1024), read(a, 0, 64 * 1024))).toBe(true);
      expect([...b.snapshot().keys()]).toEqual([...a.snapshot().keys()]);
    }));
  });
});
