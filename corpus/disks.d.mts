export function diskPattern(sectors: number): Uint8Array;
export function writeDiskImage(path: string, mib: number): void;
