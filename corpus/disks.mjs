// Disk images for the corpus's block-device scenarios, made from a formula
// (no randomness, no host input), so every build writes the same bytes.
//
// Byte i (0..511) of sector s is (s*151 + i*7 + (s >> 8)*3 + (i >> 5)) mod 256:
// every sector differs from its neighbours and from itself shifted, so a
// read of the wrong sector, or at the wrong offset, shows. corpus/pv/blkfront.h
// checks reads against the same formula (disk_byte).

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

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

// ---- an ext4 filesystem image ------------------------------------------------
//
// Made by e2fsprogs' mke2fs -d from a directory of known files, and made
// reproducible: the UUID, directory hash seed and every timestamp are fixed
// (E2FSPROGS_FAKE_TIME is mke2fs's and debugfs's "now"; the inodes copied by
// -d take their times from the source files, which are set here, except
// ctime, which debugfs sets afterwards along with owner root), the features
// come from our own mke2fs.conf (not the host's /etc/mke2fs.conf), and
// nothing is left for the kernel's lazy init to zero. Same e2fsprogs, same
// bytes. corpus/linux/disk.c checks the files from inside Linux.

export const EXT4_TIME = 1_000_000_000; // 2001-09-09T01:46:40Z
export const EXT4_UUID = '7e4e0000-0000-4000-8000-00000000e4e4';
const EXT4_HASH_SEED = '7e4e0000-0000-4000-8000-0000000000a5';
// Debian 12's ext4 features (metadata_csum: the kernel checksums with crc32c), 4 KiB blocks.
const MKE2FS_CONF = `[defaults]
\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
\tdefault_mntopts = acl,user_xattr
\tblocksize = 4096
\tinode_size = 256
\tinode_ratio = 16384
[fs_types]
\text4 = {
\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
\t}
`;

/** Byte i of /data/pattern.bin (corpus/linux/disk.c computes the same). */
export const patternByte = (i) => ((Math.imul(i, 0x9e3779b1) >>> 24) ^ (i >>> 12)) & 0xff;

/** The files of the ext4 corpus image: path -> contents. */
export function ext4Files() {
  const pattern = new Uint8Array(1 << 20);
  for (let i = 0; i < pattern.length; i++) pattern[i] = patternByte(i);
  return new Map([
    ['hello.txt', Buffer.from("hello from xenrr's ext4 disk\n")],
    ['data/pattern.bin', Buffer.from(pattern)],
    ['data/deep/nested.txt', Buffer.from('three levels down\n')],
  ]);
}

/** Runs an e2fsprogs tool; a missing one is named with its Debian package. */
function e2fs(tool, args, env) {
  try {
    execFileSync(tool, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error(`${tool} not found: install e2fsprogs (apt-get install e2fsprogs)`);
    throw new Error(`${tool} ${args.join(' ')} failed: ${String(e.stderr ?? e.message).trim()}`);
  }
}

/** Writes a `mib` MiB ext4 image holding ext4Files() to `path` (via a temporary file). */
export function writeExt4Image(path, mib) {
  const work = mkdtempSync(join(tmpdir(), 'xenrr-ext4-'));
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const src = join(work, 'src');
    const paths = new Set(['']);
    for (const [name, data] of ext4Files()) {
      const p = join(src, name);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, data);
      for (let d = dirname(name); d !== '.'; d = dirname(d)) paths.add(d);
      paths.add(name);
    }
    const sorted = [...paths].sort((a, b) => b.length - a.length); // children before their directories
    for (const name of sorted) {
      const p = join(src, name);
      chmodSync(p, name === '' || !ext4Files().has(name) ? 0o755 : 0o644);
      utimesSync(p, EXT4_TIME, EXT4_TIME);
    }
    const conf = join(work, 'mke2fs.conf');
    writeFileSync(conf, MKE2FS_CONF);
    const env = { MKE2FS_CONFIG: conf, E2FSPROGS_FAKE_TIME: `${EXT4_TIME}`, SOURCE_DATE_EPOCH: `${EXT4_TIME}` };
    rmSync(tmp, { force: true });
    writeFileSync(tmp, '');
    truncateSync(tmp, mib << 20);
    e2fs('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'xenrr', '-U', EXT4_UUID, '-E', `hash_seed=${EXT4_HASH_SEED},lazy_itable_init=0,lazy_journal_init=0,nodiscard`, '-d', src, tmp], env);
    const cmds = join(work, 'debugfs.cmds');
    writeFileSync(cmds, [...paths].map((n) => ['ctime', 'uid', 'gid'].map((f) => `sif /${n} ${f} ${f === 'ctime' ? EXT4_TIME : 0}\n`).join('')).join(''));
    e2fs('debugfs', ['-w', '-f', cmds, tmp], env);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}
