/**
 * Loading kernel files: a bzImage's payload decoded with each codec (the
 * Debian kernel's ELF recompressed by the Debian tools, as the kernel build
 * does), and kallsyms read from it. Needs `npm run kernels`; without it the
 * table is empty.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Row } from './cpu-bench.js';
import { bzImagePayload, parseBzImage } from '../replay/image/bzimage.js';
import type { Codec } from '../replay/image/codecs.js';
import { readKallsyms } from '../replay/image/kallsyms.js';
import { kernelImage } from '../replay/image/kernel-image.js';
import { compressWith, wrapBzImage } from '../replay/image/test-bzimage.js';

const KERNEL = fileURLToPath(new URL('../build/kernels/vmlinuz-6.1.0-57-amd64', import.meta.url));

function best(n: number, f: () => void): number {
  let t = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

export function benchImages(): Row[] {
  if (!existsSync(KERNEL)) return [];
  const file = new Uint8Array(readFileSync(KERNEL));
  const elf = kernelImage(file).elf;
  const rows: Row[] = [];
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  for (const codec of ['xz', 'gzip', 'zstd', 'lz4', 'lzo', 'lzma', 'bzip2'] as Codec[]) {
    const img = codec === 'xz' ? file : wrapBzImage(compressWith(codec, elf), elf.length);
    const ms = best(codec === 'bzip2' || codec === 'lzma' ? 1 : 3, () => bzImagePayload(img));
    rows.push({ what: `bzImage ${codec} payload -> ELF`, 'payload MiB': mib(parseBzImage(img).payloadLength), 'ELF MiB': mib(elf.length), ms: ms.toFixed(0), 'MiB/s out': (elf.length / 1048576 / (ms / 1000)).toFixed(0) });
  }
  let count = 0;
  const ms = best(3, () => (count = readKallsyms(elf)!.length));
  rows.push({ what: `kallsyms: ${count} symbols`, 'payload MiB': '-', 'ELF MiB': mib(elf.length), ms: ms.toFixed(0), 'MiB/s out': '-' });
  return rows;
}
