/**
 * Trace benchmarks: what recording costs over a lean run (a run nobody
 * listens to: no event objects, no guest stack walks; what `xenrr run`
 * does) of the same scenario, per event, on pingpong, a 10x longer pingpong,
 * a long compute-bound run with few events and every corpus scenario; bytes
 * per event and compression on pingpong; write/read throughput on a
 * synthetic stream of 10 million events.
 *
 * Times are medians of interleaved runs after a warm-up, wall clock and CPU
 * time of this process (the host may be shared: CPU time is what the work
 * costs, so the overhead and the cost per event are computed from it).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SimEvent } from '../sim/events.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { record, RECORD_DEFAULTS } from '../replay/record.js';
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
const cpuSecs = (c0: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

type Overhead = { lean: number; traced: number; leanCpu: number; tracedCpu: number; events: number; instructions: number };

/**
 * Median times of a lean run and a recording of `s` with `record`'s default
 * checkpoint spacing (interleaved, after a warm-up), wall and CPU.
 */
async function overhead(s: Scenario, out: string, repeat: number, warmup = WARMUP): Promise<Overhead> {
  const t = { lean: [] as number[], traced: [] as number[], leanCpu: [] as number[], tracedCpu: [] as number[] };
  let events = 0;
  let instructions = 0;
  // Interleave the two so both see the same machine conditions; the warm-up JIT-compiles both paths.
  for (let k = 0; k < warmup + repeat; k++) {
    let t0 = process.hrtime.bigint();
    let c0 = process.cpuUsage();
    runScenario(s);
    const [lean, leanCpu] = [secs(t0), cpuSecs(c0)];
    t0 = process.hrtime.bigint();
    c0 = process.cpuUsage();
    const r = await record(s, out, { ...RECORD_DEFAULTS });
    const [traced, tracedCpu] = [secs(t0), cpuSecs(c0)];
    events = r.events;
    instructions = r.summary.instructions;
    if (k < warmup) continue;
    t.lean.push(lean);
    t.traced.push(traced);
    t.leanCpu.push(leanCpu);
    t.tracedCpu.push(tracedCpu);
  }
  return { lean: median(t.lean), traced: median(t.traced), leanCpu: median(t.leanCpu), tracedCpu: median(t.tracedCpu), events, instructions };
}

/** The overhead columns of a row: wall medians, CPU medians, and the recording cost from CPU time. */
const overheadCols = (o: Overhead): Row => ({
  'lean ms': (o.lean * 1e3).toFixed(1), 'recorded ms': (o.traced * 1e3).toFixed(1),
  'lean cpu ms': (o.leanCpu * 1e3).toFixed(1), 'recorded cpu ms': (o.tracedCpu * 1e3).toFixed(1),
  'overhead cpu ms': ((o.tracedCpu - o.leanCpu) * 1e3).toFixed(1), overhead: `${(((o.tracedCpu - o.leanCpu) / o.leanCpu) * 100).toFixed(1)}%`,
  'cost/event': `${(((o.tracedCpu - o.leanCpu) / Math.max(1, o.events)) * 1e6).toFixed(2)} us`,
});

const load = (name: string): Scenario => {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
};
const withCmdline = (s: Scenario, edit: (c: string) => string): Scenario => ({ ...s, domains: s.domains.map((d) => ({ ...d, cmdline: edit(d.cmdline) })) });

/**
 * A long compute-bound run with few events, as a kernel boot is (Linux to
 * the VFS panic: 1.75e9 instructions, 59,208 events): the sha256 guest run
 * `repeat` times, about 12.5M instructions and 61 events each.
 */
export const computeLong = (repeat: number): Scenario => ({ ...withCmdline(load('compute-sha256'), () => `repeat=${repeat}`), name: `compute-sha256 repeat=${repeat}`, maxInsns: 1e11 });

export async function benchRecord(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const s = load('pingpong');
  const o = await overhead(s, `${DIR}/pingpong.xrr`, REPEAT);
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
    trace: 'pingpong', events: o.events, 'bytes/event': (size / o.events).toFixed(2), compression: `${(raw / compressed).toFixed(1)}x`,
    ...overheadCols(o), 'write ev/s': Math.round(evs.length / writeSec), 'read ev/s': Math.round(n / readSec),
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
    const o = await overhead(s, `${DIR}/corpus.xrr`, 5);
    rows.push({ scenario: f.replace(/\.json$/, ''), events: o.events, instructions: o.instructions, 'events/1k insns': ((o.events / o.instructions) * 1000).toFixed(2), ...overheadCols(o) });
  }
  return rows;
}

/**
 * Record overhead on long runs, the per-recording fixed costs amortized:
 * a 10x longer pingpong (an event every ~30 instructions), and a
 * compute-bound run with few events (the sparse case, as a kernel boot).
 */
export async function benchRecordLong(): Promise<Row[]> {
  await initZstd();
  const pp = withCmdline(load('pingpong'), (c) => c.replace(/rounds=\d+/, 'rounds=10000'));
  const compute = computeLong(Number(process.env.XENRR_BENCH_COMPUTE_REPEAT ?? 40));
  const rows: Row[] = [];
  for (const [trace, s, repeat] of [['pingpong rounds=10000', pp, 5], [compute.name, compute, 3]] as const) {
    const o = await overhead(s, `${DIR}/long.xrr`, repeat, 1);
    rows.push({ trace, events: o.events, 'insns/event': Math.round(o.instructions / o.events), ...overheadCols(o) });
  }
  return rows;
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
