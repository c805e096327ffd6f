/**
 * Machine.haltAt pauses inside a slice and a later run resumes it: a run
 * stopped at many instruction counts (single steps among them) emits
 * exactly the events, and reaches exactly the state, of an uninterrupted run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMachine } from '../replay/scenario-run.js';
import { eventJson } from '../trace/columns.js';
import type { SimEvent } from './events.js';
import { parseScenario } from './scenario.js';
import { corpusBuilt } from './xen/test-domain.js';

const file = fileURLToPath(new URL('../corpus/scenarios/pingpong.json', import.meta.url));
const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);

function regs(m: ReturnType<typeof buildMachine>): string {
  return m.domains.map((d) => d.vcpus.map((v) => `${v.cpu.rip}:${v.cpu.icount}:${[...v.cpu.r].join(',')}`).join('|')).join('/');
}

describe.skipIf(!corpusBuilt)('pausing inside a slice', () => {
  it('stops at every count asked for, and the run goes on exactly as without stops', () => {
    const plain: SimEvent[] = [];
    const a = buildMachine(scenario, { sink: (e) => plain.push(e) });
    a.run(scenario.maxInsns);

    const stopped: SimEvent[] = [];
    const b = buildMachine(scenario, { sink: (e) => stopped.push(e) });
    // Stops for dom1's vCPU: single steps early on, then strides through its run.
    const stops = [...Array.from({ length: 300 }, (_, k) => 150_000 + k), ...Array.from({ length: 40 }, (_, k) => 200_000 + k * 9_973)];
    let paused = 0;
    for (const n of stops) {
      b.haltAt(1, 0, n);
      const r = b.run(scenario.maxInsns);
      if (r.stop !== 'paused') break;
      expect(b.domains[0]!.vcpus[0]!.cpu.icount).toBe(n);
      if (b.pausedIn !== null) paused++;
    }
    b.haltAt(1, 0, Number.MAX_SAFE_INTEGER);
    b.run(scenario.maxInsns);
    expect(paused).toBeGreaterThan(200);
    expect(stopped.length).toBe(plain.length);
    expect(stopped.map(eventJson)).toEqual(plain.map(eventJson));
    expect(regs(b)).toBe(regs(a));
  });

  it('a stop before a vCPU\'s slice starts (its count already reached) resumes with that vCPU', () => {
    const plain: SimEvent[] = [];
    buildMachine(scenario, { sink: (e) => plain.push(e) }).run(scenario.maxInsns);
    for (const [dom, n] of [[1, 0], [2, 0]] as const) {
      const evs: SimEvent[] = [];
      const m = buildMachine(scenario, { sink: (e) => evs.push(e) });
      m.haltAt(dom, 0, n);
      expect(m.run(scenario.maxInsns).stop).toBe('paused');
      m.haltAt(0, 0, Number.MAX_SAFE_INTEGER);
      m.run(scenario.maxInsns);
      expect(evs.map(eventJson)).toEqual(plain.map(eventJson));
    }
  });
});
