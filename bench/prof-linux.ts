// Profiling aid: boot Debian's kernel as a PV domU (corpus/scenarios/linux/NAME.json, default boot) for N
// instructions (node --cpu-prof --import tsx/esm bench/prof-linux.ts [N] [NAME]); prints wall and CPU time and
// the last console line. XENRR_JIT=off (or a threshold) compares against the interpreter.
import { readFileSync } from 'node:fs';
import { parseScenario } from '../sim/scenario.js';
import { runScenario } from '../replay/scenario-run.js';

const file = new URL(`../corpus/scenarios/linux/${process.argv[3] ?? 'boot'}.json`, import.meta.url).pathname;
const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
const n = Number(process.argv[2] ?? 2e8);
const t0 = process.hrtime.bigint();
const u0 = process.cpuUsage();
const r = runScenario(s, { maxInsns: n }).summary;
const sec = Number(process.hrtime.bigint() - t0) / 1e9;
const u = process.cpuUsage(u0);
const cpu = (u.user + u.system) / 1e6;
const log = r.domains[0]!.log + r.domains[0]!.console;
const last = log.trim().split('\n').slice(-1)[0];
process.stdout.write(`${r.stop} ${r.instructions} insns, wall ${sec.toFixed(2)} s (${(r.instructions / sec / 1e6).toFixed(1)} MIPS), cpu ${cpu.toFixed(2)} s (${(r.instructions / cpu / 1e6).toFixed(1)} MIPS)\nlast: ${last}\n`);
