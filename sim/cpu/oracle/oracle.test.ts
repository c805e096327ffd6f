/**
 * The interpreter against the host CPU: every oracle-comparable opcode form
 * from the table, plus a large random sample (XENRR_ORACLE_CASES, default
 * 20,000), generated with fast-check from a fixed seed and run natively in
 * one batch. Any difference outside what undefined.ts masks fails with the
 * bytes and the first mismatch.
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBatch, type BatchCase } from './compare.js';
import { buildCase, entryName, ORACLE_ENTRIES } from './gen.js';
import { gccAvailable } from './host-cpu.js';

const RANDOM_CASES = Number(process.env.XENRR_ORACLE_CASES ?? 20_000);
const PER_FORM = 24;
/** Each form must have at least this many of its PER_FORM cases compared (not marked unusable by the runner). */
const MIN_PER_FORM = 16;
const SEED = Number(process.env.XENRR_ORACLE_SEED ?? 20261122);

const words = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 64, maxLength: 64 });

function dump(suffix: string, lines: string[]): void {
  if (process.env.XENRR_ORACLE_DUMP) writeFileSync(`${process.env.XENRR_ORACLE_DUMP}.${suffix}`, lines.join('\n'));
}

describe.skipIf(!gccAvailable())('x86-64 core vs host CPU', () => {
  it(`every implemented form (${PER_FORM} cases each, at least ${MIN_PER_FORM} compared) matches the host`, () => {
    const cases: BatchCase[] = ORACLE_ENTRIES.flatMap((e, entry) =>
      fc.sample(words, { seed: SEED + entry, numRuns: PER_FORM }).map((w) => ({ name: `${entry}:${entryName(e)}`, c: buildCase(e, w) })),
    );
    const r = compareBatch(`oracle: ${ORACLE_ENTRIES.length} forms`, cases);
    console.log(r.summary);
    dump('forms', r.mismatches);
    const thin = ORACLE_ENTRIES.map((e, entry) => `${entry}:${entryName(e)}`).filter((n) => (r.comparedBy.get(n) ?? 0) < MIN_PER_FORM);
    expect(thin.map((n) => `${n}: ${r.comparedBy.get(n) ?? 0} compared, ${r.unusable.get(n) ?? 0} unusable`)).toEqual([]);
    expect(r.mismatches.slice(0, 15)).toEqual([]);
  });

  it(`${RANDOM_CASES} random instructions match the host`, () => {
    const arb = fc.tuple(fc.nat({ max: ORACLE_ENTRIES.length - 1 }), words);
    const cases = fc.sample(arb, { seed: SEED, numRuns: RANDOM_CASES }).map(([entry, w]) => ({ name: entryName(ORACLE_ENTRIES[entry]!), c: buildCase(ORACLE_ENTRIES[entry]!, w) }));
    const r = compareBatch('oracle: random', cases);
    console.log(r.summary);
    dump('random', r.mismatches);
    expect(r.compared).toBeGreaterThan(RANDOM_CASES * 0.95);
    expect(r.mismatches.slice(0, 15)).toEqual([]);
  });
});
