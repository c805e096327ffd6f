/**
 * Content-defined chunking of a byte string (a checkpoint's state JSON), so
 * that the pieces a state shares with the previous checkpoint's are the
 * same pieces even when something before them grew or shrank, and the page
 * store keeps each once. A gear rolling hash over the bytes ends a piece
 * where its low bits are zero (pieces of about 2 KiB), never before MIN and
 * always at MAX bytes. The gear table is fixed: the same bytes always cut
 * the same way, on every machine.
 */
const MIN = 256;
const MAX = 8192;
const MASK = 0x7ff;

/** 256 fixed pseudo-random words (xorshift32 from a fixed seed). */
const GEAR = (() => {
  const g = new Int32Array(256);
  let x = 0x2545f491;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    g[i] = x;
  }
  return g;
})();

/** The pieces of `data`, in order (subarrays; none for empty data). */
export function chunkBytes(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  let h = 0;
  for (let i = 0; i < data.length; i++) {
    h = ((h << 1) + GEAR[data[i]!]!) | 0;
    const len = i + 1 - start;
    if ((len >= MIN && (h & MASK) === 0) || len >= MAX) {
      out.push(data.subarray(start, i + 1));
      start = i + 1;
      h = 0;
    }
  }
  if (start < data.length) out.push(data.subarray(start));
  return out;
}
