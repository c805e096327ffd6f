/**
 * The file side of a trace writer: frames written in the order they are
 * given, the footer index they build up, and the trace's page store. It
 * takes encoded event batches (TraceWriter builds them) and checkpoints,
 * and does the compressing, hashing and writing. It runs in the recorder's
 * thread or in a writer thread of its own (writer-thread.ts); given the
 * same calls in the same order it writes the same bytes either way.
 */
import { createHash } from 'node:crypto';
import { closeSync, writeSync } from 'node:fs';
import { frame, packCompressed } from './container.js';
import { chunkHash } from './integrity.js';
import { frameRuns, PageStore, type PageIn } from './page-store.js';
import { CheckpointMsg, FrameKind, IndexMsg, TRAILER_MAGIC, type IndexData } from './schema.js';

/** A checkpoint to write: every allocated frame, ascending MFN (see PageIn for what a page may be; its bytes may be a view of live memory, read only during `checkpoint`). */
export type CheckpointData = { seq: number; time: number; stateJson: Uint8Array; pages: PageIn[] };

/** A page store's base: the machine's memory as built, every allocated frame, ascending MFN. */
export type BaseFrames = ReadonlyArray<{ mfn: number; data: Uint8Array }>;

/** An encoded EventBatch and what the index says of it. */
export type ChunkData = { raw: Uint8Array; firstSeq: number; count: number; firstTime: number; hash: Uint8Array };

/** What only the end of a run knows, for the footer index. */
export type TailData = Pick<IndexData, 'eventCount' | 'countsByKind' | 'countsByHypercall' | 'stopReason' | 'endTime' | 'vcpus'>;

/** All of `b` to `fd` (a write may take less than it is given). */
export function writeAll(fd: number, b: Uint8Array): void {
  for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done);
}

export class TraceFile {
  readonly index: IndexData = { chunks: [], checkpoints: [], eventCount: 0, countsByKind: {}, countsByHypercall: {}, endTime: 0, stopReason: '', vcpus: [], pageBlocks: [] };
  private readonly store: PageStore;

  /**
   * `fd`: the trace file, open for writing, with `offset` bytes (magic and
   * header) already written. `inlinePages`: checkpoints as traces older than
   * the page store have them, each with its own pages (tests of old traces).
   */
  constructor(private readonly fd: number, private offset: number, base: BaseFrames | undefined, private readonly inlinePages = false) {
    this.store = new PageStore(base);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.offset;
  }

  private write(b: Uint8Array): void {
    writeAll(this.fd, b);
    this.offset += b.length;
  }

  chunk(c: ChunkData): void {
    const payload = packCompressed(c.raw);
    this.index.chunks.push({ offset: this.offset, firstSeq: c.firstSeq, count: c.count, firstTime: c.firstTime, hash: c.hash, compressedSize: payload.length, rawSize: c.raw.length });
    this.write(frame(FrameKind.CHUNK, payload));
  }

  /** A checkpoint between events: its new pages and state pieces into the page store, then their ids. */
  checkpoint(c: CheckpointData): void {
    if (this.inlinePages) return this.inlineCheckpoint(c);
    const n = c.pages.length;
    const mfns = new Array<number>(n);
    const deltas = new Array<number>(n);
    let prev = 0;
    for (let k = 0; k < n; k++) {
      const p = c.pages[k]!;
      const id = this.store.ref(p);
      mfns[k] = p.mfn;
      deltas[k] = id - prev;
      prev = id;
      if (this.store.blockReady) this.writeBlocks(false);
    }
    prev = 0;
    const stateDelta = this.store.refState(c.stateJson).map((id) => {
      const d = id - prev;
      prev = id;
      return d;
    });
    this.writeBlocks(true);
    const raw = CheckpointMsg.encode(CheckpointMsg.fromObject({ seq: c.seq, time: c.time, frameRuns: frameRuns(mfns), pageDelta: deltas, stateDelta })).finish();
    this.index.checkpoints.push({ offset: this.offset, seq: c.seq, time: c.time });
    this.write(frame(FrameKind.CHECKPOINT, packCompressed(raw)));
  }

  /** The page store's pending pages as PAGES frames (only full blocks unless `all`). */
  private writeBlocks(all: boolean): void {
    for (let b = this.store.block(all); b !== null; b = this.store.block(all)) {
      const payload = packCompressed(b.raw);
      this.index.pageBlocks.push({ offset: this.offset, firstId: b.firstId, count: b.count, hash: chunkHash(b.raw), compressedSize: payload.length, rawSize: b.raw.length });
      this.write(frame(FrameKind.PAGES, payload));
    }
  }

  /** A checkpoint as traces before the page store have it: its pages inline, deduplicated within it by content hash. */
  private inlineCheckpoint(c: CheckpointData): void {
    const blobs: Array<{ hash: Uint8Array; data: Uint8Array }> = [];
    const ids = new Map<string, number>();
    const pages = c.pages.map(({ mfn, data, base }) => {
      if (data === null || base !== undefined) throw new RangeError(`an inline checkpoint needs every frame's bytes (frame ${mfn})`);
      const h = createHash('sha256').update(data).digest();
      const key = h.toString('hex');
      let id = ids.get(key);
      if (id === undefined) {
        id = blobs.length;
        blobs.push({ hash: h, data });
        ids.set(key, id);
      }
      return { mfn, blob: id };
    });
    const raw = CheckpointMsg.encode(CheckpointMsg.fromObject({ seq: c.seq, time: c.time, stateJson: c.stateJson, pages, blobs })).finish();
    this.index.checkpoints.push({ offset: this.offset, seq: c.seq, time: c.time });
    this.write(frame(FrameKind.CHECKPOINT, packCompressed(raw)));
  }

  /** Finish: the INDEX frame, the trailer, and the file closed (unless `keepOpen`: a writer thread leaves that to the thread that opened it). */
  close(tail: TailData, keepOpen = false): void {
    Object.assign(this.index, tail);
    const at = this.offset;
    this.write(frame(FrameKind.INDEX, IndexMsg.encode(IndexMsg.fromObject(this.index)).finish()));
    const t = new Uint8Array(16);
    new DataView(t.buffer).setBigUint64(0, BigInt(at), true);
    t.set(Buffer.from(TRAILER_MAGIC, 'latin1'), 8);
    this.write(t);
    // No fsync: a killed recorder loses nothing the kernel already has, and
    // recording is not meant to survive a power cut (rr does not fsync either).
    if (!keepOpen) closeSync(this.fd);
  }
}
