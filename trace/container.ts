/**
 * The frame container shared by the writer and the reader:
 * [kind u8][length u32][crc32 u32][payload], compressed payloads as a list of
 * zstd parts of at most 1 MiB each (see xenrr.proto).
 */
import { crc32 } from 'node:zlib';
import { compress, decompress, MAX_FRAME } from './zstd.js';
import { FRAME_HEADER } from './schema.js';

export function frame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint8(0, kind);
  dv.setUint32(1, payload.length, true);
  dv.setUint32(5, crc32(payload), true);
  out.set(payload, FRAME_HEADER);
  return out;
}

/** Split into <= 1 MiB parts, compress each: u32 n, (u32 len, zstd)*n. */
export function packCompressed(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let off = 0; off < data.length || parts.length === 0; off += MAX_FRAME) parts.push(compress(data.subarray(off, off + MAX_FRAME)));
  const out = new Uint8Array(4 + parts.reduce((n, p) => n + 4 + p.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, parts.length, true);
  let at = 4;
  for (const p of parts) {
    dv.setUint32(at, p.length, true);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** Inverse of packCompressed; null when the payload is malformed. */
export function unpackCompressed(payload: Uint8Array): Uint8Array | null {
  if (payload.length < 4) return null;
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const n = dv.getUint32(0, true);
  if (n === 0 || n > 4096) return null;
  const parts: Uint8Array[] = [];
  let at = 4;
  for (let k = 0; k < n; k++) {
    if (at + 4 > payload.length) return null;
    const len = dv.getUint32(at, true);
    if (at + 4 + len > payload.length) return null;
    const part = decompress(payload.subarray(at + 4, at + 4 + len));
    if (part === null || part.length > MAX_FRAME) return null;
    parts.push(part);
    at += 4 + len;
  }
  if (at !== payload.length) return null;
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
