/**
 * Windowed alignment of two long event streams by key, in bounded memory.
 *
 * Each step looks at up to `w` buffered events per side: a common prefix is
 * matched directly; otherwise Myers' diff of the two windows gives an edit
 * script, applied only up to the point where a side whose stream has not
 * ended comes within w/4 of its window's end (what lies near a window's end
 * may align differently once more events are visible); the rest is aligned
 * again with more events behind it. Every step consumes at least 3w/4
 * events of one side, so the loop ends.
 *
 * When the applicable part of a script matches nothing, the difference may
 * be longer than the window (a large insertion): the window doubles, up to
 * `maxWindow`, before anything is applied, so the streams can resynchronize
 * on the far side; it shrinks back to `window` after a step with a match.
 * A difference longer than `maxWindow` cannot be seen past: both sides then
 * advance by 3/4 of the window as one changed stretch, and the streams
 * resynchronize only if they line up again.
 */
import type { SimEvent } from '../sim/events.js';
import { DEL, EQ, INS, myers, type Edit } from './myers.js';
import type { Normalized, Normalizer } from './normalize.js';

export type Item = { e: SimEvent; n: Normalized };

/** One stream's events, normalized, with a look-ahead buffer. */
export class Side {
  private buf: Item[] = [];
  private head = 0;
  /** the stream has no more events (some may still be buffered) */
  done = false;
  /** seq after the last event read */
  private end: number;
  /** events consumed */
  taken = 0;

  constructor(private readonly it: Iterator<SimEvent>, private readonly norm: Normalizer, start: number) {
    this.end = start;
  }

  get length(): number {
    return this.buf.length - this.head;
  }

  at(i: number): Item {
    return this.buf[this.head + i]!;
  }

  /** Buffer at least `n` events unless the stream ends first. */
  fill(n: number): void {
    if (this.head > 4096 && this.head > this.length) {
      this.buf = this.buf.slice(this.head);
      this.head = 0;
    }
    while (!this.done && this.length < n) {
      const r = this.it.next();
      if (r.done === true) this.done = true;
      else {
        this.buf.push({ e: r.value, n: this.norm.normalize(r.value) });
        this.end = r.value.seq + 1;
      }
    }
  }

  take(): Item {
    this.taken++;
    return this.buf[this.head++]!;
  }

  /** seq of the next event, or the end */
  next(): number {
    return this.length > 0 ? this.at(0).e.seq : this.end;
  }
}

export type AlignOptions = { window: number; maxWindow: number; costLimit: number };
/** Called in stream order: `match` n events of both sides, `only` n events of one side. */
export type AlignSink = { match(n: number): void; only(side: 'a' | 'b', n: number): void };

export function align(A: Side, B: Side, o: AlignOptions, sink: AlignSink): void {
  const ids = new Map<string, number>();
  let w = o.window;
  for (;;) {
    A.fill(w);
    B.fill(w);
    const na = Math.min(A.length, w);
    const nb = Math.min(B.length, w);
    if (na === 0 && nb === 0) return;
    let p = 0;
    while (p < na && p < nb && A.at(p).n.key === B.at(p).n.key) p++;
    if (p > 0) {
      sink.match(p);
      continue;
    }
    const script = windowScript(A, B, na, nb, ids, o.costLimit);
    // Sides whose whole rest is in the window have no "end of window" to stay away from.
    const endA = A.done && A.length <= w;
    const endB = B.done && B.length <= w;
    const roomA = endA ? Infinity : na - (w >> 2);
    const roomB = endB ? Infinity : nb - (w >> 2);
    let plan = cut(script, roomA, roomB);
    const matches = plan.some((s) => s.op === EQ);
    if (!matches && !(endA && endB)) {
      if (w < o.maxWindow) {
        w = Math.min(2 * w, o.maxWindow);
        continue;
      }
      // Nothing in reach matches: both sides advance, as one changed stretch.
      plan = [{ op: DEL, n: Math.min(na, roomA) }, { op: INS, n: Math.min(nb, roomB) }].filter((s) => s.n > 0) as Edit[];
    }
    for (const { op, n } of plan) {
      if (op === EQ) sink.match(n);
      else sink.only(op === DEL ? 'a' : 'b', n);
    }
    if (matches) w = o.window;
  }
}

/** Myers' script of the two windows, keys mapped to small integers. */
function windowScript(A: Side, B: Side, na: number, nb: number, ids: Map<string, number>, costLimit: number): Edit[] {
  ids.clear();
  const ka = new Int32Array(na);
  const kb = new Int32Array(nb);
  for (let k = 0; k < na; k++) {
    const key = A.at(k).n.key;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    ka[k] = id;
  }
  const distinctA = ids.size;
  let shared = false;
  for (let k = 0; k < nb; k++) {
    const key = B.at(k).n.key;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    else if (id < distinctA) shared = true;
    kb[k] = id;
  }
  if (shared) return myers(ka, kb, costLimit);
  return [{ op: DEL, n: na }, { op: INS, n: nb }].filter((s) => s.n > 0) as Edit[];
}

/** The prefix of `script` that keeps x < roomA and y < roomB (it always makes progress: rooms are > 0). */
function cut(script: Edit[], roomA: number, roomB: number): Edit[] {
  const out: Edit[] = [];
  for (const { op, n } of script) {
    const take = Math.min(n, op === EQ ? Math.min(roomA, roomB) : op === DEL ? roomA : roomB);
    if (take <= 0) break;
    out.push({ op, n: take });
    if (op !== INS) roomA -= take;
    if (op !== DEL) roomB -= take;
    if (take < n) break;
  }
  return out;
}
