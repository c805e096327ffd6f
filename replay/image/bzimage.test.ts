import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusKernel } from '../../sim/xen/test-domain.js';
import { bzImagePayload, ImageError, isBzImage, parseBzImage } from './bzimage.js';
import type { Codec } from './codecs.js';
import { COMPRESSORS, compressWith, makeBzImage, wrapBzImage } from './test-bzimage.js';

const elf = new Uint8Array(readFileSync(corpusKernel('hello')));
const CODECS = Object.keys(COMPRESSORS) as Codec[];

describe('bzImage payloads, compressed by the Debian tools the kernel build uses', () => {
  for (const codec of CODECS) {
    it(`${codec}: detected by magic and decoded to the ELF`, () => {
      const img = makeBzImage(elf, codec);
      expect(isBzImage(img)).toBe(true);
      expect(parseBzImage(img)).toMatchObject({ codec, size: elf.length, version: 0x20f });
      const out = bzImagePayload(img);
      expect(out.codec).toBe(codec);
      expect(Buffer.from(out.elf).equals(Buffer.from(elf))).toBe(true);
    });
  }

  it('a payload of several blocks/chunks decodes whole (lzo and lz4 split at 256 KiB and 4 MiB)', () => {
    // 9 MiB: several lzop blocks and lz4 legacy chunks, with repeats across them.
    const big = new Uint8Array(9 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 27 ^ (i >> 12);
    big.set(elf, 5 << 20);
    for (const codec of ['lzo', 'lz4', 'xz'] as const) {
      expect(Buffer.from(bzImagePayload(makeBzImage(big, codec)).elf).equals(Buffer.from(big)), codec).toBe(true);
    }
  });
});

describe('bad bzImages: one ImageError line, never a crash', () => {
  const err = (img: Uint8Array): string => {
    try {
      bzImagePayload(img);
    } catch (e) {
      expect(e).toBeInstanceOf(ImageError);
      expect((e as Error).message).not.toContain('\n');
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  // Codecs that check their data (CRC32, Adler-32, content checksums) notice a flipped byte.
  for (const codec of ['gzip', 'bzip2', 'xz', 'zstd', 'lzo'] as const) {
    it(`${codec}: a flipped byte inside the payload`, () => {
      const payload = compressWith(codec, elf);
      const mid = Math.floor(payload.length / 2);
      payload[mid] = payload[mid]! ^ 0x5a;
      expect(err(wrapBzImage(payload, elf.length))).toMatch(new RegExp(`${codec} payload (is corrupt|gave)`));
    });
  }
  for (const codec of CODECS) {
    it(`${codec}: a payload cut short`, () => {
      const payload = compressWith(codec, elf);
      expect(err(wrapBzImage(payload.subarray(0, Math.floor(payload.length * 0.6)), elf.length))).toMatch(new RegExp(`${codec} payload`));
    });
  }
  it('a size word that disagrees with the data', () => {
    expect(err(wrapBzImage(compressWith('gzip', elf), elf.length + 4096))).toContain(`gave ${elf.length} bytes instead of the ${elf.length + 4096}`);
  });
  it('an unknown compression', () => {
    expect(err(wrapBzImage(new Uint8Array(64).fill(0x33), 64))).toContain('unknown compression (starts 333333333333)');
  });
  it('a payload that runs past the file', () => {
    const img = wrapBzImage(compressWith('gzip', elf), elf.length);
    expect(err(img.subarray(0, img.length - 200))).toMatch(/payload \[0x[0-9a-f]+, \+0x[0-9a-f]+\) runs past the file's/);
  });
  it('a boot protocol older than 2.08', () => {
    expect(err(wrapBzImage(compressWith('gzip', elf), elf.length, { version: 0x207 }))).toContain('boot protocol 2.07 is too old');
  });
  it('not a bzImage at all', () => {
    expect(isBzImage(elf)).toBe(false);
    expect(err(elf)).toContain('not a bzImage');
  });
});
