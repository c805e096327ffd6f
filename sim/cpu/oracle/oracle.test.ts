/**
 * The interpreter against the host CPU: every oracle-comparable opcode form
 * from the table, plus a large random sample (XENRR_ORACLE_CASES, default
 * 20,000), generated with fast-check from a fixed seed and run natively in
 * one batch. Any difference fails with the bytes and the first mismatch.
 */
import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareResults, emulateCase, nativeUnusable } from './emulate.js';
import { buildCase, entryName, ORACLE_ENTRIES } from './gen.js';
import { gccAvailable, runNative, type OracleCase } from './host-cpu.js';

const RANDOM_CASES = Number(process.env.XENRR_ORACLE_CASES ?? 20_000);
const PER_FORM = 24;
const SEED = Number(process.env.XENRR_ORACLE_SEED ?? 20261122);

const words = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 64, maxLength: 64 });

function compareAll(cases: Array<{ entry: number; c: OracleCase }>): { mismatches: string[]; compared: number } {
  const native = runNative(cases.map((x) => x.c));
  const mismatches: string[] = [];
  let compared = 0;
  cases.forEach(({ entry, c }, k) => {
    const n = native[k]!;
    if (nativeUnusable(n)) return;
    compared++;
    const d = compareResults(n, emulateCase(c));
    if (d !== null) {
      const bytes = Array.from(c.code, (b) => b.toString(16).padStart(2, '0')).join(' ');
      mismatches.push(`${entryName(ORACLE_ENTRIES[entry]!)} [${bytes}] regs=${c.regs.map((r) => r.toString(16)).join(',')} fl=${c.rflags.toString(16)} seed=${c.seed}: ${d}`);
    }
  });
  return { mismatches, compared };
}

describe.skipIf(!gccAvailable())('x86-64 core vs host CPU', () => {
  it(`every implemented form (${PER_FORM} cases each) matches the host`, () => {
    const cases = ORACLE_ENTRIES.flatMap((e, entry) =>
      fc.sample(words, { seed: SEED + entry, numRuns: PER_FORM }).map((w) => ({ entry, c: buildCase(e, w) })),
    );
    const { mismatches, compared } = compareAll(cases);
    console.log(`oracle: ${ORACLE_ENTRIES.length} forms, ${compared} cases compared, ${mismatches.length} mismatches`);
    if (process.env.XENRR_ORACLE_DUMP) writeFileSync(process.env.XENRR_ORACLE_DUMP, mismatches.join("\n"));
    expect(mismatches.slice(0, 15)).toEqual([]);
  });

  it(`${RANDOM_CASES} random instructions match the host`, () => {
    const arb = fc.tuple(fc.nat({ max: ORACLE_ENTRIES.length - 1 }), words);
    const cases = fc.sample(arb, { seed: SEED, numRuns: RANDOM_CASES }).map(([entry, w]) => ({ entry, c: buildCase(ORACLE_ENTRIES[entry]!, w) }));
    const { mismatches, compared } = compareAll(cases);
    console.log(`oracle: ${compared} random cases compared, ${mismatches.length} mismatches`);
    expect(compared).toBeGreaterThan(RANDOM_CASES * 0.95);
    if (process.env.XENRR_ORACLE_DUMP) writeFileSync(process.env.XENRR_ORACLE_DUMP, mismatches.join("\n"));
    expect(mismatches.slice(0, 15)).toEqual([]);
  });
});
