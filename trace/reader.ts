/**
 * Trace reader: random access through the footer index (chunks and
 * checkpoints by sequence number), or, for a trace whose recorder died, a
 * scan that keeps every complete, intact frame and says so in `warnings`.
 * Every problem with the file is a TraceError with one line saying what and
 * where; reading never throws anything else for bad input, and never loops.
 *
 * Damage and incompleteness are told apart: a recorder that dies leaves
 * intact frames and at most one frame cut by the end of the file (a prefix:
 * `complete` false), while a frame that fits in the file but fails its
 * checksum, a footer that the trailer names but that does not read, or an
 * index that does not describe the file is damage (`integrity()`, and
 * `damage` for what opening already saw). Readers that trust the index or
 * chunk hashes without decoding every chunk (replay, diff, info, the TUI)
 * call `checkIntegrity()` first; `dump` salvages what it can instead.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { decodeBatch, type TraceEvent } from './columns.js';
import { unpackCompressed } from './container.js';
import { batchHead, checkFrames, chunkHash } from './integrity.js';
import { PageStoreReader } from './page-read.js';
import { decodePageBlock, PAGE, unrunFrames, type PageBlockData } from './page-store.js';
import { hex, TraceError } from './trace-error.js';
import { CheckpointMsg, EventBatchMsg, FILE_MAGIC, FORMAT_VERSION, FRAME_HEADER, FrameKind, HeaderMsg, IndexMsg, LAST_FRAME_KIND, TRAILER, TRAILER_MAGIC, type HeaderData, type IndexData } from './schema.js';

export { TraceError };

export type Frame = { kind: number; offset: number; payload: Uint8Array };

/**
 * A checkpoint's frame as read: its bytes (`data`), or with `base`, its
 * XOR with that frame of the machine as built (restore resolves it);
 * `crc`, the crc32 of its bytes, in traces with a page store.
 */
export type StoredPage = { mfn: number; data: Uint8Array; base?: number; crc?: number };
export type CheckpointRead = { seq: number; time: number; stateJson: Uint8Array; pages: StoredPage[] };
/** A checkpoint without its memory (what a search over checkpoints needs). */
export type CheckpointHead = Omit<CheckpointRead, 'pages'>;
const ZERO_PAGE = new Uint8Array(PAGE);
export { hex };
const toObj = (m: unknown): Record<string, unknown> => m as Record<string, unknown>;
const OPTS = { longs: Number, bytes: Uint8Array, defaults: true, arrays: true, objects: true } as const;
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class TraceReader {
  readonly header: HeaderData;
  readonly index: IndexData;
  readonly warnings: string[] = [];
  /** damage seen while opening (a footer that does not read, a damaged frame before the end of a scanned trace) */
  readonly damage: string[] = [];
  /** false when the trace has no footer (the recorder did not finish) */
  readonly complete: boolean;
  readonly size: number;
  /** offset of the INDEX frame (-1 without one), and whether the trailer after it was cut short (the recorder died in its last write) */
  indexOffset = -1;
  trailerCut = false;
  private checked: { deep: boolean; problems: string[] } | null = null;
  private pageStore: PageStoreReader | null = null;

  private constructor(private readonly fd: number, readonly path: string) {
    this.size = fstatSync(fd).size;
    const magic = this.read(0, 8);
    if (magic.length < 8 || Buffer.from(magic).toString('latin1') !== FILE_MAGIC) throw new TraceError(`${path}: not a xenrr trace (bad magic)`);
    const h = this.frameAt(8);
    if (typeof h === 'string' || h.kind !== FrameKind.HEADER) throw new TraceError(`${path}: truncated or damaged header at offset 0x8${typeof h === 'string' ? ` (${h})` : ''}`);
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
    const scanned = footer === null ? this.scan(8 + FRAME_HEADER + h.payload.length) : null;
    this.complete = footer !== null || scanned!.complete;
    this.index = footer ?? scanned!.index;
  }

  static open(path: string): TraceReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new TraceError(code === 'ENOENT' ? `${path}: no such file` : code === 'EISDIR' ? `${path}: is a directory, not a trace` : `${path}: cannot open (${code})`);
    }
    try {
      return new TraceReader(fd, path);
    } catch (e) {
      closeSync(fd);
      if (e instanceof TraceError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== undefined) throw new TraceError(`${path}: cannot read (${code})`);
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  /** `len` bytes at `offset` (fewer at the end of the file). */
  read(offset: number, len: number): Uint8Array {
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

  /** The intact frame at `offset`, or why there is none: 'cut' (it runs past the end of the file), a bad kind, or a crc mismatch. */
  frameAt(offset: number): Frame | string {
    const h = this.read(offset, FRAME_HEADER);
    if (h.length < FRAME_HEADER) return 'cut';
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    const kind = dv.getUint8(0);
    const len = dv.getUint32(1, true);
    if (kind < FrameKind.HEADER || kind > LAST_FRAME_KIND) return `bad frame kind ${kind}`;
    if (offset + FRAME_HEADER + len > this.size) return 'cut';
    const payload = this.read(offset + FRAME_HEADER, len);
    if (payload.length !== len) return 'cut';
    if (crc32(payload) !== dv.getUint32(5, true)) return 'crc mismatch';
    return { kind, offset, payload };
  }

  /** The footer index the trailer points to; null without a trailer, or (recorded in `damage`) when it does not read. */
  private footer(): IndexData | null {
    if (this.size < 8 + TRAILER) return null;
    const t = this.read(this.size - TRAILER, TRAILER);
    if (Buffer.from(t.subarray(8)).toString('latin1') !== TRAILER_MAGIC) return null;
    const at = Number(new DataView(t.buffer, t.byteOffset).getBigUint64(0, true));
    const f = at >= 8 && at < this.size - TRAILER ? this.frameAt(at) : 'not inside the file';
    const bad = typeof f === 'string' ? f : f.kind !== FrameKind.INDEX ? `frame kind ${f.kind}, not an index` : null;
    if (bad !== null) {
      this.damage.push(`footer index at ${hex(at)} is damaged (${bad === 'cut' ? 'runs past the trailer' : bad})`);
      this.warnings.push(`damaged footer index at ${hex(at)}; scanned the frames instead`);
      return null;
    }
    const idx = this.decodeIndex(f as Frame);
    if (idx === null) {
      this.damage.push(`footer index at ${hex(at)} is damaged (does not decode)`);
      this.warnings.push(`footer index at ${hex(at)} does not decode; scanned the frames instead`);
      return null;
    }
    this.indexOffset = at;
    return idx;
  }

  private decodeIndex(f: Frame): IndexData | null {
    try {
      return toObj(IndexMsg.toObject(IndexMsg.decode(f.payload), OPTS)) as IndexData;
    } catch {
      return null;
    }
  }

  /**
   * Rebuild the index from the frames themselves, up to the last intact
   * one. A frame cut by the end of the file ends a prefix; any other bad
   * frame is damage. An intact INDEX frame means the recorder finished and
   * only the trailer is missing or damaged.
   */
  private scan(from: number): { index: IndexData; complete: boolean } {
    const idx: IndexData = { chunks: [], checkpoints: [], eventCount: 0, countsByKind: {}, countsByHypercall: {}, endTime: 0, stopReason: 'incomplete', vcpus: [], pageBlocks: [] };
    let at = from;
    let prevHash: Uint8Array = new Uint8Array(0);
    for (;;) {
      const f = this.frameAt(at);
      if (typeof f === 'string') {
        const kind = this.read(at, 1)[0];
        const what = kind === FrameKind.CHUNK ? `chunk ${idx.chunks.length}` : kind === FrameKind.CHECKPOINT ? `checkpoint ${idx.checkpoints.length}` : kind === FrameKind.PAGES ? `page block ${idx.pageBlocks.length}` : 'frame';
        if (f !== 'cut') this.damage.push(`${what} at ${hex(at)} is damaged (${f})`);
        break;
      }
      if (f.kind === FrameKind.CHUNK) {
        // Only the batch's head (its columns are decoded when read): a long prefix opens fast.
        const raw = unpackCompressed(f.payload);
        const head = raw === null ? null : batchHead(raw);
        const why = head === null ? 'does not decode' : head.firstSeq !== idx.eventCount ? `its first event is ${head.firstSeq}, not ${idx.eventCount}` : !sameBytes(head.prevHash, prevHash) ? 'does not chain to the chunk before it' : null;
        if (why !== null) {
          this.damage.push(`chunk ${idx.chunks.length} at ${hex(at)} is damaged (${why})`);
          break;
        }
        prevHash = chunkHash(raw!);
        idx.chunks.push({ offset: at, firstSeq: head!.firstSeq, count: head!.count, firstTime: head!.firstTime, hash: prevHash, compressedSize: f.payload.length, rawSize: raw!.length });
        idx.eventCount += head!.count;
      } else if (f.kind === FrameKind.CHECKPOINT) {
        const c = this.decodeCheckpoint(f);
        if (c === null) {
          this.damage.push(`checkpoint ${idx.checkpoints.length} at ${hex(at)} is damaged (does not decode)`);
          break;
        }
        idx.checkpoints.push({ offset: at, seq: c.seq, time: c.time });
      } else if (f.kind === FrameKind.PAGES) {
        const raw = unpackCompressed(f.payload);
        const b = raw === null ? 'does not decompress' : decodePageBlock(raw);
        const next = 1 + idx.pageBlocks.reduce((n, e) => n + e.count, 0);
        const why = typeof b === 'string' ? b : b.firstId !== next ? `its first page is ${b.firstId}, not ${next}` : null;
        if (why !== null) {
          this.damage.push(`page block ${idx.pageBlocks.length} at ${hex(at)} is damaged (${why})`);
          break;
        }
        const blk = b as PageBlockData;
        idx.pageBlocks.push({ offset: at, firstId: blk.firstId, count: blk.count, hash: chunkHash(raw!), compressedSize: f.payload.length, rawSize: raw!.length });
      } else if (f.kind === FrameKind.INDEX) {
        return this.lostTrailer(f, idx);
      } else {
        this.damage.push(`frame at ${hex(at)} is damaged (a second header)`);
        break;
      }
      at += FRAME_HEADER + f.payload.length;
    }
    const tail = this.size - at;
    this.warnings.push(`no footer index: the recording did not finish; read ${idx.chunks.length} complete chunks (${idx.eventCount} events)${tail > 0 ? `, ignored ${tail} trailing bytes` : ''}`);
    this.lazyTally(idx);
    return { index: idx, complete: false };
  }

  /**
   * A scanned index's counts by kind and hypercall and its end time, which
   * only decoding every event gives: computed the first time one is read
   * (info), not when a prefix is opened to be replayed.
   */
  private lazyTally(idx: IndexData): void {
    let done: Pick<IndexData, 'countsByKind' | 'countsByHypercall' | 'endTime'> | null = null;
    const tally = (): NonNullable<typeof done> => {
      if (done !== null) return done;
      const t = { countsByKind: {} as Record<string, number>, countsByHypercall: {} as Record<string, number>, endTime: 0 };
      for (const e of this.events()) {
        t.countsByKind[e.kind] = (t.countsByKind[e.kind] ?? 0) + 1;
        if (e.kind === 'hypercall') t.countsByHypercall[e.name] = (t.countsByHypercall[e.name] ?? 0) + 1;
        t.endTime = e.time;
      }
      return (done = t);
    };
    for (const k of ['countsByKind', 'countsByHypercall', 'endTime'] as const) Object.defineProperty(idx, k, { get: () => tally()[k], enumerable: true });
  }

  /** An intact INDEX frame found by the scan: the trailer after it was cut short (the recorder died in its last write: use the index) or is damaged. */
  private lostTrailer(f: Frame, scanned: IndexData): { index: IndexData; complete: boolean } {
    const end = f.offset + FRAME_HEADER + f.payload.length;
    const want = new Uint8Array(TRAILER);
    new DataView(want.buffer).setBigUint64(0, BigInt(f.offset), true);
    want.set(Buffer.from(TRAILER_MAGIC, 'latin1'), 8);
    const have = this.read(end, TRAILER + 1);
    const idx = this.decodeIndex(f);
    if (have.length < TRAILER && sameBytes(have, want.subarray(0, have.length)) && idx !== null) {
      this.warnings.push(`the trailer after the footer index at ${hex(f.offset)} was cut short; used the index`);
      this.indexOffset = f.offset;
      this.trailerCut = true;
      return { index: idx, complete: true };
    }
    this.damage.push(`trailer at ${hex(end)} is damaged (the footer index at ${hex(f.offset)} is intact)`);
    return { index: scanned, complete: false };
  }

  /** A chunk frame's events, its uncompressed payload and the previous-chunk hash it names; null if it does not decode. */
  private decodeChunk(f: Frame): { events: TraceEvent[]; raw: Uint8Array; prev: Uint8Array } | null {
    const raw = unpackCompressed(f.payload);
    if (raw === null) return null;
    try {
      const msg = toObj(EventBatchMsg.toObject(EventBatchMsg.decode(raw), OPTS));
      return { events: decodeBatch(msg), raw, prev: (msg.prevHash as Uint8Array | undefined) ?? new Uint8Array(0) };
    } catch {
      return null;
    }
  }

  /**
   * A checkpoint frame's message: its head, and its memory as inline pages
   * (older traces) or as (mfn, page id) references into the page store;
   * null if it does not decode.
   */
  private decodeCheckpoint(f: Frame): (CheckpointHead & { inline: StoredPage[] | null; refs: { mfns: number[]; ids: number[] } | null; stateIds: number[] }) | null {
    const raw = unpackCompressed(f.payload);
    if (raw === null) return null;
    try {
      const c = toObj(CheckpointMsg.toObject(CheckpointMsg.decode(raw), OPTS));
      const head = { seq: c.seq as number, time: c.time as number, stateJson: c.stateJson as Uint8Array };
      const undelta = (ds: number[]): number[] => {
        let id = 0;
        return ds.map((d) => (id += d));
      };
      const stateIds = undelta(c.stateDelta as number[]);
      const runs = c.frameRuns as number[];
      if (runs.length === 0) {
        const blobs = c.blobs as Array<{ data: Uint8Array }>;
        const inline = (c.pages as Array<{ mfn: number; blob: number }>).map((p) => ({ mfn: p.mfn, data: blobs[p.blob]?.data ?? ZERO_PAGE }));
        return { ...head, inline, refs: null, stateIds };
      }
      const mfns = unrunFrames(runs);
      const deltas = c.pageDelta as number[];
      if (mfns === null || deltas.length !== mfns.length) return null;
      return { ...head, inline: null, refs: { mfns, ids: undelta(deltas) }, stateIds };
    } catch {
      return null;
    }
  }

  /**
   * Problems with the file's integrity, one line each, empty when intact:
   * every frame's checksum, the frames tiling the file as the index says,
   * the index's own consistency, and (`deep`) every chunk decompressed and
   * checked against its index hash, sequence numbers and the hash chain.
   * Computed once.
   */
  integrity(deep = true): string[] {
    if (this.checked === null || (deep && !this.checked.deep)) this.checked = { deep, problems: [...this.damage, ...checkFrames(this, deep)] };
    return this.checked.problems;
  }

  /** Throw a TraceError naming the first integrity problem (see `integrity`). */
  checkIntegrity(deep = true): void {
    const p = this.integrity(deep);
    if (p.length > 0) throw new TraceError(`${this.path}: ${p[0]}${p.length > 1 ? ` (and ${p.length - 1} more problem${p.length > 2 ? 's' : ''})` : ''}`);
  }

  /** Events of chunk `i` (index order), checked against the index's hash for it. */
  chunk(i: number): TraceEvent[] {
    const c = this.index.chunks[i];
    if (c === undefined) throw new TraceError(`${this.path}: no chunk ${i}`);
    const f = this.frameAt(c.offset);
    if (typeof f === 'string' || f.kind !== FrameKind.CHUNK) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} is damaged (${typeof f === 'string' ? (f === 'cut' ? 'truncated' : f) : `frame kind ${f.kind}`})`);
    const d = this.decodeChunk(f);
    if (d === null) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} does not decode`);
    if (c.hash.length > 0 && !sameBytes(chunkHash(d.raw), c.hash)) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} is damaged (hash mismatch)`);
    const prev = i === 0 ? new Uint8Array(0) : this.index.chunks[i - 1]!.hash;
    if (prev.length > 0 && !sameBytes(d.prev, prev)) throw new TraceError(`${this.path}: chunk ${i} at ${hex(c.offset)} is damaged (does not chain to the chunk before it)`);
    return d.events;
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

  /**
   * Checkpoint `i` with its memory: every allocated frame's page, read from
   * the page store (only the PAGES frames it uses, each checked against its
   * index hash) or inline in older traces.
   */
  checkpoint(i: number): CheckpointRead {
    const c = this.rawCheckpoint(i);
    const head = this.headOf(i, c);
    const { inline, refs } = c;
    if (inline !== null) return { ...head, pages: inline };
    const pages = refs!.mfns.map((mfn, k) => {
      const id = refs!.ids[k]!;
      if (id === 0) return { mfn, data: ZERO_PAGE };
      const e = this.pages.entry(id, (why) => this.badCheckpoint(i, `frame ${mfn} is ${why}`));
      if (e.data.length !== PAGE) this.badCheckpoint(i, `frame ${mfn} is entry ${id}, of ${e.data.length} bytes`);
      return e.base < 0 ? { mfn, data: e.data, crc: e.crc } : { mfn, data: e.data, base: e.base, crc: e.crc };
    });
    return { ...head, pages };
  }

  /** Checkpoint `i` without its memory: seq, time and the state (cheap with a page store). */
  checkpointHead(i: number): CheckpointHead {
    return this.headOf(i, this.rawCheckpoint(i));
  }

  private headOf(i: number, c: NonNullable<ReturnType<TraceReader['decodeCheckpoint']>>): CheckpointHead {
    return { seq: c.seq, time: c.time, stateJson: c.stateIds.length > 0 ? this.statePieces(i, c.stateIds) : c.stateJson };
  }

  /** The page store's reader (over the index's blocks). */
  private get pages(): PageStoreReader {
    return (this.pageStore ??= new PageStoreReader(this.path, this.index.pageBlocks, (offset) => this.frameAt(offset)));
  }

  /** Checkpoint `cp`'s state JSON from its pieces in the page store, each checked against its crc32. */
  private statePieces(cp: number, ids: number[]): Uint8Array {
    return Buffer.concat(ids.map((id, k) => {
      const e = this.pages.entry(id, (why) => this.badCheckpoint(cp, `state piece ${k} is ${why}`));
      if (e.base >= 0 || crc32(e.data) !== e.crc) this.badCheckpoint(cp, `state piece ${k} (entry ${id}) does not match its checksum`);
      return e.data;
    }));
  }

  private badCheckpoint(cp: number, why: string): never {
    throw new TraceError(`${this.path}: checkpoint ${cp} at ${hex(this.index.checkpoints[cp]!.offset)} is damaged (${why})`);
  }

  private rawCheckpoint(i: number): NonNullable<ReturnType<TraceReader['decodeCheckpoint']>> {
    const c = this.index.checkpoints[i];
    if (c === undefined) throw new TraceError(`${this.path}: no checkpoint ${i}`);
    const f = this.frameAt(c.offset);
    const data = typeof f === 'string' || f.kind !== FrameKind.CHECKPOINT ? null : this.decodeCheckpoint(f);
    if (data === null) throw new TraceError(`${this.path}: checkpoint ${i} at ${hex(c.offset)} is damaged`);
    return data;
  }
}
