/**
 * Aligned rows of two traces, from a diff report: outside the report's
 * regions the two runs match event for event (a region is a maximal run of
 * unmatched events between two matches), so rows there pair a#i with
 * b#(i + offset); inside a region, row k shows a.from+k and b.from+k, either
 * side blank once its range is used up. Rows are computed from segment
 * boundaries only: no event is read to build them.
 */
import type { DiffReport } from '../replay/diff.js';

export type Segment = { row: number; len: number; a: number; b: number; aLen: number; bLen: number; region: number };
export type AlignedRow = { a: number | null; b: number | null; region: number };

export class DiffRows {
  readonly segments: Segment[] = [];
  readonly count: number;
  /** first row of each listed region */
  readonly regionRows: number[] = [];

  constructor(report: DiffReport) {
    let row = 0;
    let a = 0;
    let b = 0;
    const eq = (len: number): void => {
      if (len <= 0) return;
      this.segments.push({ row, len, a, b, aLen: len, bLen: len, region: -1 });
      row += len;
      a += len;
      b += len;
    };
    report.regions.forEach((r, i) => {
      eq(Math.min(r.a.from - a, r.b.from - b));
      // A listed region starts where the previous matches end on both sides.
      a = r.a.from;
      b = r.b.from;
      const aLen = r.a.to - r.a.from;
      const bLen = r.b.to - r.b.from;
      const len = Math.max(aLen, bLen);
      this.regionRows.push(row);
      this.segments.push({ row, len, a, b, aLen, bLen, region: i });
      row += len;
      a += aLen;
      b += bLen;
    });
    const restA = report.a.events - a;
    const restB = report.b.events - b;
    eq(Math.min(restA, restB));
    if (restA !== restB) {
      // Only when the report lists fewer regions than it found: the rest is shown unaligned.
      const aLen = Math.max(0, report.a.events - a);
      const bLen = Math.max(0, report.b.events - b);
      this.segments.push({ row, len: Math.max(aLen, bLen), a, b, aLen, bLen, region: this.regionRows.length });
      this.regionRows.push(row);
      row += Math.max(aLen, bLen);
    }
    this.count = row;
  }

  at(row: number): AlignedRow | null {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (row < s.row) hi = mid - 1;
      else if (row >= s.row + s.len) lo = mid + 1;
      else {
        const k = row - s.row;
        return { a: k < s.aLen ? s.a + k : null, b: k < s.bLen ? s.b + k : null, region: s.region };
      }
    }
    return null;
  }

  /** The first row of the next (dir 1) or previous (dir -1) region from `row`, or null. */
  region(row: number, dir: 1 | -1): number | null {
    if (dir === 1) return this.regionRows.find((r) => r > row) ?? null;
    for (let i = this.regionRows.length - 1; i >= 0; i--) if (this.regionRows[i]! < row) return this.regionRows[i]!;
    return null;
  }
}
