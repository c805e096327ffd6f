/**
 * Recorded events around a replay cursor: one event by seq, and searches
 * forward and backward for the next event matching a predicate, reading
 * chunk by chunk through the footer index (a few decoded chunks are kept,
 * since a debugger searches and looks around the same place repeatedly).
 */
import type { TraceEvent } from '../trace/columns.js';
import type { TraceReader } from '../trace/reader.js';

export type EventPredicate = (e: TraceEvent) => boolean;

export class TraceEvents {
  private readonly cache = new Map<number, TraceEvent[]>();

  constructor(private readonly reader: TraceReader, private readonly keep = 4) {}

  /** Events of chunk `i`, decoded at most once while it stays among the last `keep` used. */
  chunk(i: number): TraceEvent[] {
    let evs = this.cache.get(i);
    if (evs !== undefined) {
      this.cache.delete(i);
    } else {
      evs = this.reader.chunk(i);
      if (this.cache.size >= this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    this.cache.set(i, evs);
    return evs;
  }

  /** Index of the first chunk holding events at or after `seq` (chunks.length: none); chunks hold consecutive seqs. */
  private chunkFrom(seq: number): number {
    const cs = this.reader.index.chunks;
    const i = this.reader.chunkOf(seq);
    return i >= 0 ? i : seq < (cs[0]?.firstSeq ?? 0) ? 0 : cs.length;
  }

  at(seq: number): TraceEvent | null {
    const i = this.reader.chunkOf(seq);
    if (i < 0) return null;
    return this.chunk(i)[seq - this.reader.index.chunks[i]!.firstSeq] ?? null;
  }

  /** The first event with seq >= `from` that satisfies `pred`, or null. */
  next(pred: EventPredicate, from: number): TraceEvent | null {
    const cs = this.reader.index.chunks;
    for (let i = this.chunkFrom(from); i < cs.length; i++) {
      for (const e of this.chunk(i)) if (e.seq >= from && pred(e)) return e;
    }
    return null;
  }

  /** The last event with seq < `before` that satisfies `pred`, or null. */
  prev(pred: EventPredicate, before: number): TraceEvent | null {
    const cs = this.reader.index.chunks;
    for (let i = Math.min(this.chunkFrom(before), cs.length - 1); i >= 0; i--) {
      const evs = this.chunk(i);
      for (let k = evs.length - 1; k >= 0; k--) {
        const e = evs[k]!;
        if (e.seq < before && pred(e)) return e;
      }
    }
    return null;
  }
}
