/**
 * Linux boot benchmark: Debian's stock 6.1 kernel booting as a PV domU to
 * xenrr's /init and powering off (corpus/scenarios/linux/boot.json and
 * smp.json; drivers.json: its own xen-blkfront and ext4 modules loaded and
 * an ext4 disk on blkback mounted, read, written and trimmed, with the
 * blkif requests and data blkback served), the workload the project exists
 * for. For each: instructions to
 * power-off, a lean run's wall and CPU seconds and MIPS, then recorded
 * (events, bytes/event, recording overhead over the lean run, from CPU time)
 * and replayed (verify by re-execution: its speed against recording).
 *
 * One run each (a boot is ~2.1e9 instructions): figures move with the
 * host's load; CPU time is the steadier figure. Skipped, with a row saying
 * so, when the kernel or the initramfs is absent. XENRR_BENCH_LINUX=drivers
 * (a comma-separated list of boot, smp, drivers) runs only those.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Machine, RunSummary } from '../sim/machine.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { record } from '../replay/record.js';
import { buildMachine } from '../replay/scenario-run.js';
import { ReplaySession } from '../replay/session.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const NEEDS = [`${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`, `${ROOT}build/corpus/linux/initramfs.cpio.gz`];
/** What the drivers scenario needs on top. */
const DRIVERS_NEEDS = [`${ROOT}build/corpus/linux/initramfs-drivers-6.1.0-57-amd64.cpio.gz`, `${ROOT}build/corpus/disks/ext4.img`];

/** Wall and CPU seconds of `f`. */
async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

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

/** A lean run; for the drivers scenario also what blkback served, as its rings stood last (a power-off takes the device down). */
function leanRun(s: Scenario): { summary: RunSummary; served: Served | null } {
  const m = buildMachine(s);
  let served: Served | null = null;
  const summary = m.run(s.maxInsns, s.domains[0]!.disks.length === 0 ? undefined : () => void (served = blkifServed(m) ?? served));
  return { summary, served };
}

export async function benchLinux(): Promise<Row[]> {
  const absent = NEEDS.find((f) => !existsSync(f));
  if (absent !== undefined) return [{ scenario: 'linux', note: `skipped: ${absent} is absent (npm run kernels; npm run build)` }];
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const rows: Row[] = [];
  const only = process.env.XENRR_BENCH_LINUX?.split(',');
  for (const name of ['boot', 'smp', 'drivers'].filter((n) => only === undefined || only.includes(n))) {
    const missing = name === 'drivers' ? DRIVERS_NEEDS.find((f) => !existsSync(f)) : undefined;
    if (missing !== undefined) {
      rows.push({ scenario: `linux/${name}`, note: `skipped: ${missing} is absent (npm run kernels; npm run build)` });
      continue;
    }
    const file = `${ROOT}corpus/scenarios/linux/${name}.json`;
    const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
    const lean = await timed(() => leanRun(s));
    const out = `${DIR}/linux-${name}.xrr`;
    const rec = await timed(() => record(s, out));
    const bytes = statSync(out).size;
    const rep = await timed(() => ReplaySession.open(TraceReader.open(out)).verify());
    const insns = lean.value.summary.instructions;
    const io = lean.value.served;
    const ok = lean.value.summary.domains.every((d) => d.reason === 'poweroff') && rep.value.divergence === null;
    rows.push({
      scenario: `linux/${name} (${s.domains[0]!.vcpus} vCPU)`, 'to power-off': ok ? 'yes' : 'NO',
      instructions: insns, 'lean wall s': lean.wall.toFixed(1), 'lean cpu s': lean.cpu.toFixed(1), MIPS: (insns / lean.wall / 1e6).toFixed(1),
      events: rec.value.events, 'bytes/event': (bytes / rec.value.events).toFixed(2), checkpoints: rec.value.checkpoints,
      'recorded cpu s': rec.cpu.toFixed(1), overhead: `${(((rec.cpu - lean.cpu) / lean.cpu) * 100).toFixed(1)}%`,
      'replay cpu s': rep.cpu.toFixed(1), 'replay/record': `${(rec.cpu / rep.cpu).toFixed(2)}x`,
      ...(io === null ? {} : { 'blkif served': `${io.rdReq} rd ${io.rdSect / 2} KiB, ${io.wrReq} wr ${io.wrSect / 2} KiB, ${io.fReq} flush, ${io.dsReq} discard` }),
    });
  }
  return rows;
}
