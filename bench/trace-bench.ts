/**
 * Trace benchmarks: record overhead against an untraced run of the same
 * scenario, bytes per event and compression on pingpong, and write/read
 * throughput on a synthetic stream of 10 million events.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimEvent } from '../sim/events.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { record } from '../replay/record.js';
import { runScenario } from '../replay/scenario-run.js';
import { TraceReader } from '../trace/reader.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const SYNTHETIC = Number(process.env.XENRR_BENCH_SYNTHETIC ?? 10_000_000);
const REPEAT = Number(process.env.XENRR_BENCH_REPEAT ?? 10);
const WARMUP = 3;

const secs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** Best-of-`repeat` times of an untraced run and a recording of `s` (interleaved, after a warm-up). */
async function overhead(s: Scenario, out: string, repeat: number): Promise<{ plain: number; traced: number; events: number }> {
  let plain = Infinity;
  let traced = Infinity;
  let events = 0;
  // Interleave the two so both see the same machine conditions; after a
  // warm-up (both paths JIT-compiled), best of `repeat` each.
  for (let k = 0; k < WARMUP + repeat; k++) {
    let t0 = process.hrtime.bigint();
    runScenario(s);
    if (k >= WARMUP) plain = Math.min(plain, secs(t0));
    t0 = process.hrtime.bigint();
    const r = await record(s, out, { checkpointEvery: 50_000 });
    if (k >= WARMUP) traced = Math.min(traced, secs(t0));
    events = r.events;
  }
  return { plain, traced, events };
}

const pct = (plain: number, traced: number): string => `${(((traced - plain) / plain) * 100).toFixed(1)}%`;

export async function benchRecord(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  const { plain, traced, events } = await overhead(s, `${DIR}/pingpong.xrr`, REPEAT);
  const size = statSync(`${DIR}/pingpong.xrr`).size;
  const reader = TraceReader.open(`${DIR}/pingpong.xrr`);
  const raw = reader.index.chunks.reduce((n, c) => n + c.rawSize, 0);
  const compressed = reader.index.chunks.reduce((n, c) => n + c.compressedSize, 0);
  let t0 = process.hrtime.bigint();
  let n = 0;
  for (const _ of reader.events()) n++;
  const readSec = secs(t0);
  reader.close();
  // The writer alone, fed the same events from memory.
  const evs: SimEvent[] = [];
  runScenario(s, { sink: (e) => evs.push(e) });
  t0 = process.hrtime.bigint();
  const w = new TraceWriter(`${DIR}/pingpong-w.xrr`, testHeader());
  for (const e of evs) w.append(e);
  w.close('all-stopped', 0);
  const writeSec = secs(t0);
  return [{
    trace: 'pingpong', events, 'bytes/event': (size / events).toFixed(2), compression: `${(raw / compressed).toFixed(1)}x`,
    'untraced s': plain.toFixed(3), 'recorded s': traced.toFixed(3), overhead: pct(plain, traced),
    'write ev/s': Math.round(evs.length / writeSec), 'read ev/s': Math.round(n / readSec),
  }];
}

/**
 * Record overhead on every corpus scenario: it grows with events per
 * instruction, and a short run also pays the per-recording costs (output
 * file, header, index: about 1.5 ms).
 */
export async function benchRecordCorpus(): Promise<Row[]> {
  await initZstd();
  const dir = `${ROOT}corpus/scenarios/`;
  const rows: Row[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json')).sort()) {
    const s = parseScenario(JSON.parse(readFileSync(dir + f, 'utf8')), dir + f);
    const instructions = runScenario(s).summary.instructions;
    const { plain, traced, events } = await overhead(s, `${DIR}/corpus.xrr`, 5);
    rows.push({
      scenario: f.replace(/\.json$/, ''), events, instructions, 'events/1k insns': ((events / instructions) * 1000).toFixed(2),
      'untraced ms': (plain * 1e3).toFixed(1), 'recorded ms': (traced * 1e3).toFixed(1), 'overhead ms': ((traced - plain) * 1e3).toFixed(1), overhead: pct(plain, traced),
    });
  }
  return rows;
}

/** Record overhead on a 10x longer pingpong: per-event cost, with the per-recording fixed costs amortized. */
export async function benchRecordLong(): Promise<Row[]> {
  await initZstd();
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  const base = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  const s: Scenario = { ...base, domains: base.domains.map((d) => ({ ...d, cmdline: d.cmdline.replace(/rounds=\d+/, 'rounds=10000') })) };
  const { plain, traced, events } = await overhead(s, `${DIR}/pingpong-long.xrr`, 3);
  return [{
    trace: 'pingpong rounds=10000', events, 'untraced s': plain.toFixed(3), 'recorded s': traced.toFixed(3), overhead: pct(plain, traced),
    'recording cost per event': `${(((traced - plain) / events) * 1e6).toFixed(2)} us`,
  }];
}

/** A realistic, cheap synthetic stream: hypercalls, sends, deliveries, blocks across 4 domains. */
function* synthetic(n: number): Generator<SimEvent> {
  let time = 0;
  const ic = [0, 0, 0, 0];
  for (let seq = 0; seq < n; seq++) {
    const dom = (seq >> 3) & 3;
    time += 37 + (seq % 11);
    ic[dom]! += 40 + (seq % 7);
    const base = { seq, time, dom: dom + 1, vcpu: 0, icount: ic[dom]!, rip: 0xffffffff81000000n + BigInt((seq * 97) % 8192) };
    switch (seq % 4) {
      case 0:
        yield { ...base, kind: 'hypercall', op: 32, name: 'event_channel_op', sub: 4, subName: 'EVTCHNOP_send', args: [4n, 0xffff880000010000n + BigInt(seq % 64) * 8n, 0n, 0n, 0n], decoded: { port: 3 + (seq % 5) }, result: 0, caller: 0xffffffff81002000n + BigInt(seq % 16) };
        break;
      case 1:
        yield { ...base, kind: 'evtchn_send', port: 3 + (seq % 5), toDom: ((dom + 1) & 3) + 1, toPort: 3, virq: -1 };
        break;
      case 2:
        yield { ...base, kind: 'evtchn_deliver', ports: [3 + (seq % 5)] };
        break;
      default:
        yield { ...base, kind: 'sched', what: 'block', until: -1 };
    }
  }
}

export async function benchSynthetic(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const path = `${DIR}/synthetic.xrr`;
  let t0 = process.hrtime.bigint();
  const w = new TraceWriter(path, testHeader());
  for (const e of synthetic(SYNTHETIC)) w.append(e);
  w.close('all-stopped', 0);
  const writeSec = secs(t0);
  const size = statSync(path).size;
  const r = TraceReader.open(path);
  const raw = r.index.chunks.reduce((n, c) => n + c.rawSize, 0);
  const compressed = r.index.chunks.reduce((n, c) => n + c.compressedSize, 0);
  t0 = process.hrtime.bigint();
  let n = 0;
  for (const _ of r.events()) n++;
  const readSec = secs(t0);
  r.close();
  rmSync(path);
  return [{
    trace: `synthetic ${(SYNTHETIC / 1e6).toFixed(0)}M events`, events: n, bytes: size, 'bytes/event': (size / n).toFixed(2), compression: `${(raw / compressed).toFixed(1)}x`,
    'write ev/s': Math.round(n / writeSec), 'read ev/s': Math.round(n / readSec), 'peak RSS MiB': (process.resourceUsage().maxRSS / 1024).toFixed(0),
  }];
}
