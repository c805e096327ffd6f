/**
 * The corpus ext4 image (corpus/disks.mjs): e2fsprogs makes the same bytes
 * every time, e2fsck finds it clean, and it holds ext4Files() as they are.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ext4Files, writeExt4Image } from './disks.mjs';
import { testTempDir } from '../replay/e2e/temp-dir.js';

const hasE2fs = spawnSync('mke2fs', ['-V']).status === 0;
if (!hasE2fs) console.warn('skipping the ext4 image tests: mke2fs is absent (apt-get install e2fsprogs)');

describe.skipIf(!hasE2fs)('corpus ext4 image', () => {
  it('is byte-reproducible, clean, and holds the files with root as owner', () => {
    const dir = testTempDir('xenrr-ext4-');
    const [a, b] = [join(dir, 'a.img'), join(dir, 'b.img')];
    writeExt4Image(a, 16);
    writeExt4Image(b, 16);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(readFileSync(a).length).toBe(16 << 20);
    const fsck = spawnSync('e2fsck', ['-fn', a], { encoding: 'utf8' });
    expect(fsck.status, fsck.stdout).toBe(0);
    for (const [name, data] of ext4Files()) {
      expect(spawnSync('debugfs', ['-R', `cat /${name}`, a], { maxBuffer: 1 << 24 }).stdout.equals(data), name).toBe(true);
      expect(spawnSync('debugfs', ['-R', `stat /${name}`, a], { encoding: 'utf8' }).stdout).toMatch(/User: +0 +Group: +0 .*\n[^]*ctime: 0x3b9aca00:00000000/);
    }
    const sb = spawnSync('dumpe2fs', ['-h', a], { encoding: 'utf8' }).stdout;
    expect(sb).toMatch(/Filesystem UUID: +7e4e0000-0000-4000-8000-00000000e4e4/);
    expect(sb).toMatch(/Filesystem features: .*metadata_csum/);
  });
});
