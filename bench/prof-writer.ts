// Profiling aid: the trace writer fed pingpong's events from memory.
import { readFileSync } from 'node:fs';
import type { SimEvent } from '../sim/events.js';
import { parseScenario } from '../sim/scenario.js';
import { runScenario } from '../replay/scenario-run.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';

await initZstd();
const file = new URL('../corpus/scenarios/pingpong.json', import.meta.url).pathname;
const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
const evs: SimEvent[] = [];
runScenario(s, { sink: (e) => evs.push(e) });
for (let k = 0; k < 20; k++) {
  const t0 = process.hrtime.bigint();
  const w = new TraceWriter('/tmp/w.xrr', testHeader());
  for (const e of evs) w.append(e);
  w.close('x', 0);
  if (k % 5 === 4) console.log(Math.round(evs.length / (Number(process.hrtime.bigint() - t0) / 1e9)), 'events/s');
}
