export function diskPattern(sectors: number): Uint8Array;
export function writeDiskImage(path: string, mib: number): void;
export const EXT4_TIME: number;
export const EXT4_UUID: string;
export function patternByte(i: number): number;
export function ext4Files(): Map<string, Buffer>;
export function writeExt4Image(path: string, mib: number): void;
