// Profiling aid: the pingpong scenario a few times (node --cpu-prof --import tsx/esm bench/prof-pingpong.ts).
import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario.js';
import { runScenario } from '../replay/scenario-run.js';

const file = new URL('../corpus/scenarios/pingpong.json', import.meta.url).pathname;
const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
for (let k = 0; k < Number(process.argv[2] ?? 5); k++) {
  const t0 = process.hrtime.bigint();
  const r = runScenario(s).summary;
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const hc = Object.values(r.hypercalls).reduce((a, b) => a + b, 0);
  process.stdout.write(`${hc} hypercalls in ${sec.toFixed(3)} s: ${Math.round(hc / sec)}/s\n`);
}
