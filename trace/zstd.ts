/**
 * zstd through zstd-codec (wasm). Its heap is fixed at 16 MiB, so frames
 * stay at or below 1 MiB and the level at or below 9 (measured in
 * ../shared/dependencies.md). `initZstd()` must be awaited once before use.
 */
import { createRequire } from 'node:module';

type Simple = { compress(d: Uint8Array, level: number): Uint8Array | null; decompress(d: Uint8Array): Uint8Array | null };
const require = createRequire(import.meta.url);
const { ZstdCodec } = require('zstd-codec') as { ZstdCodec: { run(cb: (z: { Simple: new () => Simple }) => void): void } };

export const MAX_FRAME = 1 << 20;
export const LEVEL = 3;
let simple: Simple | null = null;

export function initZstd(): Promise<void> {
  if (simple !== null) return Promise.resolve();
  return new Promise((resolve) => {
    ZstdCodec.run((z) => {
      simple = new z.Simple();
      resolve();
    });
  });
}

function codec(): Simple {
  if (simple === null) throw new Error('zstd used before initZstd()');
  return simple;
}

export function compress(data: Uint8Array): Uint8Array {
  if (data.length > MAX_FRAME) throw new RangeError(`zstd frame of ${data.length} bytes exceeds ${MAX_FRAME}`);
  const out = codec().compress(data, LEVEL);
  if (out === null) throw new Error('zstd compression failed');
  return out;
}

/** Decompress, or null when the data is not a valid zstd frame. */
export function decompress(data: Uint8Array): Uint8Array | null {
  // Outside the try: forgetting initZstd is a bug to report, not a damaged trace.
  const z = codec();
  try {
    return z.decompress(data);
  } catch {
    return null;
  }
}
