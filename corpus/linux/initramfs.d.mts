/** Types for initramfs.mjs (plain JS: corpus/build.mjs runs without a TypeScript loader). */
import type { CpioEntry } from './cpio.mjs';
export const INIT_CFLAGS: string[];
export function initramfsEntries(init: Buffer): CpioEntry[];
export const INIT_SOURCES: string[];
export const INIT_DEPS: string[];
export const DOM0_DISK: string;
export function moduleList(modulesDir: string, list?: string): string[];
export function driversInitramfsEntries(init: Buffer, modulesDir: string): CpioEntry[];
export function dom0InitramfsEntries(init: Buffer, modulesDir: string, diskPath: string): CpioEntry[];
export function writeInitramfs(out: string, entries: CpioEntry[]): void;
