/**
 * Machine sizing: Xen's own frames (the M2P and its tables) come on top of
 * guest RAM, so a large domain builds as well as a small one, up to the
 * limit the scenario schema states.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Machine } from '../machine.js';
import { parseScenario } from '../scenario.js';
import { Frames, MAX_MACHINE_MIB, withXenFrames, xenBootFrames } from './frames.js';

const HELLO = fileURLToPath(new URL('../../build/corpus/pv/hello.elf', import.meta.url));

describe('machine sizing', () => {
  it('leaves room for the M2P of the whole machine, and no more than needed', () => {
    for (const n of [1, 511, 512, 5184, 525_376, 786_432 + 1088, 1 << 24]) {
      const total = withXenFrames(n);
      expect(total - n).toBeGreaterThanOrEqual(xenBootFrames(total));
      expect(total - 1 - n).toBeLessThan(xenBootFrames(total - 1));
    }
  });

  it('refuses a machine whose M2P one L2 table cannot map', () => {
    expect(() => new Frames(512 * 512 * 512 + 1)).toThrow(/more than one L2 table/);
  });

  it.skipIf(!existsSync(HELLO))('builds and runs domains of 4096 MiB, alone and in pairs', () => {
    const image = readFileSync(HELLO);
    for (const sizes of [[4096], [3072, 3072]]) {
      const specs = sizes.map((memoryMiB, k) => ({ id: k + 1, name: `d${k + 1}`, memoryMiB, vcpus: 1, cmdline: '', privileged: false, seed: 7, image }));
      const m = new Machine(specs);
      const r = m.run(50_000_000);
      expect(r.stop).toBe('all-stopped');
      expect(r.domains.map((d) => d.reason)).toEqual(sizes.map(() => 'poweroff'));
    }
  });

  it('the scenario schema takes machines up to the limit and names it beyond', () => {
    const dom = (name: string, memoryMiB: number) => ({ name, kernel: 'hello', memoryMiB });
    expect(parseScenario({ name: 's', domains: [dom('a', MAX_MACHINE_MIB)] }, 's.json').domains[0]!.memoryMiB).toBe(MAX_MACHINE_MIB);
    expect(() => parseScenario({ name: 's', domains: [dom('a', MAX_MACHINE_MIB + 1)] }, 's.json')).toThrow(
      `s.json: domains.0.memoryMiB: must be at most ${MAX_MACHINE_MIB} MiB (what the simulated machine holds, all domains together)`,
    );
    expect(() => parseScenario({ name: 's', domains: [dom('a', 40000), dom('b', 40000)] }, 's.json')).toThrow(
      `s.json: domains: 80000 MiB of memory in all: the simulated machine holds at most ${MAX_MACHINE_MIB} MiB`,
    );
  });
});
