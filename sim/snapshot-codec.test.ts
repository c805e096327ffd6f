import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, refill, SnapshotError, type Json } from './snapshot-codec.js';

const text = (v: unknown): string => JSON.stringify(encodeValue(v, 'v'));
const back = (v: unknown): unknown => decodeValue(JSON.parse(text(v)) as Json, 'v');

describe('snapshot codec', () => {
  it('round-trips every kind of simulation value with its type', () => {
    const v = {
      n: -5, s: 'x', b: true, z: null, big: 0xffffffffffffffffn, neg: -0x10n, u: undefined,
      bytes: new Uint8Array([1, 2, 255]), i32: Int32Array.from([0, -1, 0, 7]), f64: Float64Array.from([0, 1.5]),
      list: [1, undefined, null, [2n]], map: new Map<number, unknown>([[3, { a: 1n }], [1, 'one']]), set: new Set(['b', 'a']),
    };
    const r = back(v) as typeof v;
    expect(r).toEqual(v);
    expect(r.i32).toBeInstanceOf(Int32Array);
    expect([...r.map.keys()]).toEqual([3, 1]);
    expect([...r.set]).toEqual(['b', 'a']);
    expect('u' in r && r.u === undefined).toBe(true);
  });

  it('is canonical: key order does not matter, Map and Set order does', () => {
    expect(text({ b: 1, a: { d: 2, c: 3 } })).toBe(text({ a: { c: 3, d: 2 }, b: 1 }));
    expect(text(new Map([[1, 1], [2, 2]]))).not.toBe(text(new Map([[2, 2], [1, 1]])));
  });

  it('stores large mostly-zero tables sparsely and small byte strings as hex', () => {
    const t = new Uint8Array(10000);
    t[42] = 6;
    t.fill(3, 100, 4000);
    expect(text(t)).toBe('{"$typed":{"n":10000,"runs":[42,1,6,100,3900,3],"t":"Uint8Array"}}');
    expect(back(Int32Array.from([-1, -1, 0, 5]))).toEqual(Int32Array.from([-1, -1, 0, 5]));
    expect(text(new Uint8Array([0xde, 0xad]))).toBe('{"$bytes":"dead"}');
    expect(back(t)).toEqual(t);
  });

  it('refuses what it cannot restore, naming the path', () => {
    class Thing {}
    expect(() => encodeValue({ a: [new Thing()] }, 'dom')).toThrow(new SnapshotError('dom.a[0]: cannot snapshot a Thing'));
    expect(() => encodeValue({ f: () => 1 }, 'v')).toThrow(/v\.f: cannot snapshot a function/);
    expect(() => encodeValue({ x: NaN }, 'v')).toThrow(/NaN/);
    expect(() => encodeValue({ $a: 1 }, 'v')).toThrow(/reserved/);
    expect(() => decodeValue({ $bigint: 'zz' }, 'v')).toThrow(SnapshotError);
    expect(() => decodeValue({ $typed: { t: 'Window', n: 1, runs: [] } }, 'v')).toThrow(SnapshotError);
    expect(() => decodeValue({ $typed: { t: 'Int32Array', n: 4, runs: [2, 3, 1] } }, 'v')).toThrow(/malformed \$typed run 0/);
  });

  it('refills containers in place and checks typed-array shapes', () => {
    const arr = [1, 2, 3];
    const map = new Map([[1, 1]]);
    const tab = new Int32Array(4);
    const o: Record<string, unknown> = { arr, map, tab, x: 1 };
    refill(o, 'arr', [9], 'o.arr');
    refill(o, 'map', new Map([[2, 2]]), 'o.map');
    refill(o, 'tab', Int32Array.from([1, 2, 3, 4]), 'o.tab');
    refill(o, 'x', 5, 'o.x');
    expect(o.arr).toBe(arr);
    expect(arr).toEqual([9]);
    expect([...map]).toEqual([[2, 2]]);
    expect([...tab]).toEqual([1, 2, 3, 4]);
    expect(o.x).toBe(5);
    expect(() => refill(o, 'tab', new Int32Array(3), 'o.tab')).toThrow(/Int32Array of 4 elements/);
    expect(() => refill(o, 'arr', 3, 'o.arr')).toThrow(SnapshotError);
  });
});
