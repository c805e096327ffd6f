/**
 * `npm run bench`: every benchmark, printed as tables. Figures vary run to
 * run; tests never assert timings, this does not either.
 *
 * `npm run bench -- startup tui` runs only those groups (cpu, linux, xen,
 * net, trace, replay, tui, images, gdb, gdb-linux, startup).
 *
 * It runs with tsx's ES-module hooks only (`--import tsx/esm`), as do the
 * benches' child processes and the profiling aids. tsx's require hook
 * transforms the CommonJS libraries (protobufjs, commander...) with
 * esbuild, whose synchronous calls hand buffers to its worker thread:
 * that detaches an ArrayBuffer in the main thread, and V8 then drops the
 * optimized code of everything that reads a typed array or a DataView and
 * compiles it again with a detach check on every access. The core ran
 * 10-20 % slower for it (compute guests 221-236 against 256-270 MIPS over
 * the five); the CLI's bundle (dist/, no tsx) never detaches one.
 */
import { cpus } from 'node:os';
import { benchCompute, benchRss, type Row } from './cpu-bench.js';
import { benchDisk } from './disk-bench.js';
import { benchNet } from './net-bench.js';
import { benchPartial } from './partial-bench.js';
import { benchImages } from './image-bench.js';
import { benchProtocol } from './protocol-bench.js';
import { benchReplaySuite } from './replay-bench.js';
import { benchSseFp } from './sse-fp-bench.js';
import { benchCheckpointCost, benchComputeSeek } from './checkpoint-bench.js';
import { benchStartup } from './startup-bench.js';
import { benchRecord, benchRecordCorpus, benchRecordLong, benchSynthetic } from './trace-bench.js';
import { benchTui } from './tui-bench.js';
import { benchFullVsBare, benchPingpong } from './xen-bench.js';
import { benchGdb } from './gdb-bench.js';
import { benchGdbLinux } from './gdb-linux-bench.js';
import { benchLinux } from './linux-bench.js';

function table(title: string, rows: Row[]): void {
  // Every row's columns, in first-seen order: a row may add some (linux/drivers' blkif figures).
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (r: Row, c: string): string => String(r[c] ?? '');
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(width[i]!) : s.padStart(width[i]!))).join('  ');
  process.stdout.write(`\n## ${title}\n${line(cols)}\n${line(width.map((w) => '-'.repeat(w)))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => cell(r, c)))}\n`);
}

const GROUPS = ['cpu', 'linux', 'xen', 'net', 'trace', 'replay', 'tui', 'images', 'gdb', 'gdb-linux', 'startup'];
const only = process.argv.slice(2);
for (const g of only) if (!GROUPS.includes(g)) throw new Error(`unknown bench group '${g}' (groups: ${GROUPS.join(', ')})`);
const want = (g: string): boolean => only.length === 0 || only.includes(g);

process.stdout.write(`xenrr bench — ${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}\n`);
if (want('cpu')) {
  table('x86-64 core: compute guests on the bare core (best of 3)', benchCompute());
  table('memory', benchRss());
  table('SSE floating point: scalar ops through the handler entry points (best of 150 x 100k)', benchSseFp());
}
if (want('linux')) table('Linux: Debian 6.1 as a PV domU, and as dom0, booting to our /init and powering off (lean and recorded runs alternate, XENRR_BENCH_LINUX_RUNS each: the fastest of each compared)', await benchLinux());
if (want('xen')) {
  table('simulated Xen: pingpong (best of 3)', benchPingpong());
  table('disk: corpus blkfront on dom0 blkback (best of 3)', await benchDisk());
  const fvb = benchFullVsBare();
  if (fvb.length > 0) table('compute guest as a PV domain on the full machine vs the bare core (best of 3)', fvb);
}
if (want('net')) table('network: corpus netfront on dom0 netback and the switch\'s peer (best of 3)', await benchNet());
if (want('trace')) {
  table('trace: pingpong recorded vs a lean run (medians of 10 each after warm-up, interleaved; overhead from CPU time)', await benchRecord());
  table('trace: record overhead on long runs, dense and sparse (medians)', await benchRecordLong());
  table('trace: record overhead on every corpus scenario (medians of 5 each)', await benchRecordCorpus());
  table('checkpoints: spacing by instructions in a long compute-bound run with few events (seeks from a fresh session)', await benchComputeSeek());
  table('checkpoints: cost of one checkpoint by guest memory touched (medians of 3)', await benchCheckpointCost());
  table('trace: synthetic stream', await benchSynthetic());
}
if (want('replay')) {
  const rp = await benchReplaySuite();
  table('replay: verify by re-execution vs record', rp.speed);
  table('replay cursor: moves in a 1M-event trace (random points, fixed seed)', rp.seek);
  table('diff: identical prefix (chunk-hash skip) vs differing from the start', rp.diff);
  table('replay of an incomplete recording: its prefix only, vs recording that prefix', await benchPartial());
  table('check --protocol: the checks over a recorded trace (best of 3)', await benchProtocol());
}
if (want('tui')) table('tui: time to first frame in process and keypress-to-frame latency', await benchTui());
if (want('images')) {
  const images = benchImages();
  if (images.length > 0) table('kernel files: bzImage payload decoding (Debian 6.1 kernel, best of 3) and kallsyms', images);
}
if (want('gdb')) table('gdb: remote-protocol round trips over TCP on a ~1e8-instruction pingpong', await benchGdb());
if (want('gdb-linux')) {
  const gl = await benchGdbLinux();
  if (gl.length > 0) table('gdb: round trips on a Linux boot (Debian 6.1, boot.json, first 3e8 instructions)', gl);
}
if (want('startup')) table('start-up: spawning bin/xenrr (interleaved rounds)', await benchStartup());
