// Builds xenrr's initramfs for Linux PV guests: our own static /init
// (corpus/linux/init.c, gcc + glibc) in a gzip-compressed newc cpio with the
// nodes Linux needs before userspace runs (/dev/console), the mount points
// init uses, and /sbin/poweroff (a link to /init). Byte-reproducible: same
// compiler, same bytes.
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { cpioNewc } from './cpio.mjs';

export const INIT_CFLAGS = ['-static', '-O2', '-Wall', '-Wextra'];

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

/** Writes `out` (.cpio.gz) from the compiled init at `initPath`, via a temporary file. */
export function writeInitramfs(initPath, out) {
  mkdirSync(join(out, '..'), { recursive: true });
  const gz = gzipSync(cpioNewc(initramfsEntries(readFileSync(initPath))), { level: 9 });
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, gz);
  renameSync(tmp, out);
}
