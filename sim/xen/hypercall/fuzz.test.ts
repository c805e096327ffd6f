/**
 * Fuzz: random hypercall numbers, sub-ops and arguments (pointers into a
 * scratch area full of random structs, unmapped and non-canonical pointers,
 * random integers). No call may throw; every failure must be a Xen errno.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Errno } from '../public/xen.js';
import { corpusBuilt, testDomains, type TestDomain } from '../test-domain.js';
import { hypercall } from './index.js';

const CALLS = Number(process.env.XENRR_FUZZ_CALLS ?? 10_000);
const ERRNOS = new Set<number>(Object.values(Errno));

describe.skipIf(!corpusBuilt)('hypercall fuzz', () => {
  it(`${CALLS} random hypercalls never throw and fail only with Xen errnos`, () => {
    const arg = (scratch: bigint) =>
      fc.oneof(
        fc.constantFrom(0n, 1n, 2n, 3n, 4n, 6n, 8n, 0x7ff0n, 0xffffffffn, 0xffffffffffffffffn),
        fc.nat({ max: 64 }).map(BigInt),
        fc.nat({ max: 8192 - 64 }).map((o) => scratch + BigInt(o)),
        fc.constantFrom(0xdead00000000n, 0x8000000000000000n, 0xffff800000000000n, 0x100000n),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      );
    const call = fc.record({
      nr: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 3, 4, 5, 8, 9, 10, 12, 13, 14, 15, 17, 18, 20, 21, 24, 25, 26, 29, 30, 32, 33, 35, 36) },
        { weight: 1, arbitrary: fc.nat({ max: 64 }) },
        { weight: 1, arbitrary: fc.nat({ max: 0xffffffff }) },
      ),
      args: fc.tuple(fc.oneof(fc.nat({ max: 16 }).map(BigInt), arg(0x3f0000n)), arg(0x3f0000n), arg(0x3f0000n), arg(0x3f0000n), arg(0x3f0000n)),
      fill: fc.uint8Array({ minLength: 64, maxLength: 64 }),
      at: fc.nat({ max: 8192 - 64 }),
    });
    const samples = fc.sample(call, { seed: 7, numRuns: CALLS });
    let t: TestDomain = testDomains()[0]!;
    const outcomes = new Map<string, number>();
    for (const s of samples) {
      if (!t.d.alive) t = testDomains()[0]!;
      t.v.guest.write(t.scratch + BigInt(s.at), s.fill);
      let r: number | null;
      try {
        r = hypercall(t.xen, t.d, t.v, s.nr, s.args).result;
      } catch (e) {
        throw new Error(`hypercall ${s.nr}(${s.args.map((a) => `0x${a.toString(16)}`).join(', ')}) threw: ${(e as Error).stack}`);
      }
      if (r !== null) {
        expect(Number.isInteger(r), `result of ${s.nr}`).toBe(true);
        if (r < 0) expect(ERRNOS.has(-r), `hypercall ${s.nr} returned ${r}, not a Xen errno`).toBe(true);
      }
      const key = r === null ? 'none' : r < 0 ? `-${Object.entries(Errno).find(([, v]) => v === -r)?.[0]}` : 'ok';
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    console.log(`fuzz outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
    // The generator must reach both successes and the common errnos.
    for (const k of ['ok', '-ENOSYS', '-EFAULT', '-EINVAL']) expect(outcomes.get(k) ?? 0, k).toBeGreaterThan(10);
  });
});
