/**
 * `npm run bench`: every benchmark, printed as tables. Figures vary run to
 * run; tests never assert timings, this does not either.
 *
 * `npm run bench -- startup tui` runs only those groups (cpu, xen, trace,
 * replay, tui, startup).
 */
import { cpus } from 'node:os';
import { benchCompute, benchRss, type Row } from './cpu-bench.js';
import { benchReplaySuite } from './replay-bench.js';
import { benchStartup } from './startup-bench.js';
import { benchRecord, benchRecordCorpus, benchRecordLong, benchSynthetic } from './trace-bench.js';
import { benchTui } from './tui-bench.js';
import { benchFullVsBare, benchPingpong } from './xen-bench.js';

function table(title: string, rows: Row[]): void {
  const cols = Object.keys(rows[0] ?? {});
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(width[i]!) : s.padStart(width[i]!))).join('  ');
  process.stdout.write(`\n## ${title}\n${line(cols)}\n${line(width.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => String(r[c])))}\n`);
}

const GROUPS = ['cpu', 'xen', 'trace', 'replay', 'tui', 'startup'];
const only = process.argv.slice(2);
for (const g of only) if (!GROUPS.includes(g)) throw new Error(`unknown bench group '${g}' (groups: ${GROUPS.join(', ')})`);
const want = (g: string): boolean => only.length === 0 || only.includes(g);

process.stdout.write(`xenrr bench — ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}\n`);
if (want('cpu')) {
  table('x86-64 core: compute guests on the bare core (best of 3)', benchCompute());
  table('memory', benchRss());
}
if (want('xen')) {
  table('simulated Xen: pingpong (best of 3)', benchPingpong());
  const fvb = benchFullVsBare();
  if (fvb.length > 0) table('compute guest as a PV domain on the full machine vs the bare core (best of 3)', fvb);
}
if (want('trace')) {
  table('trace: pingpong recorded vs untraced (best of 10 each after warm-up, interleaved)', await benchRecord());
  table('trace: record overhead on a 10x longer pingpong (best of 3)', await benchRecordLong());
  table('trace: record overhead on every corpus scenario (best of 5 each)', await benchRecordCorpus());
  table('trace: synthetic stream', await benchSynthetic());
}
if (want('replay')) {
  const rp = await benchReplaySuite();
  table('replay: verify by re-execution vs record', rp.speed);
  table('replay cursor: moves in a 1M-event trace (random points, fixed seed)', rp.seek);
  table('diff: identical prefix (chunk-hash skip) vs differing from the start', rp.diff);
}
if (want('tui')) table('tui: time to first frame in process and keypress-to-frame latency', await benchTui());
if (want('startup')) table('start-up: spawning bin/xenrr (interleaved rounds)', await benchStartup());
