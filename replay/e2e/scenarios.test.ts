/**
 * The corpus scenarios end to end: each meets its expectations, each run
 * twice gives a byte-identical event stream (hash compared), and a different
 * seed (a different machine-frame layout) changes machine addresses but not
 * the outcome.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import { parseScenario } from '../../sim/scenario.js';
import { checkExpect, runScenario } from '../scenario-run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCENARIOS = ['hello', 'timer', 'pingpong', 'gntcopy', 'fault', 'crash'] as const;
const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);

function load(name: string) {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
}

function run(name: string, seed?: number) {
  const hash = createHash('sha256');
  let n = 0;
  const sink = (e: SimEvent): void => {
    n++;
    hash.update(JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v)));
  };
  const s = load(name);
  const { summary } = runScenario(s, { sink, ...(seed !== undefined ? { seed } : {}) });
  return { s, summary, digest: hash.digest('hex'), events: n };
}

describe.skipIf(!built)('corpus scenarios', () => {
  for (const name of SCENARIOS) {
    it(`${name} meets its expectations and is deterministic`, () => {
      const a = run(name);
      expect(a.summary.stop).toBe('all-stopped');
      expect(checkExpect(a.s, a.summary)).toEqual([]);
      expect(a.events).toBeGreaterThan(10);
      const b = run(name);
      expect(b.digest).toBe(a.digest);
      expect(b.summary.instructions).toBe(a.summary.instructions);
    });
  }

  it('pingpong makes 1000 round trips through interdomain event channels', () => {
    const { summary } = run('pingpong');
    const ping = summary.domains.find((d) => d.name === 'ping')!;
    expect(ping.console).toContain('1000 events received, 1000 replies sent');
    expect(summary.hypercalls.event_channel_op).toBeGreaterThanOrEqual(2000);
  });

  it('crash: the faulting domain crashes, the other completes', () => {
    const { summary } = run('crash');
    expect(summary.domains.map((d) => [d.name, d.state, d.reason])).toEqual([
      ['crash', 'crashed', 'crash'],
      ['hello', 'shutdown', 'poweroff'],
    ]);
  });

  it('another seed permutes machine frames: addresses change, the outcome does not', () => {
    const a = run('hello', 0);
    const b = run('hello', 12345);
    expect(b.digest).not.toBe(a.digest);
    expect(checkExpect(b.s, b.summary)).toEqual([]);
    expect(b.summary.domains[0]!.console).not.toBe(a.summary.domains[0]!.console);
  });
});
