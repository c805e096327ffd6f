/**
 * The ELFs decompressed from bzImages, kept on disk between processes: a
 * Debian kernel's xz payload takes ~0.8 s to decompress, which every
 * `replay --to`, seek, `dump` or `tui` of a Linux trace would otherwise pay
 * again. The directory is $XENRR_CACHE, else $XDG_CACHE_HOME/xenrr, else
 * ~/.cache/xenrr (XENRR_CACHE=off: none).
 *
 * An entry is named by the bzImage's sha256, the codec and the ELF's own
 * sha256, written to a temporary name and renamed into place, and checked
 * against that sha256 when read: a damaged or foreign file is a miss, never
 * a different kernel. Nothing here can fail a run: an unwritable or missing
 * directory only means decompressing again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

function cacheDir(): string | null {
  const v = process.env.XENRR_CACHE;
  if (v === 'off') return null;
  if (v !== undefined && v !== '') return join(v, 'kernels');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'xenrr', 'kernels');
}

const hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The cached ELF of the bzImage whose sha256 is `key`, with its codec; null on a miss. */
export function cachedElf(key: string): { elf: Uint8Array; codec: string } | null {
  const dir = cacheDir();
  if (dir === null) return null;
  try {
    for (const name of readdirSync(dir)) {
      const m = /^([0-9a-f]{64})\.([a-z0-9]+)\.([0-9a-f]{64})\.elf$/.exec(name);
      if (m === null || m[1] !== key) continue;
      const elf = new Uint8Array(readFileSync(join(dir, name)));
      if (hex(elf) === m[3]) return { elf, codec: m[2]! };
    }
  } catch {
    // no directory yet, or unreadable: a miss
  }
  return null;
}

/** Keep `elf`, decompressed with `codec` from the bzImage whose sha256 is `key`. */
export function storeElf(key: string, codec: string, elf: Uint8Array): void {
  const dir = cacheDir();
  if (dir === null || !/^[a-z0-9]+$/.test(codec)) return;
  const name = `${key}.${codec}.${hex(elf)}.elf`;
  const tmp = join(dir, `.${name}.${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, elf);
    renameSync(tmp, join(dir, name));
  } catch {
    // a read-only or full disk: decompress next time
  }
}
