/**
 * Test helper: bzImages made the way the kernel's build makes them, from an
 * ELF we have, with the Debian compressors (.ci/run installs them) run on
 * it at test time, plus the setup-header fields Xen's loader reads.
 */
import { execFileSync } from 'node:child_process';
import type { Codec } from './codecs.js';

/** The kernel Makefile's compressor command for each codec (reading stdin, as the build does). */
export const COMPRESSORS: Record<Codec, string[]> = {
  gzip: ['gzip', '-n', '-9'],
  bzip2: ['bzip2', '-9'],
  xz: ['xz', '--check=crc32', '--x86', '--lzma2=dict=1MiB'],
  zstd: ['zstd', '-q', '-19'],
  lzma: ['lzma', '-9'],
  lzo: ['lzop', '-9'],
  lz4: ['lz4', '-l', '-9'],
};

export function compressWith(codec: Codec, data: Uint8Array): Uint8Array {
  const [cmd, ...args] = COMPRESSORS[codec];
  return execFileSync(cmd!, args, { input: data, maxBuffer: 1 << 30 });
}

/**
 * A minimal bzImage around `payload` (the compressed data; the size word
 * `size` is appended): boot sector + `setupSects` setup sectors, with the
 * "HdrS" header of protocol `version`, then `payloadOffset` bytes of
 * protected-mode code before the payload.
 */
export function wrapBzImage(payload: Uint8Array, size: number, opts: { setupSects?: number; version?: number; payloadOffset?: number } = {}): Uint8Array {
  const setupSects = opts.setupSects ?? 3;
  const payloadOffset = opts.payloadOffset ?? 0x3c0;
  const at = (setupSects + 1) * 512 + payloadOffset;
  const out = new Uint8Array(at + payload.length + 4 + 100);
  const dv = new DataView(out.buffer);
  out[0x1f1] = setupSects;
  dv.setUint16(0x1fe, 0xaa55, true);
  out.set([0x48, 0x64, 0x72, 0x53], 0x202);
  dv.setUint16(0x206, opts.version ?? 0x20f, true);
  dv.setUint32(0x248, payloadOffset, true);
  dv.setUint32(0x24c, payload.length + 4, true);
  out.set(payload, at);
  dv.setUint32(at + payload.length, size, true);
  return out;
}

/** `elf` as a bzImage with a `codec` payload. */
export function makeBzImage(elf: Uint8Array, codec: Codec): Uint8Array {
  return wrapBzImage(compressWith(codec, elf), elf.length);
}
