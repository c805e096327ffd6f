/**
 * Verification: re-execute the whole run and compare it with the trace.
 *
 * The live events are re-encoded into batches with the trace's own chunk
 * boundaries and compared by chunk hash (recording is deterministic, so
 * equal runs give equal bytes); only a chunk whose hash differs is decoded
 * and compared event by event to name the first mismatch.
 */
import { createHash } from 'node:crypto';
import type { SimEvent } from '../sim/events.js';
import type { Machine } from '../sim/machine.js';
import { BatchBuilder, canonical, eventJson, type TraceEvent } from '../trace/columns.js';
import type { TraceReader } from '../trace/reader.js';
import { EventBatchMsg } from '../trace/schema.js';

export type Divergence = {
  seq: number;
  /** what the trace recorded, and what re-execution produced (null: one run ended first) */
  expected: TraceEvent | null;
  actual: TraceEvent | null;
  /** field-by-field differences */
  fields: Array<{ field: string; expected: string; actual: string }>;
  /** the last common events before the divergence */
  context: TraceEvent[];
};

/** `complete`: the trace's recording finished; if not, only its recorded events were replayed (the run stops there). */
export type VerifyResult = { events: number; divergence: Divergence | null; warnings: string[]; complete: boolean };

const CONTEXT = 10;

/** Differences between two events, by top-level field (nested ones compared as JSON). */
export function fieldDiff(a: TraceEvent | null, b: TraceEvent | null): Divergence['fields'] {
  if (a === null || b === null) return [];
  const ja = JSON.parse(eventJson(a)) as Record<string, unknown>;
  const jb = JSON.parse(eventJson(b)) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ja), ...Object.keys(jb)])].sort();
  return keys.filter((k) => JSON.stringify(ja[k]) !== JSON.stringify(jb[k])).map((k) => ({ field: k, expected: JSON.stringify(ja[k]) ?? '-', actual: JSON.stringify(jb[k]) ?? '-' }));
}

/**
 * Run `fresh(sink)` from the start and compare its events with `reader`'s:
 * first by chunk hash alone, keeping no events; at the first difference of
 * any kind, again from the start, keeping each chunk's events to compare
 * them one by one (a failing replay costs up to twice a passing one).
 */
export function verifyRun(reader: TraceReader, fresh: (sink: (e: SimEvent) => void) => Machine, maxInsns: number, progress?: (events: number) => void): VerifyResult {
  return verifyByHash(reader, fresh, maxInsns, progress) ?? verifySlow(reader, fresh, maxInsns, progress);
}

/** The result when every chunk hash matches and both runs end together, else null. */
function verifyByHash(reader: TraceReader, fresh: (sink: (e: SimEvent) => void) => Machine, maxInsns: number, progress?: (events: number) => void): VerifyResult | null {
  const chunks = reader.index.chunks;
  let ci = 0;
  let batch: BatchBuilder | null = null;
  let prevHash = new Uint8Array(0);
  let lastTime = 0;
  let matched = 0;
  let ok = true;
  let machine: Machine | null = null;
  const compareChunk = (): void => {
    const b = batch!;
    const raw = EventBatchMsg.encode(b.message(prevHash)).finish();
    const hash = createHash('sha256').update(raw).digest().subarray(0, 16);
    if (!Buffer.from(hash).equals(Buffer.from(chunks[ci]!.hash))) {
      ok = false;
      machine?.halt();
      return;
    }
    prevHash = hash;
    matched += b.count;
    ci++;
    batch = null;
    progress?.(matched);
  };
  machine = fresh((e) => {
    if (!ok) return;
    if (ci >= chunks.length) {
      if (reader.complete) {
        ok = false;
        machine?.halt();
      }
      return;
    }
    batch ??= new BatchBuilder(e.seq, lastTime);
    batch.add(e);
    lastTime = e.time;
    if (batch.count === chunks[ci]!.count) compareChunk();
  });
  machine.run(maxInsns);
  if (ok && batch !== null) compareChunk();
  if (!ok || ci < chunks.length) return null;
  return { events: matched, divergence: null, warnings: [], complete: reader.complete };
}

function verifySlow(reader: TraceReader, fresh: (sink: (e: SimEvent) => void) => Machine, maxInsns: number, progress?: (events: number) => void): VerifyResult {
  const chunks = reader.index.chunks;
  let ci = 0;
  let batch: BatchBuilder | null = null;
  // Live events of the current chunk, kept only to report a mismatch.
  let live: SimEvent[] = [];
  let prevHash = new Uint8Array(0);
  let lastTime = 0;
  let matched = 0;
  let context: TraceEvent[] = [];
  let divergence: Divergence | null = null;
  let machine: Machine | null = null;
  const diverge = (d: Divergence): void => {
    divergence = d;
    machine?.halt();
  };
  const compareChunk = (): void => {
    const b = batch!;
    const raw = EventBatchMsg.encode(b.message(prevHash)).finish();
    const hash = createHash('sha256').update(raw).digest().subarray(0, 16);
    const want = chunks[ci]!;
    if (Buffer.from(hash).equals(Buffer.from(want.hash))) {
      prevHash = hash;
      matched += b.count;
      context = live.slice(-CONTEXT).map(canonical);
      ci++;
      batch = null;
      live = [];
      progress?.(matched);
      return;
    }
    // This chunk differs: find the first differing event.
    const recorded = reader.chunk(ci);
    for (let k = 0; k < Math.max(recorded.length, live.length); k++) {
      const exp = recorded[k] ?? null;
      const act = live[k] === undefined ? null : canonical(live[k]!);
      if (exp !== null && act !== null && eventJson(exp) === eventJson(act)) {
        context = [...context, act].slice(-CONTEXT);
        matched++;
        continue;
      }
      diverge({ seq: want.firstSeq + k, expected: exp, actual: act, fields: fieldDiff(exp, act), context });
      return;
    }
    // Same events, different bytes (e.g. the previous-hash link): treat as a match.
    prevHash = hash;
    ci++;
    batch = null;
    live = [];
  };
  machine = fresh((e) => {
    if (divergence !== null) return;
    if (ci >= chunks.length) {
      if (reader.complete) diverge({ seq: e.seq, expected: null, actual: canonical(e), fields: [], context });
      return;
    }
    batch ??= new BatchBuilder(e.seq, lastTime);
    batch.add(e);
    live.push(e);
    lastTime = e.time;
    if (batch.count === chunks[ci]!.count) compareChunk();
  });
  machine.run(maxInsns);
  if (divergence === null && batch !== null) compareChunk();
  if (divergence === null && ci < chunks.length) {
    const rest = reader.chunk(ci);
    const k = batch === null ? 0 : (batch as BatchBuilder).count;
    diverge({ seq: chunks[ci]!.firstSeq + k, expected: rest[k] ?? null, actual: null, fields: [], context });
  }
  return { events: matched, divergence, warnings: [], complete: reader.complete };
}
