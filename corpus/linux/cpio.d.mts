/** Types for cpio.mjs (plain JS: corpus/build.mjs runs without a TypeScript loader). */
export type CpioEntry = { name: string; mode: number; data?: Buffer; rdev?: [number, number] };
export function cpioNewc(entries: CpioEntry[]): Buffer;
