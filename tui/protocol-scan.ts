/**
 * The protocol checks behind the timeline's `!` marks: run over the whole
 * trace after the first frame, one chunk per macrotask so keys keep working
 * while a long trace is checked. The chunks are read straight from the
 * trace, not through the timeline's cache.
 */
import { ProtocolChecker } from '../replay/protocol/check.js';
import type { Violation } from '../replay/protocol/report.js';
import type { TraceReader } from '../trace/reader.js';

/** Check `reader` in the background; `done` gets the violations by seq. Returns a function that stops it. */
export function scanProtocol(reader: TraceReader, done: (bySeq: Map<number, Violation[]>) => void): () => void {
  const c = new ProtocolChecker();
  let i = 0;
  let stopped = false;
  const step = (): void => {
    if (stopped) return;
    if (i < reader.index.chunks.length) {
      try {
        for (const e of reader.chunk(i++)) c.see(e);
      } catch {
        return; // a damaged chunk: the timeline says so where it reads it
      }
      setTimeout(step, 0);
      return;
    }
    const bySeq = new Map<number, Violation[]>();
    for (const v of c.finish(reader.complete ? reader.index.stopReason : 'incomplete')) bySeq.set(v.seq, [...(bySeq.get(v.seq) ?? []), v]);
    done(bySeq);
  };
  setTimeout(step, 0);
  return () => void (stopped = true);
}
