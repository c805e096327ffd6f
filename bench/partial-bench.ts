/**
 * Replaying an incomplete recording: it must replay its recorded prefix and
 * stop there, in at most twice the time recording that prefix took (issue
 * 11: it used to run the scenario on to its end, minutes).
 *
 * Two prefixes of a long pingpong (XENRR_BENCH_ROUNDS rounds, as
 * replay-bench.ts): one left by a recorder run as a user runs it and killed
 * with SIGKILL once its trace is half as long as a complete one (or after
 * XENRR_BENCH_KILL_AFTER seconds, default 60), and one cut at a chunk
 * boundary halfway through a complete trace. For each: the time
 * an in-process recording takes to get that far (progress stops it there),
 * the in-process replay (verify) time, and `xenrr replay` as a command
 * (process start included).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { FRAME_HEADER } from '../trace/schema.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const ROUNDS = Number(process.env.XENRR_BENCH_ROUNDS ?? 72_000);
const KILL_AFTER = Number(process.env.XENRR_BENCH_KILL_AFTER ?? 60);
const EVERY = 25_000;

const now = (): bigint => process.hrtime.bigint();
const secs = (t0: bigint): number => Number(now() - t0) / 1e9;
const STOP = new Error('prefix recorded');

function longPingpong(): { s: Scenario; file: string } {
  const base = JSON.parse(readFileSync(`${ROOT}corpus/scenarios/pingpong.json`, 'utf8')) as { domains: Array<{ cmdline: string }>; expect?: unknown; maxInsns?: number };
  base.domains[1]!.cmdline = base.domains[1]!.cmdline.replace(/rounds=\d+/, `rounds=${ROUNDS}`);
  delete base.expect;
  base.maxInsns = 20_000_000_000;
  const file = `${DIR}/partial-pingpong.json`;
  writeFileSync(file, JSON.stringify(base));
  return { s: parseScenario(base, file), file };
}

/** Seconds an in-process recording of `s` takes to have `events` events (stopped there). */
async function prefixRecordTime(s: Scenario, events: number): Promise<number> {
  const t0 = now();
  let t = -1;
  try {
    await record(s, `${DIR}/partial-scratch.xrr`, { checkpointEvery: EVERY, progress: (n) => {
      if (n < events) return;
      t = secs(t0);
      throw STOP;
    } });
  } catch (e) {
    if (e !== STOP) throw e;
  }
  if (t < 0) throw new Error(`the recording ended before ${events} events`);
  return t;
}

async function row(what: string, s: Scenario, trace: string): Promise<Row> {
  const reader = TraceReader.open(trace);
  const events = reader.index.eventCount;
  const t0 = now();
  const r = ReplaySession.open(reader).verify();
  const replay = secs(t0);
  reader.close();
  if (r.divergence !== null || r.complete) throw new Error(`${trace}: expected an incomplete trace replaying as recorded`);
  const t1 = now();
  const cli = spawnSync(`${ROOT}bin/xenrr`, ['replay', trace], { encoding: 'utf8' });
  const cliSec = secs(t1);
  if (cli.status !== 3) throw new Error(`xenrr replay ${trace}: exit ${cli.status}: ${cli.stderr}`);
  const rec = await prefixRecordTime(s, events);
  return {
    prefix: what, events, 'prefix record s': rec.toFixed(2), 'replay s': replay.toFixed(2), 'xenrr replay s (with start-up)': cliSec.toFixed(2),
    'replay/record': `${(replay / rec).toFixed(2)}x`, target: '<= 2x',
  };
}

export async function benchPartial(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const { s, file } = longPingpong();
  // A complete recording (cut at chunk boundaries below), and its size.
  const full = `${DIR}/partial-full.xrr`;
  await record(s, full, { checkpointEvery: EVERY });
  const fullBytes = statSync(full).size;
  // A recorder as a user runs it, SIGKILLed halfway: by trace size, not time, whatever the machine's speed.
  const killed = `${DIR}/partial-killed.xrr`;
  rmSync(killed, { force: true });
  const child = spawn(`${ROOT}bin/xenrr`, ['record', file, '-o', killed, '--checkpoint-every', String(EVERY)], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const t0 = now();
  const size = (): number => (existsSync(killed) ? statSync(killed).size : 0);
  while (child.exitCode === null && size() < fullBytes / 2 && secs(t0) < KILL_AFTER) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await exited;
  if (!existsSync(killed)) throw new Error('the killed recorder left no trace');
  const r = TraceReader.open(full);
  const cutAt = (k: number): string => {
    const c = r.index.chunks[Math.floor(r.index.chunks.length * k)]!;
    const out = `${DIR}/partial-cut-${k}.xrr`;
    writeFileSync(out, readFileSync(full).subarray(0, c.offset + FRAME_HEADER + c.compressedSize));
    return out;
  };
  // Warm-up (record and replay paths JIT-compiled), then the measured rows.
  await row('warm-up', s, cutAt(0.125));
  const rows = [await row('SIGKILLed halfway', s, killed), await row('complete trace cut after half its chunks', s, cutAt(0.5))];
  r.close();
  return rows;
}
