/**
 * Debian's stock Linux 6.1 with its own drivers on dom0's backends
 * (corpus/scenarios/linux/drivers.json): /init loads xen-blkfront and ext4
 * from the drivers initramfs, mounts blkback's xvda (the corpus ext4
 * image) and reads, writes, fsyncs, remounts and trims it. Recorded once
 * (in-process, to look at the disk afterwards) and replayed exactly; the
 * written file is in the copy-on-write overlay, which holds a clean ext4
 * (e2fsck), and the image file is unchanged. That two recordings are
 * byte-identical is the plain boot's test (linux-boot.test.ts).
 *
 * A boot is ~2.5e9 guest instructions (minutes here): one recording and one
 * replay, shared by the assertions.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ext4Files } from '../../corpus/disks.mjs';
import { parseScenario } from '../../sim/scenario.js';
import { BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE } from '../../sim/xen/public/io/blkif.js';
import { record, type RecordResult } from '../record.js';
import { checkExpect } from '../scenario-run.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const FILE = `${ROOT}corpus/scenarios/linux/drivers.json`;
const NEEDS = [`${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`, `${ROOT}build/corpus/linux/initramfs-drivers-6.1.0-57-amd64.cpio.gz`, `${ROOT}build/corpus/disks/ext4.img`];
const IMAGE = NEEDS[2]!;
const missing = NEEDS.find((p) => !existsSync(p));
if (missing !== undefined) console.warn(`skipping the Linux drivers tests: ${missing} is absent (run \`npm run kernels\`, then \`npm run build\`)`);
const hasE2fs = spawnSync('debugfs', ['-V']).status === 0;
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** What /init printed for the disk, in order (corpus/linux/disk.c). */
const DISK_LINES = [
  'xenrr-init: disk module ok: crc32c_generic.ko', 'xenrr-init: disk module ok: xen-blkfront.ko', 'xenrr-init: disk module ok: jbd2.ko',
  'xenrr-init: disk module ok: mbcache.ko', 'xenrr-init: disk module ok: crc16.ko', 'xenrr-init: disk module ok: ext4.ko',
  'xenrr-init: disk xvda ok: block 202:0, 65536 sectors, /dev from devtmpfs',
  // blkfront's queue from blkback's features: flush (no FUA), 32 indirect segments (blkfront's default cap), discard
  'xenrr-init: disk queue ok: write_cache write back, fua 0, max_segments 32, max_sectors_kb 128, discard_granularity 4096, discard_max_bytes 33554432, hardware queues 1',
  'xenrr-init: disk mount ok: ext4 /dev/xvda on /mnt',
  'xenrr-init: disk read ok: /mnt/hello.txt, 29 bytes', 'xenrr-init: disk read ok: /mnt/data/deep/nested.txt, 18 bytes',
  'xenrr-init: disk read ok: /mnt/data/pattern.bin, 1048576 bytes',
  'xenrr-init: disk write+fsync ok: /mnt/written.txt, 65536 bytes', 'xenrr-init: disk drop_caches ok',
  'xenrr-init: disk read back ok: /mnt/written.txt, 65536 bytes', 'xenrr-init: disk umount ok: /mnt',
  'xenrr-init: disk remount ok: ext4 /dev/xvda on /mnt', 'xenrr-init: disk read after remount ok: /mnt/written.txt, 65536 bytes',
  'xenrr-init: disk fstrim ok: ', 'xenrr-init: disk umount ok: /mnt', 'xenrr-init: all checks passed',
];
/** /written.txt as init writes it. */
const WRITTEN = Array.from({ length: 4096 }, (_, i) => `xenrr line ${String(i).padStart(4, '0')}\n`).join('');

describe.skipIf(missing !== undefined)('Debian Linux 6.1: its xen-blkfront and ext4 on our blkback', () => {
  const tmp = fileTempDir('xenrr-linux-drivers-');
  const trace = join(tmp, 'drivers.xrr');
  const s = parseScenario(JSON.parse(readFileSync(FILE, 'utf8')), FILE);
  let before = '';
  let rec: RecordResult;
  let text = '';
  beforeAll(async () => {
    before = sha(IMAGE);
    rec = await record(s, trace);
    text = Buffer.from(rec.machine.domains[0]!.console).toString('latin1');
  }, 1_800_000);

  it('runs to power-off: modules load, blkfront connects with what blkback offers, ext4 reads, writes and trims', () => {
    expect(checkExpect(s, rec.summary)).toEqual([]);
    let at = 0;
    for (const line of DISK_LINES) {
      const k = text.indexOf(line, at);
      expect(k, line).toBeGreaterThanOrEqual(0);
      at = k + line.length;
    }
    expect(text).toMatch(/blkfront: xvda: flush diskcache: enabled; persistent grants: enabled; indirect descriptors: enabled;/);
    for (const bad of ['FAIL', 'BUG:', 'Oops', 'WARNING:', 'I/O error', 'EXT4-fs error', 'blkfront: .* error']) expect(text, bad).not.toMatch(new RegExp(bad));
    expect(rec.summary.domains[0]).toMatchObject({ reason: 'poweroff' });
  });

  it.skipIf(!hasE2fs)('the overlay holds a clean ext4 with the written file and the image\'s; the image file is unchanged', () => {
    expect(sha(IMAGE)).toBe(before);
    const disk = rec.machine.toolstack.disksOf(1)[0]!;
    expect(disk.vdev).toBe('xvda');
    const bytes = new Uint8Array(disk.store.sectors * 512);
    disk.store.read(0, bytes.length, bytes, 0);
    expect(Buffer.from(bytes).equals(readFileSync(IMAGE))).toBe(false);
    const img = join(tmp, 'after.img');
    writeFileSync(img, bytes);
    const fsck = spawnSync('e2fsck', ['-fn', img], { encoding: 'utf8' });
    expect(fsck.stdout + fsck.stderr, 'e2fsck').not.toMatch(/UNEXPECTED|Fix\?|error/i);
    expect(fsck.status).toBe(0);
    const cat = (path: string) => spawnSync('debugfs', ['-R', `cat ${path}`, img], { maxBuffer: 1 << 24 }).stdout;
    expect(cat('/written.txt').toString('latin1')).toBe(WRITTEN);
    for (const [name, data] of ext4Files()) expect(cat(`/${name}`).equals(data), name).toBe(true);
  });

  it('blkfront used every request kind blkback offered: reads, writes, flushes, discards, indirect reads and writes', () => {
    const r = spawnSync(BIN, ['dump', trace, '--kind', 'ring', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.status).toBe(0);
    const ops = new Set<string>();
    for (const line of r.stdout.trim().split('\n')) {
      const e = JSON.parse(line) as { ring: string; slots: Array<Record<string, unknown>> };
      if (e.ring !== 'blkif') continue;
      for (const sl of e.slots) if (sl.dir === 'req') ops.add(sl.operation === BLKIF_OP_INDIRECT ? `indirect ${String(sl.indirect_op)}` : String(sl.operation));
      for (const sl of e.slots) if (sl.dir === 'rsp') expect(sl.status, JSON.stringify(sl)).toBe(0);
    }
    expect([...ops].sort()).toEqual([BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_DISCARD, `indirect ${BLKIF_OP_READ}`, `indirect ${BLKIF_OP_WRITE}`].map(String).sort());
  });

  it('replays exactly', () => {
    const r = spawnSync(BIN, ['replay', trace], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^replay: all \d+ events match/);
    expect(r.status).toBe(0);
  }, 1_800_000);
});
