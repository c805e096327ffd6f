/**
 * Linux boot benchmark: Debian's stock 6.1 kernel booting as a PV domU to
 * xenrr's /init and powering off (corpus/scenarios/linux/boot.json and
 * smp.json; drivers.json: its own xen-blkfront, ext4 and xen-netfront
 * modules loaded, an ext4 disk on blkback mounted, read, written and
 * trimmed, with the blkif requests and data blkback served, then ICMP and
 * UDP echo with netback's peer), the workload the project exists
 * for, and as dom0 (dom0-alone.json: the initial domain, alone; dom0.json:
 * dom0 whose own xen-blkback and xen-netback serve a Linux domU running the
 * drivers checks, both booted, ~4.9e9 instructions). For each: instructions to
 * power-off, a lean run's wall and CPU seconds and MIPS, then recorded
 * (events, trace size and bytes/event, what the checkpoints take of it),
 * the recording overhead over the lean run (see below), seeks from a fresh
 * session as the CLI makes them (restoring the last checkpoint alone;
 * random instruction counts, re-executing from the nearest checkpoint
 * before each; `replay --to` the last event), and replayed (verify by
 * re-execution: its speed against recording).
 *
 * The 1-vCPU boot is also recorded with checkpoints in the format before
 * the trace's page store (each checkpoint the whole machine): the before
 * of that change.
 *
 * Overhead: lean and recorded runs alternate, XENRR_BENCH_LINUX_RUNS times
 * each (default 3: lean, record, lean, record, lean, record), and the fastest of each is
 * compared. The first run of a scenario in a process pays for translating
 * and compiling its code (a quarter to a half of its CPU time), the next
 * ones much less: one run of each would compare a cold run with a warm one.
 * Wall time is what a user waits for: a recording of a big machine
 * compresses and writes its checkpoints in a writer thread
 * (trace/writer-thread.ts), on another core where there is one. The
 * process's CPU time (all threads: V8 compiles and collects beside the
 * simulation, and the writer thread works) and the main thread's (Linux;
 * steadier, since background compilation varies from run to run) are
 * compared too. The cost
 * per event is the recorded run's extra CPU over the events it wrote (its
 * checkpoints included); the checkpoints' own share is given apart. Every
 * recording of a scenario must give the same bytes (`same trace`).
 *
 * A boot is ~2.1e9 instructions (dom0's too): figures move with the host's
 * load; CPU time is the steadier figure. Skipped, with a row saying
 * so, when the kernel or the initramfs is absent. XENRR_BENCH_LINUX=drivers
 * (a comma-separated list of boot, smp, dom0-alone, dom0, drivers, boot-inline) runs only those.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '../sim/cpu/oracle/rng.js';
import type { Machine, RunSummary } from '../sim/machine.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { restoreMachine } from '../sim/snapshot.js';
import { record, RECORD_DEFAULTS } from '../replay/record.js';
import { buildMachine } from '../replay/scenario-run.js';
import { ReplaySession } from '../replay/session.js';
import { TraceReader } from '../trace/reader.js';
import { FRAME_HEADER } from '../trace/schema.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const NEEDS = [`${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`, `${ROOT}build/corpus/linux/initramfs.cpio.gz`];
const SEEKS = Number(process.env.XENRR_BENCH_LINUX_SEEKS ?? 3);
/** Lean and recorded runs of each scenario (alternating; the fastest of each is compared). */
const RUNS = Math.max(1, Number(process.env.XENRR_BENCH_LINUX_RUNS ?? 3));
/** What the drivers scenario needs on top. */
const DRIVERS_NEEDS = [`${ROOT}build/corpus/linux/initramfs-drivers-6.1.0-57-amd64.cpio.gz`, `${ROOT}build/corpus/disks/ext4.img`];
/** What dom0 serving the drivers domU needs on top of that. */
const DOM0_NEEDS = [...DRIVERS_NEEDS, `${ROOT}build/corpus/linux/initramfs-dom0-6.1.0-57-amd64.cpio.gz`];

type Served = { rdReq: number; wrReq: number; fReq: number; dsReq: number; rdSect: number; wrSect: number };

/** Requests and sectors blkback's rings have served so far (every ring of every device), or null when it has none. */
function blkifServed(m: Machine): Served | null {
  const t: Served = { rdReq: 0, wrReq: 0, fReq: 0, dsReq: 0, rdSect: 0, wrSect: 0 };
  let rings = 0;
  for (const d of m.blkback.list) {
    for (const r of d.rings) {
      rings++;
      for (const k of Object.keys(t) as Array<keyof Served>) t[k] += r.stats[k];
    }
  }
  return rings === 0 ? null : t;
}

/** A lean run; with disks also what blkback served, as its rings stood last (a power-off takes the device down). */
function leanRun(s: Scenario): { summary: RunSummary; served: Served | null } {
  const m = buildMachine(s);
  let served: Served | null = null;
  const summary = m.run(s.maxInsns, s.domains[0]!.disks.length === 0 ? undefined : () => void (served = blkifServed(m) ?? served));
  return { summary, served };
}

/** This thread's CPU seconds so far (Linux's schedstat), or NaN where there is none. */
function threadCpu(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** Wall and CPU seconds of `f`: the process's (all threads) and the main thread's (NaN where unknown). */
async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number; main: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const m0 = threadCpu();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6, main: threadCpu() - m0 };
}

/** The least `what` (wall or main-thread seconds) over `runs`: each measure's fastest run. */
const least = (runs: ReadonlyArray<{ wall: number; main: number }>, what: 'wall' | 'main'): number => Math.min(...runs.map((r) => r[what]));
/** The run of `runs` with the least CPU time. */
const fastest = <T extends { cpu: number }>(runs: T[]): T => runs.reduce((a, b) => (b.cpu < a.cpu ? b : a));
const pct = (x: number, base: number): string => (Number.isNaN(x) || Number.isNaN(base) ? '-' : `${(((x - base) / base) * 100).toFixed(1)}%`);
const served = (io: Served): string => `${io.rdReq} rd ${io.rdSect / 2} KiB, ${io.wrReq} wr ${io.wrSect / 2} KiB, ${io.fReq} flush, ${io.dsReq} discard`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const s1 = (x: number): string => x.toFixed(1);

/** What a recorded trace's checkpoints cost and how fast it seeks (see the file comment). */
async function seeks(s: Scenario, out: string): Promise<Row> {
  const r = TraceReader.open(out);
  const cps = r.index.checkpoints;
  const cpBytes = cps.reduce((n, c) => n + FRAME_HEADER + Buffer.from(r.read(c.offset + 1, 4)).readUInt32LE(0), 0) + r.index.pageBlocks.reduce((n, b) => n + FRAME_HEADER + b.compressedSize, 0);
  const restore = await timed(() => {
    const m = buildMachine(s);
    const t = process.cpuUsage();
    restoreMachine(m, r.checkpoint(cps.length - 1));
    const c = process.cpuUsage(t);
    return (c.user + c.system) / 1e6;
  });
  const v0 = r.index.vcpus[0]!; // the guest's first vCPU (domain 1 for a domU, 0 for dom0)
  const rng = new Rng(0x11b007);
  const at: number[] = [];
  for (let k = 0; k < SEEKS; k++) at.push((await timed(() => ReplaySession.open(r).seekIcount(v0.dom, v0.vcpu, 1 + rng.below(v0.icount - 1)))).cpu);
  const last = await timed(() => ReplaySession.open(r).seek(r.index.eventCount - 1));
  r.close();
  return {
    'trace MB': (statSync(out).size / 1e6).toFixed(2), 'checkpoints MB': (cpBytes / 1e6).toFixed(2), 'restore last cpu s': restore.value.toFixed(2),
    [`${SEEKS} icount seeks cpu s (median/max)`]: `${s1(median(at))}/${s1(Math.max(...at))}`, '--to last event cpu s': s1(last.cpu),
  };
}

/** `names`: which of corpus/scenarios/linux/*.json (boot-inline: boot.json with checkpoints as before the page store). */
export async function benchLinux(names: readonly string[] = ['boot', 'smp', 'dom0-alone', 'dom0', 'drivers', 'boot-inline']): Promise<Row[]> {
  const absent = NEEDS.find((f) => !existsSync(f));
  if (absent !== undefined) return [{ scenario: 'linux', note: `skipped: ${absent} is absent (npm run kernels; npm run build)` }];
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const rows: Row[] = [];
  const only = process.env.XENRR_BENCH_LINUX?.split(',');
  for (const name of names.filter((n) => only === undefined || only.includes(n))) {
    const missing = name === 'drivers' ? DRIVERS_NEEDS.find((f) => !existsSync(f)) : name === 'dom0' ? DOM0_NEEDS.find((f) => !existsSync(f)) : undefined;
    if (missing !== undefined) {
      rows.push({ scenario: `linux/${name}`, note: `skipped: ${missing} is absent (npm run kernels; npm run build)` });
      continue;
    }
    const inline = name === 'boot-inline';
    const file = `${ROOT}corpus/scenarios/linux/${inline ? 'boot' : name}.json`;
    const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
    const out = `${DIR}/linux-${name}.xrr`;
    const timedLean = () => timed(() => leanRun(s));
    const timedRecord = () => timed(() => record(s, out, { ...RECORD_DEFAULTS, inlinePages: inline }));
    const leans: Array<Awaited<ReturnType<typeof timedLean>>> = [];
    const recs: Array<Awaited<ReturnType<typeof timedRecord>>> = [];
    const digests = new Set<string>();
    for (let k = 0; k < (inline ? 1 : RUNS); k++) {
      if (!inline) leans.push(await timedLean());
      recs.push(await timedRecord());
      digests.add(createHash('sha256').update(readFileSync(out)).digest('hex'));
    }
    const lean = inline ? null : fastest(leans);
    const rec = fastest(recs);
    const bytes = statSync(out).size;
    const seek = await seeks(s, out);
    const rep = inline ? null : await timed(() => ReplaySession.open(TraceReader.open(out)).verify());
    const insns = rec.value.summary.instructions;
    const events = rec.value.events;
    const ok = rec.value.summary.domains.every((d) => d.reason === 'poweroff') && (rep === null || rep.value.divergence === null);
    rows.push({
      scenario: `linux/${inline ? 'boot' : name} (${s.domains[0]!.dom0 ? `dom0${s.domains.length > 1 ? ` + ${s.domains.length - 1} domU` : ''}, ` : ''}${s.domains[0]!.vcpus} vCPU)${inline ? ', checkpoints before the page store' : ''}`, 'to power-off': ok ? 'yes' : 'NO',
      instructions: insns, 'lean wall s': lean === null ? '-' : s1(lean.wall), 'lean cpu s': lean === null ? '-' : s1(lean.cpu), MIPS: lean === null ? '-' : (insns / lean.wall / 1e6).toFixed(1),
      events, 'bytes/event': (bytes / events).toFixed(2), checkpoints: rec.value.checkpoints, ...seek,
      'recorded wall s': s1(least(recs, 'wall')), 'recorded cpu s': s1(rec.cpu),
      'overhead wall': lean === null ? '-' : pct(least(recs, 'wall'), least(leans, 'wall')),
      'overhead cpu': lean === null ? '-' : pct(rec.cpu, lean.cpu), 'overhead main thread': lean === null ? '-' : pct(least(recs, 'main'), least(leans, 'main')),
      'cost/event µs': lean === null ? '-' : (((rec.cpu - lean.cpu) / events) * 1e6).toFixed(1),
      'checkpoints cpu s (ms each)': `${rec.value.checkpointCpu.toFixed(2)} (${((rec.value.checkpointCpu / Math.max(1, rec.value.checkpoints)) * 1e3).toFixed(0)})`,
      runs: inline ? 1 : RUNS, 'same trace': digests.size === 1 ? 'yes' : 'NO',
      'replay cpu s': rep === null ? '-' : s1(rep.cpu), 'replay/record': rep === null ? '-' : `${(rec.cpu / rep.cpu).toFixed(2)}x`,
      ...(lean?.value.served == null ? {} : { 'blkif served': served(lean.value.served) }),
    });
  }
  return rows;
}
