/**
 * Checkpoint spacing: what a checkpoint costs (time and bytes) against the
 * replay distance it bounds.
 *
 * - Seeks in a long compute-bound run with few events (trace-bench's
 *   computeLong, as a kernel boot is), recorded by events alone (one
 *   checkpoint per 50,000 events, the old default) and every N guest
 *   instructions for several N: the recording's CPU time and size, then
 *   random seeks by instruction count and `replay --to` the last event, each
 *   from a fresh session as the CLI makes one, so each re-executes from the
 *   nearest checkpoint before its target.
 * - Checkpoints of a machine by how much guest memory it has touched since
 *   it was built: the first (every touched page new to the trace's page
 *   store), the next after 1% of those pages changed (dirty tracking: only
 *   they are copied, hashed and stored), and a restore of that one (read
 *   and restore into a fresh machine); against one checkpoint in the format
 *   before the page store (every allocated frame, deduplicated within the
 *   checkpoint only).
 *
 * Seek points come from a fixed-seed xorshift stream. Times are medians,
 * wall clock and CPU time of this process (the host may be shared).
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CHECKPOINT_INSNS, record } from '../replay/record.js';
import { buildMachine } from '../replay/scenario-run.js';
import { ReplaySession } from '../replay/session.js';
import { Rng } from '../sim/cpu/oracle/rng.js';
import { parseScenario } from '../sim/scenario.js';
import { machineMemory, restoreMachine, snapshotChanged, snapshotMachine } from '../sim/snapshot.js';
import { TraceReader } from '../trace/reader.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';
import { computeLong } from './trace-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const REPEAT = Number(process.env.XENRR_BENCH_COMPUTE_REPEAT ?? 40);
const SEEKS = Number(process.env.XENRR_BENCH_COMPUTE_SEEKS ?? 12);
/** Instruction spacings compared (0: by events alone). */
const SPACINGS = (process.env.XENRR_BENCH_CHECKPOINT_INSNS ?? `0,25000000,50000000,100000000,${CHECKPOINT_INSNS},500000000`).split(',').map(Number);

/** Wall and CPU seconds of `f`. */
function timed<T>(f: () => T): { value: T; wall: number; cpu: number } {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = f();
  const c = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}
async function timedAsync<T>(f: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const s2 = (x: number): string => x.toFixed(2);

export async function benchComputeSeek(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const s = computeLong(REPEAT);
  const path = `${DIR}/compute-long.xrr`;
  const rows: Row[] = [];
  for (const every of SPACINGS) {
    const rec = await timedAsync(() => record(s, path, { checkpointEvery: 50_000, checkpointInsns: every }));
    const reader = TraceReader.open(path);
    const n = reader.index.eventCount;
    const total = rec.value.summary.instructions;
    const rng = new Rng(0x5eed5eed);
    const seeks = Array.from({ length: every === 0 ? Math.min(4, SEEKS) : SEEKS }, () => {
      const ic = 1 + rng.below(total - 1);
      return timed(() => ReplaySession.open(reader).seekIcount(1, 0, ic));
    });
    const last = timed(() => ReplaySession.open(reader).seek(n - 1));
    rows.push({
      'checkpoint every': every === 0 ? '50000 events only' : `${every / 1e6}M insns`,
      checkpoints: reader.index.checkpoints.length, 'trace MB': (statSync(path).size / 1e6).toFixed(2),
      'record s': s2(rec.wall), 'record cpu s': s2(rec.cpu),
      'random icount seeks': seeks.length, 'median s': s2(median(seeks.map((x) => x.wall))), 'max s': s2(Math.max(...seeks.map((x) => x.wall))),
      'median cpu s': s2(median(seeks.map((x) => x.cpu))), 'max cpu s': s2(Math.max(...seeks.map((x) => x.cpu))),
      '--to last event s': s2(last.wall), 'cpu s': s2(last.cpu),
    });
    reader.close();
  }
  rmSync(path);
  return rows;
}

/**
 * Guest pages as a booted kernel leaves them, roughly: 30% left zero, the
 * rest distinct pages of random bytes with two bits of entropy each (they
 * compress about 4x, as the memory of a Linux guest does). `salt` varies
 * the bytes; `every` > 1 rewrites only one page in that many of those.
 */
function touch(mem: ReturnType<typeof buildMachine>['xen']['frames']['mem'], mfns: number[], salt: number, every = 1): void {
  const rng = new Rng(0x70c4ed + salt);
  mfns.forEach((mfn, k) => {
    if (k % 10 < 3 || (every > 1 && k % every !== 5)) return;
    const f = mem.frame(mfn)!;
    for (let o = 0; o < 4096; o += 4) f.setUint32(o, rng.next() & 0x03030303);
  });
}

const ms = (xs: number[]): string => (median(xs) * 1e3).toFixed(0);
const mb = (n: number): string => (n / 1e6).toFixed(2);

export async function benchCheckpointCost(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const kernel = `${ROOT}build/corpus/pv/compute-sha256.elf`;
  const path = `${DIR}/checkpoint-cost.xrr`;
  const rows: Row[] = [];
  for (const mib of [16, 64, 256]) {
    const s = parseScenario({ name: 'touched', maxInsns: 1e9, domains: [{ name: 'd', kernel, memoryMiB: mib }] }, kernel);
    const t = { snap: [] as number[], write: [] as number[], snap2: [] as number[], write2: [] as number[], restore: [] as number[], old: [] as number[] };
    let [pages, first, next, old] = [0, 0, 0, 0];
    for (let k = 0; k < 3; k++) {
      const m = buildMachine(s);
      const w = new TraceWriter(path, testHeader(), undefined, { base: machineMemory(m, { resetDirty: true }) });
      const h0 = w.size;
      touch(m.xen.frames.mem, m.domains[0]!.p2m, 0);
      const snap = timed(() => snapshotChanged(m));
      const write = timed(() => w.checkpoint(snap.value));
      first = w.size - h0;
      touch(m.xen.frames.mem, m.domains[0]!.p2m, 1 + k, 100);
      const snap2 = timed(() => snapshotChanged(m));
      const write2 = timed(() => w.checkpoint(snap2.value));
      next = w.size - first - h0;
      w.close('all-stopped', 0);
      pages = snap.value.pages.length;
      const r = TraceReader.open(path);
      const fresh = buildMachine(s);
      const restore = timed(() => restoreMachine(fresh, r.checkpoint(1)));
      r.close();
      // The format before the page store: the whole machine, every checkpoint.
      const full = snapshotMachine(m);
      const ow = new TraceWriter(path, testHeader(), undefined, { inlinePages: true });
      const before = ow.size;
      const oldWrite = timed(() => ow.checkpoint(full));
      old = ow.size - before;
      ow.close('all-stopped', 0);
      t.snap.push(snap.cpu);
      t.write.push(write.cpu);
      t.snap2.push(snap2.cpu);
      t.write2.push(write2.cpu);
      t.restore.push(restore.cpu);
      t.old.push(oldWrite.cpu);
    }
    rows.push({
      'guest memory touched': `${mib} MiB`, 'frames': pages,
      'first: snapshot cpu ms': ms(t.snap), 'write cpu ms': ms(t.write), MB: mb(first),
      'next (1% changed): snapshot cpu ms': ms(t.snap2), 'write cpu ms ': ms(t.write2), 'MB ': mb(next),
      'read+restore cpu ms': ms(t.restore), 'old format: MB each': mb(old), 'write cpu ms  ': ms(t.old),
    });
  }
  rmSync(path);
  return rows;
}
