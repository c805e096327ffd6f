/**
 * Kernel images as Xen's PV domain builder takes them: an ELF, or a Linux
 * bzImage whose payload is a compressed ELF (tools/libs/guest/
 * xg_dom_bzimageloader.c). The payload's place comes from the setup header
 * of the x86 boot protocol (Documentation/arch/x86/boot.rst), version 2.08
 * or later: it starts `payload_offset` bytes after the protected-mode code,
 * which follows the (setup_sects + 1) sectors of real-mode setup, and is
 * `payload_length` bytes long. The kernel's build appends the uncompressed
 * size to the compressed data as a little-endian 32-bit word; like Xen, the
 * output must have exactly that size.
 */
import { decompress, detectCodec, type Codec } from './codecs.js';

/** A kernel image that cannot be loaded: the message is one line saying what is wrong. */
export class ImageError extends Error {
  override name = 'ImageError';
}

/** Setup header fields (offsets from the start of the file). */
const OFF = { setupSects: 0x1f1, header: 0x202, version: 0x206, payloadOffset: 0x248, payloadLength: 0x24c } as const;
const HDRS = 0x53726448; // "HdrS"
/** Xen's XC_DOM_DECOMPRESS_MAX */
const MAX_KERNEL = 1 << 30;

export type BzImage = {
  /** boot protocol version, e.g. 0x20f */
  version: number;
  /** file offset and length of the compressed payload (its size word included) */
  payloadAt: number;
  payloadLength: number;
  codec: Codec | null;
  /** the uncompressed size the payload's last word announces */
  size: number;
};

const u32 = (b: Uint8Array, at: number): number => (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;

/** True when `b` carries the boot protocol's "HdrS" signature. */
export function isBzImage(b: Uint8Array): boolean {
  return b.length >= OFF.payloadLength + 4 && u32(b, OFF.header) === HDRS;
}

/** The setup header's view of a bzImage; throws ImageError for a header that does not describe a payload in the file. */
export function parseBzImage(b: Uint8Array): BzImage {
  if (!isBzImage(b)) throw new ImageError('not a bzImage (no HdrS setup header)');
  const version = b[OFF.version]! | (b[OFF.version + 1]! << 8);
  if (version < 0x208) throw new ImageError(`bzImage boot protocol ${(version >> 8).toString(16)}.${(version & 0xff).toString(16).padStart(2, '0')} is too old (payload fields need 2.08)`);
  // A setup_sects of 0 means 4 (boot protocol).
  const setupSects = b[OFF.setupSects]! || 4;
  const payloadAt = (setupSects + 1) * 512 + u32(b, OFF.payloadOffset);
  const payloadLength = u32(b, OFF.payloadLength);
  if (payloadAt >= b.length) throw new ImageError(`bzImage payload offset 0x${payloadAt.toString(16)} is beyond the file's ${b.length} bytes`);
  if (payloadAt + payloadLength > b.length) throw new ImageError(`bzImage payload [0x${payloadAt.toString(16)}, +0x${payloadLength.toString(16)}) runs past the file's ${b.length} bytes`);
  if (payloadLength <= 8) throw new ImageError(`bzImage payload of ${payloadLength} bytes is too short`);
  const payload = b.subarray(payloadAt, payloadAt + payloadLength);
  return { version, payloadAt, payloadLength, codec: detectCodec(payload), size: u32(payload, payloadLength - 4) };
}

/** The ELF inside a bzImage, decompressed; throws ImageError naming the codec and what went wrong. */
export function bzImagePayload(b: Uint8Array): { elf: Uint8Array; codec: Codec } {
  const h = parseBzImage(b);
  const payload = b.subarray(h.payloadAt, h.payloadAt + h.payloadLength);
  if (h.codec === null) throw new ImageError(`bzImage payload has an unknown compression (starts ${Buffer.from(payload.subarray(0, 6)).toString('hex')})`);
  if (h.size > MAX_KERNEL) throw new ImageError(`bzImage payload announces ${h.size} bytes uncompressed, over the 1 GiB Xen allows`);
  let elf: Uint8Array;
  try {
    elf = decompress(h.codec, payload.subarray(0, payload.length - 4), h.size);
  } catch (e) {
    throw new ImageError(`bzImage ${h.codec} payload is corrupt: ${firstLine(e)}`);
  }
  if (elf.length !== h.size) throw new ImageError(`bzImage ${h.codec} payload gave ${elf.length} bytes instead of the ${h.size} its size word announces`);
  return { elf, codec: h.codec };
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0]!.replace(/[.\s]+$/, '') || 'decoding failed';
}
