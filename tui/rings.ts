/**
 * The rings pane's data: every I/O ring known at a point, with its indices
 * and the last slots that crossed it, from the trace's ring events (each
 * carries the ring's identity, producer indices before/after, the consumer
 * indices and the decoded new slots) joined with the replayed machine's
 * list of rings when there is one (it also knows rings that have carried
 * nothing yet).
 *
 * For sring-based rings (blkif, netif) the consumer indices are private to
 * each end; the events carry the shared req_event / rsp_event instead, and
 * the pane says so.
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import type { MachineView } from '../replay/session.js';
import type { TimelineSource } from './source.js';

type RingEvent = Extract<SimEvent, { kind: 'ring' }>;

export type RingRow = {
  kind: string;
  frontDom: number;
  backDom: number;
  gref: number;
  port: number;
  reqProd: number;
  rspProd: number;
  /** req_cons / rsp_cons (console, xenstore) or req_event / rsp_event (sring rings); null without traffic */
  reqCons: number | null;
  rspCons: number | null;
  consName: 'cons' | 'event';
  /** the ring event these come from (null: known from the machine only) */
  seq: number | null;
  /** known from the machine only, and the walk back stopped at this event: its last traffic, if any, is older */
  before?: number;
  slots: Decoded[];
};

/**
 * Chunks walked back from the point at most. A busy trace has every ring's
 * last event close by; a domU that finished early next to a Linux dom0
 * still booting has its rings' last events far back (a dom0 boot is ~30
 * chunks). Each chunk's ring events are kept once decoded.
 */
const MAX_CHUNKS = 64;
const ringKey = (kind: string, dom: number, gref: number, port: number): string => `${kind}/${dom}/${gref}/${port}`;

/** Latest ring event per ring within each chunk, computed once per chunk. */
const perChunk = new WeakMap<TimelineSource, Map<number, RingEvent[]>>();

function chunkRings(src: TimelineSource, ci: number): RingEvent[] {
  let m = perChunk.get(src);
  if (m === undefined) perChunk.set(src, (m = new Map()));
  let out = m.get(ci);
  if (out === undefined) {
    out = src.chunk(ci).filter((e): e is RingEvent => e.kind === 'ring');
    m.set(ci, out);
  }
  return out;
}

/**
 * The rings at the point where events before `end` have happened, most
 * recently active first; rings the machine knows without traffic last.
 */
export function ringsBefore(src: TimelineSource, end: number, view: MachineView | null = null): RingRow[] {
  const latest = new Map<string, RingEvent>();
  let ci = src.reader.chunkOf(Math.min(end - 1, src.end - 1));
  const wanted = view?.rings.length ?? Infinity;
  let read = 0;
  for (; ci >= 0 && read < MAX_CHUNKS && latest.size < wanted; ci--, read++) {
    const evs = chunkRings(src, ci);
    for (let k = evs.length - 1; k >= 0; k--) {
      const e = evs[k]!;
      if (e.seq >= end) continue;
      const key = ringKey(e.ring, e.frontDom, e.gref, e.port);
      if (!latest.has(key)) latest.set(key, e);
    }
  }
  const rows: RingRow[] = [...latest.values()]
    .sort((a, b) => b.seq - a.seq)
    .map((e) => ({
      kind: e.ring, frontDom: e.frontDom, backDom: e.backDom, gref: e.gref, port: e.port, reqProd: e.reqProdAfter, rspProd: e.rspProdAfter,
      reqCons: e.reqCons, rspCons: e.rspCons, consName: e.ring === 'console' || e.ring === 'xenstore' ? 'cons' : 'event', seq: e.seq, slots: e.slots,
    }));
  // Rings the machine knows that carried nothing (or nothing recently enough to be found: then say so).
  const cut = ci >= 0 && read >= MAX_CHUNKS ? src.reader.index.chunks[ci + 1]!.firstSeq : null;
  for (const r of view?.rings ?? []) {
    if (latest.has(ringKey(r.kind, r.dom, r.gref, r.port))) continue;
    rows.push({ kind: r.kind, frontDom: r.dom, backDom: r.backDom, gref: r.gref, port: r.port, reqProd: r.reqProd, rspProd: r.rspProd, reqCons: null, rspCons: null, consName: 'cons', seq: null, slots: [], ...(cut !== null ? { before: cut } : {}) });
  }
  return rows;
}
