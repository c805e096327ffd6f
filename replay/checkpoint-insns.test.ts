/**
 * Checkpoints by work: `record` takes one at the first clean point where
 * `checkpointInsns` guest instructions or `checkpointEvery` events have
 * passed since the last one (whichever first), the header says both, and a
 * seek re-executes from the nearest checkpoint before its target, so in a
 * compute-bound run with few events the distance re-executed is bounded by
 * the instruction spacing (plus one slice).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { restoreMachine } from '../sim/snapshot.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { fileTempDir } from './e2e/temp-dir.js';
import { record } from './record.js';
import { buildMachine } from './scenario-run.js';
import { ReplaySession } from './session.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const built = existsSync(`${ROOT}build/corpus/pv/compute-sha256.elf`);
const DIR = fileTempDir('xenrr-cpinsns-');
const load = (name: string): Scenario => parseScenario(JSON.parse(readFileSync(`${ROOT}corpus/scenarios/${name}.json`, 'utf8')), `${ROOT}corpus/scenarios/${name}.json`);

/** The compute run: about 12.5M instructions, 66 events; a checkpoint every 2M instructions. */
const N = 2_000_000;
const SHA = `${DIR}/sha.xrr`;
const SHA_EVENTS = `${DIR}/sha-events.xrr`;

type Point = { seq: number; time: number; insns: number };

/** Where the rule puts checkpoints, found by running the scenario and applying it at every clean point. */
function expected(s: Scenario, every: number, insns: number): Point[] {
  const m = buildMachine(s);
  const out: Point[] = [];
  let lastSeq = 0;
  let lastInsns = 0;
  m.run(s.maxInsns, () => {
    if ((every > 0 && m.nextSeq - lastSeq >= every) || (insns > 0 && m.instructions - lastInsns >= insns)) {
      out.push({ seq: m.nextSeq, time: m.xen.clock, insns: m.instructions });
      [lastSeq, lastInsns] = [m.nextSeq, m.instructions];
    }
  });
  return out;
}

/** Each checkpoint of a trace: seq and time from the index, instructions from restoring it. */
function recorded(s: Scenario, path: string): Point[] {
  const r = TraceReader.open(path);
  const out = r.index.checkpoints.map((c, i) => {
    const m = buildMachine(s);
    const data = r.checkpoint(i);
    restoreMachine(m, data);
    return { seq: c.seq, time: c.time, insns: m.instructions };
  });
  r.close();
  return out;
}

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  await record(load('compute-sha256'), SHA, { checkpointEvery: 0, checkpointInsns: N });
  await record(load('compute-sha256'), SHA_EVENTS, { checkpointEvery: 50_000 });
}, 120_000);

describe.skipIf(!built)('checkpoints by instruction count', () => {
  it('are taken at the first clean point N instructions after the last, and the header says so', () => {
    const s = load('compute-sha256');
    const want = expected(s, 0, N);
    const got = recorded(s, SHA);
    expect(got).toEqual(want);
    expect(got.length).toBe(Math.floor(12_500_000 / N));
    // Spacing: at least N, at most N plus one slice (checkpoints fall between slices).
    got.forEach((p, i) => {
      const d = p.insns - (i === 0 ? 0 : got[i - 1]!.insns);
      expect(d).toBeGreaterThanOrEqual(N);
      expect(d).toBeLessThan(N + s.quantum);
    });
    const h = TraceReader.open(SHA).header;
    expect([h.checkpointEvery, h.checkpointInsns]).toEqual([0, N]);
  });

  it('with an event spacing too, whichever comes first (each resets both)', async () => {
    const s = load('pingpong');
    const path = `${DIR}/pp.xrr`;
    await record(s, path, { checkpointEvery: 3000, checkpointInsns: 100_000 });
    const want = expected(s, 3000, 100_000);
    const got = recorded(s, path);
    expect(got).toEqual(want);
    const gaps = got.map((p, i) => ({ events: p.seq - (got[i - 1]?.seq ?? 0), insns: p.insns - (got[i - 1]?.insns ?? 0) }));
    expect(gaps.some((g) => g.events < 3000)).toBe(true); // taken for instructions
    expect(gaps.some((g) => g.insns < 100_000)).toBe(true); // taken for events
    const h = TraceReader.open(path).header;
    expect([h.checkpointEvery, h.checkpointInsns]).toEqual([3000, 100_000]);
  });

  it('a seek by event re-executes from the nearest checkpoint before it, at most N instructions (plus a slice) away', () => {
    const s = load('compute-sha256');
    const cps = recorded(s, SHA);
    const reader = TraceReader.open(SHA);
    const n = reader.index.eventCount;
    const nearest = (seq: number): number => cps.findLastIndex((c) => c.seq <= seq);
    const targets = [n - 1, Math.floor(n / 2), 40, 3, n - 5];
    for (const seq of targets) {
      const session = ReplaySession.open(reader);
      const v = session.seek(seq);
      expect(v.seq).toBe(seq);
      const from = nearest(seq);
      expect(session.stats.lastOrigin).toBe(from);
      const at = v.vcpus.reduce((k, x) => k + x.icount, 0);
      expect(at - (from < 0 ? 0 : cps[from]!.insns)).toBeLessThan(N + s.quantum);
    }
    // The last event is well past the first N instructions: without these checkpoints it re-executes from the start.
    const plain = ReplaySession.open(TraceReader.open(SHA_EVENTS));
    const v = plain.seek(n - 1);
    expect(plain.stats.lastOrigin).toBe(-1);
    expect(v.vcpus[0]!.icount).toBeGreaterThan(5 * N);
  });

  it('a seek by instruction count does the same', () => {
    const s = load('compute-sha256');
    const cps = recorded(s, SHA);
    const reader = TraceReader.open(SHA);
    const session = ReplaySession.open(reader);
    const total = session.seek(reader.index.eventCount).vcpus[0]!.icount;
    for (const ic of [total - 1, Math.floor(total / 3), N, N + 1, 7]) {
      // A fresh cursor each time (a move forward from an instruction count would just run on).
      const fresh = ReplaySession.open(reader);
      const v = fresh.seekIcount(1, 0, ic);
      expect(v.vcpus[0]!.icount).toBe(ic);
      // Single vCPU: its count is the total. The nearest checkpoint strictly below the target.
      const from = cps.findLastIndex((c) => c.insns < ic);
      expect(fresh.stats.lastOrigin).toBe(from);
      expect(ic - (from < 0 ? 0 : cps[from]!.insns)).toBeLessThanOrEqual(N + s.quantum);
    }
  });
});
