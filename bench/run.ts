/**
 * `npm run bench`: every benchmark, printed as tables. Figures vary run to
 * run; tests never assert timings, this does not either.
 */
import { cpus } from 'node:os';
import { benchCompute, benchRss, type Row } from './cpu-bench.js';
import { benchPartial } from './partial-bench.js';
import { benchProtocol } from './protocol-bench.js';
import { benchReplaySuite } from './replay-bench.js';
import { benchSseFp } from './sse-fp-bench.js';
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

process.stdout.write(`xenrr bench — ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}\n`);
table('x86-64 core: compute guests on the bare core (best of 3)', benchCompute());
table('memory', benchRss());
table('SSE floating point: scalar ops through the handler entry points (best of 150 x 100k)', benchSseFp());
table('simulated Xen: pingpong (best of 3)', benchPingpong());
const fvb = benchFullVsBare();
if (fvb.length > 0) table('compute guest as a PV domain on the full machine vs the bare core (best of 3)', fvb);
table('trace: pingpong recorded vs untraced (best of 10 each after warm-up, interleaved)', await benchRecord());
table('trace: record overhead on a 10x longer pingpong (best of 3)', await benchRecordLong());
table('trace: record overhead on every corpus scenario (best of 5 each)', await benchRecordCorpus());
table('trace: synthetic stream', await benchSynthetic());
const rp = await benchReplaySuite();
table('replay: verify by re-execution vs record', rp.speed);
table('replay cursor: moves in a 1M-event trace (random points, fixed seed)', rp.seek);
table('diff: identical prefix (chunk-hash skip) vs differing from the start', rp.diff);
table('replay of an incomplete recording: its prefix only, vs recording that prefix', await benchPartial());
table('tui: time to first frame and keypress-to-frame latency', await benchTui());
table('check --protocol: the checks over a recorded trace (best of 3)', await benchProtocol());
