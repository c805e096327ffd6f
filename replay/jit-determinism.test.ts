/**
 * Translation to JS (sim/cpu/jit.ts) changes speed, never a run: every
 * corpus scenario recorded with translation off, from the first entry, and
 * at other thresholds gives byte-identical traces (events, times, stacks,
 * checkpoints, placed by events and by seek cost, whose code-frame entries
 * the vCPUs count the same translated or not); and a machine paused at
 * many instruction counts while its code runs translated goes on exactly
 * as an uninterrupted interpreted run.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HOT_RUNS } from '../sim/cpu/jit.js';
import type { SimEvent } from '../sim/events.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { corpusBuilt } from '../sim/xen/test-domain.js';
import { eventJson } from '../trace/columns.js';
import { record } from './record.js';
import { buildMachine } from './scenario-run.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/jit-determinism-test`;
const load = (file: string): Scenario => parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
const SCENARIOS = readdirSync(`${ROOT}corpus/scenarios`).filter((f) => f.endsWith('.json')).map((f) => `${ROOT}corpus/scenarios/${f}`);

describe.skipIf(!corpusBuilt)('translation never changes a run', () => {
  it.each(SCENARIOS.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s: identical traces at thresholds 0, 1, 7, 300 and the default, checkpoints by events and by seek cost', async (name, file) => {
    mkdirSync(DIR, { recursive: true });
    const s = load(file);
    const bytes: Buffer[] = [];
    for (const jitThreshold of [0, 1, 7, 300, HOT_RUNS]) {
      const out = `${DIR}/${name}-${jitThreshold}.xrr`;
      await record(s, out, { jitThreshold, checkpointEvery: 300, checkpointCost: 1_000_000 });
      bytes.push(readFileSync(out));
    }
    expect(bytes[0]!.length).toBeGreaterThan(0);
    for (const b of bytes.slice(1)) expect(b.equals(bytes[0]!)).toBe(true);
  });

  it('a translated run paused at many counts goes on exactly as an interpreted one', () => {
    const s = load(`${ROOT}corpus/scenarios/pingpong.json`);
    const plain: SimEvent[] = [];
    const a = buildMachine(s, { sink: (e) => plain.push(e), jitThreshold: 0 });
    a.run(s.maxInsns);
    const stopped: SimEvent[] = [];
    const b = buildMachine(s, { sink: (e) => stopped.push(e), jitThreshold: 1 });
    const stops = [...Array.from({ length: 200 }, (_, k) => 150_000 + k), ...Array.from({ length: 60 }, (_, k) => 160_000 + k * 7_919)];
    for (const n of stops) {
      b.haltAt(1, 0, n);
      if (b.run(s.maxInsns).stop !== 'paused') break;
      expect(b.domains[0]!.vcpus[0]!.cpu.icount).toBe(n);
    }
    b.haltAt(1, 0, Number.MAX_SAFE_INTEGER);
    b.run(s.maxInsns);
    const regs = (m: typeof a): string => m.domains.map((d) => d.vcpus.map((v) => `${v.cpu.rip}:${v.cpu.icount}:${[...v.cpu.r].join(',')}`).join('|')).join('/');
    expect(b.domains.some((d) => d.vcpus.some((v) => v.cpu.translatedBlocks > 0))).toBe(true);
    expect(stopped.map(eventJson)).toEqual(plain.map(eventJson));
    expect(regs(b)).toBe(regs(a));
  });
});
