/**
 * Integrity of a whole trace file, beyond what reading one frame checks:
 * every frame listed by the index is intact and of its kind, the frames
 * tile the file from the header to the trailer with nothing between them,
 * the index agrees with itself (chunks in sequence, counts adding up,
 * checkpoints inside the run, page blocks numbering the store's pages in
 * order), and, when `deep`, every chunk and page block decompresses to a
 * payload whose hash is the index's, a chunk's first sequence number and
 * count and a block's first page and count are the index's, a chunk names
 * the previous chunk's hash, and every checkpoint decodes and names only
 * pages stored before it.
 *
 * Each problem is one line naming the frame and its offset.
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';
import { unpackCompressed } from './container.js';
import { decodePageBlock } from './page-store.js';
import type { Frame, TraceReader } from './reader.js';
import { CheckpointMsg, FRAME_HEADER, FrameKind, TRAILER, type PageBlockEntry } from './schema.js';

const hex = (n: number): string => `0x${n.toString(16)}`;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/** A chunk's hash: the first 16 bytes of the sha256 of its uncompressed payload (as the writer computes it). */
export function chunkHash(raw: Uint8Array): Uint8Array {
  return createHash('sha256').update(raw).digest().subarray(0, 16);
}

/** first_seq, count, prev_hash and first_time of an EventBatch, read without decoding its columns. */
export function batchHead(raw: Uint8Array): { firstSeq: number; count: number; prevHash: Uint8Array; firstTime: number } | null {
  const r = protobuf.Reader.create(raw);
  let firstSeq = 0;
  let count = 0;
  let firstTime = 0;
  let prevHash: Uint8Array = new Uint8Array(0);
  try {
    while (r.pos < r.len) {
      const tag = r.uint32();
      switch (tag >>> 3) {
        case 1:
          firstSeq = r.uint64() as unknown as number;
          break;
        case 2:
          count = r.uint32();
          break;
        case 3:
          prevHash = r.bytes();
          break;
        case 4:
          firstTime = r.uint64() as unknown as number;
          break;
        default:
          r.skipType(tag & 7);
      }
    }
  } catch {
    return null;
  }
  return { firstSeq, count, prevHash, firstTime };
}

type Listed = { what: string; kind: number; offset: number; chunk?: number; block?: number; checkpoint?: number };

export function checkFrames(r: TraceReader, deep: boolean): string[] {
  const problems: string[] = [];
  const idx = r.index;
  const listed: Listed[] = [
    { what: 'header', kind: FrameKind.HEADER, offset: 8 },
    ...idx.chunks.map((c, i) => ({ what: `chunk ${i}`, kind: FrameKind.CHUNK, offset: c.offset, chunk: i })),
    ...idx.checkpoints.map((c, i) => ({ what: `checkpoint ${i}`, kind: FrameKind.CHECKPOINT, offset: c.offset, checkpoint: i })),
    ...idx.pageBlocks.map((b, i) => ({ what: `page block ${i}`, kind: FrameKind.PAGES, offset: b.offset, block: i })),
    ...(r.indexOffset >= 0 ? [{ what: 'footer index', kind: FrameKind.INDEX, offset: r.indexOffset }] : []),
  ].sort((a, b) => a.offset - b.offset);

  let at = 8;
  let prevHash: Uint8Array = new Uint8Array(0);
  for (const l of listed) {
    // (at < 0: after a damaged frame, whose end is unknown)
    if (at >= 0 && l.offset !== at) {
      problems.push(`${l.what} at ${hex(l.offset)} is damaged (the index places it where ${at < l.offset ? `${l.offset - at} unlisted bytes` : 'the frame before it'} ends at ${hex(at)})`);
      if (l.offset < at) continue;
    }
    const f = r.frameAt(l.offset);
    if (typeof f === 'string' || f.kind !== l.kind) {
      problems.push(`${l.what} at ${hex(l.offset)} is damaged (${typeof f === 'string' ? (f === 'cut' ? 'truncated' : f) : `frame kind ${f.kind}`})`);
      at = -1;
      continue;
    }
    at = l.offset + FRAME_HEADER + f.payload.length;
    if (deep) {
      const p = l.chunk !== undefined ? checkChunk(f, l.chunk, idx.chunks[l.chunk]!, prevHash) : l.block !== undefined ? checkBlock(f, idx.pageBlocks[l.block]!) : l.checkpoint !== undefined && idx.pageBlocks.length > 0 ? checkCheckpoint(f, idx.pageBlocks, l.offset) : null;
      if (p !== null) problems.push(`${l.what} at ${hex(l.offset)} is damaged (${p})`);
    }
    if (l.chunk !== undefined) prevHash = idx.chunks[l.chunk]!.hash;
  }
  // A complete trace ends with its trailer; a prefix may end with one frame the recorder did not finish writing.
  if (r.complete && r.indexOffset >= 0 && at >= 0 && !r.trailerCut && at !== r.size - TRAILER) problems.push(`${at < r.size - TRAILER ? `${r.size - TRAILER - at} unlisted bytes` : 'the footer index runs'} before the trailer at ${hex(r.size - TRAILER)}`);

  let seq = idx.chunks[0]?.firstSeq ?? 0;
  if (seq !== 0) problems.push(`chunk 0 at ${hex(idx.chunks[0]!.offset)} is damaged (its first event is ${seq}, not 0)`);
  idx.chunks.forEach((c, i) => {
    if (c.firstSeq !== seq) problems.push(`chunk ${i} at ${hex(c.offset)} is damaged (its first event is ${c.firstSeq}, the chunk before ends at ${seq})`);
    seq = c.firstSeq + c.count;
  });
  if (r.complete && seq !== idx.eventCount) problems.push(`footer index at ${hex(r.indexOffset)} is damaged (its chunks hold ${seq} events, it counts ${idx.eventCount})`);
  idx.checkpoints.forEach((c, i) => {
    if (c.seq > seq || (i > 0 && c.seq < idx.checkpoints[i - 1]!.seq)) problems.push(`checkpoint ${i} at ${hex(c.offset)} is damaged (at event ${c.seq}, out of order or past the last event)`);
  });
  let page = 1;
  idx.pageBlocks.forEach((b, i) => {
    if (b.firstId !== page || b.count < 1 || (i > 0 && b.offset < idx.pageBlocks[i - 1]!.offset)) problems.push(`page block ${i} at ${hex(b.offset)} is damaged (pages ${b.firstId}..${b.firstId + b.count - 1}, the block before ends at ${page - 1})`);
    page = b.firstId + b.count;
  });
  return problems;
}

/** What is wrong with an intact page block frame against its index entry (null: nothing). */
function checkBlock(f: Frame, entry: PageBlockEntry): string | null {
  const raw = unpackCompressed(f.payload);
  if (raw === null) return 'does not decompress';
  if (entry.hash.length > 0 && !sameBytes(chunkHash(raw), entry.hash)) return 'hash mismatch';
  const b = decodePageBlock(raw);
  if (typeof b === 'string') return b;
  if (b.firstId !== entry.firstId || b.count !== entry.count) return `holds pages ${b.firstId}..${b.firstId + b.count - 1}, the index says ${entry.firstId}..${entry.firstId + entry.count - 1}`;
  return null;
}

/** What is wrong with an intact checkpoint frame of a trace with a page store (null: nothing): it decodes, and names only pages stored before it. */
function checkCheckpoint(f: Frame, blocks: PageBlockEntry[], offset: number): string | null {
  const raw = unpackCompressed(f.payload);
  if (raw === null) return 'does not decompress';
  let ids: number[];
  try {
    const c = CheckpointMsg.toObject(CheckpointMsg.decode(raw), { longs: Number, arrays: true }) as { pageDelta: number[]; stateDelta: number[] };
    const undelta = (ds: number[]): number[] => {
      let id = 0;
      return ds.map((d) => (id += d));
    };
    ids = [...undelta(c.pageDelta), ...undelta(c.stateDelta)];
  } catch {
    return 'does not decode';
  }
  const before = blocks.filter((b) => b.offset < offset).reduce((n, b) => Math.max(n, b.firstId + b.count - 1), 0);
  const bad = ids.find((id) => id < 0 || id > before);
  return bad === undefined ? null : `names entry ${bad} of the page store, which holds ${before} before it`;
}

/** What is wrong with an intact chunk frame against its index entry (null: nothing). */
function checkChunk(f: Frame, i: number, entry: TraceReader['index']['chunks'][number], prevHash: Uint8Array): string | null {
  const raw = unpackCompressed(f.payload);
  if (raw === null) return 'does not decompress';
  if (entry.hash.length > 0 && !sameBytes(chunkHash(raw), entry.hash)) return 'hash mismatch';
  const head = batchHead(raw);
  if (head === null) return 'does not decode';
  if (head.firstSeq !== entry.firstSeq || head.count !== entry.count) return `holds events ${head.firstSeq}..${head.firstSeq + head.count - 1}, the index says ${entry.firstSeq}..${entry.firstSeq + entry.count - 1}`;
  if (i > 0 && prevHash.length > 0 && !sameBytes(head.prevHash, prevHash)) return 'does not chain to the chunk before it';
  return null;
}
