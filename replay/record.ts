/**
 * Recording: run a scenario with the event stream going to a trace file,
 * taking a checkpoint between scheduler slices whenever `checkpointEvery`
 * events or `checkpointInsns` guest instructions (all vCPUs) have passed
 * since the last one: events bound a seek's re-execution in event-dense
 * runs, instructions in compute-bound ones (a kernel booting).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RunSummary } from '../sim/machine.js';
import { kernelPath, type Scenario } from '../sim/scenario.js';
import { snapshotMachine } from '../sim/snapshot.js';
import { PV_CPUID } from '../sim/xen/cpuid.js';
import { FORMAT_VERSION, type HeaderData } from '../trace/schema.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import { buildMachine } from './scenario-run.js';

export const XENRR_VERSION = '0.1.0';
/**
 * `xenrr record`'s default guest instructions between checkpoints. A
 * checkpoint costs what the guests' touched memory costs to hash and
 * compress (measured, bench/checkpoint-bench.ts: 25 ms and 0.1 MB for a
 * corpus guest, 0.6 s and 15 MB for 64 MiB touched, as a Linux kernel's
 * image alone is); a seek re-executes at most this many instructions (2 s
 * at the core's 120 MIPS on compute code). At this spacing a 64 MiB guest
 * pays under a tenth of its recording time for checkpoints.
 */
export const CHECKPOINT_INSNS = 250_000_000;

export type RecordOptions = { checkpointEvery?: number; checkpointInsns?: number; maxInsns?: number; seed?: number; progress?: (events: number, instructions: number) => void };
export type RecordResult = { summary: RunSummary; events: number; bytes: number; checkpoints: number };

/** The trace header for a scenario run. */
export function traceHeader(s: Scenario, seed: number, checkpointEvery: number, maxInsns = s.maxInsns): HeaderData {
  const { file, ...rest } = s;
  return {
    magic: 'xenrr-trace', formatVersion: FORMAT_VERSION, xenrrVersion: XENRR_VERSION,
    scenarioJson: JSON.stringify({ ...rest, seed, maxInsns }), scenarioFile: file,
    images: s.domains.map((d) => {
      const bytes = readFileSync(kernelPath(s, d.kernel));
      return { role: 'kernel', domain: d.name, path: kernelPath(s, d.kernel), sha256: createHash('sha256').update(bytes).digest(), size: bytes.length };
    }),
    seed,
    cpuid: Object.entries(PV_CPUID).map(([leaf, [eax, ebx, ecx, edx]]) => ({ leaf: Number(leaf), eax, ebx, ecx, edx })),
    nsPerInsn: 1, tscKhz: 1_000_000, checkpointEvery, wallclock: s.wallclock,
  };
}

export async function record(s: Scenario, out: string, opts: RecordOptions = {}): Promise<RecordResult> {
  await initZstd();
  const seed = opts.seed ?? s.seed;
  const every = opts.checkpointEvery ?? 0;
  const insns = opts.checkpointInsns ?? 0;
  const writer = new TraceWriter(out, { ...traceHeader(s, seed, every, opts.maxInsns ?? s.maxInsns), checkpointInsns: insns });
  const machine = buildMachine(s, { seed, sink: (e, pos) => writer.append(e, pos) });
  let lastCheckpoint = 0;
  let lastInsns = 0;
  let checkpoints = 0;
  const checkpoint = (): void => {
    const snap = snapshotMachine(machine);
    writer.checkpoint(snap);
    lastCheckpoint = writer.eventCount;
    lastInsns = machine.instructions;
    checkpoints++;
  };
  // No checkpoint at seq 0: the header (scenario, images, seed) rebuilds that state.
  const summary = machine.run(opts.maxInsns ?? s.maxInsns, () => {
    if ((every > 0 && writer.eventCount - lastCheckpoint >= every) || (insns > 0 && machine.instructions - lastInsns >= insns)) checkpoint();
    opts.progress?.(writer.eventCount, machine.instructions);
  });
  writer.close(summary.stop, summary.time);
  return { summary, events: writer.eventCount, bytes: writer.size, checkpoints };
}
