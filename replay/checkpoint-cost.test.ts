/**
 * Checkpoints by seek cost (replay/record-defaults.ts): `record` takes one
 * when `checkpointCost` of seek cost (instructions, raised up to
 * COLD_INSN_COST each by code-frame entries, plus events) has passed since
 * the last one. On the coldhot guest (a cold phase that changes code frame
 * at every call, then a hot loop in one function) they are COLD_INSN_COST
 * times as dense in the cold phase as in the hot one; the placement is the
 * same with translation off, from the first entry and at the default
 * threshold, and recording twice gives the same bytes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { HOT_RUNS } from '../sim/cpu/jit.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { restoreMachine } from '../sim/snapshot.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { fileTempDir } from './e2e/temp-dir.js';
import { record } from './record.js';
import { COLD_INSN_COST, COST_PER_ENTRY, seekCost } from './record-defaults.js';
import { buildMachine } from './scenario-run.js';
import { ReplaySession } from './session.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const built = existsSync(`${ROOT}build/corpus/pv/coldhot.elf`);
const DIR = fileTempDir('xenrr-cpcost-');
const FILE = `${ROOT}corpus/scenarios/coldhot.json`;
const load = (): Scenario => parseScenario(JSON.parse(readFileSync(FILE, 'utf8')), FILE);
/** The run: ~2.2e7 instructions, the cold phase ~1.7e6 of them, the hot loop the rest. */
const COST = 600_000;

/** Instructions retired when the guest printed `text` (single vCPU). */
function icountOf(s: Scenario, text: string): number {
  let at = -1;
  buildMachine(s, { sink: (e) => { if (at < 0 && e.kind === 'console' && e.text.includes(text)) at = e.icount; } }).run(s.maxInsns);
  return at;
}

/** Each checkpoint's instruction count, from restoring it. */
function points(path: string): number[] {
  const r = TraceReader.open(path);
  const s = load();
  const out = r.index.checkpoints.map((_, i) => {
    const m = buildMachine(s);
    restoreMachine(m, r.checkpoint(i));
    return m.instructions;
  });
  r.close();
  return out;
}

const gaps = (ps: number[]): number[] => ps.map((p, i) => p - (i === 0 ? 0 : ps[i - 1]!));

beforeAll(async () => {
  if (built) await initZstd();
});

describe.skipIf(!built)('checkpoints by seek cost', () => {
  it('are COLD_INSN_COST times as dense where execution keeps changing code frame as in a hot loop; instructions alone space them evenly', async () => {
    const s = load();
    const cold = icountOf(s, 'coldhot: cold done');
    const end = icountOf(s, 'coldhot: hot done');
    expect(cold).toBeGreaterThan(10 * s.quantum);
    expect(end - cold).toBeGreaterThan(10 * COST);
    await record(s, `${DIR}/cost.xrr`, { checkpointEvery: 0, checkpointInsns: 0, checkpointCost: COST });
    const ps = points(`${DIR}/cost.xrr`);
    const gs = gaps(ps);
    const inCold = gs.filter((_, i) => ps[i]! <= cold);
    const inHot = gs.filter((_, i) => i > 0 && ps[i - 1]! > cold + s.quantum && ps[i]! < end);
    expect(inCold.length).toBeGreaterThanOrEqual(5);
    expect(inHot.length).toBeGreaterThanOrEqual(10);
    // Cold: each instruction counts COLD_INSN_COST (checkpoints fall between slices, so to the slice).
    for (const g of inCold) expect(g).toBeLessThanOrEqual(COST / COLD_INSN_COST + s.quantum);
    // Hot: the loop enters no other frame and emits no event, its instructions count 1.
    for (const g of inHot) expect(Math.abs(g - COST)).toBeLessThanOrEqual(s.quantum);
    const h = TraceReader.open(`${DIR}/cost.xrr`).header;
    expect([h.checkpointEvery, h.checkpointInsns, h.checkpointCost]).toEqual([0, 0, COST]);

    // The same run by instructions alone: even, cold or hot.
    await record(s, `${DIR}/insns.xrr`, { checkpointEvery: 0, checkpointInsns: COST });
    for (const g of gaps(points(`${DIR}/insns.xrr`))) expect(g - COST).toBeLessThan(s.quantum);
    expect(TraceReader.open(`${DIR}/insns.xrr`).header.checkpointCost).toBe(0);
  }, 120_000);

  it('counts code-frame entries: many in the cold phase (enough to triple its instructions), next to none in the hot loop', () => {
    const s = load();
    const m = buildMachine(s);
    const c = m.domains[0]!.vcpus[0]!.cpu;
    expect(c.countingCode).toBe(false);
    c.startCodeSet();
    m.run(s.quantum * 5);
    const insns = m.instructions;
    const cold = c.codeEntries;
    expect(COST_PER_ENTRY * cold).toBeGreaterThanOrEqual((COLD_INSN_COST - 1) * insns);
    expect(seekCost(insns, cold, 0)).toBe(COLD_INSN_COST * insns);
    // Into the hot loop, then a fresh count over a stretch of it.
    const at = icountOf(s, 'coldhot: cold done');
    m.run(at + 2 * s.quantum);
    c.startCodeSet();
    expect(c.codeEntries).toBe(0);
    const from = m.instructions;
    m.run(from + 10 * s.quantum);
    expect(c.codeEntries).toBeLessThan(10);
    expect(seekCost(m.instructions - from, c.codeEntries, 0)).toBeLessThan((m.instructions - from) * 1.01);
  });

  it('is the same translated or not: positions, counts and bytes at thresholds 0, 1 and the default; and recording again gives the same bytes', async () => {
    const s = load();
    const traces: Buffer[] = [];
    const at: number[][] = [];
    for (const jitThreshold of [0, 1, HOT_RUNS, HOT_RUNS]) {
      const out = `${DIR}/jit-${traces.length}.xrr`;
      await record(s, out, { jitThreshold, checkpointEvery: 0, checkpointInsns: 4 * COST, checkpointCost: COST });
      traces.push(readFileSync(out));
      at.push(points(out));
    }
    expect(at[0]!.length).toBeGreaterThan(20);
    for (const k of [1, 2, 3]) {
      expect(at[k]).toEqual(at[0]);
      expect(traces[k]!.equals(traces[0]!)).toBe(true);
    }
  }, 180_000);

  it('replays and seeks: every checkpoint restores where the trace says, and the run verifies', async () => {
    const s = load();
    const path = `${DIR}/seek.xrr`;
    await record(s, path, { checkpointEvery: 0, checkpointInsns: 0, checkpointCost: 4 * COST });
    const reader = TraceReader.open(path);
    const ps = points(path);
    expect(ps.length).toBeGreaterThan(5);
    expect(ReplaySession.open(reader).verify().divergence).toBeNull();
    for (const [i, p] of ps.entries()) {
      const fresh = ReplaySession.open(reader);
      expect(fresh.seekIcount(1, 0, p + 1).vcpus[0]!.icount).toBe(p + 1);
      expect(fresh.stats.lastOrigin).toBe(i);
    }
  }, 120_000);
});
