/**
 * Reading a trace's page store (page-store.ts): an entry by id, from the
 * PAGES frame the index places it in, decoded and checked against its
 * index entry (frame crc, payload hash, first id and count) the first time
 * it is read. Decoded blocks stay in a small cache: a restore reads most of
 * the store, and seeks near one another restore again.
 */
import { unpackCompressed } from './container.js';
import { chunkHash } from './integrity.js';
import { decodePageBlock, type PageBlockData } from './page-store.js';
import type { Frame } from './reader.js';
import { FrameKind, type PageBlockEntry } from './schema.js';
import { hex, TraceError } from './trace-error.js';

/** Decoded blocks kept (at most 512 KiB of entries each). */
const BLOCK_CACHE = 256;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export type StoreEntry = { data: Uint8Array; base: number; crc: number };

export class PageStoreReader {
  private readonly cache = new Map<number, PageBlockData>();

  constructor(private readonly path: string, private readonly blocks: readonly PageBlockEntry[], private readonly frameAt: (offset: number) => Frame | string) {}

  /** Entry `id` (> 0); one the store does not have is `missing`'s to report (a damaged checkpoint names it). */
  entry(id: number, missing: (why: string) => never): StoreEntry {
    const bs = this.blocks;
    let lo = 0;
    let hi = bs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = bs[mid]!;
      if (id < e.firstId) hi = mid - 1;
      else if (id >= e.firstId + e.count) lo = mid + 1;
      else {
        const b = this.block(mid);
        const k = id - b.firstId;
        return { data: b.data.subarray(b.at[k]!, b.at[k + 1]!), base: b.base[k]!, crc: b.crc[k]! };
      }
    }
    return missing(`entry ${id}; the page store holds ${bs.reduce((n, e) => n + e.count, 0)}`);
  }

  /** Block `i`, decoded and checked against its index entry. */
  private block(i: number): PageBlockData {
    const cached = this.cache.get(i);
    if (cached !== undefined) {
      this.cache.delete(i);
      this.cache.set(i, cached);
      return cached;
    }
    const e = this.blocks[i]!;
    const damaged = (why: string): never => {
      throw new TraceError(`${this.path}: page block ${i} at ${hex(e.offset)} is damaged (${why})`);
    };
    const f = this.frameAt(e.offset);
    if (typeof f === 'string' || f.kind !== FrameKind.PAGES) return damaged(typeof f === 'string' ? (f === 'cut' ? 'truncated' : f) : `frame kind ${f.kind}`);
    const raw = unpackCompressed(f.payload) ?? damaged('does not decompress');
    if (e.hash.length > 0 && !sameBytes(chunkHash(raw), e.hash)) damaged('hash mismatch');
    const b = decodePageBlock(raw);
    if (typeof b === 'string') return damaged(b);
    if (b.firstId !== e.firstId || b.count !== e.count) damaged(`holds entries ${b.firstId}..${b.firstId + b.count - 1}, the index says ${e.firstId}..${e.firstId + e.count - 1}`);
    if (this.cache.size >= BLOCK_CACHE) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(i, b);
    return b;
  }
}
