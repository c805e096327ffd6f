/**
 * Reading a kernel image file the way Xen's toolstack does: an ELF as it
 * is, a bzImage by its compressed ELF payload. What the domain builder gets
 * is always the ELF; what a trace records (path, sha256, size) is always
 * the file the user named, so a replay checks the same bytes it was given.
 *
 * Decompressed ELFs are kept per file content for the life of the process
 * (a replay rebuilds its machine many times and a kernel takes a second to
 * decompress), and on disk between processes (elf-cache.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { bzImagePayload, ImageError, isBzImage } from './bzimage.js';
import { cachedElf, storeElf } from './elf-cache.js';

export { ImageError } from './bzimage.js';

export type KernelImage = {
  /** the file's bytes, as named */
  file: Uint8Array;
  sha256: Buffer;
  /** the ELF the domain builder loads (`file` itself unless it is a bzImage) */
  elf: Uint8Array;
  /** "ELF" or "bzImage (xz)" etc. */
  format: string;
};

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const cache = new Map<string, { elf: Uint8Array; format: string }>();

/** Digests of byte arrays hashed before (file contents are never modified in place). */
const digests = new WeakMap<Uint8Array, Buffer>();

/** The sha256 of `b`, computed once per array. */
export function sha256(b: Uint8Array): Buffer {
  let d = digests.get(b);
  if (d === undefined) {
    d = createHash('sha256').update(b).digest();
    digests.set(b, d);
  }
  return d;
}

/** A kernel from the bytes of its file; throws ImageError for a bzImage that does not hold an ELF. */
export function kernelImage(file: Uint8Array): KernelImage {
  const sha = sha256(file);
  if (!isBzImage(file)) return { file, sha256: sha, elf: file, format: 'ELF' };
  const key = sha.toString('hex');
  let hit = cache.get(key);
  if (hit === undefined) {
    const kept = cachedElf(key);
    const { elf, codec } = kept ?? bzImagePayload(file);
    if (!ELF_MAGIC.every((b, k) => elf[k] === b)) throw new ImageError(`bzImage ${codec} payload is not an ELF image (Xen's loader needs one: a PV-capable kernel)`);
    if (kept === null) storeElf(key, codec, elf);
    hit = { elf, format: `bzImage (${codec})` };
    cache.set(key, hit);
  }
  return { file, sha256: sha, ...hit };
}

/** A kernel image file; a missing file or a bad bzImage is an ImageError naming the path. */
export function readKernel(path: string): KernelImage {
  if (!existsSync(path)) throw new ImageError(`${path}: no such file`);
  try {
    return kernelImage(new Uint8Array(readFileSync(path)));
  } catch (e) {
    if (e instanceof ImageError) throw new ImageError(`${path}: ${e.message}`);
    throw e;
  }
}
