// Builds xenrr's initramfs for Linux PV guests: our own static /init
// (corpus/linux/init.c, gcc + glibc) in a gzip-compressed newc cpio with the
// nodes Linux needs before userspace runs (/dev/console), the mount points
// init uses, and /sbin/poweroff (a link to /init). Byte-reproducible: same
// compiler, same bytes.
//
// The drivers initramfs is the same plus kernel modules: /lib/modules/ holds
// the .ko files of build/kernels/modules-<version>/ and modules.load, their
// load order, for init's xenrr.test=disk, net and drivers (corpus/linux/disk.c, net.c).
//
// The dom0 initramfs holds the dom0 list instead (modules-dom0.load, as
// /lib/modules/modules.load: init loads whichever list its archive has) and
// /disks/ext4.img, the disk its loop device serves to a domU through
// xen-blkback, for init's xenrr.test=backends (corpus/linux/backends.c).
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { cpioNewc } from './cpio.mjs';
import { DOM0_LOAD_LIST, LOAD_LIST } from './modules.mjs';

export const INIT_CFLAGS = ['-static', '-O2', '-Wall', '-Wextra'];
/** init's sources in corpus/linux/, and the header they share. */
export const INIT_SOURCES = ['init.c', 'disk.c', 'net.c', 'backends.c'];
export const INIT_DEPS = ['init.h'];
/** Where the dom0 initramfs keeps the disk image it serves. */
export const DOM0_DISK = 'disks/ext4.img';

/** The archive's entries around the compiled init. */
export function initramfsEntries(init) {
  return [
    { name: 'dev', mode: 0o040755 },
    { name: 'dev/console', mode: 0o020600, rdev: [5, 1] },
    { name: 'proc', mode: 0o040555 },
    { name: 'sys', mode: 0o040555 },
    { name: 'root', mode: 0o040700 },
    { name: 'init', mode: 0o100755, data: init },
    // What the kernel runs to power off when asked (orderly_poweroff: xl shutdown once userspace runs).
    { name: 'sbin', mode: 0o040755 },
    { name: 'sbin/poweroff', mode: 0o120777, data: Buffer.from('/init') },
  ];
}

/** The module files a modules directory's load-order file (modules.load unless named) lists, in its order. */
export function moduleList(modulesDir, list = LOAD_LIST) {
  return readFileSync(join(modulesDir, list), 'utf8').split('\n').filter(Boolean);
}

/** /lib/modules: the modules `list` names in `modulesDir`, and their order as modules.load. */
function moduleEntries(modulesDir, list) {
  const mods = moduleList(modulesDir, list);
  return [
    { name: 'lib', mode: 0o040755 },
    { name: 'lib/modules', mode: 0o040755 },
    { name: `lib/modules/${LOAD_LIST}`, mode: 0o100644, data: Buffer.from(`${mods.join('\n')}\n`) },
    ...mods.map((m) => ({ name: `lib/modules/${m}`, mode: 0o100644, data: readFileSync(join(modulesDir, m)) })),
  ];
}

/** The drivers archive's entries: initramfsEntries, /mnt, and /lib/modules from `modulesDir`. */
export function driversInitramfsEntries(init, modulesDir) {
  return [...initramfsEntries(init), { name: 'mnt', mode: 0o040755 }, ...moduleEntries(modulesDir, LOAD_LIST)];
}

/** The dom0 archive's entries: initramfsEntries, /lib/modules with the dom0 list, and the image at `diskPath` as /disks/ext4.img. */
export function dom0InitramfsEntries(init, modulesDir, diskPath) {
  return [
    ...initramfsEntries(init),
    ...moduleEntries(modulesDir, DOM0_LOAD_LIST),
    { name: 'disks', mode: 0o040755 },
    // Read-write: the loop device is attached read-write, and the domU writes through it.
    { name: DOM0_DISK, mode: 0o100644, data: readFileSync(diskPath) },
  ];
}

/** Writes `out` (.cpio.gz) holding `entries`, via a temporary file (readers never see half of it). */
export function writeInitramfs(out, entries) {
  mkdirSync(join(out, '..'), { recursive: true });
  const gz = gzipSync(cpioNewc(entries), { level: 9 });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, gz);
  renameSync(tmp, out);
}
