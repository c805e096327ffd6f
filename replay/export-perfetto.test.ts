/**
 * The Perfetto export against the trace-event format: recorded corpus
 * scenarios exported and checked with a zod schema of the format, flow
 * pairing, track naming, counts against the trace index, exact nanosecond
 * timestamps, and Perfetto's own slice-stack rules (nesting, and which slice
 * each flow end binds to). Plus hand-made event streams for the matching and
 * console-line rules.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { SimEvent, SimEventBody } from '../sim/events.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import type { HeaderData } from '../trace/schema.js';
import { initZstd } from '../trace/zstd.js';
import { HYPERCALL_SLICE_CAP_NS, PerfettoExporter, perfettoText, toPerfetto, usFromNs, type PerfettoJson } from './export-perfetto.js';
import { record } from './record.js';
import { loadSymbols, stackText } from './symbols.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/export-test`;
const SCENARIOS = ['pingpong', 'gntcopy', 'timer'];
const built = SCENARIOS.every((s) => existsSync(`${ROOT}build/corpus/pv/${s}.elf`));

const common = {
  name: z.string(), cat: z.string().optional(), ts: z.number().nonnegative(),
  pid: z.number().int().nonnegative(), tid: z.number().int().nonnegative(), args: z.record(z.string(), z.unknown()).optional(),
};
const TraceEventSchema = z.discriminatedUnion('ph', [
  z.strictObject({ ...common, ph: z.literal('X'), dur: z.number().nonnegative() }),
  z.strictObject({ ...common, ph: z.literal('i'), s: z.enum(['t', 'p', 'g']) }),
  z.strictObject({ ...common, ph: z.literal('s'), id: z.number().int().positive() }),
  z.strictObject({ ...common, ph: z.literal('f'), id: z.number().int().positive(), bp: z.literal('e') }),
  z.strictObject({ ...common, ph: z.literal('b'), cat: z.string(), id: z.string() }),
  z.strictObject({ ...common, ph: z.literal('e'), cat: z.string(), id: z.string() }),
  z.strictObject({ ...common, ph: z.literal('M'), name: z.enum(['process_name', 'thread_name']), args: z.strictObject({ name: z.string().min(1) }) }),
]);
const TraceFileSchema = z.strictObject({
  displayTimeUnit: z.literal('ns'),
  metadata: z.record(z.string(), z.union([z.string(), z.number()])),
  traceEvents: z.array(TraceEventSchema),
});
type Ev = z.infer<typeof TraceEventSchema>;
const ns = (us: number): number => Math.trunc(us * 1000); // what Perfetto does with a JSON ts

/** Format rules beyond the schema; returns the events, parsed. */
function validate(json: unknown): Ev[] {
  const parsed = TraceFileSchema.safeParse(json);
  if (!parsed.success) throw new Error(`schema: ${JSON.stringify(parsed.error.issues[0])}`);
  const evs = parsed.data.traceEvents;
  const procs = new Set<number>();
  const threads = new Set<string>();
  const starts = new Map<number, number>();
  const ends = new Set<number>();
  const open = new Map<string, string>();
  evs.forEach((e, k) => {
    if (e.ph === 'M') (e.name === 'process_name' ? procs.add(e.pid) : threads.add(`${e.pid}:${e.tid}`));
    else {
      expect(procs.has(e.pid), `pid ${e.pid} named before use`).toBe(true);
      expect(threads.has(`${e.pid}:${e.tid}`), `thread ${e.pid}:${e.tid} named before use`).toBe(true);
    }
    if (e.ph === 's') {
      expect(starts.has(e.id), `flow id ${e.id} started once`).toBe(false);
      starts.set(e.id, k);
    }
    if (e.ph === 'f') {
      const s = starts.get(e.id);
      expect(s, `flow ${e.id} has its "s" before its "f"`).toBeDefined();
      expect(ends.has(e.id)).toBe(false);
      ends.add(e.id);
      const se = evs[s!]!;
      expect(se.cat === e.cat && se.name === e.name, 'flow s/f agree on cat and name').toBe(true);
      expect(e.ts).toBeGreaterThanOrEqual(se.ts);
    }
    if (e.ph === 'b') {
      expect(open.has(e.id), `async ${e.id} not already open`).toBe(false);
      open.set(e.id, e.name);
    }
    if (e.ph === 'e') {
      expect(open.get(e.id), `async ${e.id} ends what it began`).toBe(e.name);
      open.delete(e.id);
    }
  });
  expect([...starts.keys()].every((id) => ends.has(id)), 'every flow start has an end').toBe(true);
  expect(open.size, 'every async slice ends').toBe(0);
  return evs;
}

type Bound = { ph: 'X' | 'i'; name: string; cat: string | undefined; start: number; end: number };

/**
 * Perfetto's JSON import: events sorted by integer-ns ts (stable), one slice
 * stack per thread, a new slice pops those ended at or before its start, a
 * flow end binds to the topmost slice. Checks nesting; returns the bindings.
 */
function perfettoBindings(evs: Ev[]): Map<number, { s: Bound; f: Bound }> {
  const order = evs.map((e, k) => ({ e, k, t: ns(e.ts) })).sort((a, b) => a.t - b.t || a.k - b.k);
  const stacks = new Map<string, Bound[]>();
  const out = new Map<number, { s?: Bound; f?: Bound }>();
  for (const { e, t } of order) {
    const stack = stacks.get(`${e.pid}:${e.tid}`) ?? [];
    stacks.set(`${e.pid}:${e.tid}`, stack);
    if (e.ph === 'X' || (e.ph === 'i' && e.s === 't')) {
      while (stack.length > 0 && stack[stack.length - 1]!.end <= t) stack.pop();
      const end = e.ph === 'X' ? t + ns(e.dur) : t;
      const parent = stack[stack.length - 1];
      if (parent) expect(end, `${e.name} at ${t} nests inside ${parent.name}`).toBeLessThanOrEqual(parent.end);
      stack.push({ ph: e.ph, name: e.name, cat: e.cat, start: t, end });
    } else if (e.ph === 's' || e.ph === 'f') {
      const top = stack[stack.length - 1];
      expect(top, `flow ${e.id} ${e.ph} has a slice to bind to`).toBeDefined();
      out.set(e.id, { ...out.get(e.id), [e.ph]: top });
    }
  }
  return out as Map<number, { s: Bound; f: Bound }>;
}

async function recordCorpus(name: string): Promise<TraceReader> {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  const out = `${DIR}/${name}.xrr`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), out);
  return TraceReader.open(out);
}

describe.skipIf(!built)('export to Perfetto: recorded corpus scenarios', () => {
  const traces = new Map<string, TraceReader>();
  beforeAll(async () => {
    await initZstd();
    mkdirSync(DIR, { recursive: true });
    for (const s of SCENARIOS) traces.set(s, await recordCorpus(s));
  });

  for (const name of SCENARIOS) {
    it(`${name}: valid trace-event JSON, one slice per hypercall, bound flows, exact times`, () => {
      const r = traces.get(name)!;
      const events = [...r.events()];
      const exporter = new PerfettoExporter(r.header, { syms: loadSymbols(r.header), endTime: r.index.endTime });
      const text = [...perfettoText(exporter, events, r.header)].join('');
      const json = JSON.parse(text) as PerfettoJson;
      expect(json).toEqual(toPerfetto(events, r.header, { syms: loadSymbols(r.header), endTime: r.index.endTime }));
      expect(json.metadata.scenario).toBe(name);
      const evs = validate(json);
      expect(exporter.stats.traceEvents).toBe(evs.length);

      const byKind = r.index.countsByKind;
      const slices = evs.filter((e): e is Extract<Ev, { ph: 'X' }> => e.ph === 'X' && e.cat === 'hypercall');
      expect(slices.length).toBe(byKind.hypercall);
      expect(exporter.stats.hypercalls).toBe(byKind.hypercall);
      expect(slices.filter((e) => e.name === 'EVTCHNOP_send').length).toBeGreaterThan(0);
      const bySeq = new Map(events.map((e) => [e.seq, e]));
      for (const x of slices) {
        const e = bySeq.get(x.args!.seq as number)!;
        expect(e.kind).toBe('hypercall');
        expect(ns(x.ts)).toBe(e.time);
        expect(ns(x.dur)).toBeLessThanOrEqual(HYPERCALL_SLICE_CAP_NS);
        expect(x.args!.caller).toMatch(/^[A-Za-z_][\w.]*\+0x[0-9a-f]+$/);
        // the guest stack, named as the trace dump and the TUI name it
        if (e.stack !== undefined) expect(x.args!.stack).toEqual(stackText(loadSymbols(r.header), e.dom, e.stack));
        else expect(x.args!.stack).toBeUndefined();
      }
      expect(slices.some((x) => Array.isArray(x.args!.stack) && (x.args!.stack as string[]).length > 1), 'some hypercall has frames above its caller').toBe(true);
      expect(events.every((e, k) => k === 0 || e.time >= events[k - 1]!.time), 'virtual time never goes back').toBe(true);

      // Flows: one per interdomain send that got delivered, bound like Perfetto would.
      const interdomain = events.filter((e) => e.kind === 'evtchn_send' && e.virq < 0 && e.toDom > 0).length;
      expect(exporter.stats.flows + exporter.stats.unmatchedSends).toBe(interdomain);
      expect(evs.filter((e) => e.ph === 's').length).toBe(exporter.stats.flows);
      expect(evs.filter((e) => e.ph === 'i' && e.cat === 'evtchn').length).toBe((byKind.evtchn_send ?? 0) + (byKind.evtchn_deliver ?? 0));
      const bound = perfettoBindings(evs);
      expect(bound.size).toBe(exporter.stats.flows);
      for (const { s, f } of bound.values()) {
        expect(s.name).toBe('EVTCHNOP_send');
        expect(f.name).toMatch(/^upcall ports=\[/);
      }

      // Console lines per domain match the scenario's expectations; every domain stops.
      const scenario = JSON.parse(r.header.scenarioJson) as { domains: Array<{ name: string }>; expect: { console: Record<string, string[]> } };
      scenario.domains.forEach((d, k) => {
        const lines = evs.filter((e) => e.ph === 'i' && e.cat === 'console' && e.pid === k + 1).map((e) => e.name);
        for (const want of scenario.expect.console[d.name] ?? []) expect(lines.some((l) => l.includes(want)), `${d.name}: ${want}`).toBe(true);
        expect(evs.some((e) => e.ph === 'i' && e.s === 'p' && e.pid === k + 1 && /^(shutdown|crashed) /.test(e.name))).toBe(true);
      });
      expect(evs.filter((e) => e.ph === 'i' && e.cat === 'exception').length).toBe(byKind.exception ?? 0);
      const idle = events.filter((e) => e.kind === 'sched' && e.what === 'idle' && e.until >= e.time).length;
      expect(evs.filter((e) => e.ph === 'X' && e.name === 'idle' && e.pid === 0).length).toBe(idle);
      if (name === 'timer') expect(idle).toBeGreaterThan(0);
    });
  }

  it('--dom and a seq window give valid subsets', () => {
    const r = traces.get('pingpong')!;
    const events = [...r.events()];
    const dom2 = validate(toPerfetto(events, r.header, { dom: 2 }));
    expect(dom2.every((e) => e.pid === 2)).toBe(true);
    expect(dom2.filter((e) => e.ph === 'X' && e.cat === 'hypercall').length).toBe(events.filter((e) => e.kind === 'hypercall' && e.dom === 2).length);
    expect(dom2.some((e) => e.ph === 's')).toBe(false);
    const window = validate(toPerfetto(r.events(100, 400), r.header));
    expect(window.filter((e) => e.ph === 'X' && e.cat === 'hypercall').length).toBe(events.filter((e) => e.kind === 'hypercall' && e.seq >= 100 && e.seq < 400).length);
    expect(window.some((e) => e.ph === 'f')).toBe(true);
    perfettoBindings(window);
  });
});

const HEADER = { scenarioJson: JSON.stringify({ name: 't', domains: [{ name: 'a', vcpus: 2 }, { name: 'b' }] }), xenrrVersion: '0', formatVersion: 1, seed: 0, nsPerInsn: 1 } as HeaderData;
let seq = 0;
const ev = (time: number, dom: number, vcpu: number, body: SimEventBody): SimEvent => ({ seq: seq++, time, dom, vcpu, icount: 0, rip: 0x1000n, ...body });
const send = (time: number, dom: number, port: number, toDom: number, toPort: number): SimEvent => ev(time, dom, 0, { kind: 'evtchn_send', port, toDom, toPort, virq: -1 });
const hc = (time: number, dom: number, vcpu = 0): SimEvent => ev(time, dom, vcpu, { kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 4, subName: 'EVTCHNOP_send', args: [], decoded: { port: 1 }, result: 0, caller: 0x2000n });

describe('export to Perfetto: rules on hand-made streams', () => {
  it('usFromNs: Perfetto truncation gives back the exact nanosecond', () => {
    const wrong: number[] = [];
    for (let n = 0; n < 200_000; n++) if (Math.trunc(usFromNs(n) * 1000) !== n) wrong.push(n);
    expect(wrong).toEqual([]);
    for (const n of [32992, 4_000_000_007, 2 ** 40 + 3, 123_456_789_012]) {
      expect(Math.trunc(usFromNs(n) * 1000)).toBe(n);
      expect(Math.abs(usFromNs(n) - n / 1000)).toBeLessThan(1e-6);
    }
    expect(usFromNs(1001)).not.toBe(1.001); // 1.001 * 1000 is 1000.999...
  });

  it('coalesced sends end at one delivery; VIRQs, dom0 and undelivered sends get no flow', () => {
    const stream = [
      send(10, 1, 5, 2, 7), hc(10, 1), send(20, 1, 5, 2, 7), hc(20, 1), send(25, 1, 6, 2, 8), hc(25, 1),
      send(30, 1, 1, 0, 100), hc(30, 1), ev(31, 1, 0, { kind: 'evtchn_send', port: 3, toDom: 1, toPort: 3, virq: 0 }),
      ev(40, 2, 0, { kind: 'evtchn_deliver', ports: [7] }), ev(50, 2, 0, { kind: 'evtchn_deliver', ports: [7] }),
    ];
    const x = new PerfettoExporter(HEADER);
    const evs = validate({ displayTimeUnit: 'ns', metadata: {}, traceEvents: [...x.traceEvents(stream)] });
    expect(x.stats).toMatchObject({ flows: 2, unmatchedSends: 1, hypercalls: 4 });
    const flows = evs.filter((e) => e.ph === 's' || e.ph === 'f').map((e) => [e.ph, ns(e.ts), e.pid]);
    expect(flows).toEqual([['s', 10, 1], ['f', 40, 2], ['s', 20, 1], ['f', 40, 2]]);
    for (const { s, f } of perfettoBindings(evs).values()) expect([s.name, f.name]).toEqual(['EVTCHNOP_send', 'upcall ports=[7]']);
    const durs = evs.filter((e) => e.ph === 'X').map((e) => (e.ph === 'X' ? ns(e.dur) : -1));
    expect(durs).toEqual([10, 5, 5, 1]); // until the next event anywhere
  });

  it('console lines are split and joined at newlines; tracks are named from the scenario', () => {
    const stream = [
      ev(1, 1, 1, { kind: 'console', text: 'hel', source: 'ring' }), ev(2, 1, 1, { kind: 'console', text: 'lo\r\nworld\n\npart', source: 'ring' }),
      ev(3, 2, 0, { kind: 'sched', what: 'block', until: -1 }), ev(4, 2, 0, { kind: 'domain_state', state: 'crashed', reason: 'crash' }),
    ];
    const evs = validate({ displayTimeUnit: 'ns', metadata: {}, traceEvents: [...new PerfettoExporter(HEADER).traceEvents(stream)] });
    expect(evs.filter((e) => e.cat === 'console').map((e) => [e.name, ns(e.ts), e.tid])).toEqual([['hello', 2, 1], ['world', 2, 1], ['part', 2, 1]]);
    const names = evs.filter((e) => e.ph === 'M').map((e) => `${e.pid}:${e.tid} ${e.name} ${e.args.name}`);
    expect(names).toEqual(['0:0 process_name xen', '0:0 thread_name machine', '1:0 process_name a', '1:0 thread_name vCPU 0', '1:1 thread_name vCPU 1', '2:0 process_name b', '2:0 thread_name vCPU 0']);
    expect(evs.filter((e) => e.ph === 'b' || e.ph === 'e').map((e) => [e.ph, ns(e.ts)])).toEqual([['b', 3], ['e', 4]]);
  });
});
