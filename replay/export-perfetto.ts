/**
 * Export to the Chrome trace-event JSON format that the Perfetto UI and
 * chrome://tracing open: `{"displayTimeUnit":"ns","metadata":{..},"traceEvents":[..]}`.
 *
 * Tracks
 * - one process per domain (pid = domid) named after the scenario's domain,
 *   and pid 0 "xen" for the machine (dom -1, and dom0's services if they ever
 *   emit events); one thread per vCPU (tid = vcpu; the machine's own events,
 *   vcpu -1, are tid 0 "machine"). process_name/thread_name metadata ("M")
 *   for every domain and vCPU of the scenario come first, then any other
 *   pid/tid on first use, so every pid/tid is named.
 *
 * Mapping (ts is virtual time in µs: ns / 1000, see `usFromNs`)
 * - hypercall → complete slice "X" on its vCPU, name = sub-op name
 *   (EVTCHNOP_send) or hypercall name (iret), args = decoded fields, result,
 *   caller symbol, guest call stack and seq. Hypercalls take no virtual time; a slice lasts
 *   until the machine's next event (any vCPU), at most 1 µs. The clock is
 *   global and never goes back, so a slice never overlaps the next thing on
 *   its own track, and it is written before anything that follows it.
 * - evtchn_send, evtchn_deliver → thread instants "i", plus a flow "s"/"f"
 *   (same id, cat and name "evtchn") from each interdomain send to the
 *   delivery that told the receiver. Matching rule: a send to (dom D, port P)
 *   ends at the first later evtchn_deliver on D (any vCPU) whose ports
 *   include P; sends coalesced by Xen's pending bit all end at that one
 *   delivery. VIRQs, sends to dom0's services and sends never delivered get
 *   no flow (nothing is written for them until matched, so there is never a
 *   dangling "s"). At most PENDING_SENDS_CAP undelivered sends are kept per
 *   port; older ones are dropped and counted in `stats.unmatchedSends`.
 *   The pair is written at the delivery: "s" at the send's time binds to the
 *   topmost slice of the sender's track at that time, which is the
 *   EVTCHNOP_send slice; "f" (bp "e") right after the delivery instant binds
 *   to it.
 * - console → one instant per line (partial lines wait for their newline,
 *   per domain and source); exception → instant; domain_state → process
 *   instant (s "p"); sched block/poll → wake → async slice "b"/"e" per vCPU
 *   (async so it never has to nest with the hypercall slices); the machine's
 *   idle → "X" until the time it jumps to; everything else (timer, xenstore,
 *   ring, input, milestone, other sched) → instant named by its summary.
 *
 * `--dom` keeps only that domain's events (flows need both ends kept);
 * durations and flow matching always look at the whole stream.
 */
import type { Decoded, SimEvent } from '../sim/events.js';
import type { HeaderData } from '../trace/schema.js';
import { result, summary } from './format.js';
import { symbolize, symbolizeReturn, type Symbols } from './symbols.js';

export type Phase = 'X' | 'i' | 's' | 'f' | 'b' | 'e' | 'M';

export type TraceEventJson = {
  ph: Phase;
  name: string;
  cat?: string;
  /** µs */
  ts: number;
  pid: number;
  tid: number;
  /** µs, "X" only */
  dur?: number;
  /** instant scope */
  s?: 't' | 'p' | 'g';
  /** flow (number) or async (string) id */
  id?: number | string;
  /** "f": bind to the enclosing slice */
  bp?: 'e';
  args?: Record<string, unknown>;
};

export type PerfettoJson = { displayTimeUnit: 'ns'; metadata: Record<string, string | number>; traceEvents: TraceEventJson[] };

export type PerfettoOptions = {
  /** only this domain's events */
  dom?: number;
  /** symbols for RIPs and hypercall callers (replay/symbols.ts); none: raw addresses */
  syms?: Symbols;
  /** virtual time (ns) at which the recording stopped: bounds the last slice and closes open sched slices */
  endTime?: number;
};

export type PerfettoStats = { traceEvents: number; hypercalls: number; flows: number; unmatchedSends: number };

/** Longest slice given to an (instantaneous) hypercall, ns. */
export const HYPERCALL_SLICE_CAP_NS = 1000;
/** Undelivered sends remembered per (domain, port). */
export const PENDING_SENDS_CAP = 256;
/** Longest partial console line held back waiting for its newline. */
const CONSOLE_LINE_CAP = 4096;

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/**
 * `ns` as µs such that trunc(µs * 1000) === ns. Perfetto converts JSON
 * timestamps exactly that way, and 1001 / 1000 * 1000 is 1000.999... (so
 * are ~0.6% of values), so the quotient is nudged up by an ulp when needed:
 * Perfetto sees exact nanoseconds (nesting and ordering at equal times stay
 * right) and anything else sees the same value within 1e-12 µs.
 */
export function usFromNs(ns: number): number {
  let us = ns / 1000;
  for (let i = 0; i < 4 && Math.trunc(us * 1000) < ns; i++) {
    f64[0] = us;
    u64[0] = u64[0]! + 1n;
    us = f64[0]!;
  }
  return us;
}

const EXCEPTIONS: Record<number, string> = {
  0: '#DE', 1: '#DB', 2: 'NMI', 3: '#BP', 4: '#OF', 5: '#BR', 6: '#UD', 7: '#NM', 8: '#DF', 10: '#TS',
  11: '#NP', 12: '#SS', 13: '#GP', 14: '#PF', 16: '#MF', 17: '#AC', 18: '#MC', 19: '#XM', 20: '#VE', 21: '#CP',
};

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** A decoded value as plain JSON: bigints (addresses) become hex strings. */
function plain(v: Decoded[string]): unknown {
  if (typeof v === 'bigint') return hex(v);
  if (Array.isArray(v)) return (v as Array<number | Decoded>).map((x) => (typeof x === 'object' ? plainRecord(x) : x));
  if (typeof v === 'object') return plainRecord(v);
  return v;
}

function plainRecord(d: Decoded): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) out[k] = plain(v);
  return out;
}

type Domain = { id: number; name: string; vcpus: number };

/** Domains of the recorded scenario (numbered 1.. in order); a header we cannot read gives none. */
export function scenarioDomains(h: HeaderData): Domain[] {
  try {
    const s = JSON.parse(h.scenarioJson) as { domains?: unknown };
    if (!Array.isArray(s.domains)) return [];
    return s.domains.map((d: { name?: unknown; vcpus?: unknown }, k) => ({
      id: k + 1,
      name: typeof d.name === 'string' ? d.name : `dom${k + 1}`,
      vcpus: typeof d.vcpus === 'number' && Number.isInteger(d.vcpus) && d.vcpus > 0 && d.vcpus <= 1024 ? d.vcpus : 1,
    }));
  } catch {
    return [];
  }
}

/** The file's "metadata": where the events came from and what the times mean. */
export function perfettoMetadata(h: HeaderData): Record<string, string | number> {
  let scenario = '?';
  try {
    scenario = String((JSON.parse(h.scenarioJson) as { name?: unknown }).name ?? '?');
  } catch {
    // keep '?'
  }
  return {
    source: 'xenrr', 'xenrr-version': h.xenrrVersion, 'trace-format': h.formatVersion, scenario, seed: h.seed,
    domains: scenarioDomains(h).map((d) => `${d.id}=${d.name}`).join(','),
    clock: `virtual time, ${h.nsPerInsn} ns per guest instruction; ts in µs`,
  };
}

type PendingSend = { time: number; pid: number; tid: number };
type ConsoleBuf = { text: string; time: number; pid: number; tid: number; seq: number };

/** The trace-event mapping, one instance per export (it carries the matching state). */
export class PerfettoExporter {
  readonly stats: PerfettoStats = { traceEvents: 0, hypercalls: 0, flows: 0, unmatchedSends: 0 };
  private readonly domains: Domain[];
  private readonly named = new Set<string>();
  /** the last hypercall's slice, written when the next event gives it a duration */
  private slice: { ev: TraceEventJson; time: number } | null = null;
  private readonly sends = new Map<string, PendingSend[]>();
  private readonly blocked = new Map<string, { name: string; pid: number; tid: number; dom: number }>();
  private readonly console = new Map<string, ConsoleBuf>();
  private nextFlow = 1;
  private lastTime = 0;

  constructor(header: HeaderData, private readonly opts: PerfettoOptions = {}) {
    this.domains = scenarioDomains(header);
  }

  private keep(dom: number): boolean {
    return this.opts.dom === undefined || dom === this.opts.dom;
  }

  private track(dom: number, vcpu: number): { pid: number; tid: number } {
    return { pid: dom > 0 ? dom : 0, tid: vcpu >= 0 ? vcpu : 0 };
  }

  private sym(dom: number, rip: bigint): string {
    return this.opts.syms ? symbolize(this.opts.syms, dom, rip) : hex(rip);
  }

  private ret(dom: number, addr: bigint): string {
    return this.opts.syms ? symbolizeReturn(this.opts.syms, dom, addr) : hex(addr);
  }

  /** process_name/thread_name for (pid, tid) unless already written. */
  private *names(pid: number, tid: number): Generator<TraceEventJson> {
    if (!this.named.has(`${pid}`)) {
      this.named.add(`${pid}`);
      const name = pid === 0 ? 'xen' : (this.domains.find((d) => d.id === pid)?.name ?? `dom${pid}`);
      yield { ph: 'M', name: 'process_name', ts: 0, pid, tid, args: { name } };
    }
    if (!this.named.has(`${pid}:${tid}`)) {
      this.named.add(`${pid}:${tid}`);
      yield { ph: 'M', name: 'thread_name', ts: 0, pid, tid, args: { name: pid === 0 && tid === 0 ? 'machine' : `vCPU ${tid}` } };
    }
  }

  /** Every trace event for `events` (in seq order), track names first. */
  *traceEvents(events: Iterable<SimEvent>): Generator<TraceEventJson> {
    for (const out of this.run(events)) {
      this.stats.traceEvents++;
      yield out;
    }
  }

  private *run(events: Iterable<SimEvent>): Generator<TraceEventJson> {
    // Name every track of the scenario before any event: Perfetto names a
    // thread by tid alone, so names must come while (pid, tid) is the newest.
    if (this.opts.dom === undefined) yield* this.names(0, 0);
    for (const d of this.domains) {
      if (!this.keep(d.id)) continue;
      for (let v = 0; v < d.vcpus; v++) yield* this.names(d.id, v);
    }
    for (const e of events) {
      // Ordering point: the previous hypercall's slice is written before
      // anything of `e`, so file order stays seq order.
      if (this.slice !== null) yield this.endSlice(e.time);
      this.lastTime = Math.max(this.lastTime, e.time);
      const kept = this.keep(e.dom);
      const { pid, tid } = this.track(e.dom, e.vcpu);
      if (kept) yield* this.names(pid, tid);
      yield* this.event(e, kept, pid, tid);
    }
    const end = Math.max(this.lastTime, this.opts.endTime ?? 0);
    if (this.slice !== null) yield this.endSlice(end);
    for (const [key, c] of this.console) {
      this.console.delete(key);
      if (c.text.trim() !== '') yield this.line(c, c.text);
    }
    for (const key of [...this.blocked.keys()]) yield* this.wake(key, end);
    for (const list of this.sends.values()) this.stats.unmatchedSends += list.length;
    this.sends.clear();
  }

  private endSlice(next: number): TraceEventJson {
    const { ev, time } = this.slice!;
    this.slice = null;
    ev.dur = usFromNs(Math.max(0, Math.min(HYPERCALL_SLICE_CAP_NS, next - time)));
    return ev;
  }

  private instant(e: SimEvent, pid: number, tid: number, cat: string, name: string, args: Record<string, unknown> = {}): TraceEventJson {
    return { ph: 'i', s: 't', cat, name, ts: usFromNs(e.time), pid, tid, args: { seq: e.seq, ...args } };
  }

  private line(c: ConsoleBuf, text: string): TraceEventJson {
    return { ph: 'i', s: 't', cat: 'console', name: text.replace(/\r$/, ''), ts: usFromNs(c.time), pid: c.pid, tid: c.tid, args: { seq: c.seq } };
  }

  private *event(e: SimEvent, kept: boolean, pid: number, tid: number): Generator<TraceEventJson> {
    switch (e.kind) {
      case 'hypercall': {
        if (!kept) return;
        this.stats.hypercalls++;
        const args: Record<string, unknown> = { seq: e.seq, hypercall: e.name };
        for (const [k, v] of Object.entries(e.decoded)) args[k in args || k === 'result' || k === 'caller' ? `arg_${k}` : k] = plain(v);
        args.result = e.result;
        if (e.result < 0) args.errno = result(e.result);
        // A caller is a return address (named as gdb does, at address - 1);
        // iret is jumped to, not called: its caller is 0, its RIP the hypercall page.
        args.caller = e.caller !== 0n ? this.ret(e.dom, e.caller) : this.sym(e.dom, e.rip);
        if (e.stack !== undefined) args.stack = e.stack.map((a) => this.ret(e.dom, a));
        this.slice = { time: e.time, ev: { ph: 'X', cat: 'hypercall', name: e.subName !== '' ? e.subName : e.name, ts: usFromNs(e.time), pid, tid, args } };
        return;
      }
      case 'evtchn_send': {
        if (kept) yield this.instant(e, pid, tid, 'evtchn', summary(e), { port: e.port, toDom: e.toDom, toPort: e.toPort, virq: e.virq });
        if (e.virq >= 0 || e.toDom <= 0 || !kept || !this.keep(e.toDom)) return;
        const key = `${e.toDom}:${e.toPort}`;
        const list = this.sends.get(key) ?? [];
        if (list.length >= PENDING_SENDS_CAP) {
          list.shift();
          this.stats.unmatchedSends++;
        }
        list.push({ time: e.time, pid, tid });
        this.sends.set(key, list);
        return;
      }
      case 'evtchn_deliver': {
        if (!kept) return;
        yield this.instant(e, pid, tid, 'evtchn', summary(e), { ports: e.ports });
        const f = usFromNs(e.time);
        for (const port of e.ports) {
          const key = `${e.dom}:${port}`;
          for (const s of this.sends.get(key) ?? []) {
            const id = this.nextFlow++;
            this.stats.flows++;
            // Written together, here: "s" only once it is known to have an end.
            yield { ph: 's', cat: 'evtchn', name: 'evtchn', id, ts: usFromNs(s.time), pid: s.pid, tid: s.tid };
            yield { ph: 'f', bp: 'e', cat: 'evtchn', name: 'evtchn', id, ts: f, pid, tid };
          }
          this.sends.delete(key);
        }
        return;
      }
      case 'console': {
        if (!kept) return;
        const key = `${e.dom}:${e.source}`;
        const held = this.console.get(key);
        const parts = ((held?.text ?? '') + e.text).split('\n');
        const rest = parts.pop()!;
        const at: ConsoleBuf = { text: '', time: e.time, pid, tid, seq: e.seq };
        for (const p of parts) if (p.replace(/\r$/, '') !== '') yield this.line(at, p);
        if (rest.length >= CONSOLE_LINE_CAP) {
          yield this.line(at, rest);
          this.console.delete(key);
        } else if (rest !== '') this.console.set(key, { ...at, text: rest });
        else this.console.delete(key);
        return;
      }
      case 'exception': {
        if (!kept) return;
        const name = EXCEPTIONS[e.vector] ?? `vector ${e.vector}`;
        yield this.instant(e, pid, tid, 'exception', e.bounced ? name : `${name} (unhandled)`, {
          vector: e.vector, errorCode: e.errorCode, cr2: hex(e.cr2), rip: this.sym(e.dom, e.rip), bounced: e.bounced,
          ...(e.bounced ? { handler: this.sym(e.dom, e.handler) } : {}),
        });
        return;
      }
      case 'domain_state': {
        if (!kept) return;
        yield { ...this.instant(e, pid, tid, 'domain', `${e.state} (${e.reason})`, { state: e.state, reason: e.reason }), s: 'p' };
        // A domain that stops is no longer blocked: end its vCPUs' slices here.
        if (e.state !== 'running') for (const [key, b] of [...this.blocked]) if (b.dom === e.dom) yield* this.wake(key, e.time);
        return;
      }
      case 'sched':
        if (kept) yield* this.sched(e, pid, tid);
        return;
      default:
        if (kept) yield this.instant(e, pid, tid, e.kind, summary(e));
    }
  }

  /** End the open blocked/polling slice of vCPU `key`, if any, at `time`. */
  private *wake(key: string, time: number): Generator<TraceEventJson> {
    const b = this.blocked.get(key);
    if (b === undefined) return;
    this.blocked.delete(key);
    yield { ph: 'e', cat: 'sched', name: b.name, id: key, ts: usFromNs(time), pid: b.pid, tid: b.tid };
  }

  private *sched(e: SimEvent & { kind: 'sched' }, pid: number, tid: number): Generator<TraceEventJson> {
    const key = `d${e.dom}v${e.vcpu}`;
    if (e.what === 'block' || e.what === 'poll') {
      yield* this.wake(key, e.time);
      const name = e.what === 'block' ? 'blocked' : 'polling';
      this.blocked.set(key, { name, pid, tid, dom: e.dom });
      yield { ph: 'b', cat: 'sched', name, id: key, ts: usFromNs(e.time), pid, tid, args: { seq: e.seq, ...(e.until >= 0 ? { until: e.until } : {}) } };
    } else if (e.what === 'wake' && this.blocked.has(key)) {
      yield* this.wake(key, e.time);
    } else if (e.what === 'idle' && e.until >= e.time) {
      yield { ph: 'X', cat: 'sched', name: 'idle', ts: usFromNs(e.time), dur: usFromNs(e.until - e.time), pid, tid, args: { seq: e.seq, until: e.until } };
    } else {
      yield this.instant(e, pid, tid, 'sched', summary(e));
    }
  }
}

/** The whole export as one object (for small traces and tests; the CLI streams `perfettoText`). */
export function toPerfetto(events: Iterable<SimEvent>, header: HeaderData, opts: PerfettoOptions = {}): PerfettoJson {
  return { displayTimeUnit: 'ns', metadata: perfettoMetadata(header), traceEvents: [...new PerfettoExporter(header, opts).traceEvents(events)] };
}

/**
 * The export as JSON text, in pieces, one trace event per line: memory stays
 * bounded by the matching state, not the trace. displayTimeUnit and metadata
 * come before traceEvents, as Perfetto's streaming tokenizer prefers.
 */
export function* perfettoText(exporter: PerfettoExporter, events: Iterable<SimEvent>, header: HeaderData): Generator<string> {
  yield `{"displayTimeUnit":"ns","metadata":${JSON.stringify(perfettoMetadata(header))},"traceEvents":[\n`;
  let first = true;
  for (const ev of exporter.traceEvents(events)) {
    yield first ? JSON.stringify(ev) : `,\n${JSON.stringify(ev)}`;
    first = false;
  }
  yield '\n]}\n';
}
