/**
 * Core benchmark: each compute guest on the bare core (instructions retired,
 * MIPS by wall and by CPU time, best of XENRR_BENCH_REPEAT runs in one
 * process, and the first run's MIPS, before anything is translated; slowdown
 * against the same C run natively, measured in the same run),
 * and peak RSS of a 128 MiB guest that touches 8 MiB.
 *
 * Registers are held as uint32 halves in one Uint32Array; the per-instruction
 * path has no BigInt and no allocation.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runFlat } from '../sim/cpu/flat.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format'];
const REPEAT = Number(process.env.XENRR_BENCH_REPEAT ?? 3);

/** guest_main's own native run time in ms (best of n), from the XENRR_TIME hook in native-main.c. */
function nativeMs(name: string, n = 15): number {
  let best = Infinity;
  for (let k = 0; k < n; k++) {
    const r = spawnSync(`${ROOT}build/corpus/${name}.native`, [], { env: { ...process.env, XENRR_TIME: '1' }, encoding: 'utf8' });
    best = Math.min(best, Number(r.stderr.trim()) / 1e6);
  }
  return best;
}

export type Row = Record<string, string | number>;

/**
 * Guests measured after the 'all' row (so it stays comparable with earlier
 * runs): SSE2 integer SIMD, then SSE/SSE2 floating point (matrix products,
 * conversions and corner cases).
 */
const EXTRA = ['simd', 'matmul', 'fpconv'];

export function benchCompute(): Row[] {
  const rows: Row[] = [];
  let totalInsns = 0;
  let totalSec = 0;
  let totalCpu = 0;
  let totalFirst = 0;
  const mips = (n: number, s: number): string => (n / s / 1e6).toFixed(1);
  for (const name of [...GUESTS, ...EXTRA]) {
    const image = readFileSync(`${ROOT}build/corpus/${name}.elf`);
    let best = Infinity;
    let bestCpu = Infinity;
    let first = 0;
    let insns = 0;
    for (let k = 0; k < REPEAT; k++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const r = runFlat(image);
      const c = process.cpuUsage(c0);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.stop !== 'halt') throw new Error(`${name}: stopped with ${r.stop}`);
      insns = r.instructions;
      best = Math.min(best, s);
      // CPU time: all of the process's threads (V8 compiles on its own), steadier than wall on a shared host
      bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);
      if (k === 0) first = s;
    }
    const nat = nativeMs(name);
    if (GUESTS.includes(name)) {
      totalInsns += insns;
      totalSec += best;
      totalCpu += bestCpu;
      totalFirst += first;
    }
    if (name === EXTRA[0]) rows.push({ guest: 'all', instructions: totalInsns, seconds: totalSec.toFixed(3), MIPS: mips(totalInsns, totalSec), 'cpu MIPS': mips(totalInsns, totalCpu), 'first run MIPS': mips(totalInsns, totalFirst), 'native ms': '', slowdown: '' });
    rows.push({ guest: name, instructions: insns, 'seconds': best.toFixed(3), MIPS: mips(insns, best), 'cpu MIPS': mips(insns, bestCpu), 'first run MIPS': mips(insns, first), 'native ms': nat.toFixed(2), slowdown: `${Math.round((best * 1000) / nat)}x` });
  }
  return rows;
}

/** Peak RSS of a child that runs a 128 MiB guest touching 8 MiB, against the same child running nothing. */
export function benchRss(): Row[] {
  const child = `${ROOT}bench/rss-child.ts`;
  const run = (mode: string): number => Number(execFileSync(process.execPath, ['--import', 'tsx/esm', child, mode], { cwd: ROOT, encoding: 'utf8' }).trim());
  const base = run('baseline');
  const touched = run('touch');
  return [
    { case: 'node + xenrr loaded, no guest', 'peak RSS MiB': (base / 1024).toFixed(1) },
    { case: '128 MiB guest touching 8 MiB', 'peak RSS MiB': (touched / 1024).toFixed(1) },
    { case: 'difference', 'peak RSS MiB': ((touched - base) / 1024).toFixed(1) },
  ];
}
