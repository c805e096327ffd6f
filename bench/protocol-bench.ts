/**
 * `check --protocol` throughput: the checks over recorded traces (the
 * decode of every chunk included, as the command does), per event.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { checkTrace } from '../replay/protocol/check.js';
import { record } from '../replay/record.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const secs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

const load = (name: string): Scenario => {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
};

export async function benchProtocol(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const pp = load('pingpong');
  const runs: Array<[string, Scenario]> = [
    ['pingpong rounds=10000', { ...pp, domains: pp.domains.map((d) => ({ ...d, cmdline: d.cmdline.replace(/rounds=\d+/, 'rounds=10000') })) }],
    ['ringpair', load('ringpair')],
  ];
  const rows: Row[] = [];
  for (const [name, s] of runs) {
    const out = `${DIR}/protocol-${name.replace(/\W+/g, '-')}.xrr`;
    await record(s, out);
    let best = Infinity;
    let events = 0;
    let found = 0;
    for (let k = 0; k < 4; k++) {
      const r = TraceReader.open(out);
      const t0 = process.hrtime.bigint();
      found = checkTrace(r).length;
      if (k > 0) best = Math.min(best, secs(t0));
      events = r.index.eventCount;
      r.close();
    }
    rows.push({ trace: name, events, violations: found, 'check s': best.toFixed(3), 'events/s': Math.round(events / best) });
  }
  return rows;
}
