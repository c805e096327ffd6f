/**
 * The compressions a bzImage payload may use, recognised by magic in the
 * order Xen's bzImage loader tries them (tools/libs/guest/
 * xg_dom_bzimageloader.c), each decoded by a library:
 *
 * | codec | magic | decoder |
 * |---|---|---|
 * | gzip | 1f 8b | node:zlib |
 * | bzip2 | "BZh" | seek-bzip (pure JS) |
 * | xz | fd "7zXZ" 00 | lzma-native (liblzma, as Xen uses; the kernel's xz has the x86 BCJ filter, which the WASM and Rust decoders for Node 20 lack) |
 * | zstd | 28 b5 2f fd | zstddec (libzstd in WASM, checksums verified; zstd-codec's 16 MiB heap cannot hold a kernel, fzstd skips the checksum) |
 * | lzma | 5d 00 | lzma-native (the .lzma "alone" format) |
 * | lzo | 89 "LZO" 00 | ./lzo.ts (no usable package) |
 * | lz4 | 02 21 4c 18 | lz4-napi (lz4_flex reads the legacy frame the kernel writes) |
 *
 * All decoders here are synchronous once this module is loaded (it awaits
 * zstddec's WASM at load), so a kernel image is one plain function of its
 * bytes wherever it is needed.
 */
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { ZSTDDecoder } from 'zstddec';
import { unlzop } from './lzo.js';

export type Codec = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'lzma' | 'lzo' | 'lz4';

const MAGICS: ReadonlyArray<[Codec, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['lzma', [0x5d, 0x00]],
  ['lzo', [0x89, 0x4c, 0x5a, 0x4f, 0x00]],
  ['lz4', [0x02, 0x21, 0x4c, 0x18]],
];

/** The codec whose magic `data` starts with, or null. */
export function detectCodec(data: Uint8Array): Codec | null {
  for (const [codec, magic] of MAGICS) if (magic.every((b, k) => data[k] === b)) return codec;
  return null;
}

const require = createRequire(import.meta.url);

/** lzma-native's native coder (the JS stream wrapper around it only delivers output asynchronously). */
type LzmaCoder = {
  streamDecoder(o: object): void;
  aloneDecoder(o: object): void;
  setBufsize(n: number): void;
  /** runs the coder synchronously when `async` is false, calling bufferHandler as output appears */
  code(chunk: Uint8Array | null, async: boolean): void;
  bufferHandler: (out: Uint8Array | null | undefined, processed: number | undefined, err: Error | null | undefined) => void;
};
let lzmaNative: { Stream: new () => LzmaCoder } | undefined;

function unxz(data: Uint8Array, alone: boolean): Uint8Array {
  lzmaNative ??= require('lzma-native') as { Stream: new () => LzmaCoder };
  const s = new lzmaNative.Stream();
  if (alone) s.aloneDecoder({});
  else s.streamDecoder({});
  s.setBufsize(1 << 20);
  const chunks: Uint8Array[] = [];
  let error = null as Error | null;
  let ended = false;
  // (fresh buffer, _, _): output; (null, _, error or null): the coder stopped, with that error or at the stream's end; (_, n): progress
  s.bufferHandler = (out, processed, err) => {
    if (typeof processed === 'number') return;
    if (out) chunks.push(out);
    else if (err) error = err;
    else ended = true;
  };
  s.code(Buffer.from(data.buffer, data.byteOffset, data.byteLength), false);
  if (!ended && error === null) s.code(null, false);
  if (error !== null) throw error;
  if (!ended) throw new Error('compressed data is cut short');
  return Buffer.concat(chunks);
}

const zstd = new ZSTDDecoder();
await withoutFetch(() => zstd.init());

/**
 * Run `f` with no global fetch: zstddec fetch()es its inlined WASM when
 * there is one, and merely looking at Node's fetch loads its HTTP client
 * (tens of milliseconds, on every command that reads a kernel); without it
 * zstddec decodes the bytes itself.
 */
function withoutFetch<T>(f: () => T): T {
  const fetch = Object.getOwnPropertyDescriptor(globalThis, 'fetch');
  if (fetch === undefined) return f();
  delete (globalThis as { fetch?: unknown }).fetch;
  try {
    return f();
  } finally {
    Object.defineProperty(globalThis, 'fetch', fetch);
  }
}

function unzstd(data: Uint8Array, size: number): Uint8Array {
  const out = zstd.decode(data, size);
  // zstddec reports any libzstd error (a bad checksum among them) as empty output.
  if (out.length === 0 && size > 0) throw new Error('libzstd rejected the data');
  return out;
}

let bunzip: { decode(d: Uint8Array): Uint8Array } | undefined;
let lz4: { decompressFrameSync(d: Buffer): Buffer } | undefined;

/**
 * Decompress `data` (the payload without the trailing size word, which
 * gives `size`) with `codec`; throws whatever the library throws on bad data.
 */
export function decompress(codec: Codec, data: Uint8Array, size: number): Uint8Array {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  switch (codec) {
    case 'gzip':
      return gunzipSync(buf);
    case 'bzip2':
      bunzip ??= require('seek-bzip') as { decode(d: Uint8Array): Uint8Array };
      return bunzip.decode(buf);
    case 'xz':
      return unxz(data, false);
    case 'lzma':
      return unxz(data, true);
    case 'zstd':
      return unzstd(data, size);
    case 'lzo':
      return unlzop(data);
    case 'lz4':
      lz4 ??= require('lz4-napi') as { decompressFrameSync(d: Buffer): Buffer };
      return lz4.decompressFrameSync(buf);
  }
}
