// Disk images for the corpus's block-device scenarios, made from a formula
// (no randomness, no host input), so every build writes the same bytes.
//
// Byte i (0..511) of sector s is (s*151 + i*7 + (s >> 8)*3 + (i >> 5)) mod 256:
// every sector differs from its neighbours and from itself shifted, so a
// read of the wrong sector, or at the wrong offset, shows. corpus/pv/blkfront.h
// checks reads against the same formula (disk_byte).

import { renameSync, writeFileSync } from 'node:fs';

/** The pattern's bytes for `sectors` sectors. */
export function diskPattern(sectors) {
  const b = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) {
    const base = (s * 151 + (s >>> 8) * 3) & 0xff;
    for (let i = 0; i < 512; i++) b[s * 512 + i] = (base + i * 7 + (i >>> 5)) & 0xff;
  }
  return b;
}

/** Writes a `mib` MiB image with the pattern to `path` (via a temporary file, so readers never see half of it). */
export function writeDiskImage(path, mib) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, diskPattern(mib * 2048));
  renameSync(tmp, path);
}
