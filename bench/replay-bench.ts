/**
 * Replay benchmarks: replay (verify) speed against record speed, the
 * latency of moving the replay cursor (seek by event, by instruction count,
 * instruction steps) in a trace of over a million events, and diff
 * throughput with an identical prefix (chunk-hash skip) and on two runs that
 * differ from the start.
 *
 * The long trace is pingpong with more rounds (XENRR_BENCH_ROUNDS, default
 * 72,000: about 1,008,000 events), checkpointed every 25,000 events
 * (XENRR_BENCH_CHECKPOINT_EVERY), which bounds what a seek re-executes.
 * Seek points come from a fixed-seed xorshift stream, so every run seeks to
 * the same places.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { diffTraces } from '../replay/diff.js';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { Rng } from '../sim/cpu/oracle/rng.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const ROUNDS = Number(process.env.XENRR_BENCH_ROUNDS ?? 72_000);
const SEEKS = Number(process.env.XENRR_BENCH_SEEKS ?? 100);
const ICOUNT_SEEKS = Math.ceil(SEEKS / 2);
/** checkpoint interval of the long trace: a seek re-executes at most this many events */
const EVERY = Number(process.env.XENRR_BENCH_CHECKPOINT_EVERY ?? 25_000);
const REPEAT = 5;
const WARMUP = 2;

const now = (): bigint => process.hrtime.bigint();
const ms = (t0: bigint): number => Number(now() - t0) / 1e6;
const load = (name: string): Scenario => {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
};
/** `s` with domain `dom`'s command line edited. */
const withCmdline = (s: Scenario, dom: number, edit: (c: string) => string): Scenario => ({ ...s, domains: s.domains.map((d, i) => (i === dom ? { ...d, cmdline: edit(d.cmdline) } : d)) });
const pingpong = (rounds: number): Scenario => withCmdline(load('pingpong'), 1, (c) => c.replace(/rounds=\d+/, `rounds=${rounds}`));

function stats(xs: number[]): Row {
  const s = [...xs].sort((a, b) => a - b);
  const f = (x: number): string => x.toFixed(x < 10 ? 2 : 1);
  const at = (q: number): string => f(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
  return { 'median ms': at(0.5), 'p90 ms': at(0.9), 'max ms': f(s[s.length - 1]!) };
}

/** A speed row: record and replay (verify) times; speed ratio = record time / replay time. */
const speedRow = (trace: string, events: number, runs: string, rec: number, rep: number): Row => ({
  trace, events, runs, 'record ms': rec.toFixed(0), 'replay ms': rep.toFixed(0),
  'replay ev/s': Math.round(events / (rep / 1000)), 'replay/record speed': `${(rec / rep).toFixed(2)}x`, target: '>= 0.90x',
});

/** Record `s` to `out`, then verify it by re-execution: both times. */
async function recordAndReplay(s: Scenario, out: string): Promise<{ events: number; rec: number; rep: number }> {
  let t0 = now();
  const events = (await record(s, out, { checkpointEvery: EVERY })).events;
  const rec = ms(t0);
  const reader = TraceReader.open(out);
  t0 = now();
  const r = ReplaySession.open(reader).verify();
  const rep = ms(t0);
  reader.close();
  if (r.divergence !== null) throw new Error(`${out}: replay diverged at event ${r.divergence.seq}`);
  return { events, rec, rep };
}

export async function benchReplaySuite(): Promise<{ speed: Row[]; seek: Row[]; diff: Row[] }> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  // Interleaved, after a warm-up (both paths JIT-compiled): best of REPEAT each.
  const small = `${DIR}/replay-pingpong.xrr`;
  let rec = Infinity;
  let rep = Infinity;
  let events = 0;
  for (let k = 0; k < WARMUP + REPEAT; k++) {
    const r = await recordAndReplay(load('pingpong'), small);
    events = r.events;
    if (k >= WARMUP) [rec, rep] = [Math.min(rec, r.rec), Math.min(rep, r.rep)];
  }
  const speedRows = [speedRow('pingpong', events, `best of ${REPEAT}`, rec, rep)];
  // The long trace, recorded twice (the second recording is the re-record the identical-prefix diff uses): best of 2 each.
  const longFile = `${DIR}/replay-long.xrr`;
  const again = `${DIR}/replay-long-2.xrr`;
  const l1 = await recordAndReplay(pingpong(ROUNDS), longFile);
  const l2 = await recordAndReplay(pingpong(ROUNDS), again);
  speedRows.push(speedRow(`pingpong rounds=${ROUNDS}`, l1.events, 'best of 2', Math.min(l1.rec, l2.rec), Math.min(l1.rep, l2.rep)));

  // Cursor moves in the long trace.
  const reader = TraceReader.open(longFile);
  const n = reader.index.eventCount;
  const s = ReplaySession.open(reader);
  const rng = new Rng(0x5eed1234);
  const ends = s.seek(n).vcpus;
  const seekMs: number[] = [];
  for (let k = 0; k < SEEKS; k++) {
    const seq = rng.below(n);
    const t0 = now();
    const v = s.seek(seq);
    seekMs.push(ms(t0));
    if (v.seq !== seq) throw new Error(`seek(${seq}) landed at ${v.seq}`);
  }
  const icountMs: number[] = [];
  const cpBefore = s.stats.checkpointReads;
  for (let k = 0; k < ICOUNT_SEEKS; k++) {
    const end = ends[rng.below(ends.length)]!;
    const ic = rng.below(end.icount);
    const t0 = now();
    const v = s.seekIcount(end.dom, end.vcpu, ic);
    icountMs.push(ms(t0));
    if (v.vcpus.find((x) => x.dom === end.dom && x.vcpu === end.vcpu)!.icount !== ic) throw new Error(`seekIcount(${end.dom}, ${end.vcpu}, ${ic}) missed`);
  }
  const cpReads = (s.stats.checkpointReads - cpBefore) / ICOUNT_SEEKS;
  const stepMs: number[] = [];
  const backMs: number[] = [];
  for (let k = 0; k < 10; k++) {
    s.seek(rng.below(n));
    for (let j = 0; j < 10; j++) {
      const t0 = now();
      s.step(2, 0);
      stepMs.push(ms(t0));
    }
    for (let j = 0; j < 10; j++) {
      const t0 = now();
      s.stepBack(2, 0);
      backMs.push(ms(t0));
    }
  }
  // Watchpoints on dom1's `received` (changes every round) and `rounds` (once, at the start): back from random points, and from the end.
  const watchMs: number[] = [];
  const farMs: number[] = [];
  const sym = (name: string): bigint => s.symbolAddress(1, name)!.addr;
  const d1 = ends.find((v) => v.dom === 1 && v.vcpu === 0)!;
  for (let k = 0; k < 5; k++) {
    const t0 = now();
    if (s.watch({ dom: 1, vcpu: 0, va: sym('received'), len: 8 }, { dom: 1, vcpu: 0, icount: rng.below(d1.icount) }, 'backward') === null) throw new Error('no change of received');
    watchMs.push(ms(t0));
  }
  const t0 = now();
  if (s.watch({ dom: 1, vcpu: 0, va: sym('rounds'), len: 8 }, { dom: 1, vcpu: 0, icount: d1.icount }, 'backward') === null) throw new Error('no change of rounds');
  farMs.push(ms(t0));
  reader.close();
  const cps = reader.index.checkpoints.length;
  const row = (move: string, xs: number[], target: string): Row => ({ move, events: n, 'checkpoint every': EVERY, checkpoints: cps, ...stats(xs), 'target max': target });
  const seekRows: Row[] = [
    row(`seek(seq), ${SEEKS} random seqs`, seekMs, '<= 250 ms'),
    row(`seekIcount, ${ICOUNT_SEEKS} random counts (${cpReads.toFixed(1)} checkpoint reads each)`, icountMs, '<= 250 ms'),
    row('step (1 insn; 10 after each of 10 seeks)', stepMs, '-'),
    row('stepBack (1 insn; 10 after those steps)', backMs, '-'),
    row('watch back: last change of a counter, 5 random points', watchMs, '-'),
    row('watch back: a variable written once at the start, from the end', farMs, '-'),
  ];

  // Diff: identical prefix (a re-record of the long trace) and two runs that differ from the start.
  const ringpair = withCmdline(load('ringpair'), 0, (c) => c.replace(/requests=\d+/, 'requests=1800'));
  const other = `${DIR}/replay-ringpair.xrr`;
  await record(ringpair, other, { checkpointEvery: EVERY });
  const diffRows: Row[] = [];
  for (const [what, a, b] of [
    ['identical (re-record, chunk-hash skip)', longFile, again],
    ['differ from the start (pingpong vs ringpair)', small, other],
  ] as const) {
    const ra = TraceReader.open(a);
    const rb = TraceReader.open(b);
    const t0 = now();
    const r = diffTraces(ra, rb);
    const t = ms(t0);
    const evs = ra.index.eventCount + rb.index.eventCount;
    diffRows.push({
      diff: what, 'events a+b': evs, 'skipped chunks': r.skipped.chunks, 'decoded a+b': r.compared.a + r.compared.b, regions: r.regionCount,
      equal: String(r.equal), ms: t.toFixed(1), 'ev/s': Math.round(evs / (t / 1000)),
    });
    ra.close();
    rb.close();
  }
  return { speed: speedRows, seek: seekRows, diff: diffRows };
}
