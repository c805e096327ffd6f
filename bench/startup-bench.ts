/**
 * Start-up: what a user waits for, as processes spawned from the real
 * bin/xenrr (dist/ brought up to date by a first, untimed spawn, so no
 * sample pays for a rebuild). Each round runs every command once, so a busy
 * machine weighs on all of them alike; median and fastest of each.
 *
 * - `node -e ""`: the floor, Node's own start;
 * - `xenrr --version`, `xenrr --help`;
 * - `xenrr run hello.json`: a tiny scenario end to end (29,000 guest
 *   instructions: nearly all of it is start-up);
 * - the TUI's first frame on a 10M-event trace, in a pseudo-terminal.
 *
 * `XENRR_BENCH_BIN` times another build's bin/xenrr (say, a checkout of an
 * older commit) against the same trace and scenario, for before/after
 * figures taken in the same minutes.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Row } from './cpu-bench.js';
import { bigTrace, EVENTS, median, ptyUntil } from './tui-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = process.env.XENRR_BENCH_BIN ?? `${ROOT}bin/xenrr`;
const ROUNDS = 15;

function timeExit(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: 'ignore', cwd: ROOT });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}`);
  return performance.now() - t0;
}

const row = (measure: string, xs: number[], target: string): Row => ({
  measure, samples: xs.length, 'median ms': median(xs).toFixed(0), 'fastest ms': Math.min(...xs).toFixed(0), target,
});

export async function benchStartup(): Promise<Row[]> {
  const big = await bigTrace();
  const hello = `${ROOT}corpus/scenarios/hello.json`;
  const cmds: Array<[string, string, string[], string]> = [
    ['node alone (`node -e ""`)', 'node', ['-e', ''], '-'],
    ['`xenrr --version`', BIN, ['--version'], '<= 150'],
    ['`xenrr --help`', BIN, ['--help'], '-'],
    ['`xenrr run hello.json` (end to end)', BIN, ['run', hello], '-'],
  ];
  timeExit(BIN, ['--help']);
  const pty = spawnSync('script', ['--version']).status === 0;
  const times = cmds.map((): number[] => []);
  const frames: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    cmds.forEach(([, cmd, args], k) => times[k]!.push(timeExit(cmd, args)));
    if (pty) frames.push(await ptyUntil(`${BIN} tui ${big}`, `/${EVENTS}`));
  }
  const rows = cmds.map(([name, , , target], k) => row(name, times[k]!, target));
  if (pty) rows.push(row(`TUI first frame (\`xenrr tui\` in a pty, ${(EVENTS / 1e6).toFixed(0)}M events)`, frames.filter((x) => !Number.isNaN(x)), '<= 500'));
  return rows;
}
