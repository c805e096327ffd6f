/**
 * Streaming trace writer: events are appended to a column batch and written
 * as a CHUNK frame every CHUNK_EVENTS events (or sooner when the batch grows
 * large), so memory stays bounded and a killed recorder loses at most the
 * current batch. A checkpoint writes the pages and state pieces new to
 * the trace's page store (PAGES frames, page-store.ts), then itself (its
 * frames' page ids and its state's piece ids).
 * `close()` writes the INDEX frame and the trailer.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { EventPos, SimEvent } from '../sim/events.js';
import { BatchBuilder } from './columns.js';
import { frame, packCompressed } from './container.js';
import { frameRuns, PageStore, type PageIn } from './page-store.js';
import { CheckpointMsg, EventBatchMsg, FILE_MAGIC, FrameKind, HeaderMsg, IndexMsg, TRAILER_MAGIC, type HeaderData, type IndexData } from './schema.js';

export const CHUNK_EVENTS = 8192;
const CHUNK_BYTES = 512 << 10;

/** A checkpoint to write: every allocated frame, ascending MFN (see PageIn for what a page may be; its bytes may be a view of live memory, read only during `checkpoint`). */
export type CheckpointData = { seq: number; time: number; stateJson: Uint8Array; pages: PageIn[] };

/**
 * `base`: the machine's memory as built (every allocated frame), which
 * pages may be stored against (page-store.ts). `inlinePages`: write
 * checkpoints as traces older than the page store have them, each with its
 * own pages (tests of old traces; every frame's bytes must be given).
 */
export type WriterOptions = { base?: ReadonlyArray<{ mfn: number; data: Uint8Array }>; inlinePages?: boolean };
export class TraceWriter {
  private readonly fd: number;
  private offset = 0;
  private batch: BatchBuilder | null = null;
  private prevHash = new Uint8Array(0);
  private lastTime = 0;
  /** per-kind and per-hypercall counts of flushed batches (deterministic order) */
  private readonly kindCounts = new Map<string, number>();
  private readonly hcCounts = new Map<string, number>();
  readonly index: IndexData = { chunks: [], checkpoints: [], eventCount: 0, countsByKind: {}, countsByHypercall: {}, endTime: 0, stopReason: '', vcpus: [], pageBlocks: [] };
  private readonly store: PageStore;
  /** bytes written so far */
  get size(): number {
    return this.offset;
  }

  /** `chunkEvents` bounds a batch (tests use small ones to get many chunks). */
  constructor(path: string, header: HeaderData, private readonly chunkEvents = CHUNK_EVENTS, private readonly opts: WriterOptions = {}) {
    this.store = new PageStore(opts.base);
    this.fd = openSync(path, 'w');
    this.write(Buffer.from(FILE_MAGIC, 'latin1'));
    this.write(frame(FrameKind.HEADER, HeaderMsg.encode(HeaderMsg.fromObject(header)).finish()));
  }

  private write(b: Uint8Array): void {
    let done = 0;
    while (done < b.length) done += writeSync(this.fd, b, done, b.length - done);
    this.offset += b.length;
  }

  /** Append an event (with the machine's `pos` for it when there is one). */
  append(e: SimEvent, pos?: EventPos): void {
    if (this.batch === null) this.batch = new BatchBuilder(e.seq, this.lastTime, this.chunkEvents);
    this.batch.add(e, pos);
    this.lastTime = e.time;
    if (this.batch.count >= this.chunkEvents || this.batch.bytes >= CHUNK_BYTES) this.flush();
  }

  /** Write the current batch as a CHUNK frame. */
  flush(): void {
    const b = this.batch;
    if (b === null || b.count === 0) return;
    this.batch = null;
    const { byKind, byHypercall } = b.counts();
    for (const [k, n] of byKind) this.kindCounts.set(k, (this.kindCounts.get(k) ?? 0) + n);
    for (const [k, n] of byHypercall) this.hcCounts.set(k, (this.hcCounts.get(k) ?? 0) + n);
    // The columns are already of the wire types: encode without a fromObject copy.
    const raw = EventBatchMsg.encode(b.message(this.prevHash)).finish();
    const hash = createHash('sha256').update(raw).digest().subarray(0, 16);
    const payload = packCompressed(raw);
    this.index.chunks.push({ offset: this.offset, firstSeq: b.firstSeq, count: b.count, firstTime: b.firstTime, hash, compressedSize: payload.length, rawSize: raw.length });
    this.index.eventCount += b.count;
    this.write(frame(FrameKind.CHUNK, payload));
    this.prevHash = hash;
  }

  /** A checkpoint between events: its new pages and state pieces into the page store, then their ids. */
  checkpoint(c: CheckpointData): void {
    this.flush();
    if (this.opts.inlinePages === true) return this.inlineCheckpoint(c);
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
      const hash = createHash('sha256').update(b.raw).digest().subarray(0, 16);
      this.index.pageBlocks.push({ offset: this.offset, firstId: b.firstId, count: b.count, hash, compressedSize: payload.length, rawSize: b.raw.length });
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

  /** Events written so far (flushed or not). */
  get eventCount(): number {
    return this.index.eventCount + (this.batch?.count ?? 0);
  }

  /** Finish: the last chunk, the INDEX frame (with each vCPU's final instruction count, when given), the trailer. */
  close(stopReason: string, endTime: number, vcpus: Array<{ dom: number; vcpu: number; icount: number }> = []): void {
    this.flush();
    this.index.vcpus = vcpus.map((v) => ({ ...v, rip: 0 }));
    this.index.countsByKind = Object.fromEntries(this.kindCounts);
    this.index.countsByHypercall = Object.fromEntries(this.hcCounts);
    this.index.stopReason = stopReason;
    this.index.endTime = endTime;
    const at = this.offset;
    this.write(frame(FrameKind.INDEX, IndexMsg.encode(IndexMsg.fromObject(this.index)).finish()));
    const t = new Uint8Array(16);
    new DataView(t.buffer).setBigUint64(0, BigInt(at), true);
    t.set(Buffer.from(TRAILER_MAGIC, 'latin1'), 8);
    this.write(t);
    // No fsync: a killed recorder loses nothing the kernel already has, and
    // recording is not meant to survive a power cut (rr does not fsync either).
    closeSync(this.fd);
  }
}
