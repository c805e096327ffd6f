/**
 * Shared by the backend benches (disk, net): a corpus guest's run timed best
 * of XENRR_BENCH_REPEAT (default 3), as a lean `run` and as a recording.
 */
import { join } from 'node:path';
import type { Scenario } from '../sim/scenario.js';
import { record } from '../replay/record.js';
import { runScenario } from '../replay/scenario-run.js';

const REPEAT = Number(process.env.XENRR_BENCH_REPEAT ?? 3);

/** `f` run REPEAT times: its last console text and its fastest wall time. */
export async function best(f: () => Promise<string> | string): Promise<{ text: string; seconds: number }> {
  let seconds = Infinity;
  let text = '';
  for (let k = 0; k < REPEAT; k++) {
    const t0 = process.hrtime.bigint();
    text = await f();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { text, seconds };
}

/** The first domain's console after a lean run, or after recording to a trace in `dir`. */
export function guestModes(dir: string): { run: (s: Scenario) => string; record: (s: Scenario) => Promise<string> } {
  return {
    run: (s) => runScenario(s).summary.domains[0]!.console,
    record: async (s) => (await record(s, join(dir, 't.xrr'))).summary.domains[0]!.console,
  };
}
