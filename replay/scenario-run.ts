/**
 * Running a scenario: load its kernel images, build the machine, run it,
 * and check the scenario's expectations. Shared by `xenrr run`, record and
 * the tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { EventSink } from '../sim/events.js';
import { Machine, type RunSummary } from '../sim/machine.js';
import { kernelPath, machineActions, withActions, type Scenario, type ScenarioAction } from '../sim/scenario.js';
import { BuildError } from '../sim/xen/builder.js';
import { UsageError } from './cli/errors.js';

/** Build and run a scenario's machine. */
/** Build (but do not run) a scenario's machine. */
export function buildMachine(s: Scenario, opts: { seed?: number; sink?: EventSink } = {}): Machine {
  const seed = opts.seed ?? s.seed;
  const specs = s.domains.map((dom, k) => {
    const path = kernelPath(s, dom.kernel);
    if (!existsSync(path)) throw new UsageError(`${s.file}: domains.${k}.kernel: ${path}: no such file (run \`npm run build\` for corpus kernels)`);
    return { ...dom, id: k + 1, seed, image: readFileSync(path) };
  });
  let machine: Machine;
  try {
    machine = new Machine(specs, opts.sink ?? (() => {}), { quantum: s.quantum, wallclock: s.wallclock, actions: machineActions(s) });
  } catch (e) {
    if (e instanceof BuildError || e instanceof RangeError) throw new UsageError(`${s.file}: ${e.message}`);
    throw e;
  }
  return machine;
}

/** Run a scenario; `actions` come after the scenario's own (`--action`). */
export function runScenario(s: Scenario, opts: { maxInsns?: number; seed?: number; sink?: EventSink; actions?: readonly ScenarioAction[] } = {}): { summary: RunSummary; machine: Machine } {
  const machine = buildMachine(withActions(s, opts.actions ?? []), opts);
  return { summary: machine.run(opts.maxInsns ?? s.maxInsns), machine };
}

/** Problems with a run against the scenario's `expect` (empty when it met them). */
export function checkExpect(s: Scenario, r: RunSummary): string[] {
  const problems: string[] = [];
  for (const [name, subs] of Object.entries(s.expect.console)) {
    const dom = r.domains.find((d) => d.name === name);
    for (const sub of subs) if (!dom?.console.includes(sub)) problems.push(`${name}: console lacks '${sub}'`);
  }
  for (const [name, want] of Object.entries(s.expect.shutdown)) {
    const dom = r.domains.find((d) => d.name === name);
    const got = dom?.reason || dom?.state;
    if (got !== want) problems.push(`${name}: expected shutdown '${want}', got '${got}'`);
  }
  return problems;
}

