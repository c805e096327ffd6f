// Builds xenrr's initramfs for Linux PV guests: our own static /init
// (corpus/linux/init.c, gcc + glibc) in a gzip-compressed newc cpio with the
// nodes Linux needs before userspace runs (/dev/console), the mount points
// init uses, and /sbin/poweroff (a link to /init). Byte-reproducible: same
// compiler, same bytes.
//
// The drivers initramfs is the same plus kernel modules: /lib/modules/ holds
// the .ko files of build/kernels/modules-<version>/ and modules.load, their
// load order, for init's xenrr.test=disk, net and drivers (corpus/linux/disk.c, net.c).
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { cpioNewc } from './cpio.mjs';
import { LOAD_LIST } from './modules.mjs';

export const INIT_CFLAGS = ['-static', '-O2', '-Wall', '-Wextra'];
/** init's sources in corpus/linux/, and the header they share. */
export const INIT_SOURCES = ['init.c', 'disk.c', 'net.c'];
export const INIT_DEPS = ['init.h'];

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

/** The module files a modules directory's modules.load names, in its order. */
export function moduleList(modulesDir) {
  return readFileSync(join(modulesDir, LOAD_LIST), 'utf8').split('\n').filter(Boolean);
}

/** The drivers archive's entries: initramfsEntries, /mnt, and /lib/modules from `modulesDir`. */
export function driversInitramfsEntries(init, modulesDir) {
  const mods = moduleList(modulesDir);
  return [
    ...initramfsEntries(init),
    { name: 'mnt', mode: 0o040755 },
    { name: 'lib', mode: 0o040755 },
    { name: 'lib/modules', mode: 0o040755 },
    { name: `lib/modules/${LOAD_LIST}`, mode: 0o100644, data: Buffer.from(`${mods.join('\n')}\n`) },
    ...mods.map((m) => ({ name: `lib/modules/${m}`, mode: 0o100644, data: readFileSync(join(modulesDir, m)) })),
  ];
}

/** Writes `out` (.cpio.gz) from the compiled init at `initPath` (with modules from `modulesDir`, if given), via a temporary file. */
export function writeInitramfs(initPath, out, modulesDir) {
  mkdirSync(join(out, '..'), { recursive: true });
  const init = readFileSync(initPath);
  const entries = modulesDir === undefined ? initramfsEntries(init) : driversInitramfsEntries(init, modulesDir);
  const gz = gzipSync(cpioNewc(entries), { level: 9 });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, gz);
  renameSync(tmp, out);
}
