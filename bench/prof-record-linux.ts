// Profiling aid: a Linux boot run lean or recorded, to compare the two (node --cpu-prof --import tsx/esm
// bench/prof-record-linux.ts lean|record [N|-] [NAME]: corpus/scenarios/linux/NAME.json, default boot,
// for N instructions, default the scenario's). Prints CPU seconds (the process's, and the main
// thread's apart from V8's compiler and GC threads, on Linux), events and what the checkpoints took.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { parseScenario } from '../sim/scenario.js';
import { record, RECORD_DEFAULTS } from '../replay/record.js';
import { buildMachine } from '../replay/scenario-run.js';
import { initZstd } from '../trace/zstd.js';

const mode = process.argv[2] ?? 'lean';
const file = new URL(`../corpus/scenarios/linux/${process.argv[4] ?? 'boot'}.json`, import.meta.url).pathname;
const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
const n = process.argv[3] === undefined || process.argv[3] === '-' ? s.maxInsns : Number(process.argv[3]);
await initZstd();
const u0 = process.cpuUsage();
let line: string;
if (mode === 'lean') {
  const r = buildMachine(s).run(n);
  line = `lean ${r.instructions} insns`;
} else {
  const out = process.env.XENRR_PROF_OUT ?? '/tmp/prof-record-linux.xrr';
  const r = await record(s, out, { ...RECORD_DEFAULTS, maxInsns: n });
  line = `recorded ${r.summary.instructions} insns, ${r.events} events, ${r.checkpoints} checkpoints (${r.checkpointCpu.toFixed(2)} s cpu), ${(statSync(out).size / 1e6).toFixed(2)} MB`;
}
const u = process.cpuUsage(u0);
process.stdout.write(`${line}, cpu ${((u.user + u.system) / 1e6).toFixed(2)} s\n`);

// Per-thread CPU (clock ticks of 10 ms, since the process started): the main thread, then V8's others.
let main = 0;
let others = 0;
try {
  for (const t of readdirSync('/proc/self/task')) {
    const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(f[11]) + Number(f[12]);
    if (t === String(process.pid)) main += ticks;
    else others += ticks;
  }
  process.stdout.write(`threads (whole process): main ${(main / 100).toFixed(2)} s, others ${(others / 100).toFixed(2)} s\n`);
} catch {
  // not Linux
}
