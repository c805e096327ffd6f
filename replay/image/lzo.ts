/**
 * lzop files, as the kernel's `lzop -9` writes a bzImage payload: the
 * container (header, then blocks of LZO1X data) and the LZO1X decoder.
 *
 * Hand-written because no npm package decodes LZO on Node 20 without a
 * native build: `lzo` compiles with node-gyp at install, `lzo-decompress`
 * ships a binary linked against FFmpeg 4's libavutil (not on Debian 12), and
 * `lzo-wasm` is a browser build that does not load in Node. The bitstream is
 * as Linux's Documentation/staging/lzo.rst describes it; the container as
 * lzop writes it (fields after the method depend on the format version).
 *
 * Every read and copy is bounds-checked: bad input is an LzoError, never a
 * read past the buffers.
 */

export class LzoError extends Error {
  override name = 'LzoError';
}

const MAGIC = [0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a];
/** lzop header flags */
const F_ADLER32_D = 0x1;
const F_ADLER32_C = 0x2;
const F_H_FILTER = 0x800;
const F_CRC32_D = 0x100;
const F_CRC32_C = 0x200;
/** M_LZO1X_1, M_LZO1X_1_15, M_LZO1X_999: all LZO1X streams */
const LZO1X_METHODS = new Set([1, 2, 3]);
const MAX_BLOCK = 64 << 20;

const be32 = (b: Uint8Array, at: number): number => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

export function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  for (let i = 0; i < b.length; ) {
    const end = Math.min(b.length, i + 5552);
    for (; i < end; i++) {
      a += b[i]!;
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/**
 * Decode one LZO1X block `src` into `dst` (whose length is the block's
 * uncompressed size); returns the number of bytes written, which must be
 * dst.length and must consume all of src.
 */
export function lzo1xDecompress(src: Uint8Array, dst: Uint8Array): number {
  let ip = 0;
  let op = 0;
  const byte = (): number => {
    if (ip >= src.length) throw new LzoError(`LZO input overrun at ${ip}`);
    return src[ip++]!;
  };
  /** L ?: mask + 255 per zero byte + the first non-zero byte */
  const extLength = (l: number, mask: number): number => {
    if (l !== 0) return l;
    let n = mask;
    for (let b = byte(); b === 0; b = byte()) n += 255;
    return n + src[ip - 1]!;
  };
  const literals = (n: number): void => {
    if (ip + n > src.length) throw new LzoError(`LZO input overrun at ${ip}`);
    if (op + n > dst.length) throw new LzoError(`LZO output overrun at ${op}`);
    dst.set(src.subarray(ip, ip + n), op);
    ip += n;
    op += n;
  };
  const match = (dist: number, n: number): void => {
    if (dist > op) throw new LzoError(`LZO look-behind overrun at ${op} (distance ${dist})`);
    if (op + n > dst.length) throw new LzoError(`LZO output overrun at ${op}`);
    for (let k = 0; k < n; k++, op++) dst[op] = dst[op - dist]!;
  };

  // state: literals the previous instruction copied (4: four or more).
  let state = 0;
  if (src.length > 0 && src[0]! > 17) {
    const t = byte() - 17;
    literals(t);
    state = t < 4 ? t : 4;
  }
  for (;;) {
    const t = byte();
    let dist: number;
    let len: number;
    let next: number;
    if (t < 16) {
      if (state === 0) {
        literals(extLength(t, 15) + 3);
        state = 4;
        continue;
      }
      dist = (byte() << 2) + ((t >> 2) & 3) + (state === 4 ? 2049 : 1);
      len = state === 4 ? 3 : 2;
      next = t & 3;
    } else if (t >= 64) {
      len = (t >> 5) + 1;
      dist = (byte() << 3) + ((t >> 2) & 7) + 1;
      next = t & 3;
    } else if (t >= 32) {
      len = extLength(t & 31, 31) + 2;
      const le = byte() | (byte() << 8);
      dist = (le >> 2) + 1;
      next = le & 3;
    } else {
      len = extLength(t & 7, 7) + 2;
      const le = byte() | (byte() << 8);
      dist = 16384 + ((t & 8) << 11) + (le >> 2);
      if (dist === 16384) break; // end of stream
      next = le & 3;
    }
    match(dist, len);
    literals(next);
    state = next;
  }
  if (ip !== src.length) throw new LzoError(`LZO stream ends at ${ip} of ${src.length} input bytes`);
  return op;
}

/**
 * Decompress an lzop file: every block, checking each block's size and,
 * when the header asks for it, the Adler-32 of its uncompressed bytes.
 */
export function unlzop(data: Uint8Array): Uint8Array {
  if (data.length < 16 || MAGIC.some((m, k) => data[k] !== m)) throw new LzoError('not an lzop file (bad magic)');
  let at = 9;
  const need = (n: number, what: string): void => {
    if (at + n > data.length) throw new LzoError(`lzop header cut short in ${what}`);
  };
  need(2, 'version');
  const version = (data[at]! << 8) | data[at + 1]!;
  at += 4; // version, library version
  if (version >= 0x0940) at += 2; // version needed to extract
  need(1, 'method');
  const method = data[at++]!;
  if (!LZO1X_METHODS.has(method)) throw new LzoError(`lzop method ${method} is not LZO1X`);
  if (version >= 0x0940) at++; // level
  need(4, 'flags');
  const flags = be32(data, at);
  at += 4;
  if (flags & F_H_FILTER) at += 4;
  at += version >= 0x0940 ? 12 : 8; // mode, mtime (low, high)
  need(1, 'name');
  at += 1 + data[at]! + 4; // name, header checksum
  const dCheck = (flags & (F_ADLER32_D | F_CRC32_D)) !== 0;
  const cCheck = (flags & (F_ADLER32_C | F_CRC32_C)) !== 0;

  const blocks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    need(4, 'block size');
    const dstLen = be32(data, at);
    at += 4;
    if (dstLen === 0) break;
    if (dstLen > MAX_BLOCK) throw new LzoError(`lzop block of ${dstLen} bytes is too large`);
    need(4, 'block');
    const srcLen = be32(data, at);
    at += 4;
    if (srcLen === 0 || srcLen > dstLen) throw new LzoError(`lzop block at ${at - 8}: bad compressed size ${srcLen} for ${dstLen} bytes`);
    let dSum = -1;
    if (dCheck) {
      need(4, 'block checksum');
      dSum = be32(data, at);
      at += 4;
    }
    if (cCheck && srcLen < dstLen) at += 4;
    need(srcLen, 'block data');
    const src = data.subarray(at, at + srcLen);
    at += srcLen;
    let out: Uint8Array;
    if (srcLen === dstLen) {
      out = src;
    } else {
      out = new Uint8Array(dstLen);
      if (lzo1xDecompress(src, out) !== dstLen) throw new LzoError(`lzop block decodes short of its ${dstLen} bytes`);
    }
    if (dSum >= 0 && (flags & F_ADLER32_D) !== 0 && adler32(out) !== dSum) throw new LzoError('lzop block checksum mismatch');
    blocks.push(out);
    total += dstLen;
  }
  const result = new Uint8Array(total);
  let off = 0;
  for (const b of blocks) {
    result.set(b, off);
    off += b.length;
  }
  return result;
}
