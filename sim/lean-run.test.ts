/**
 * Unheard runs are lean: a machine without an event sink builds no event
 * objects and walks no guest stacks, yet reports the same counts and ends
 * in exactly the state a listened-to run ends in (same summary, same
 * snapshots at the same clean points, byte for byte).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { buildMachine } from '../replay/scenario-run.js';
import type { SimEvent } from './events.js';
import { parseScenario, type Scenario } from './scenario.js';
import { snapshotMachine, type MachineSnapshot } from './snapshot.js';
import { Frames, withXenFrames } from './xen/frames.js';
import { Xen } from './xen/xen.js';

/** Every walk of a hypercall's guest stack, counted. */
const walks = vi.hoisted(() => ({ n: 0 }));
vi.mock('./xen/guest-stack.js', async (original) => {
  const m = await original<typeof import('./xen/guest-stack.js')>();
  return { ...m, hypercallStack: (...a: Parameters<typeof m.hypercallStack>) => (walks.n++, m.hypercallStack(...a)) };
});

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
const SCENARIOS = [
  ...readdirSync(DIR).filter((f) => f.endsWith('.json')),
  ...readdirSync(`${DIR}bugs/`).filter((f) => f.endsWith('.json')).map((f) => `bugs/${f}`),
].sort();

const load = (f: string): Scenario => parseScenario(JSON.parse(readFileSync(DIR + f, 'utf8')), DIR + f);
/** Clean points (Machine.run's `between`) at which both runs are snapshotted and compared. */
const AT = new Set([1, 7, 50, 300, 2000]);

function run(s: Scenario, listen: boolean) {
  const events: SimEvent[] = [];
  const m = buildMachine(s, listen ? { sink: (e) => events.push(e) } : {});
  const snaps: MachineSnapshot[] = [];
  let k = 0;
  walks.n = 0;
  const summary = m.run(s.maxInsns, () => {
    if (AT.has(++k)) snaps.push(snapshotMachine(m));
  });
  snaps.push(snapshotMachine(m));
  return { summary, snaps, events, walks: walks.n, listening: m.xen.listening };
}

const same = (a: MachineSnapshot, b: MachineSnapshot): void => {
  expect(Buffer.from(a.stateJson).toString()).toBe(Buffer.from(b.stateJson).toString());
  expect(a.pages.length).toBe(b.pages.length);
  for (let i = 0; i < a.pages.length; i++) {
    expect(a.pages[i]!.mfn).toBe(b.pages[i]!.mfn);
    expect(Buffer.from(a.pages[i]!.data).equals(Buffer.from(b.pages[i]!.data))).toBe(true);
  }
};

describe.skipIf(!built)('a run without a sink', () => {
  for (const f of SCENARIOS) {
    it(`${f}: same summary and same machine state as a listened-to run`, () => {
      const s = load(f);
      const lean = run(s, false);
      const full = run(s, true);
      expect(lean.listening).toBe(false);
      expect(full.listening).toBe(true);
      expect(lean.summary).toEqual(full.summary);
      // The counts the summary reports are those of the events the sink heard.
      expect(lean.summary.events).toBe(full.events.length);
      const byName: Record<string, number> = {};
      for (const e of full.events) if (e.kind === 'hypercall') byName[e.name] = (byName[e.name] ?? 0) + 1;
      expect(lean.summary.hypercalls).toEqual(byName);
      expect(lean.snaps.length).toBe(full.snaps.length);
      lean.snaps.forEach((snap, i) => same(snap, full.snaps[i]!));
      // Stacks are walked for a listener only (iret has none).
      expect(lean.walks).toBe(0);
      const stacked = full.events.filter((e) => e.kind === 'hypercall' && e.name !== 'iret').length;
      expect(full.walks).toBe(stacked);
    });
  }
});

describe('Xen.emit without a sink', () => {
  it('numbers and counts events, calls no lazy body and builds no event', () => {
    const xen = new Xen(new Frames(withXenFrames(16)), null);
    const names: string[] = [];
    xen.onHypercall = (n) => names.push(n);
    let built = 0;
    xen.emit(null, 1, () => (built++, { kind: 'evtchn_deliver', ports: [3] }));
    xen.emit(null, 1, { kind: 'hypercall', op: 29, name: 'sched_op', sub: 0, subName: 'SCHEDOP_yield', args: [], decoded: {}, result: 0, caller: 0n });
    expect(xen.nextSeq).toBe(2);
    expect(names).toEqual(['sched_op']);
    expect(built).toBe(0);
  });

  it('with a sink, builds a lazy body once, in order, and counts hypercalls the same way', () => {
    const seen: SimEvent[] = [];
    const xen = new Xen(new Frames(withXenFrames(16)), (e) => seen.push(e));
    const names: string[] = [];
    xen.onHypercall = (n) => names.push(n);
    let built = 0;
    xen.emit(null, 1, () => (built++, { kind: 'evtchn_deliver', ports: [3] }));
    xen.emit(null, 1, { kind: 'hypercall', op: 29, name: 'sched_op', sub: 0, subName: 'SCHEDOP_yield', args: [], decoded: {}, result: 0, caller: 0n });
    expect(built).toBe(1);
    expect(names).toEqual(['sched_op']);
    expect(seen.map((e) => [e.seq, e.kind])).toEqual([[0, 'evtchn_deliver'], [1, 'hypercall']]);
    expect(seen[0]).toMatchObject({ ports: [3], dom: 1, vcpu: -1 });
  });
});
