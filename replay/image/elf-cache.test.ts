/**
 * The on-disk cache of decompressed kernels: what is stored comes back, a
 * damaged entry is a miss (never another kernel), and a cache that cannot
 * be written or is switched off costs nothing but the decompression.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedElf, storeElf } from './elf-cache.js';

const KEY = 'ab'.repeat(32);
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 9, 9, 9]);

describe('decompressed kernel cache', () => {
  let dir = '';
  const saved = process.env.XENRR_CACHE;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'xenrr-elf-cache-'));
    process.env.XENRR_CACHE = dir;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    if (saved === undefined) delete process.env.XENRR_CACHE;
    else process.env.XENRR_CACHE = saved;
  });

  it('gives back what was stored, by the bzImage\'s sha256, with its codec', () => {
    expect(cachedElf(KEY)).toBeNull();
    storeElf(KEY, 'xz', ELF);
    expect(cachedElf(KEY)).toEqual({ elf: ELF, codec: 'xz' });
    expect(cachedElf('cd'.repeat(32))).toBeNull();
    expect(readdirSync(join(dir, 'kernels')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a damaged entry is a miss', () => {
    storeElf(KEY, 'gzip', ELF);
    const [name] = readdirSync(join(dir, 'kernels'));
    writeFileSync(join(dir, 'kernels', name!), ELF.subarray(0, 5));
    expect(cachedElf(KEY)).toBeNull();
  });

  it('switched off, or unwritable: nothing kept, nothing thrown', () => {
    process.env.XENRR_CACHE = 'off';
    storeElf(KEY, 'xz', ELF);
    expect(cachedElf(KEY)).toBeNull();
    writeFileSync(join(dir, 'file'), '');
    process.env.XENRR_CACHE = join(dir, 'file'); // a file where the directory would be
    expect(() => storeElf(KEY, 'xz', ELF)).not.toThrow();
    expect(cachedElf(KEY)).toBeNull();
  });
});
