// Profiling aid: record pingpong repeatedly (node --cpu-prof --import tsx/esm bench/prof-record.ts).
import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario.js';
import { record } from '../replay/record.js';
import { runScenario } from '../replay/scenario-run.js';

const file = new URL('../corpus/scenarios/pingpong.json', import.meta.url).pathname;
const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
for (let k = 0; k < 30; k++) {
  let t0 = process.hrtime.bigint();
  runScenario(s);
  const a = Number(process.hrtime.bigint() - t0) / 1e6;
  t0 = process.hrtime.bigint();
  await record(s, '/tmp/r.xrr', { checkpointEvery: 50_000 });
  const b = Number(process.hrtime.bigint() - t0) / 1e6;
  if (k % 10 === 9) console.log(`plain ${a.toFixed(1)} ms, recorded ${b.toFixed(1)} ms, overhead ${((b / a - 1) * 100).toFixed(0)}%`);
}
