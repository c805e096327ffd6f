/**
 * Myers' diff against a brute-force LCS: the script is valid (replays `a`
 * into `b`, EQ runs really equal) and, without the cost limit, minimal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEL, EQ, INS, myers, type Edit } from './myers.js';

function lcs(a: number[], b: number[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) for (let j = b.length - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
  return t[0]![0]!;
}

/** Applies the script; returns the number of EQ elements, or throws when it is not valid. */
function check(a: number[], b: number[], script: Edit[]): number {
  let x = 0;
  let y = 0;
  let eq = 0;
  for (const { op, n } of script) {
    expect(n).toBeGreaterThan(0);
    if (op === EQ) {
      for (let k = 0; k < n; k++) expect(a[x + k]).toBe(b[y + k]);
      x += n;
      y += n;
      eq += n;
    } else if (op === DEL) x += n;
    else y += n;
  }
  expect([x, y]).toEqual([a.length, b.length]);
  for (let i = 1; i < script.length; i++) expect(script[i]!.op).not.toBe(script[i - 1]!.op);
  return eq;
}

const seq = (alphabet: number, max: number) => fc.array(fc.nat({ max: alphabet - 1 }), { maxLength: max });

describe('myers', () => {
  it('small cases by hand', () => {
    expect(myers([], [])).toEqual([]);
    expect(myers([1, 2, 3], [1, 2, 3])).toEqual([{ op: EQ, n: 3 }]);
    expect(myers([1, 2, 3], [])).toEqual([{ op: DEL, n: 3 }]);
    expect(myers([], [4])).toEqual([{ op: INS, n: 1 }]);
    expect(myers([1, 2, 3, 4], [1, 3, 4, 5])).toEqual([{ op: EQ, n: 1 }, { op: DEL, n: 1 }, { op: EQ, n: 2 }, { op: INS, n: 1 }]);
  });

  it('is valid and minimal (random sequences, small and large alphabets)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.tuple(seq(3, 40), seq(3, 40)), fc.tuple(seq(20, 60), seq(20, 60))), ([a, b]) => {
        expect(check(a, b, myers(a, b))).toBe(lcs(a, b));
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('is valid and minimal for edits of a common base', () => {
    const edited = fc.tuple(seq(6, 80), fc.array(fc.tuple(fc.nat({ max: 79 }), fc.nat({ max: 5 }), fc.boolean()), { maxLength: 8 })).map(([base, edits]) => {
      const b = [...base];
      for (const [at, v, del] of edits) if (del) b.splice(at % (b.length + 1), 1);
      else b.splice(at % (b.length + 1), 0, v);
      return [base, b] as const;
    });
    fc.assert(fc.property(edited, ([a, b]) => void expect(check(a, [...b], myers(a, [...b]))).toBe(lcs(a, [...b]))), { numRuns: 2000, seed: 11 });
  });

  it('stays valid when the cost limit cuts the search short', () => {
    fc.assert(
      fc.property(seq(4, 120), seq(4, 120), fc.integer({ min: 1, max: 6 }), (a, b, limit) => {
        const eq = check(a, b, myers(a, b, limit));
        expect(eq).toBeLessThanOrEqual(lcs(a, b));
      }),
      { numRuns: 2000, seed: 3 },
    );
  });

  it('finds a single change in a long sequence', () => {
    const a = Array.from({ length: 20000 }, (_, i) => i % 97);
    const b = [...a];
    b[12345] = 1000;
    expect(myers(a, b)).toEqual([{ op: EQ, n: 12345 }, { op: DEL, n: 1 }, { op: INS, n: 1 }, { op: EQ, n: 20000 - 12346 }]);
  });
});
