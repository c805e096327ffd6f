/** Types for initramfs.mjs (plain JS: corpus/build.mjs runs without a TypeScript loader). */
import type { CpioEntry } from './cpio.mjs';
export const INIT_CFLAGS: string[];
export function initramfsEntries(init: Buffer): CpioEntry[];
export function writeInitramfs(initPath: string, out: string): void;
