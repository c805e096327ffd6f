/**
 * Debian's stock Linux 6.1 with its own drivers on dom0's backends
 * (corpus/scenarios/linux/drivers.json): /init loads xen-blkfront, ext4 and
 * xen-netfront from the drivers initramfs, mounts blkback's xvda (the
 * corpus ext4 image) and reads, writes, fsyncs, remounts and trims it; then
 * brings eth0 up on netback's switch and pings and UDP-echoes the built-in
 * peer, which `export --pcap` shows to tcpdump. Recorded once
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
import { NETIF_RSP_OKAY, NETTXF_csum_blank } from '../../sim/xen/public/io/netif.js';
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
const tcpdump = spawnSync('tcpdump', ['--version']).status === 0;
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** What /init printed for the disk, in order (corpus/linux/disk.c). */
const DISK_LINES = [
  'xenrr-init: module ok: crc32c_generic.ko', 'xenrr-init: module ok: xen-blkfront.ko', 'xenrr-init: module ok: jbd2.ko',
  'xenrr-init: module ok: mbcache.ko', 'xenrr-init: module ok: crc16.ko', 'xenrr-init: module ok: ext4.ko',
  'xenrr-init: module ok: xen-netfront.ko',
  'xenrr-init: disk xvda ok: block 202:0, 65536 sectors, /dev from devtmpfs',
  // blkfront's queue from blkback's features: flush (no FUA), 32 indirect segments (blkfront's default cap), discard
  'xenrr-init: disk queue ok: write_cache write back, fua 0, max_segments 32, max_sectors_kb 128, discard_granularity 4096, discard_max_bytes 33554432, hardware queues 1',
  'xenrr-init: disk mount ok: ext4 /dev/xvda on /mnt',
  'xenrr-init: disk read ok: /mnt/hello.txt, 29 bytes', 'xenrr-init: disk read ok: /mnt/data/deep/nested.txt, 18 bytes',
  'xenrr-init: disk read ok: /mnt/data/pattern.bin, 1048576 bytes',
  'xenrr-init: disk write+fsync ok: /mnt/written.txt, 65536 bytes', 'xenrr-init: disk drop_caches ok',
  'xenrr-init: disk read back ok: /mnt/written.txt, 65536 bytes', 'xenrr-init: disk umount ok: /mnt',
  'xenrr-init: disk remount ok: ext4 /dev/xvda on /mnt', 'xenrr-init: disk read after remount ok: /mnt/written.txt, 65536 bytes',
  'xenrr-init: disk fstrim ok: ', 'xenrr-init: disk umount ok: /mnt',
];
/** Then for the network (corpus/linux/net.c): netfront's eth0 against netback and its peer 10.0.0.1. */
const NET_LINES = [
  'xenrr-init: net eth0 ok: mac 00:16:3e:', 'xenrr-init: net ifup ok: eth0 10.0.0.2/24 up',
  'xenrr-init: net ping ok: 10.0.0.1 icmp_seq=1, 56 data bytes', 'xenrr-init: net ping ok: 10.0.0.1 icmp_seq=2, 512 data bytes',
  'xenrr-init: net ping ok: 10.0.0.1 icmp_seq=3, 1400 data bytes',
  'xenrr-init: net udp echo ok: 10.0.0.1:7, 64 bytes', 'xenrr-init: net udp echo ok: 10.0.0.1:7, 1472 bytes',
  'xenrr-init: net udp burst ok: 10.0.0.1:7, 320 of 320 datagrams of 1000 bytes back, sent 32 at a time',
  'xenrr-init: all checks passed',
];
/** /written.txt as init writes it. */
const WRITTEN = Array.from({ length: 4096 }, (_, i) => `xenrr line ${String(i).padStart(4, '0')}\n`).join('');

describe.skipIf(missing !== undefined)('Debian Linux 6.1: its xen-blkfront and ext4 on our blkback, its xen-netfront on our netback', () => {
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

  it('runs to power-off: modules load, blkfront connects with what blkback offers, ext4 reads, writes and trims; eth0 pings and echoes', () => {
    expect(checkExpect(s, rec.summary)).toEqual([]);
    let at = 0;
    for (const line of [...DISK_LINES, ...NET_LINES]) {
      const k = text.indexOf(line, at);
      expect(k, line).toBeGreaterThanOrEqual(0);
      at = k + line.length;
    }
    expect(text).toMatch(/blkfront: xvda: flush diskcache: enabled; persistent grants: enabled; indirect descriptors: enabled;/);
    for (const bad of ['FAIL', 'BUG:', 'Oops', 'WARNING:', 'I/O error', 'EXT4-fs error', 'blkfront: .* error', 'xen_netfront: .*(error|fail)', 'netfront.*[Ee]rror']) {
      expect(text, bad).not.toMatch(new RegExp(bad));
    }
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

  it('netfront negotiated sg, GSO and checksum offload; its UDP went out csum_blank; both rings wrapped; tcpdump reads the switch\'s frames', () => {
    const ring = spawnSync(BIN, ['dump', trace, '--kind', 'ring', '--json'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(ring.status).toBe(0);
    const count = { tx: 0, rx: 0, txRsp: 0, rxRsp: 0, csumBlank: 0 };
    for (const line of ring.stdout.trim().split('\n')) {
      const e = JSON.parse(line) as { ring: string; slots: Array<Record<string, number | string>> };
      if (e.ring !== 'netif-tx' && e.ring !== 'netif-rx') continue;
      for (const sl of e.slots) {
        if (e.ring === 'netif-tx' && sl.dir === 'req') {
          count.tx++;
          if ((Number(sl.flags) & NETTXF_csum_blank) !== 0) count.csumBlank++;
        }
        if (e.ring === 'netif-tx' && sl.dir === 'rsp') {
          count.txRsp++;
          expect(sl.status, JSON.stringify(sl)).toBe(NETIF_RSP_OKAY);
        }
        if (e.ring === 'netif-rx' && sl.dir === 'req') count.rx++;
        if (e.ring === 'netif-rx' && sl.dir === 'rsp') {
          count.rxRsp++;
          expect(Number(sl.status), JSON.stringify(sl)).toBeGreaterThan(0);
        }
      }
    }
    // ARP, 3 echoes, 2 + 320 UDP datagrams: each one slot (no fragments at these sizes); the UDP ones checksum-offloaded.
    expect(count).toEqual({ tx: 326, txRsp: 326, rx: 326, rxRsp: 326, csumBlank: 322 });
    const xs = spawnSync(BIN, ['dump', trace, '--kind', 'xenstore'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
    for (const f of ['feature-sg', 'feature-gso-tcpv4', 'feature-gso-tcpv6', 'feature-ipv6-csum-offload', 'feature-rx-notify', 'request-rx-copy']) {
      expect(xs, f).toMatch(new RegExp(`XS_WRITE /local/domain/1/device/vif/0/${f} = "1"`));
    }
    expect(xs).toMatch(/XS_WRITE \/local\/domain\/1\/device\/vif\/0\/multi-queue-num-queues = "1"/);
    expect(xs).toMatch(/XS_WRITE \/local\/domain\/1\/device\/vif\/0\/event-channel-rx = /);

    const pcap = join(tmp, 'drivers.pcap');
    const e = spawnSync(BIN, ['export', trace, '--pcap', pcap], { cwd: ROOT, encoding: 'utf8' });
    expect(e.stderr).toBe('');
    expect(e.stdout).toMatch(/drivers\.pcap: 652 frames, \d+ bytes/);
    if (!tcpdump) return;
    const lines = spawnSync('tcpdump', ['-r', pcap, '-nn'], { encoding: 'utf8' }).stdout.trim().split('\n');
    expect(lines).toHaveLength(652);
    expect(lines[0]).toMatch(/ARP, Request who-has 10\.0\.0\.1 tell 10\.0\.0\.2, length 28$/);
    expect(lines[1]).toMatch(/ARP, Reply 10\.0\.0\.1 is-at 02:78:72:00:00:01, length 46$/);
    for (const [k, data] of [[1, 56], [2, 512], [3, 1400]] as const) {
      expect(lines[2 * k], `echo ${k}`).toMatch(new RegExp(`IP 10\\.0\\.0\\.2 > 10\\.0\\.0\\.1: ICMP echo request, id 30834, seq ${k}, length ${data + 8}$`));
      expect(lines[2 * k + 1], `reply ${k}`).toMatch(new RegExp(`IP 10\\.0\\.0\\.1 > 10\\.0\\.0\\.2: ICMP echo reply, id 30834, seq ${k}, length ${data + 8}$`));
    }
    expect(lines[8]).toMatch(/IP 10\.0\.0\.2\.\d+ > 10\.0\.0\.1\.7: UDP, length 64$/);
    expect(lines[9]).toMatch(/IP 10\.0\.0\.1\.7 > 10\.0\.0\.2\.\d+: UDP, length 64$/);
    expect(lines.slice(12).filter((l) => / UDP, length 1000$/.test(l))).toHaveLength(640);
    // tcpdump verifies every UDP checksum, the ones netback completed for netfront included.
    const vv = spawnSync('tcpdump', ['-r', pcap, '-nn', '-vv'], { encoding: 'utf8' }).stdout;
    expect(vv.match(/\[udp sum ok\]/g)).toHaveLength(644);
    expect(vv).not.toMatch(/bad cksum|wrong icmp cksum|bad udp cksum/);
  });

  it('replays exactly', () => {
    const r = spawnSync(BIN, ['replay', trace], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^replay: all \d+ events match/);
    expect(r.status).toBe(0);
  }, 1_800_000);
});
