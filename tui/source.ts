/**
 * The timeline's data source: a trace read chunk by chunk through its
 * footer index, never as a whole. Opening costs the index only; every
 * navigation decodes just the chunks it walks through, and a small LRU of
 * decoded chunks makes scrolling back and forth free.
 *
 * Positions are sequence numbers of the unfiltered trace. A filter (and a
 * search) is a predicate applied while walking, so a filtered view of a
 * 10-million-event trace needs no precomputed list: `next`/`prev` walk from
 * a position to the nearest matching event.
 */
import { consoleLinesOf, type ConsoleLine } from '../replay/console-text.js';
import type { SimEvent } from '../sim/events.js';
import type { TraceReader } from '../trace/reader.js';
import { KIND_ALIASES, summary } from '../replay/format.js';
import { eventLocation, stackText, symbolize, type Symbols } from '../replay/symbols.js';

export type Pred = (e: SimEvent) => boolean;
export const ANY: Pred = () => true;

/** Decoded chunks kept at once (each is at most CHUNK_EVENTS events). */
const CACHE_CHUNKS = 8;

export class TimelineSource {
  private readonly cache = new Map<number, SimEvent[]>();
  /** each decoded chunk's console events (consoleUpTo) */
  private readonly consoles = new Map<number, ConsoleEvent[]>();
  /** chunks decoded since opening (tests check that opening reads none) */
  decoded = 0;

  constructor(readonly reader: TraceReader, readonly symbols: Symbols = new Map()) {}

  get count(): number {
    return this.reader.index.eventCount;
  }

  /** First seq of the trace (0 unless the trace starts elsewhere). */
  get first(): number {
    return this.reader.index.chunks[0]?.firstSeq ?? 0;
  }

  /** One past the last seq. */
  get end(): number {
    const cs = this.reader.index.chunks;
    const c = cs[cs.length - 1];
    return c === undefined ? 0 : c.firstSeq + c.count;
  }

  chunk(i: number): SimEvent[] {
    let evs = this.cache.get(i);
    if (evs !== undefined) {
      // LRU: most recently used last.
      this.cache.delete(i);
      this.cache.set(i, evs);
      return evs;
    }
    evs = this.reader.chunk(i);
    this.decoded++;
    if (!this.consoles.has(i)) {
      const c: ConsoleEvent[] = [];
      for (const e of evs) if (e.kind === 'console') c.push({ seq: e.seq, dom: e.dom, source: e.source, text: e.text });
      this.consoles.set(i, c);
    }
    this.cache.set(i, evs);
    if (this.cache.size > CACHE_CHUNKS) this.cache.delete(this.cache.keys().next().value!);
    return evs;
  }

  /** The event with this seq, or null outside the trace. */
  get(seq: number): SimEvent | null {
    const ci = this.reader.chunkOf(seq);
    if (ci < 0) return null;
    return this.chunk(ci)[seq - this.reader.index.chunks[ci]!.firstSeq] ?? null;
  }

  /**
   * The first event with seq >= from (dir 1) or <= from (dir -1) that
   * satisfies `p`, or null. `limit` bounds the events examined.
   */
  find(from: number, dir: 1 | -1, p: Pred, limit = Number.MAX_SAFE_INTEGER): SimEvent | null {
    const cs = this.reader.index.chunks;
    if (cs.length === 0) return null;
    let seq = Math.max(this.first - 1, Math.min(this.end, from));
    if (dir === 1 && seq < this.first) seq = this.first;
    let ci = this.reader.chunkOf(seq);
    if (ci < 0) return null;
    let seen = 0;
    while (ci >= 0 && ci < cs.length) {
      const evs = this.chunk(ci);
      const base = cs[ci]!.firstSeq;
      for (let k = seq - base; k >= 0 && k < evs.length; k += dir) {
        const e = evs[k]!;
        if (p(e)) return e;
        if (++seen >= limit) return null;
      }
      ci += dir;
      const c = cs[ci];
      if (c === undefined) return null;
      seq = dir === 1 ? c.firstSeq : c.firstSeq + c.count - 1;
    }
    return null;
  }

  /** Up to `n` events satisfying `p` starting at `from` (inclusive), in order. */
  window(from: number, n: number, p: Pred): SimEvent[] {
    const out: SimEvent[] = [];
    let seq = from;
    while (out.length < n) {
      const e = this.find(seq, 1, p);
      if (e === null) break;
      out.push(e);
      seq = e.seq + 1;
    }
    return out;
  }

  /** The matching event `k` steps away from `seq` (clamped at the ends); `seq` itself if none. */
  step(seq: number, k: number, p: Pred): number {
    const dir = k < 0 ? -1 : 1;
    let at = seq;
    for (let i = 0; i < Math.abs(k); i++) {
      const e = this.find(at + dir, dir, p);
      if (e === null) break;
      at = e.seq;
    }
    return at;
  }

  /** The first event at or after virtual time `ns` (chunks found by their first time). */
  atTime(ns: number): SimEvent | null {
    const cs = this.reader.index.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    let ci = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cs[mid]!.firstTime <= ns) {
        ci = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    // firstTime is the time before the chunk's first event: start one chunk earlier.
    const c = cs[Math.max(0, ci - 1)];
    return c === undefined ? null : this.find(c.firstSeq, 1, (e) => e.time >= ns);
  }

  /** The symbol of an event's location: inside a hypercall, its caller (replay/symbols.ts eventLocation). */
  where(e: SimEvent): string {
    if (e.dom < 0 || e.vcpu < 0) return '';
    return symbolize(this.symbols, e.dom, eventLocation(e));
  }

  /** The event's guest call stack, symbolized (empty: none). */
  stack(e: SimEvent): string[] {
    return e.dom < 0 || e.stack === undefined ? [] : stackText(this.symbols, e.dom, e.stack);
  }

  /**
   * Each domain's console lines up to and including `seq` (its PV console
   * and its console_io output, replay/console-text.ts), from the trace's
   * console events, walking back until `chars` are collected for every
   * domain of `doms` and every domain seen, or `maxChunks` chunks were
   * read (then marked as cut). A domain that printed long ago (a domU next
   * to a chatty dom0) is found: the walk goes on for it, through chunks
   * whose console events are kept once decoded.
   */
  consoleUpTo(seq: number, chars = 2000, maxChunks = 32, doms: readonly number[] = []): { byDom: Map<number, ConsoleLine[]>; cut: boolean } {
    const parts = new Map<number, ConsoleEvent[]>();
    const lens = new Map<number, number>(doms.map((d) => [d, 0]));
    const cs = this.reader.index.chunks;
    let ci = this.reader.chunkOf(Math.min(seq, this.end - 1));
    let read = 0;
    let cut = false;
    for (; ci >= 0; ci--, read++) {
      if (read >= maxChunks) {
        cut = true;
        break;
      }
      const evs = this.consoleOf(ci);
      for (let k = evs.length - 1; k >= 0; k--) {
        const e = evs[k]!;
        if (e.seq > seq || (lens.get(e.dom) ?? 0) >= chars) continue;
        (parts.get(e.dom) ?? parts.set(e.dom, []).get(e.dom)!).push(e);
        lens.set(e.dom, (lens.get(e.dom) ?? 0) + e.text.length);
      }
      if (lens.size > 0 && [...lens.values()].every((n) => n >= chars)) break;
    }
    const byDom = new Map<number, ConsoleLine[]>();
    for (const d of [...parts.keys()].sort((a, b) => a - b)) byDom.set(d, consoleLinesOf(parts.get(d)!.reverse()));
    return { byDom, cut };
  }

  /** The console events of chunk `i`, kept for good once its events were decoded (they are a small part of it). */
  private consoleOf(i: number): ConsoleEvent[] {
    let c = this.consoles.get(i);
    if (c === undefined) {
      this.chunk(i);
      c = this.consoles.get(i)!;
    }
    return c;
  }
}

type ConsoleEvent = { seq: number; dom: number; source: ConsoleLine['source']; text: string };

/** A filter as typed at the `f` prompt: `dom=2 kind=hypercall name=sched_op` (all must hold). */
export type Filter = { text: string; pred: Pred };

export function parseFilter(text: string): Filter | string {
  const preds: Pred[] = [];
  for (const w of text.trim().split(/\s+/).filter((x) => x !== '')) {
    const eq = w.indexOf('=');
    const key = eq < 0 ? '' : w.slice(0, eq);
    const val = w.slice(eq + 1);
    if (key === 'dom') {
      const d = val === 'xen' ? -1 : Number(val);
      if (!Number.isInteger(d)) return `dom= wants a domain id, got '${val}'`;
      preds.push((e) => e.dom === d);
    } else if (key === 'vcpu') {
      const v = Number(val);
      if (!Number.isInteger(v)) return `vcpu= wants a number, got '${val}'`;
      preds.push((e) => e.vcpu === v);
    } else if (key === 'kind') {
      const kinds = KIND_ALIASES[val];
      if (kinds === undefined) return `unknown kind '${val}' (known: ${Object.keys(KIND_ALIASES).join(' ')})`;
      preds.push((e) => kinds.includes(e.kind));
    } else if (key === 'name') {
      preds.push((e) => e.kind === 'hypercall' && (e.name === val || e.subName === val));
    } else return `unknown filter '${w}' (use dom=N, vcpu=N, kind=K, name=HYPERCALL)`;
  }
  return { text: text.trim(), pred: (e) => preds.every((p) => p(e)) };
}

/**
 * The breakpoint an event stands for: its hypercall op, its event channel
 * (ports are per domain: `port d1:3`), its ring, or its kind.
 */
export function breakpointKey(e: SimEvent): string {
  switch (e.kind) {
    case 'hypercall':
      return `hypercall ${e.subName !== '' ? e.subName : e.name}`;
    case 'evtchn_send':
      return `port d${e.dom}:${e.port}`;
    case 'evtchn_deliver':
      return e.ports.length > 0 ? `port d${e.dom}:${e.ports[0]}` : 'kind evtchn_deliver';
    case 'ring':
      return `ring ${e.ring}`;
    default:
      return `kind ${e.kind}`;
  }
}

/**
 * Whether an event hits one of the breakpoints. A channel's breakpoint is
 * hit by sends from either end (a send names both ends) and by deliveries
 * of that port.
 */
export function hits(bps: ReadonlySet<string>, e: SimEvent): boolean {
  if (bps.size === 0) return false;
  if (bps.has(breakpointKey(e))) return true;
  if (e.kind === 'evtchn_send') return e.toDom >= 0 && bps.has(`port d${e.toDom}:${e.toPort}`);
  return e.kind === 'evtchn_deliver' && e.ports.some((p) => bps.has(`port d${e.dom}:${p}`));
}

export const searchPred = (text: string): Pred => {
  const t = text.toLowerCase();
  return (e) => summary(e).toLowerCase().includes(t);
};
