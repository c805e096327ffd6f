/**
 * The compute guests under the interpreter print exactly what the same C
 * code prints natively (build/corpus/<name>.expected, made by corpus/build.mjs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runFlat } from '../../sim/cpu/flat.js';

const ROOT = new URL('../../', import.meta.url);
const GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format', 'simd', 'matmul', 'fpconv'] as const;

describe('compute guests on the core', () => {
  for (const name of GUESTS) {
    const elf = new URL(`build/corpus/${name}.elf`, ROOT);
    it.skipIf(!existsSync(elf))(`${name} prints the native answer`, () => {
      const r = runFlat(readFileSync(elf));
      const expected = readFileSync(new URL(`build/corpus/${name}.expected`, ROOT), 'latin1');
      expect(r.stop, JSON.stringify(r.exception, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))).toBe('halt');
      expect(r.output).toBe(expected);
      expect(r.exitCode).toBe(0);
    });
  }
});
