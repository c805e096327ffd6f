/**
 * The check both chaos e2e tests make: a run snapshotted at the `nth` clean
 * point where `held` holds (chaos has something pending), restored into a
 * fresh machine, goes on with exactly the events and end of the run that
 * was never interrupted, and meets the scenario's expectations.
 */
import { expect } from 'vitest';
import type { Scenario } from '../../sim/scenario.js';
import { restoreMachine, snapshotMachine } from '../../sim/snapshot.js';
import { buildMachine, checkExpect } from '../scenario-run.js';

type Built = ReturnType<typeof buildMachine>;

export function expectRestoreContinues(s: Scenario, held: (m: Built) => boolean, nth: number): void {
  const text = (e: unknown): string => JSON.stringify(e, (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
  const all: string[] = [];
  const a = buildMachine(s, { sink: (e) => all.push(text(e)) });
  all.length = 0;
  const end = a.run(s.maxInsns);
  const b = buildMachine(s);
  let n = 0;
  b.run(s.maxInsns, () => held(b) && ++n === nth);
  expect(held(b)).toBe(true);
  const snap = snapshotMachine(b);
  const rest: string[] = [];
  const c = buildMachine(s, { sink: (e) => rest.push(text(e)) });
  rest.length = 0;
  restoreMachine(c, snap);
  const cend = c.run(s.maxInsns);
  expect(rest).toEqual(all.slice(snap.seq));
  expect(cend).toEqual(end);
  expect(checkExpect(s, cend)).toEqual([]);
}
