/**
 * The compute guests as Xen PV kernels (build/corpus/pv/compute-<name>.elf:
 * corpus/compute/<name>.c + rt.c with -DXENRR_PV + compute-main.c + the PV
 * runtime) on the simulated Xen machine: the domain's console is exactly the
 * native build's stdout (build/corpus/<name>.expected; the PV console passes
 * "\n" through unchanged), the domain powers off, and it retires within 2%
 * of the instructions the flat image retires on the bare core, so the bench
 * compares the same computation. The PV overhead is boot (rt_init), console
 * ring writes and shutdown; the guest code and its mem/string helpers are
 * the flat build's.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { runScenario } from '../../replay/scenario-run.js';
import { runFlat } from '../../sim/cpu/flat.js';
import { parseScenario } from '../../sim/scenario.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'build', 'corpus');

/** Must match COMPUTE_GUESTS in corpus/build.mjs. */
const GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format', 'simd', 'matmul', 'fpconv'] as const;

/** Largest PV/bare instruction ratio minus 1 accepted (measured: at most 0.6%). */
const MAX_OVERHEAD = 0.02;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
});

/** One 16 MiB domain running the PV flavour of compute guest `name`. */
function runPv(name: string, cmdline = '') {
  const kernel = join(OUT, 'pv', `compute-${name}.elf`);
  const s = parseScenario(
    { name: `compute-${name}`, seed: 1, maxInsns: 200_000_000, domains: [{ name, kernel, memoryMiB: 16, cmdline }] },
    kernel,
  );
  return runScenario(s).summary;
}

describe('compute guests as PV kernels', () => {
  it('builds one PV kernel per compute guest', () => {
    const script = readFileSync(join(ROOT, 'corpus', 'build.mjs'), 'utf8');
    const list = /const COMPUTE_GUESTS = \[([\s\S]*?)\];/.exec(script);
    expect(list).not.toBeNull();
    const names = [...list![1]!.matchAll(/name: '([\w-]+)'/g)].map((m) => m[1]);
    expect(names.sort()).toEqual([...GUESTS].sort());
  });

  for (const name of GUESTS) {
    it(`${name}: console equals the native output, powers off, same work as on the bare core`, () => {
      const expected = readFileSync(join(OUT, `${name}.expected`), 'latin1');
      const bare = runFlat(new Uint8Array(readFileSync(join(OUT, `${name}.elf`))));
      expect(bare.stop).toBe('halt');
      expect(bare.exitCode).toBe(0);
      expect(bare.output).toBe(expected);

      const pv = runPv(name);
      expect(pv.stop).toBe('all-stopped');
      expect(pv.domains).toHaveLength(1);
      const dom = pv.domains[0]!;
      expect(dom.console).toBe(expected);
      expect([dom.state, dom.reason]).toEqual(['shutdown', 'poweroff']);

      // The PV run does everything the bare one does, plus boot and console I/O.
      expect(dom.instructions).toBeGreaterThan(bare.instructions);
      expect(dom.instructions / bare.instructions - 1).toBeLessThan(MAX_OVERHEAD);
    }, 120_000);
  }

  it('repeat=N runs the guest N times (a long compute-bound run for benches)', () => {
    const expected = readFileSync(join(OUT, 'crc32.expected'), 'latin1');
    const once = runPv('crc32');
    const thrice = runPv('crc32', 'repeat=3');
    expect(thrice.domains[0]!.console).toBe(expected.repeat(3));
    expect([thrice.domains[0]!.state, thrice.domains[0]!.reason]).toEqual(['shutdown', 'poweroff']);
    const work = once.domains[0]!.instructions;
    expect(thrice.domains[0]!.instructions / work).toBeGreaterThan(2.9);
    expect(thrice.domains[0]!.instructions / work).toBeLessThan(3);
  }, 120_000);
});
