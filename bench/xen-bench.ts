/**
 * Simulated-Xen benchmarks: hypercalls/s on the pingpong scenario, and the
 * same computation as a PV domain on the full machine against the bare core.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runFlat } from '../sim/cpu/flat.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { runScenario } from '../replay/scenario-run.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const REPEAT = Number(process.env.XENRR_BENCH_REPEAT ?? 3);

function scenario(file: string): Scenario {
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
}

function best<T>(f: () => T): { value: T; seconds: number } {
  let seconds = Infinity;
  let value!: T;
  for (let k = 0; k < REPEAT; k++) {
    const t0 = process.hrtime.bigint();
    value = f();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { value, seconds };
}

export function benchPingpong(): Row[] {
  const s = scenario(`${ROOT}corpus/scenarios/pingpong.json`);
  const { value, seconds } = best(() => runScenario(s).summary);
  const hypercalls = Object.values(value.hypercalls).reduce((a, b) => a + b, 0);
  return [{
    scenario: 'pingpong (1000 round trips)', instructions: value.instructions, hypercalls, events: value.events,
    seconds: seconds.toFixed(3), 'hypercalls/s': Math.round(hypercalls / seconds), 'events/s': Math.round(value.events / seconds),
    MIPS: (value.instructions / seconds / 1e6).toFixed(1),
  }];
}

export function benchFullVsBare(): Row[] {
  const rows: Row[] = [];
  for (const name of ['sha256', 'crc32', 'bignum']) {
    const pv = `${ROOT}build/corpus/pv/compute-${name}.elf`;
    if (!existsSync(pv)) continue;
    const bare = best(() => runFlat(readFileSync(`${ROOT}build/corpus/${name}.elf`)));
    const s = parseScenario({ name, maxInsns: 1e10, domains: [{ name, kernel: pv, memoryMiB: 32 }] }, pv);
    const full = best(() => runScenario(s).summary);
    const bareMips = bare.value.instructions / bare.seconds / 1e6;
    const fullMips = full.value.instructions / full.seconds / 1e6;
    rows.push({
      guest: name, 'bare insns': bare.value.instructions, 'bare MIPS': bareMips.toFixed(1),
      'PV insns': full.value.instructions, 'PV MIPS': fullMips.toFixed(1), 'PV/bare': `${((fullMips / bareMips) * 100).toFixed(0)}%`,
    });
  }
  return rows;
}
