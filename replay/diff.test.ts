/**
 * `diffTraces` and `xenrr diff`: the identical prefix is skipped by chunk
 * hash; runs that differ only in machine frame layout are equivalent;
 * pingpong with one round less differs by exactly the missing events;
 * a single changed hypercall result among 20,000 events is named with its
 * context, whatever the window size; the CLI's exit codes and errors.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../sim/events.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { events, testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import { diffTraces, type DiffReport } from './diff.js';
import { renderDiff } from './diff-render.js';
import { record } from './record.js';
import type { Symbols } from './symbols.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/diff-test`;
const BIN = `${ROOT}bin/xenrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`) && existsSync(`${ROOT}build/corpus/pv/gntcopy.elf`);

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});

function write(path: string, evs: SimEvent[], chunkEvents: number): string {
  const w = new TraceWriter(path, testHeader(), chunkEvents);
  for (const e of evs) w.append(e);
  w.close('all-stopped', evs.at(-1)?.time ?? 0);
  return path;
}

const diff = (a: string, b: string, opts: Parameters<typeof diffTraces>[2] = {}): DiffReport => diffTraces(TraceReader.open(a), TraceReader.open(b), opts);

/** Every event of a is matched, deleted or changed; every event of b matched, inserted or changed. */
function balanced(r: DiffReport): void {
  expect(r.skipped.events + r.compared.a).toBe(r.a.events);
  expect(r.skipped.events + r.compared.b).toBe(r.b.events);
  expect(r.matched + r.totals.deleted + r.totals.changed).toBe(r.compared.a);
  expect(r.matched + r.totals.inserted + r.totals.changed).toBe(r.compared.b);
}

async function recordScenario(name: string, json: object, seed?: number): Promise<string> {
  const file = `${DIR}/${name}.json`;
  writeFileSync(file, JSON.stringify(json));
  const out = `${DIR}/${name}${seed === undefined ? '' : `-seed${seed}`}.xrr`;
  await record(parseScenario(json, file), out, seed === undefined ? {} : { seed });
  return out;
}

const scenarioJson = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`${ROOT}corpus/scenarios/${name}.json`, 'utf8')) as Record<string, unknown>;

describe('diffTraces on synthetic traces', () => {
  const base = events(20_000, 5);
  const hc = base.findIndex((e, i) => i >= 10_000 && e.kind === 'hypercall');

  it('a trace against itself: equal, every chunk skipped by hash, nothing decoded', () => {
    const a = write(`${DIR}/syn-a.xrr`, base, 512);
    const r = diff(a, a);
    expect(r.equal).toBe(true);
    expect(r.skipped).toEqual({ events: 20_000, chunks: Math.ceil(20_000 / 512) });
    expect(r.compared).toEqual({ a: 0, b: 0 });
    expect(r.firstDivergence).toBeNull();
  });

  it('names a single changed hypercall result among 20,000 events, with context', () => {
    const changed = base.map((e, i) => (i === hc && e.kind === 'hypercall' ? { ...e, result: e.result === -22 ? -38 : -22 } : e));
    const a = write(`${DIR}/syn-a.xrr`, base, 512);
    const b = write(`${DIR}/syn-b.xrr`, changed, 512);
    for (const window of [4096, 64, 17]) {
      const r = diff(a, b, { window, context: 4 });
      expect(r.equal).toBe(false);
      expect(r.skipped.events).toBe(Math.floor(hc / 512) * 512);
      expect(r.regionCount).toBe(1);
      expect(r.totals).toEqual({ deleted: 0, inserted: 0, changed: 1 });
      expect(r.byKind).toEqual({ hypercall: { deleted: 0, inserted: 0, changed: 1 } });
      expect(r.regions[0]).toMatchObject({ a: { from: hc, to: hc + 1 }, b: { from: hc, to: hc + 1 } });
      const f = r.firstDivergence!;
      expect(f.a.map((v) => v.seq)).toEqual([hc]);
      expect(f.b.map((v) => v.seq)).toEqual([hc]);
      expect(f.changes).toEqual([{ field: 'result', a: (base[hc] as { result: number }).result, b: (changed[hc] as { result: number }).result }]);
      expect(f.context.map((c) => [c.a.seq, c.b.seq])).toEqual([1, 2, 3, 4].map((k) => [hc - 5 + k, hc - 5 + k]));
      balanced(r);
    }
  });

  it('reports deleted and inserted runs with their seq ranges, across windows', () => {
    // b: events 5000..5009 of a removed, 300 new milestones inserted before a's event 15000.
    const inserted: SimEvent[] = Array.from({ length: 300 }, (_, k) => ({ seq: 0, time: 0, dom: -1, vcpu: -1, icount: 0, rip: 0n, kind: 'milestone', text: `new ${k}` }));
    const list = [...base.slice(0, 5000), ...base.slice(5010, 15_000), ...inserted, ...base.slice(15_000)];
    let t = 0;
    const b = write(`${DIR}/syn-c.xrr`, list.map((e, seq) => ({ ...e, seq, time: (t = Math.max(t, e.time)) })), 512);
    const a = write(`${DIR}/syn-a.xrr`, base, 512);
    for (const window of [4096, 256, 64]) {
      const r = diff(a, b, { window });
      expect(r.regions.map((g) => [g.a, g.b])).toEqual([
        [{ from: 5000, to: 5010 }, { from: 5000, to: 5000 }],
        [{ from: 15_000, to: 15_000 }, { from: 14_990, to: 15_290 }],
      ]);
      expect(r.byKind.milestone?.inserted).toBe(300);
      expect(r.totals.deleted).toBe(10);
      expect(r.firstDivergence!.b).toEqual([]);
      expect(r.firstDivergence!.a.map((v) => v.seq)).toEqual([5000, 5001, 5002]);
      balanced(r);
    }
  });

  it('compares symbols, not addresses: a function that moved is the same place', () => {
    const sym = (fns: Array<[string, bigint]>) => (addr: bigint) => {
      const hit = fns.find(([, at]) => addr >= at && addr < at + 0x1000n);
      return hit ? ({ name: hit[0], offset: Number(addr - hit[1]) } as never) : null;
    };
    const symsA: Symbols = new Map([[1, sym([['f', 0x1000n], ['g', 0x2000n]])]]);
    const symsB: Symbols = new Map([[1, sym([['g', 0x5000n], ['f', 0x8000n]])]]);
    const ev = (seq: number, rip: bigint): SimEvent => ({ seq, time: seq, dom: 1, vcpu: 0, icount: seq, rip, kind: 'sched', what: 'yield', until: -1 });
    const a = write(`${DIR}/sym-a.xrr`, [ev(0, 0x1010n), ev(1, 0x2020n), ev(2, 0x1030n)], 2);
    const b = write(`${DIR}/sym-b.xrr`, [ev(0, 0x8044n), ev(1, 0x5000n), ev(2, 0x5030n)], 2);
    const r = diff(a, b, { symbols: [symsA, symsB] });
    expect(r.regions.map((g) => [g.a, g.b])).toEqual([[{ from: 2, to: 3 }, { from: 2, to: 3 }]]);
    expect(r.firstDivergence!.changes).toEqual([{ field: 'at', a: 'f', b: 'g' }]);
    expect(r.firstDivergence!.a[0]!.at).toBe('f+0x30');
    expect(diff(a, b, { symbols: [symsA, symsB], ignore: ['at'] }).equal).toBe(true);
    // Symbols for one run only: locations are not compared, and the report says so.
    const one = diff(a, b, { symbols: [symsA, new Map()] });
    expect(one.equal).toBe(true);
    expect(one.notes).toEqual(['dom1: symbols only for a; its locations are not compared']);
  });

  it('a console line printed 16 bytes at a time (hvc, console_io): the first divergence shows the whole line of each run; printk time stamps do not count', () => {
    // dom0's boot banner as Linux's hvc writes it: 16-byte pieces, each a console event and its CONSOLEIO_write.
    const boot = (version: string, stamp: string): SimEvent[] => {
      // One printk record per write, cut in 16-byte pieces from its start.
      const records = [`[    0.000000] Linux version 6.1.0-${version}-amd64 (debian-kernel@lists.debian.org)\r\n`, `[${stamp}] Command line: console=hvc0\r\n`];
      const pieces = records.flatMap((t) => Array.from({ length: Math.ceil(t.length / 16) }, (_, k) => t.slice(k * 16, k * 16 + 16)));
      const out: SimEvent[] = [];
      for (const piece of pieces) {
        const at = { seq: out.length, time: out.length * 10, dom: 0, vcpu: 0, icount: out.length, rip: 0x1000n };
        out.push({ ...at, kind: 'console', source: 'console_io', text: piece });
        out.push({ ...at, seq: out.length, kind: 'hypercall', op: 18, name: 'console_io', sub: 0, subName: 'CONSOLEIO_write', args: [0n, 16n, 0n, 0n, 0n], decoded: { count: piece.length, text: piece }, result: 0, caller: 0x1000n });
      }
      return out;
    };
    const a = write(`${DIR}/con-a.xrr`, boot('56', '    0.001234'), 4);
    const b = write(`${DIR}/con-b.xrr`, boot('57', '    0.001299'), 4);
    const r = diff(a, b);
    // One region: the piece with the version (the later line differs only in its time stamp).
    expect(r.regionCount).toBe(1);
    const f = r.firstDivergence!;
    expect(f.a[0]!.summary).toContain('.0-56-amd64 (deb');
    expect(f.consoleLine).toEqual({
      a: { dom: 0, source: 'console_io', text: '[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)' },
      b: { dom: 0, source: 'console_io', text: '[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)' },
    });
    const text = renderDiff(r);
    expect(text).toContain('  console line a: (d0) [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)\n');
    expect(text).toContain('  console line b: (d0) [    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)\n');
    // A domU's PV console: the ring event with the piece comes first, then xenconsoled's console event.
    const domU = (version: string): SimEvent[] => boot(version, '    0.001234').flatMap((e): SimEvent[] => {
      if (e.kind !== 'console') return [];
      const ring: SimEvent = { ...e, dom: 1, kind: 'ring', ring: 'console', frontDom: 1, backDom: 0, gref: -1, port: 2, reqProdBefore: 0, reqProdAfter: 16, rspProdBefore: 0, rspProdAfter: 0, reqCons: 0, rspCons: 0, slots: [{ dir: 'req', text: e.text }] };
      return [ring, { ...e, dom: 1, source: 'ring' }];
    }).map((e, seq) => ({ ...e, seq }));
    const u = diff(write(`${DIR}/conu-a.xrr`, domU('56'), 4), write(`${DIR}/conu-b.xrr`, domU('57'), 4));
    expect(u.firstDivergence!.a[0]!.summary).toMatch(/^console dom1->dom0/);
    expect(u.firstDivergence!.consoleLine.b).toEqual({ dom: 1, source: 'ring', text: '[    0.000000] Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org)' });
    expect(renderDiff(u)).toContain('  console line a: [d1] [    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)\n');
    // A divergence that is not console output has no console line.
    expect(diff(a, write(`${DIR}/con-c.xrr`, boot('56', '    0.001234').map((e) => (e.seq === 3 && e.kind === 'hypercall' ? { ...e, result: -5 } : e)), 4)).firstDivergence!.consoleLine).toEqual({ a: null, b: null });
  });
});

describe.skipIf(!built)('diffTraces on recorded scenarios', () => {
  it('two recordings of a scenario under different seeds (frames permuted) are equivalent', async () => {
    for (const name of ['gntcopy', 'hello']) {
      const json = scenarioJson(name);
      const a = await recordScenario(name, json, 1);
      const b = await recordScenario(name, json, 7);
      // The raw events differ (MFNs in PTE values and console text), so nothing is skipped by hash...
      const ra = [...TraceReader.open(a).events()].map((e) => JSON.stringify(e, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      const rb = [...TraceReader.open(b).events()].map((e) => JSON.stringify(e, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));
      expect(ra.filter((e, i) => e !== rb[i]).length).toBeGreaterThan(0);
      const r = diff(a, b);
      expect(r.skipped.events).toBeLessThan(r.a.events);
      // ...but the normalized ones do not.
      expect(r.equal).toBe(true);
      expect(r.matched).toBe(r.a.events - r.skipped.events);
    }
  });

  it('pingpong 1000 vs 999 rounds: differs by the missing round, first at the rounds handshake', async () => {
    const json = scenarioJson('pingpong');
    const domains = json.domains as Array<{ cmdline: string }>;
    const a = await recordScenario('pingpong-1000', json);
    const b = await recordScenario('pingpong-999', { ...json, domains: domains.map((d) => ({ ...d, cmdline: d.cmdline.replace('rounds=1000', 'rounds=999') })) });
    const r = diff(a, b);
    expect(r.equal).toBe(false);
    // pong publishes its round count in xenstore at start-up: that is the first semantic divergence.
    const f = r.firstDivergence!;
    // The xenstore ring traffic of pong's write, seen at its notify, comes first (its XS_WRITE event follows the notify).
    expect(f.a[0]!.summary).toMatch(/^xenstore dom2->dom0/);
    expect(f.changes.find((c) => c.field === 'slot[0].payload')).toEqual({ field: 'slot[0].payload', a: '/local/domain/2/data/pingpong/rounds 1000', b: '/local/domain/2/data/pingpong/rounds 999' });
    expect(f.context).toHaveLength(5);
    expect(f.context.every((c) => c.a.key === c.b.key)).toBe(true);
    // The summary accounts for exactly the events a has more of, kind by kind.
    const ca = TraceReader.open(a).index.countsByKind;
    const cb = TraceReader.open(b).index.countsByKind;
    for (const k of new Set([...Object.keys(ca), ...Object.keys(cb)])) {
      const c = r.byKind[k] ?? { deleted: 0, inserted: 0 };
      expect(c.deleted - c.inserted).toBe((ca[k] ?? 0) - (cb[k] ?? 0));
    }
    // One round is 14 events: 2 upcalls, 2 sends, 2 wakes/blocks each side, hypercalls.
    expect(r.a.events - r.b.events).toBe(r.totals.deleted - r.totals.inserted);
    expect(r.byKind.evtchn_deliver).toEqual({ deleted: 2, inserted: 0, changed: 0 });
    // The end is the same shutdown: the last region is the final console lines.
    expect(r.regions.at(-1)!.a.to).toBeLessThan(r.a.events);
    balanced(r);
    expect(renderDiff(r)).toContain('first divergence at a#');
  });
});

describe.skipIf(!built)('xenrr diff', () => {
  const xenrr = (...args: string[]) => spawnSync(BIN, ['diff', ...args], { cwd: ROOT, encoding: 'utf8' });

  it('exit 0 when equivalent, 1 when different (text and JSON), 2 on bad input with one line', () => {
    const a = `${DIR}/gntcopy-seed1.xrr`;
    const b = `${DIR}/gntcopy-seed7.xrr`;
    const p = `${DIR}/pingpong-999.xrr`;
    const same = xenrr(a, b);
    expect(same.status).toBe(0);
    expect(same.stdout).toContain('EQUIVALENT: no semantic difference');
    const differ = xenrr(`${DIR}/pingpong-1000.xrr`, p, '--context', '2');
    expect(differ.status).toBe(1);
    expect(differ.stdout).toMatch(/^DIFFERENT: \d+ regions; \d+ only in a, \d+ only in b, \d+ changed$/m);
    expect(differ.stdout).toMatch(/^ {2}differs in: .*slot\[0\]\.payload "\/local\/domain\/2\/data\/pingpong\/rounds 1000" -> "\/local\/domain\/2\/data\/pingpong\/rounds 999"$/m);
    expect(differ.stdout.match(/^ {2}= /gm)).toHaveLength(2);
    const json = xenrr(`${DIR}/pingpong-1000.xrr`, p, '--json', '--ignore', 'text,payload');
    expect(json.status).toBe(1);
    const r = JSON.parse(json.stdout) as DiffReport;
    expect(r.ignore).toEqual(['text', 'payload']);
    expect(r.firstDivergence!.changes.map((c) => c.field)).not.toContain('slot[0].payload');
    writeFileSync(`${DIR}/junk.xrr`, 'junk');
    for (const [args, msg] of [
      [[a, `${DIR}/none.xrr`], /none\.xrr: no such file/],
      [[`${DIR}/junk.xrr`, a], /not a xenrr trace/],
      [[a, b, '--ignore', 'kind'], /'kind' cannot be ignored/],
      [[a, b, '--ignore', 'a b'], /not a field name/],
      [[a, b, '--context', '-1'], /--context must be a non-negative integer/],
      [[a], /missing required argument/],
    ] as const) {
      const r2 = xenrr(...args);
      expect(r2.status).toBe(2);
      expect(r2.stderr).toMatch(msg);
      expect(r2.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
