/**
 * The initramfs corpus/build.mjs makes for Linux guests: a gzip'd newc cpio
 * that Linux can unpack (checked by reading it back field by field), holding
 * /dev/console and our static /init, and byte-reproducible; the drivers
 * one (once `npm run kernels` kept the modules) adds them in load order, and
 * the dom0 one the dom0 modules (loop before xen-blkback) and the ext4 disk.
 */
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpioNewc } from './cpio.mjs';
import { DOM0_DISK, dom0InitramfsEntries, driversInitramfsEntries, initramfsEntries, moduleList } from './initramfs.mjs';
import { DOM0_LOAD_LIST } from './modules.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARCHIVE = `${ROOT}build/corpus/linux/initramfs.cpio.gz`;

type Entry = { name: string; ino: number; mode: number; nlink: number; rdev: [number, number]; data: Buffer };

/** Reads a newc archive as the kernel's unpacker does: 110-byte headers, name and data 4-aligned, up to the trailer. */
function readNewc(b: Buffer): Entry[] {
  const out: Entry[] = [];
  let p = 0;
  for (;;) {
    expect(b.toString('latin1', p, p + 6)).toBe('070701');
    const f = (k: number): number => parseInt(b.toString('latin1', p + 6 + 8 * k, p + 14 + 8 * k), 16);
    const [ino, mode, nlink, size, rmaj, rmin, namesize] = [f(0), f(1), f(4), f(6), f(9), f(10), f(11)];
    const name = b.toString('utf8', p + 110, p + 110 + namesize - 1);
    expect(b[p + 110 + namesize - 1]).toBe(0);
    p = (p + 110 + namesize + 3) & ~3;
    const data = b.subarray(p, p + size);
    p = (p + size + 3) & ~3;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, ino, mode, nlink, rdev: [rmaj, rmin], data });
  }
}

describe('initramfs for Linux guests', () => {
  it('holds /dev/console (c 5:1), mount points and a static x86-64 /init', () => {
    const entries = readNewc(gunzipSync(readFileSync(ARCHIVE)));
    const by = new Map(entries.map((e) => [e.name, e]));
    expect([...by.keys()]).toEqual(['dev', 'dev/console', 'proc', 'sys', 'root', 'init', 'sbin', 'sbin/poweroff']);
    expect([by.get('sbin/poweroff')!.mode, by.get('sbin/poweroff')!.data.toString('latin1')]).toEqual([0o120777, '/init']);
    expect(by.get('dev/console')!.mode).toBe(0o020600);
    expect(by.get('dev/console')!.rdev).toEqual([5, 1]);
    const init = by.get('init')!;
    expect(init.mode).toBe(0o100755);
    expect(init.data.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(init.data.readUInt16LE(18)).toBe(62); // EM_X86_64
    // static: no PT_INTERP among the program headers
    const phoff = Number(init.data.readBigUInt64LE(32));
    const types = Array.from({ length: init.data.readUInt16LE(56) }, (_, k) => init.data.readUInt32LE(phoff + k * init.data.readUInt16LE(54)));
    expect(types).not.toContain(3);
    expect(new Set(entries.map((e) => e.ino)).size).toBe(entries.length);
  });

  it('is byte-reproducible from the same /init', () => {
    const init = readNewc(gunzipSync(readFileSync(ARCHIVE))).find((e) => e.name === 'init')!.data;
    const a = cpioNewc(initramfsEntries(init));
    expect(cpioNewc(initramfsEntries(Buffer.from(init))).equals(a)).toBe(true);
    expect(gunzipSync(readFileSync(ARCHIVE)).equals(a)).toBe(true);
  });
});

const VERSION = '6.1.0-57-amd64';
const MODULES = `${ROOT}build/kernels/modules-${VERSION}`;
const DRIVERS = `${ROOT}build/corpus/linux/initramfs-drivers-${VERSION}.cpio.gz`;
const haveDrivers = existsSync(`${MODULES}/modules.load`) && existsSync(DRIVERS);

describe.skipIf(!haveDrivers)('drivers initramfs', () => {
  it('is the plain one plus /mnt and /lib/modules: the kept modules, byte for byte, and their load order', () => {
    const entries = readNewc(gunzipSync(readFileSync(DRIVERS)));
    const order = moduleList(MODULES);
    expect(order).toEqual(['crc32c_generic.ko', 'xen-blkfront.ko', 'jbd2.ko', 'mbcache.ko', 'crc16.ko', 'ext4.ko', 'xen-netfront.ko']);
    const by = new Map(entries.map((e) => [e.name, e]));
    const plainNames = initramfsEntries(by.get('init')!.data).map((e) => e.name);
    expect(entries.map((e) => e.name)).toEqual([...plainNames, 'mnt', 'lib', 'lib/modules', 'lib/modules/modules.load', ...order.map((m) => `lib/modules/${m}`)]);
    expect(by.get('lib/modules/modules.load')!.data.toString()).toBe(`${order.join('\n')}\n`);
    for (const m of order) expect(by.get(`lib/modules/${m}`)!.data.equals(readFileSync(`${MODULES}/${m}`)), m).toBe(true);
    const plain = readNewc(gunzipSync(readFileSync(ARCHIVE)));
    expect(by.get('init')!.data.equals(plain.find((e) => e.name === 'init')!.data)).toBe(true);
    expect(cpioNewc(driversInitramfsEntries(by.get('init')!.data, MODULES)).equals(gunzipSync(readFileSync(DRIVERS)))).toBe(true);
  });
});

const DOM0 = `${ROOT}build/corpus/linux/initramfs-dom0-${VERSION}.cpio.gz`;
const DISK = `${ROOT}build/corpus/disks/ext4.img`;
const haveDom0 = existsSync(`${MODULES}/${DOM0_LOAD_LIST}`) && existsSync(DOM0) && existsSync(DISK);

describe.skipIf(!haveDom0)('dom0 initramfs', () => {
  const gz = haveDom0 ? readFileSync(DOM0) : Buffer.alloc(0);
  const entries = haveDom0 ? readNewc(gunzipSync(gz)) : [];
  const by = new Map(entries.map((e) => [e.name, e]));

  it('is the plain one plus /lib/modules with the dom0 list (loop before xen-blkback) as modules.load, and /disks/ext4.img', () => {
    const order = moduleList(MODULES, DOM0_LOAD_LIST);
    expect(order).toEqual(['loop.ko', 'xen-blkback.ko', 'xen-netback.ko']);
    const plainNames = initramfsEntries(by.get('init')!.data).map((e) => e.name);
    expect(entries.map((e) => e.name)).toEqual([...plainNames, 'lib', 'lib/modules', 'lib/modules/modules.load', ...order.map((m) => `lib/modules/${m}`), 'disks', DOM0_DISK]);
    // init's load_modules reads modules.load: here it is the dom0 order.
    expect(by.get('lib/modules/modules.load')!.data.toString()).toBe('loop.ko\nxen-blkback.ko\nxen-netback.ko\n');
    for (const m of order) expect(by.get(`lib/modules/${m}`)!.data.equals(readFileSync(`${MODULES}/${m}`)), m).toBe(true);
    expect(by.has('lib/modules/ext4.ko')).toBe(false);
  });

  it('carries the 32 MiB ext4 image byte for byte, as a regular writable file', () => {
    const disk = by.get(DOM0_DISK)!;
    expect(disk.mode).toBe(0o100644);
    expect(disk.data.length).toBe(32 << 20);
    expect(disk.data.readUInt16LE(1024 + 0x38)).toBe(0xef53); // the ext4 superblock's magic
    expect(disk.data.equals(readFileSync(DISK))).toBe(true);
  });

  it('has the same /init as the plain one, and is byte-reproducible', () => {
    const init = by.get('init')!.data;
    expect(init.equals(readNewc(gunzipSync(readFileSync(ARCHIVE))).find((e) => e.name === 'init')!.data)).toBe(true);
    const again = cpioNewc(dom0InitramfsEntries(Buffer.from(init), MODULES, DISK));
    expect(again.equals(gunzipSync(gz))).toBe(true);
    expect(gzipSync(again, { level: 9 }).equals(gz)).toBe(true); // as writeInitramfs compresses: the .gz too
  });
});
