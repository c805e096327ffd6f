/**
 * Recording: run a scenario with the event stream going to a trace file,
 * taking a checkpoint between scheduler slices whenever `checkpointEvery`
 * events, `checkpointInsns` guest instructions (all vCPUs) or
 * `checkpointCost` of seek cost (below) have passed since the last
 * one, whichever first: events bound a seek's re-execution in event-dense
 * runs, instructions in compute-bound ones, and the cost puts checkpoints
 * where re-executing is slow (a kernel's run-once init code) rather than
 * evenly (record-defaults.ts has the rule and its measurements).
 *
 * Seek cost (record-defaults.ts `seekCost`) is deterministic and the same
 * whether code runs translated or not: instructions, raised in cold code
 * by the code-frame entries the vCPUs counted (Cpu.codeEntries, afresh
 * after each checkpoint, as a seek's fresh machine starts afresh), plus
 * events.
 *
 * Checkpoints cost what changed: the machine's memory as built is the
 * writer's base (pages are stored against it), and each checkpoint is a
 * snapshotChanged, the bytes of the frames written since the one before.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cpu } from '../sim/cpu/cpu.js';
import type { Machine, RunSummary } from '../sim/machine.js';
import { VERSION } from '../sim/package-info.js';
import { withActions, withChaos, type Scenario, type ScenarioAction } from '../sim/scenario.js';
import { machineMemory, snapshotChanged, snapshotMachine } from '../sim/snapshot.js';
import { PV_CPUID } from '../sim/xen/cpuid.js';
import { FORMAT_VERSION, type HeaderData } from '../trace/schema.js';
import { CHUNK_EVENTS, TraceWriter } from '../trace/writer.js';
import { threadCpu } from '../trace/writer-thread.js';
import { initZstd } from '../trace/zstd.js';
import { scenarioIdentity } from './images.js';
import { seekCost } from './record-defaults.js';
import { buildMachine, domainFiles } from './scenario-run.js';

export const XENRR_VERSION = VERSION;
export { CHECKPOINT_COST, CHECKPOINT_INSNS, RECORD_DEFAULTS } from './record-defaults.js';

/**
 * `actions`: toolstack actions after the scenario's own (`--action`);
 * `chaos`: a chaos seed (`--chaos`). The header's scenario holds them all
 * (so replay re-applies them), its identity only the scenario's.
 * `jitThreshold`: the vCPUs' translation threshold (the trace is the same whatever it is).
 * `inlinePages`: checkpoints as traces older than the page store have them (full snapshots, each with its own pages: tests of old traces).
 * `writerThread`: whether checkpoints are compressed and written in a
 * writer thread (trace/writer-thread.ts; the trace is the same either way).
 * By default they are when the machine is built with THREAD_FRAMES frames
 * or more: a Linux guest's checkpoints take ~25 ms each, a corpus guest's
 * (tens of frames) well under the thread's start.
 */
export type RecordOptions = {
  checkpointEvery?: number; checkpointInsns?: number; checkpointCost?: number; maxInsns?: number; seed?: number; actions?: readonly ScenarioAction[]; chaos?: number;
  jitThreshold?: number; progress?: (events: number, instructions: number) => void; inlinePages?: boolean; writerThread?: boolean;
};
export const THREAD_FRAMES = 4096;
/**
 * `machine`: as the run left it (its disks' overlays, for tests).
 * `checkpointCpu`: CPU seconds spent taking and writing the checkpoints
 * (the recorder's thread and the writer thread's, where Linux tells them
 * apart), for benchmarks; nothing depends on it.
 */
export type RecordResult = { summary: RunSummary; events: number; bytes: number; checkpoints: number; checkpointCpu: number; machine: Machine };

type Image = HeaderData['images'][number];

/** An image as the scenario names it (`name`), hashed from the file it resolves to (`file`); no path: see images.ts. */
function image(role: string, domain: string, name: string, file: string): Image {
  const bytes = readFileSync(file);
  return { role, domain, path: '', name, sha256: createHash('sha256').update(bytes).digest(), size: bytes.length };
}

/**
 * The files a scenario's run reads, by role: every domain's kernel (the
 * file as named, an ELF or a bzImage) in domain order, then ramdisks, then
 * symbol files, then disk images (each domain's in the scenario's order, then its block-attach actions'; a
 * disk's name is its `target`). Replay checks kernels, ramdisks and disks
 * against these hashes (a disk as the run started: mode "w!" changes the
 * file); symbols are used while theirs still matches.
 */
export function traceImages(s: Scenario): Image[] {
  const files = s.domains.map((d, k) => ({ d, ...domainFiles(s, k) }));
  return [
    ...files.map((f) => image('kernel', f.d.name, f.d.kernel, f.kernel)),
    ...files.flatMap((f) => (f.ramdisk === undefined ? [] : [image('ramdisk', f.d.name, f.d.ramdisk!, f.ramdisk)])),
    ...files.flatMap((f) => (f.symbols === undefined ? [] : [image('symbols', f.d.name, f.d.symbols!, f.symbols)])),
    ...files.flatMap((f) => f.disks.map((d) => image('disk', f.d.name, d.target, d.file))),
  ];
}

/**
 * The trace header for a scenario run. Nothing in it depends on where the
 * scenario or the images are (images.ts): the same run recorded from any
 * directory gives the same bytes.
 */
export function traceHeader(s: Scenario, seed: number, checkpointEvery: number, maxInsns = s.maxInsns, actions: readonly ScenarioAction[] = [], chaos?: number): HeaderData {
  const id = scenarioIdentity(s);
  const full = withChaos(withActions(s, actions), chaos);
  const { file: _file, ...rest } = full;
  return {
    magic: 'xenrr-trace', formatVersion: FORMAT_VERSION, xenrrVersion: XENRR_VERSION,
    scenarioJson: JSON.stringify({ ...rest, seed, maxInsns }), scenarioFile: '', scenarioName: id.name, scenarioSha256: id.sha256,
    // with the --action disks (block-attach images) after each domain's own
    images: traceImages(full),
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
  const cost = opts.checkpointCost ?? 0;
  // The machine first: a scenario that cannot be built leaves no trace file behind (building emits no event).
  let writer: TraceWriter | null = null;
  const machine = buildMachine(withChaos(withActions(s, opts.actions ?? []), opts.chaos), { seed, jitThreshold: opts.jitThreshold, sink: (e, pos) => writer!.append(e, pos) });
  const inline = opts.inlinePages === true;
  // The base: memory as built, which a reader rebuilds from the header before restoring any checkpoint.
  let base = (every > 0 || insns > 0 || cost > 0) && !inline ? machineMemory(machine, { resetDirty: true }) : undefined;
  writer = new TraceWriter(out, { ...traceHeader(s, seed, every, opts.maxInsns ?? s.maxInsns, opts.actions, opts.chaos), checkpointInsns: insns, checkpointCost: cost }, CHUNK_EVENTS, { base, inlinePages: inline, thread: !inline && base !== undefined && (opts.writerThread ?? base.length >= THREAD_FRAMES) });
  // (a writer thread has its own copy: this one need not live through the run)
  base = undefined;
  let lastCheckpoint = 0;
  let lastInsns = 0;
  let checkpoints = 0;
  let checkpointCpu = 0;
  const cpus = (): Cpu[] => machine.domains.flatMap((d) => d.vcpus.map((v) => v.cpu));
  if (cost > 0) for (const c of cpus()) c.startCodeSet();
  /** Seek cost since the last checkpoint (record-defaults.ts; a vCPU created since counts from its first slice). */
  const costNow = (): number => {
    let entries = 0;
    // (between every two slices: no arrays built here)
    for (const d of machine.domains) {
      for (const v of d.vcpus) {
        if (!v.cpu.countingCode) v.cpu.startCodeSet();
        entries += v.cpu.codeEntries;
      }
    }
    return seekCost(machine.instructions - lastInsns, entries, writer!.eventCount - lastCheckpoint);
  };
  const checkpoint = (): void => {
    const c0 = threadCpu();
    writer.checkpoint(inline ? snapshotMachine(machine) : snapshotChanged(machine));
    checkpointCpu += threadCpu() - c0;
    lastCheckpoint = writer.eventCount;
    lastInsns = machine.instructions;
    checkpoints++;
    if (cost > 0) for (const c of cpus()) c.startCodeSet();
  };
  // No checkpoint at seq 0: the header (scenario, images, seed) rebuilds that state.
  const summary = machine.run(opts.maxInsns ?? s.maxInsns, () => {
    if ((every > 0 && writer.eventCount - lastCheckpoint >= every) || (insns > 0 && machine.instructions - lastInsns >= insns) || (cost > 0 && costNow() >= cost)) checkpoint();
    opts.progress?.(writer.eventCount, machine.instructions);
  });
  writer.close(summary.stop, summary.time, machine.domains.flatMap((d) => d.vcpus.map((v) => ({ dom: d.id, vcpu: v.id, icount: v.cpu.retired() }))));
  return { summary, events: writer.eventCount, bytes: writer.size, checkpoints, checkpointCpu: checkpointCpu + writer.threadCheckpointCpu, machine };
}
