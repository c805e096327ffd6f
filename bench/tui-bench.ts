/**
 * TUI benchmarks. Time to first frame on a 10-million-event synthetic trace
 * in process (open the trace, render the App with ink-testing-library until
 * the first frame); as a process, spawning `xenrr tui` in a pseudo-terminal,
 * it is in the start-up table (startup-bench.ts). Then keypress-to-frame
 * latency, in-process: scrolling and paging and going to an event on the
 * 10M trace, and instruction steps (s/S) with the state pane open on a
 * pingpong recording (a real replay: the frame counted is the one showing
 * the new state, not "seeking..."). Median and 90th percentile.
 *
 * `XENRR_BENCH_TUI_EVENTS` changes the trace size (the trace is kept in
 * build/bench/ and rewritten when it has another size).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createElement } from 'react';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import { loadSymbols } from '../replay/symbols.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { openPoints } from '../tui/replay-point.js';
import { TimelineSource } from '../tui/source.js';
import { writeSynthetic } from '../tui/test-trace.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
export const EVENTS = Number(process.env.XENRR_BENCH_TUI_EVENTS ?? 10_000_000);

const ms = (t0: number): number => performance.now() - t0;
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
export const median = (xs: number[]): number => sorted(xs)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const p90 = (xs: number[]): number => sorted(xs)[Math.floor(0.9 * (xs.length - 1))] ?? NaN;
const row = (measure: string, trace: string, xs: number[], target: string): Row => ({ measure, trace, samples: xs.length, 'median ms': median(xs).toFixed(1), 'p90 ms': p90(xs).toFixed(1), target });

/** The 10M-event trace (kept between runs). */
export async function bigTrace(): Promise<string> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const path = `${DIR}/tui-${EVENTS}.xrr`;
  try {
    const r = TraceReader.open(path);
    const ok = r.complete && r.index.eventCount === EVENTS;
    r.close();
    if (ok) return path;
  } catch {
    // missing or unreadable: write it
  }
  writeSynthetic(path, EVENTS);
  return path;
}

/** Run `cmd` in a pseudo-terminal (script(1)) of 80x24; ms until `want` appears in its output (then it gets `q`), or NaN. */
export function ptyUntil(cmd: string, want: string): Promise<number> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
    delete env.CI;
    const p = spawn('script', ['-qfec', `stty cols 80 rows 24; ${cmd}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'], env });
    let out = '';
    let t = NaN;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (Number.isNaN(t) && out.includes(want)) {
        t = ms(t0);
        p.stdin.write('q');
        setTimeout(() => p.kill('SIGKILL'), 2000).unref();
      }
    });
    p.on('close', () => resolve(t));
  });
}

type Ink = { stdin: { write(s: string): void }; stdout: { frames: string[] }; lastFrame(): string | undefined; unmount(): void };

/** Resolve once a frame after `from` satisfies `ok` (checked on every macrotask). */
function frameWhere(r: Ink, from: number, ok: (f: string) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const poll = (): void => {
      const fs = r.stdout.frames;
      for (let i = from; i < fs.length; i++) if (ok(fs[i]!)) return resolve();
      setImmediate(poll);
    };
    poll();
  });
}

/** Latency of `key`, `n` times: write it, wait for the frame `ok` accepts. */
async function keys(r: Ink, n: number, key: () => string, ok: (f: string, k: number) => boolean): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const from = r.stdout.frames.length;
    const t0 = performance.now();
    r.stdin.write(key());
    await frameWhere(r, from, (f) => ok(f, k));
    out.push(ms(t0));
  }
  return out;
}

const status = (f: string): string => f.split('\n').at(-1) ?? '';

export async function benchTui(): Promise<Row[]> {
  const big = await bigTrace();
  const bigName = `synthetic ${(EVENTS / 1e6).toFixed(0)}M events`;
  const rows: Row[] = [];

  // ---- in process ------------------------------------------------------------------
  // Ink renders every frame only outside CI.
  delete process.env.CI;
  const [{ render }, { App }] = await Promise.all([import('ink-testing-library'), import('../tui/app.js')]);
  const firsts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const src = new TimelineSource(TraceReader.open(big));
    const r = render(createElement(App, { source: src, columns: 80, rows: 24, colour: false })) as unknown as Ink;
    await frameWhere(r, 0, (f) => status(f).startsWith(`0/${EVENTS}`));
    firsts.push(ms(t0));
    r.unmount();
  }
  rows.push(row('first frame: open + render, in process', bigName, firsts, '-'));

  const src = new TimelineSource(TraceReader.open(big));
  const r = render(createElement(App, { source: src, columns: 80, rows: 24, colour: false })) as unknown as Ink;
  await frameWhere(r, 0, (f) => status(f).startsWith(`0/${EVENTS}`));
  rows.push(row('key: scroll (j)', bigName, await keys(r, 300, () => 'j', (f, k) => status(f).startsWith(`${k + 1}/`)), '<= 50'));
  rows.push(row('key: page down (PgDn)', bigName, await keys(r, 100, () => '\u001B[6~', (f) => status(f).includes('/')), '<= 50'));
  let x = 12345;
  const targets: number[] = [];
  const goto = (): string => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    targets.push(x % EVENTS);
    return `:${x % EVENTS}\r`;
  };
  rows.push(row('key: go to event (:N Enter), anywhere', bigName, await keys(r, 30, goto, (f, k) => status(f).startsWith(`${targets[k]}/`)), '<= 50'));
  r.unmount();

  // ---- stepping with the state pane, on a real recording ------------------------
  const scenario = `${ROOT}corpus/scenarios/pingpong.json`;
  const pp = `${DIR}/tui-pingpong.xrr`;
  await record(parseScenario(JSON.parse(readFileSync(scenario, 'utf8')), scenario), pp, { checkpointEvery: 50000 });
  const reader = TraceReader.open(pp);
  const ps = new TimelineSource(reader, loadSymbols(reader.header));
  const mid = Math.floor(reader.index.eventCount / 2);
  const s = render(createElement(App, { source: ps, columns: 80, rows: 24, colour: false, seekDelay: 0, openPoints: () => openPoints(ReplaySession.open(reader), ps.symbols) })) as unknown as Ink;
  await frameWhere(s, 0, (f) => status(f).startsWith('0/'));
  for (const k of [':', ...String(mid), '\r']) s.stdin.write(k);
  await frameWhere(s, 0, (f) => status(f).startsWith(`${mid}/`));
  const settled = (f: string): boolean => !f.includes('seeking...');
  const t0 = performance.now();
  s.stdin.write('\t');
  s.stdin.write('\t');
  await frameWhere(s, 0, (f) => f.includes(`at event ${mid} `) && settled(f));
  const firstState = ms(t0);
  // At an event the vCPU is inside the instruction that emitted it: s completes it (icount + 1).
  let want = ps.get(mid)!.icount;
  const stepOk = (f: string): boolean => settled(f) && f.includes(`at icount ${want} `);
  const fwd = await keys(s, 30, () => (want++, 's'), stepOk);
  const back = await keys(s, 30, () => (want--, 'S'), stepOk);
  s.unmount();
  const ppName = `pingpong, ${reader.index.eventCount} events`;
  rows.push(row('state pane: first seek (Tab to it at event N/2)', ppName, [firstState], '-'));
  rows.push(row('key: step one instruction (s), state pane', ppName, fwd, '<= 50'));
  rows.push(row('key: reverse-step (S), state pane', ppName, back, '<= 50'));
  return rows;
}
