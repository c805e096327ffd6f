/**
 * Linux boot benchmark: Debian's stock 6.1 kernel booting as a PV domU to
 * xenrr's /init and powering off (corpus/scenarios/linux/boot.json and
 * smp.json), the workload the project exists for, and as dom0 (dom0.json:
 * the initial domain, alone). For each: instructions to
 * power-off, a lean run's wall and CPU seconds and MIPS, then recorded
 * (events, bytes/event, recording overhead over the lean run, from CPU time)
 * and replayed (verify by re-execution: its speed against recording).
 *
 * One run each (a boot is ~2.1e9 instructions, dom0's too): figures move with the
 * host's load; CPU time is the steadier figure. Skipped, with a row saying
 * so, when the kernel or the initramfs is absent.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../sim/scenario.js';
import { record } from '../replay/record.js';
import { runScenario } from '../replay/scenario-run.js';
import { ReplaySession } from '../replay/session.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const NEEDS = [`${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`, `${ROOT}build/corpus/linux/initramfs.cpio.gz`];

/** Wall and CPU seconds of `f`. */
async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const value = await f();
  const c = process.cpuUsage(c0);
  return { value, wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

/** `names`: which of corpus/scenarios/linux/*.json (all three by default). */
export async function benchLinux(names: readonly string[] = ['boot', 'smp', 'dom0']): Promise<Row[]> {
  const absent = NEEDS.find((f) => !existsSync(f));
  if (absent !== undefined) return [{ scenario: 'linux', note: `skipped: ${absent} is absent (npm run kernels; npm run build)` }];
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const rows: Row[] = [];
  for (const name of names) {
    const file = `${ROOT}corpus/scenarios/linux/${name}.json`;
    const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
    const lean = await timed(() => runScenario(s).summary);
    const out = `${DIR}/linux-${name}.xrr`;
    const rec = await timed(() => record(s, out));
    const bytes = statSync(out).size;
    const rep = await timed(() => ReplaySession.open(TraceReader.open(out)).verify());
    const insns = lean.value.instructions;
    const ok = lean.value.domains.every((d) => d.reason === 'poweroff') && rep.value.divergence === null;
    rows.push({
      scenario: `linux/${name} (${s.domains[0]!.dom0 ? 'dom0, ' : ''}${s.domains[0]!.vcpus} vCPU)`, 'to power-off': ok ? 'yes' : 'NO',
      instructions: insns, 'lean wall s': lean.wall.toFixed(1), 'lean cpu s': lean.cpu.toFixed(1), MIPS: (insns / lean.wall / 1e6).toFixed(1),
      events: rec.value.events, 'bytes/event': (bytes / rec.value.events).toFixed(2), checkpoints: rec.value.checkpoints,
      'recorded cpu s': rec.cpu.toFixed(1), overhead: `${(((rec.cpu - lean.cpu) / lean.cpu) * 100).toFixed(1)}%`,
      'replay cpu s': rep.cpu.toFixed(1), 'replay/record': `${(rec.cpu / rep.cpu).toFixed(2)}x`,
    });
  }
  return rows;
}
