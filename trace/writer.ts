/**
 * Streaming trace writer: events are appended to a column batch and written
 * as a CHUNK frame every CHUNK_EVENTS events (or sooner when the batch grows
 * large), so memory stays bounded and a killed recorder loses at most the
 * current batch (and, with a writer thread, what that thread has not written
 * yet: at most QUEUE_BYTES, writer-thread.ts). A checkpoint writes the pages
 * and state pieces new to the trace's page store (PAGES frames,
 * page-store.ts), then itself (its frames' page ids and its state's piece
 * ids). `close()` writes the INDEX frame and the trailer.
 *
 * The batches are built and encoded here, in the caller's thread (each
 * chunk names the hash of the one before); compressing, hashing pages and
 * writing are TraceFile's (trace-file.ts), here or in a writer thread.
 */
import { closeSync, openSync } from 'node:fs';
import type { EventPos, SimEvent } from '../sim/events.js';
import { BatchBuilder } from './columns.js';
import { frame } from './container.js';
import { chunkHash } from './integrity.js';
import { TraceFile, writeAll, type BaseFrames, type CheckpointData } from './trace-file.js';
import { ThreadedFile } from './writer-thread.js';
import { EventBatchMsg, FILE_MAGIC, FrameKind, HeaderMsg, type HeaderData, type IndexData } from './schema.js';

export type { CheckpointData } from './trace-file.js';
export const CHUNK_EVENTS = 8192;
const CHUNK_BYTES = 512 << 10;

/**
 * `base`: the machine's memory as built (every allocated frame), which
 * pages may be stored against (page-store.ts). `inlinePages`: write
 * checkpoints as traces older than the page store have them, each with its
 * own pages (tests of old traces; every frame's bytes must be given).
 * `thread`: compress, hash and write in a writer thread (writer-thread.ts),
 * so that the caller's thread only builds batches and copies the pages a
 * checkpoint gives; the bytes written are the same. Not with inlinePages.
 */
export type WriterOptions = { base?: BaseFrames; inlinePages?: boolean; thread?: boolean };

/** What TraceFile and its thread's proxy have in common. */
type Sink = Pick<TraceFile, 'chunk' | 'checkpoint' | 'close' | 'size'>;

export class TraceWriter {
  private batch: BatchBuilder | null = null;
  private prevHash: Uint8Array = new Uint8Array(0);
  private lastTime = 0;
  private flushed = 0;
  /** per-kind and per-hypercall counts of flushed batches (deterministic order) */
  private readonly kindCounts = new Map<string, number>();
  private readonly hcCounts = new Map<string, number>();
  private readonly sink: Sink;

  /** `chunkEvents` bounds a batch (tests use small ones to get many chunks). */
  constructor(private readonly path: string, header: HeaderData, private readonly chunkEvents = CHUNK_EVENTS, opts: WriterOptions = {}) {
    if (opts.thread === true && opts.inlinePages === true) throw new RangeError('a writer thread writes checkpoints to the page store only');
    const fd = openSync(path, 'w');
    try {
      const head = [Buffer.from(FILE_MAGIC, 'latin1'), frame(FrameKind.HEADER, HeaderMsg.encode(HeaderMsg.fromObject(header)).finish())];
      let offset = 0;
      for (const b of head) {
        this.named(() => writeAll(fd, b));
        offset += b.length;
      }
      this.sink = opts.thread === true ? new ThreadedFile(fd, offset, opts.base) : new TraceFile(fd, offset, opts.base, opts.inlinePages);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** `f`, its system errors naming the trace file (a failed write names none; the CLI reports one that names the output as the user's). */
  private named<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      const x = e as NodeJS.ErrnoException;
      if (typeof x?.code === 'string' && x.path === undefined) x.path = this.path;
      throw e;
    }
  }

  /** Bytes written so far (with a writer thread: known at close, 0 before). */
  get size(): number {
    return this.sink.size;
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
    const hash = chunkHash(raw);
    this.named(() => this.sink.chunk({ raw, firstSeq: b.firstSeq, count: b.count, firstTime: b.firstTime, hash }));
    this.flushed += b.count;
    this.prevHash = hash;
  }

  /** A checkpoint between events (after the events so far). */
  checkpoint(c: CheckpointData): void {
    this.flush();
    this.named(() => this.sink.checkpoint(c));
  }

  /** The footer index as it stands (tests; a writer thread's is its own until close). */
  get index(): IndexData {
    if (this.sink instanceof TraceFile) return this.sink.index;
    throw new RangeError('a writer thread keeps the index until close');
  }

  /** CPU seconds a writer thread spent on checkpoints (known at close; 0 without one). */
  get threadCheckpointCpu(): number {
    return this.sink instanceof ThreadedFile ? this.sink.checkpointCpu : 0;
  }

  /** Events written so far (flushed or not). */
  get eventCount(): number {
    return this.flushed + (this.batch?.count ?? 0);
  }

  /** Finish: the last chunk, the INDEX frame (with each vCPU's final instruction count, when given), the trailer. With a writer thread, waits for it. */
  close(stopReason: string, endTime: number, vcpus: Array<{ dom: number; vcpu: number; icount: number }> = []): void {
    this.flush();
    const tail = {
      eventCount: this.flushed, stopReason, endTime, vcpus: vcpus.map((v) => ({ ...v, rip: 0 })),
      countsByKind: Object.fromEntries(this.kindCounts), countsByHypercall: Object.fromEntries(this.hcCounts),
    };
    this.named(() => this.sink.close(tail));
  }
}
