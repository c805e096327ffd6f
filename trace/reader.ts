/**
 * Trace reader: random access through the footer index (chunks and
 * checkpoints by sequence number), or, for a trace whose recorder died, a
 * scan that keeps every complete, intact frame and says so in `warnings`.
 * Every problem with the file is a TraceError with one line saying what and
 * where; reading never throws anything else for bad input, and never loops.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { decodeBatch, type TraceEvent } from './columns.js';
import { unpackCompressed } from './container.js';
import { CheckpointMsg, EventBatchMsg, FILE_MAGIC, FORMAT_VERSION, FRAME_HEADER, FrameKind, HeaderMsg, IndexMsg, TRAILER, TRAILER_MAGIC, type HeaderData, type IndexData } from './schema.js';
import type { CheckpointData } from './writer.js';

export class TraceError extends Error {
  override name = 'TraceError';
}

type Frame = { kind: number; offset: number; payload: Uint8Array };
const hex = (n: number): string => `0x${n.toString(16)}`;
const toObj = (m: unknown): Record<string, unknown> => m as Record<string, unknown>;
const OPTS = { longs: Number, bytes: Uint8Array, defaults: true, arrays: true, objects: true } as const;

export class TraceReader {
  readonly header: HeaderData;
  readonly index: IndexData;
  readonly warnings: string[] = [];
  /** false when the trace has no footer (the recorder did not finish) */
  readonly complete: boolean;
  readonly size: number;

  private constructor(private readonly fd: number, readonly path: string) {
    this.size = fstatSync(fd).size;
    const magic = this.read(0, 8);
    if (magic.length < 8 || Buffer.from(magic).toString('latin1') !== FILE_MAGIC) throw new TraceError(`${path}: not a xenrr trace (bad magic)`);
    const h = this.frameAt(8);
    if (h === null || h.kind !== FrameKind.HEADER) throw new TraceError(`${path}: truncated or damaged header at offset 0x8`);
    let header: HeaderData;
    try {
      header = toObj(HeaderMsg.toObject(HeaderMsg.decode(h.payload), OPTS)) as HeaderData;
    } catch (e) {
      throw new TraceError(`${path}: header does not decode: ${(e as Error).message}`);
    }
    if (header.magic !== 'xenrr-trace') throw new TraceError(`${path}: header magic '${header.magic}' is not xenrr-trace`);
    if (header.formatVersion !== FORMAT_VERSION) throw new TraceError(`${path}: trace format version ${header.formatVersion}, this xenrr reads version ${FORMAT_VERSION}`);
    this.header = header;
    const footer = this.footer();
    this.complete = footer !== null;
    this.index = footer ?? this.scan(8 + FRAME_HEADER + h.payload.length);
  }

  static open(path: string): TraceReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TraceError(code === 'ENOENT' ? `${path}: no such file` : `${path}: cannot open (${code})`);
    }
    try {
      return new TraceReader(fd, path);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private read(offset: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.size - offset));
    const b = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const r = readSync(this.fd, b, done, n - done, offset + done);
      if (r === 0) break;
      done += r;
    }
    return done === n ? b : b.subarray(0, done);
  }

  /** The intact frame at `offset`, or null (incomplete, bad kind or checksum). */
  private frameAt(offset: number): Frame | null {
    const h = this.read(offset, FRAME_HEADER);
    if (h.length < FRAME_HEADER) return null;
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    const kind = dv.getUint8(0);
    const len = dv.getUint32(1, true);
    if (kind < FrameKind.HEADER || kind > FrameKind.INDEX || offset + FRAME_HEADER + len > this.size) return null;
    const payload = this.read(offset + FRAME_HEADER, len);
    if (payload.length !== len || crc32(payload) !== dv.getUint32(5, true)) return null;
    return { kind, offset, payload };
  }

  private footer(): IndexData | null {
    if (this.size < 8 + TRAILER) return null;
    const t = this.read(this.size - TRAILER, TRAILER);
    if (Buffer.from(t.subarray(8)).toString('latin1') !== TRAILER_MAGIC) return null;
    const at = Number(new DataView(t.buffer, t.byteOffset).getBigUint64(0, true));
    const f = at < this.size ? this.frameAt(at) : null;
    if (f === null || f.kind !== FrameKind.INDEX) {
      this.warnings.push(`damaged footer index at ${hex(at)}; scanned the frames instead`);
      return null;
    }
    try {
      return toObj(IndexMsg.toObject(IndexMsg.decode(f.payload), OPTS)) as IndexData;
    } catch {
      this.warnings.push(`footer index at ${hex(at)} does not decode; scanned the frames instead`);
      return null;
    }
  }

  /** Rebuild the index from the frames themselves, up to the last intact one. */
  private scan(from: number): IndexData {
    const idx: IndexData = { chunks: [], checkpoints: [], eventCount: 0, countsByKind: {}, countsByHypercall: {}, endTime: 0, stopReason: 'incomplete' };
    let at = from;
    for (;;) {
      const f = this.frameAt(at);
      if (f === null) break;
      if (f.kind === FrameKind.CHUNK) {
        const events = this.decodeChunk(f);
        if (events === null) break;
        const first = events[0];
        idx.chunks.push({ offset: at, firstSeq: first?.seq ?? idx.eventCount, count: events.length, firstTime: first?.time ?? 0, hash: new Uint8Array(), compressedSize: f.payload.length, rawSize: 0 });
        idx.eventCount += events.length;
        for (const e of events) {
          idx.countsByKind[e.kind] = (idx.countsByKind[e.kind] ?? 0) + 1;
          if (e.kind === 'hypercall') idx.countsByHypercall[e.name] = (idx.countsByHypercall[e.name] ?? 0) + 1;
          idx.endTime = e.time;
        }
      } else if (f.kind === FrameKind.CHECKPOINT) {
        const c = this.decodeCheckpoint(f);
        if (c === null) break;
        idx.checkpoints.push({ offset: at, seq: c.seq, time: c.time });
      } else if (f.kind !== FrameKind.INDEX) break;
      at += FRAME_HEADER + f.payload.length;
    }
    const tail = this.size - at;
    this.warnings.push(`no footer index: the recording did not finish; read ${idx.chunks.length} complete chunks (${idx.eventCount} events)${tail > 0 ? `, ignored ${tail} trailing bytes` : ''}`);
    return idx;
  }

  private decodeChunk(f: Frame): TraceEvent[] | null {
    const raw = unpackCompressed(f.payload);
    if (raw === null) return null;
    try {
      return decodeBatch(toObj(EventBatchMsg.toObject(EventBatchMsg.decode(raw), OPTS)));
    } catch {
      return null;
    }
  }

  private decodeCheckpoint(f: Frame): CheckpointData | null {
    const raw = unpackCompressed(f.payload);
    if (raw === null) return null;
    try {
      const c = toObj(CheckpointMsg.toObject(CheckpointMsg.decode(raw), OPTS));
      const blobs = c.blobs as Array<{ data: Uint8Array }>;
      const pages = (c.pages as Array<{ mfn: number; blob: number }>).map((p) => ({ mfn: p.mfn, data: blobs[p.blob]?.data ?? new Uint8Array(4096) }));
      return { seq: c.seq as number, time: c.time as number, stateJson: c.stateJson as Uint8Array, pages };
    } catch {
      return null;
    }
  }

  /** Events of chunk `i` (index order). */
  chunk(i: number): TraceEvent[] {
    const c = this.index.chunks[i];
    if (c === undefined) throw new TraceError(`${this.path}: no chunk ${i}`);
    const f = this.frameAt(c.offset);
    if (f === null || f.kind !== FrameKind.CHUNK) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} is damaged (bad checksum or truncated)`);
    const events = this.decodeChunk(f);
    if (events === null) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} does not decode`);
    return events;
  }

  /** The chunk holding sequence number `seq` (binary search), or -1. */
  chunkOf(seq: number): number {
    const cs = this.index.chunks;
    let lo = 0;
    let hi = cs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const c = cs[mid]!;
      if (seq < c.firstSeq) hi = mid - 1;
      else if (seq >= c.firstSeq + c.count) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** Events with from <= seq < to, in order, reading only the chunks involved. */
  *events(from = 0, to = Number.MAX_SAFE_INTEGER): Generator<TraceEvent> {
    const cs = this.index.chunks;
    let i = Math.max(0, this.chunkOf(from));
    for (; i < cs.length; i++) {
      const c = cs[i]!;
      if (c.firstSeq >= to) return;
      if (c.firstSeq + c.count <= from) continue;
      for (const e of this.chunk(i)) if (e.seq >= from && e.seq < to) yield e;
    }
  }

  checkpoint(i: number): CheckpointData {
    const c = this.index.checkpoints[i];
    if (c === undefined) throw new TraceError(`${this.path}: no checkpoint ${i}`);
    const f = this.frameAt(c.offset);
    const data = f === null ? null : this.decodeCheckpoint(f);
    if (data === null) throw new TraceError(`${this.path}: checkpoint ${i} at ${hex(c.offset)} is damaged`);
    return data;
  }
}
