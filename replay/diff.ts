/**
 * Semantic diff of two traces (possibly of different kernel builds):
 *
 * 1. Identical prefix by hash: chunk hashes cover the chunk's raw payload
 *    and the previous chunk's hash, so equal hashes at index i mean equal
 *    events up to the end of chunk i. Those chunks are not even decoded
 *    (equal raw events normalize equally, unless the two runs' kernel
 *    images give one address different symbol names: that case is taken
 *    as equal too).
 * 2. The rest is streamed from both traces, normalized (normalize.ts) and
 *    aligned with Myers' O(ND) diff (myers.ts) in windows of `window`
 *    events per side (align.ts). Memory is O(maxWindow) whatever the trace
 *    lengths.
 * 3. The report: the first divergence with the common events before it,
 *    every differing region (seq ranges on both sides, counts by kind), and
 *    totals by kind.
 *
 * A region is a maximal run of unmatched events between two matches;
 * "deleted" events are only in `a`, "inserted" only in `b`, and a deleted
 * and an inserted event of the same kind in the same region count as one
 * "changed" event instead.
 */
import type { TraceReader } from '../trace/reader.js';
import type { Parting } from './parting.js';
import { lineAround, type ConsoleLine } from './console-text.js';
import { summary } from './format.js';
import { align, Side, type Item } from './align.js';
import { changedFields, FieldFilter, Normalizer, type FieldChange, type Locator } from './normalize.js';
import { eventLocation, stackText, symbolize, type Symbols } from './symbols.js';

export type DiffOptions = {
  /** field names to leave out of the comparison (normalize.ts) */
  ignore?: string[];
  /** common events shown before the first divergence (default 5) */
  context?: number;
  /** events per side aligned at once (default 4096) */
  window?: number;
  /** how far the window may grow to get past a long difference (default 16 * window) */
  maxWindow?: number;
  /** symbols of `a` and `b` (default: none; then locations are not compared) */
  symbols?: [Symbols, Symbols];
  /** events of each side shown for the first divergence (default 3) */
  shown?: number;
  /** regions listed in the report (default 1000; all are counted) */
  maxRegions?: number;
  /** Myers cost limit per middle-snake search (default 256) */
  costLimit?: number;
};

/** One event as the report shows it: position, symbolized RIP (with offset), summary, comparison key. */
export type EventView = { seq: number; time: number; dom: number; vcpu: number; at: string; summary: string; key: string;
  /** the guest call stack of the hypercall it happened in, symbolized, innermost first (empty: none) */
  stack: string[] };
export type KindCounts = { deleted: number; inserted: number; changed: number };
/** Seq ranges [from, to): an empty range is the position where the other side's events are. */
export type Region = { a: { from: number; to: number }; b: { from: number; to: number } } & KindCounts & { byKind: Record<string, KindCounts> };

export type DiffReport = {
  equal: boolean;
  a: { path: string; events: number; complete: boolean };
  b: { path: string; events: number; complete: boolean };
  /** identical leading chunks, not decoded */
  skipped: { events: number; chunks: number };
  /** events decoded, normalized and aligned after the skipped prefix */
  compared: { a: number; b: number };
  /** events of `compared` that match (each counts once, for both sides) */
  matched: number;
  ignore: string[];
  notes: string[];
  firstDivergence: null | {
    a: EventView[];
    b: EventView[];
    /** common events just before it, as each run has them */
    context: Array<{ a: EventView; b: EventView }>;
    /** fields that differ between the first event of each side, when both are of one kind */
    changes: FieldChange[];
    /** the whole console line each side's first console event of the divergence is part of (console-text.ts lineAround) */
    consoleLine: { a: ConsoleLine | null; b: ConsoleLine | null };
  };
  /** where execution parts at the instruction level (replay/parting.ts), when the CLI could replay both runs */
  parting?: Parting | null;
  totals: KindCounts;
  byKind: Record<string, KindCounts>;
  regions: Region[];
  regionCount: number;
};

const zero = (): KindCounts => ({ deleted: 0, inserted: 0, changed: 0 });
const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length > 0 && x.length === y.length && x.every((v, i) => v === y[i]);

/** Locators for both runs: a domain's locations are compared only when both runs have its symbols. */
export function locators(syms: [Symbols, Symbols], notes: string[]): [Locator, Locator] {
  const [sa, sb] = syms;
  for (const d of new Set([...sa.keys(), ...sb.keys()])) {
    if (!sa.has(d) || !sb.has(d)) notes.push(`dom${d}: symbols only for ${sa.has(d) ? 'a' : 'b'}; its locations are not compared`);
  }
  const make = (s: Symbols): Locator => {
    const cache = new Map<number, Map<bigint, string>>();
    return (dom, addr) => {
      const sym = sa.has(dom) && sb.has(dom) ? s.get(dom) : undefined;
      if (sym === undefined) return null;
      let c = cache.get(dom);
      if (c === undefined || c.size > 65536) cache.set(dom, (c = new Map()));
      let name = c.get(addr);
      if (name === undefined) c.set(addr, (name = sym(addr)?.name ?? '?'));
      return name;
    };
  };
  return [make(sa), make(sb)];
}

/** Events read on each side of a console event to rebuild its line (a 16-byte piece per event, with a hypercall each). */
const LINE_WINDOW = 256;

/**
 * The console line the first console output of `shown` is part of, read
 * from the trace around it: a console event, or a PV console ring event
 * (the console event with its text follows it: xenconsoled's read).
 */
function consoleLineOf(r: TraceReader, shown: Item[]): ConsoleLine | null {
  const first = shown.find((x) => x.e.kind === 'console' || (x.e.kind === 'ring' && x.e.ring === 'console'))?.e;
  if (first === undefined) return null;
  const events = [...r.events(Math.max(0, first.seq - LINE_WINDOW), first.seq + LINE_WINDOW)];
  const dom = first.kind === 'ring' ? first.frontDom : first.dom;
  const c = first.kind === 'console' ? first : events.find((e) => e.seq > first.seq && e.kind === 'console' && e.source === 'ring' && e.dom === dom);
  if (c === undefined || c.kind !== 'console') return null;
  const text = lineAround(events, c.seq);
  return text === null ? null : { dom: c.dom, source: c.source, text };
}

export function diffTraces(ra: TraceReader, rb: TraceReader, opts: DiffOptions = {}): DiffReport {
  // The identical-prefix skip trusts the index's chunk hashes: both files must hold what their indexes say.
  ra.checkIntegrity();
  rb.checkIntegrity();
  const ctxN = opts.context ?? 5;
  const W = Math.max(16, opts.window ?? 4096);
  const shown = opts.shown ?? 3;
  const maxRegions = opts.maxRegions ?? 1000;
  const syms = opts.symbols ?? [new Map(), new Map()];
  const notes: string[] = [];
  for (const [r, name] of [[ra, 'a'], [rb, 'b']] as const) {
    if (!r.complete) notes.push(`${name}: ${r.path} is incomplete (no footer index); compared its complete chunks`);
  }
  const report: DiffReport = {
    equal: true,
    a: { path: ra.path, events: ra.index.eventCount, complete: ra.complete },
    b: { path: rb.path, events: rb.index.eventCount, complete: rb.complete },
    skipped: { events: 0, chunks: 0 }, compared: { a: 0, b: 0 }, matched: 0, ignore: [...(opts.ignore ?? [])], notes,
    firstDivergence: null, totals: zero(), byKind: {}, regions: [], regionCount: 0,
  };

  // 1. Identical chunks.
  const ca = ra.index.chunks;
  const cb = rb.index.chunks;
  let i = 0;
  while (i < ca.length && i < cb.length && sameBytes(ca[i]!.hash, cb[i]!.hash)) i++;
  const skip = i === 0 ? 0 : ca[i - 1]!.firstSeq + ca[i - 1]!.count;
  report.skipped = { events: skip, chunks: i };
  if (i === ca.length && i === cb.length) return report;

  // 2. Stream and align, re-reading `context` events of the skipped prefix for the report.
  const filter = new FieldFilter(new Set(opts.ignore ?? []));
  const [la, lb] = locators(syms, notes);
  const from = Math.max(0, skip - ctxN);
  const normA = new Normalizer(filter, la);
  const normB = new Normalizer(filter, lb);
  const A = new Side(ra.events(from)[Symbol.iterator](), normA, from);
  const B = new Side(rb.events(from)[Symbol.iterator](), normB, from);
  const view = (it: Item, s: Symbols): EventView => {
    const e = it.e;
    const at = e.dom < 0 || e.vcpu < 0 ? '' : symbolize(s, e.dom, eventLocation(e));
    const stack = e.dom < 0 || e.vcpu < 0 ? [] : stackText(s, e.dom, e.stack ?? []);
    return { seq: e.seq, time: e.time, dom: e.dom, vcpu: e.vcpu, at, summary: summary(e), key: it.n.key, stack };
  };

  // Common events before the first divergence (ring of the last ctxN pairs).
  const ring: Array<[Item, Item]> = [];
  let first: { a: Item[]; b: Item[]; context: Array<[Item, Item]> } | null = null;
  let region: (Region & { del: Record<string, number>; ins: Record<string, number> }) | null = null;

  const closeRegion = (): void => {
    if (region === null) return;
    const r = region;
    region = null;
    for (const k of new Set([...Object.keys(r.del), ...Object.keys(r.ins)])) {
      const d = r.del[k] ?? 0;
      const n = r.ins[k] ?? 0;
      const c = Math.min(d, n);
      const kc: KindCounts = { deleted: d - c, inserted: n - c, changed: c };
      r.byKind[k] = kc;
      const t = (report.byKind[k] ??= zero());
      for (const f of ['deleted', 'inserted', 'changed'] as const) {
        t[f] += kc[f];
        r[f] += kc[f];
        report.totals[f] += kc[f];
      }
    }
    report.regionCount++;
    if (report.regions.length < maxRegions) report.regions.push({ a: r.a, b: r.b, deleted: r.deleted, inserted: r.inserted, changed: r.changed, byKind: r.byKind });
  };
  const open = (): NonNullable<typeof region> => {
    if (region === null) {
      region = { a: { from: A.next(), to: A.next() }, b: { from: B.next(), to: B.next() }, ...zero(), byKind: {}, del: {}, ins: {} };
      first ??= { a: [], b: [], context: [...ring] };
    }
    return region;
  };
  const match = (n: number): void => {
    closeRegion();
    for (let k = 0; k < n; k++) {
      const pair: [Item, Item] = [A.take(), B.take()];
      if (pair[0].e.seq >= skip) report.matched++;
      if (first === null && ctxN > 0) {
        if (ring.length === ctxN) ring.shift();
        ring.push(pair);
      }
    }
  };
  const only = (side: Side, n: number, isA: boolean): void => {
    const r = open();
    for (let k = 0; k < n; k++) {
      const it = side.take();
      const counts = isA ? r.del : r.ins;
      counts[it.n.kind] = (counts[it.n.kind] ?? 0) + 1;
      (isA ? r.a : r.b).to = it.e.seq + 1;
      const shownList = isA ? first!.a : first!.b;
      if (report.regionCount === 0 && shownList.length < shown) shownList.push(it);
    }
  };

  align(A, B, { window: W, maxWindow: opts.maxWindow ?? 16 * W, costLimit: opts.costLimit ?? 256 }, {
    match,
    only: (side, n) => (side === 'a' ? only(A, n, true) : only(B, n, false)),
  });
  closeRegion();

  report.compared = { a: A.taken - (skip - from), b: B.taken - (skip - from) };
  report.equal = report.regionCount === 0;
  if (first !== null) {
    const f: { a: Item[]; b: Item[]; context: Array<[Item, Item]> } = first;
    const a0 = f.a[0];
    const b0 = f.b[0];
    report.firstDivergence = {
      a: f.a.map((x) => view(x, syms[0])), b: f.b.map((x) => view(x, syms[1])),
      context: f.context.map(([x, y]) => ({ a: view(x, syms[0]), b: view(y, syms[1]) })),
      changes: a0 !== undefined && b0 !== undefined && a0.n.kind === b0.n.kind ? changedFields(normA.fields(a0.e), normB.fields(b0.e)) : [],
      consoleLine: { a: consoleLineOf(ra, f.a), b: consoleLineOf(rb, f.b) },
    };
  }
  return report;
}
