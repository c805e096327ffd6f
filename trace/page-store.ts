/**
 * A trace's page store (see xenrr.proto): every distinct page a checkpoint
 * holds, and every distinct piece of a checkpoint's state JSON (cdc.ts), is
 * stored once per trace, under the next id, in PageBlock messages of about
 * BLOCK_BYTES; a checkpoint refers to them by id. The writing side, and the
 * decoding of a block for readers.
 *
 * Pages are identified by the sha256 of their bytes. Given the machine's
 * memory as built (`base`, the recorder's first snapshot), a page is
 * stored as its XOR with a base frame when that leaves more zero words
 * than the page has: the base frame holding the same bytes (the XOR is all
 * zero), else the base frame at the same MFN (a kernel page patched since
 * it was loaded differs in a few bytes). Zero pages are id 0, never stored.
 *
 * A checkpoint may give a frame's bytes as null, "unchanged since the
 * previous checkpoint" (a recorder's dirty tracking): it keeps the id it
 * had then, or, unchanged since the base, gets the base bytes' id.
 */
import crypto from 'node:crypto';
import { crc32 } from 'node:zlib';
import { chunkBytes } from './cdc.js';
import { PageBlockMsg } from './schema.js';

export const PAGE = 4096;
/** Data per PAGES frame: 512 KiB, one zstd part (container.ts) with its lists. */
export const BLOCK_BYTES = 512 << 10;
const ZERO = Buffer.alloc(PAGE);

/** A frame's bytes as a checkpoint gives them to the writer: null, unchanged since the last checkpoint; with `base`, already stored as an XOR (a page read back from a trace). */
export type PageIn = { mfn: number; data: Uint8Array | null; base?: number; crc?: number };

/** sha256 in base64; one-shot crypto.hash where this Node has it (20.12+), a Hash object where not. */
const sha256: (d: Uint8Array) => string = typeof crypto.hash === 'function'
  ? (d) => crypto.hash('sha256', d, 'base64')
  : (d) => crypto.createHash('sha256').update(d).digest('base64');

const buf = (d: Uint8Array): Buffer => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

/** `a` as 32-bit words: a view when aligned (frames and their copies are), else a copy. */
const words = (a: Uint8Array): Int32Array => (a.byteOffset % 4 === 0 ? new Int32Array(a.buffer, a.byteOffset, PAGE / 4) : new Int32Array(a.slice().buffer));

/** Whether `a` XOR `b` has more zero 32-bit words than `a` has (storing the XOR is then the smaller page). */
function xorGains(a: Uint8Array, b: Uint8Array): boolean {
  const x = words(a);
  const y = words(b);
  let d = 0;
  for (let i = 0; i < x.length; i++) {
    const w = x[i]!;
    d += (w === y[i] ? 1 : 0) - (w === 0 ? 1 : 0);
  }
  return d > 0;
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = a.slice();
  const x = new Int32Array(out.buffer);
  const y = words(b);
  for (let i = 0; i < x.length; i++) x[i] = x[i]! ^ y[i]!;
  return out;
}

export class PageStore {
  private nextId = 1;
  private readonly ids = new Map<string, number>();
  /** per MFN: 1 + the id its page had at the last checkpoint; 0 before that (its bytes are then in baseAt) */
  private last = new Int32Array(1024);
  private readonly baseAt = new Map<number, Uint8Array>();
  /** the non-zero base frames by the crc32 of their bytes, in base order: computed when the first page is stored (a run with no checkpoint never reads its base) */
  private baseCrcs: Map<number, number[]> | null = null;
  private pending: Array<{ base: number; crc: number; data: Uint8Array }> = [];
  private pendingBytes = 0;
  private pendingFirst = 1;

  /** `base`: every allocated frame of the machine as built, ascending MFN. */
  constructor(base: ReadonlyArray<{ mfn: number; data: Uint8Array }> = []) {
    for (const p of base) {
      if (p.data.length !== PAGE) throw new RangeError(`base frame ${p.mfn} has ${p.data.length} bytes`);
      this.baseAt.set(p.mfn, p.data);
    }
  }

  /** The first base frame (in base order) holding the bytes `data` (crc32 `crc`), or undefined. */
  private baseHolding(data: Uint8Array, crc: number): number | undefined {
    if (this.baseCrcs === null) {
      this.baseCrcs = new Map();
      // Zero frames are left out: a zero page is id 0 before anyone looks here.
      for (const [mfn, bytes] of this.baseAt) {
        if (buf(bytes).equals(ZERO)) continue;
        const c = crc32(bytes);
        const list = this.baseCrcs.get(c);
        if (list === undefined) this.baseCrcs.set(c, [mfn]);
        else list.push(mfn);
      }
    }
    const d = buf(data);
    return this.baseCrcs.get(crc)?.find((mfn) => d.equals(this.baseAt.get(mfn)!));
  }

  /** Entries stored so far (the next id minus one). */
  get count(): number {
    return this.nextId - 1;
  }

  private key(data: Uint8Array): string {
    return sha256(data);
  }

  /** Whether a full block of pages is pending (block(false) would give one). */
  get blockReady(): boolean {
    return this.pendingBytes >= BLOCK_BYTES;
  }

  /**
   * The page id of frame `p` at this checkpoint, storing its page if it is
   * new. `p.data` may be a view of live memory: what the store keeps it copies.
   */
  ref(p: PageIn): number {
    let id: number;
    if (p.data === null) {
      const l = p.mfn < this.last.length ? this.last[p.mfn]! : 0;
      if (l !== 0) return l - 1;
      const bytes = this.baseAt.get(p.mfn);
      if (bytes === undefined) throw new RangeError(`frame ${p.mfn} is given as unchanged, but no earlier checkpoint or base has it`);
      id = this.put(p.mfn, bytes);
    } else {
      if (p.data.length !== PAGE) throw new RangeError(`frame ${p.mfn} has ${p.data.length} bytes`);
      id = p.base === undefined ? this.put(p.mfn, p.data) : this.putStored(p.base, p.data, p.crc);
    }
    if (p.mfn >= this.last.length) {
      const grown = new Int32Array(Math.max(p.mfn + 1, 2 * this.last.length));
      grown.set(this.last);
      this.last = grown;
    }
    this.last[p.mfn] = id + 1;
    return id;
  }

  private put(mfn: number, data: Uint8Array): number {
    if (buf(data).equals(ZERO)) return 0;
    const key = this.key(data);
    const known = this.ids.get(key);
    if (known !== undefined) return known;
    const crc = crc32(data);
    const same = this.baseHolding(data, crc);
    let base = -1;
    let stored: Uint8Array | null = null;
    if (same !== undefined) {
      base = same;
      stored = ZERO;
    } else {
      const b = this.baseAt.get(mfn);
      if (b !== undefined && xorGains(data, b)) {
        base = mfn;
        stored = xor(data, b);
      }
    }
    return this.add(key, base, crc, stored ?? data.slice());
  }

  /** The ids of the pieces of a checkpoint's state JSON, storing the new ones. */
  refState(json: Uint8Array): number[] {
    return chunkBytes(json).map((piece) => {
      const key = `s${this.key(piece)}`;
      return this.ids.get(key) ?? this.add(key, -1, crc32(piece), piece.slice());
    });
  }

  /** A page already stored as an XOR against base frame `base` (copied from another trace): kept as it is. */
  private putStored(base: number, data: Uint8Array, crc: number | undefined): number {
    if (crc === undefined) throw new RangeError(`a page given against base frame ${base} has no crc`);
    const key = `x${base}:${crc}:${this.key(data)}`;
    return this.ids.get(key) ?? this.add(key, base, crc, data);
  }

  private add(key: string, base: number, crc: number, data: Uint8Array): number {
    const id = this.nextId++;
    this.ids.set(key, id);
    this.pending.push({ base: base + 1, crc, data });
    this.pendingBytes += data.length;
    return id;
  }

  /** The next BLOCK_BYTES of pending entries as an encoded PageBlock once there are that many (with `all`: up to that many), else null. */
  block(all: boolean): { firstId: number; count: number; raw: Uint8Array } | null {
    if (this.pending.length === 0 || (!all && this.pendingBytes < BLOCK_BYTES)) return null;
    let n = 0;
    let bytes = 0;
    while (n < this.pending.length && (n === 0 || bytes + this.pending[n]!.data.length <= BLOCK_BYTES)) bytes += this.pending[n++]!.data.length;
    const part = this.pending.splice(0, n);
    this.pendingBytes -= bytes;
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const p of part) {
      data.set(p.data, at);
      at += p.data.length;
    }
    const size = part.every((p) => p.data.length === PAGE) ? [] : part.map((p) => p.data.length);
    const msg = { firstId: this.pendingFirst, count: part.length, base: part.map((p) => p.base), crc: part.map((p) => p.crc), data, size };
    const out = { firstId: this.pendingFirst, count: part.length, raw: PageBlockMsg.encode(PageBlockMsg.fromObject(msg)).finish() };
    this.pendingFirst += part.length;
    return out;
  }
}

/** Ascending frame numbers as (gap, count) runs (Checkpoint.frame_runs). */
export function frameRuns(mfns: readonly number[]): number[] {
  const out: number[] = [];
  let end = 0;
  for (let i = 0; i < mfns.length; ) {
    let j = i + 1;
    while (j < mfns.length && mfns[j] === mfns[j - 1]! + 1) j++;
    out.push(mfns[i]! - end, j - i);
    end = mfns[j - 1]! + 1;
    i = j;
  }
  return out;
}

/** Inverse of frameRuns; null when malformed (odd length, an empty run). */
export function unrunFrames(runs: readonly number[]): number[] | null {
  if (runs.length % 2 !== 0) return null;
  const out: number[] = [];
  let end = 0;
  for (let k = 0; k < runs.length; k += 2) {
    const start = end + runs[k]!;
    const n = runs[k + 1]!;
    if (n < 1) return null;
    for (let i = 0; i < n; i++) out.push(start + i);
    end = start + n;
  }
  return out;
}

/** A decoded PageBlock: entry k is `data[at[k] .. at[k + 1]]`; `base[k]` is -1 or the base frame it is an XOR against. */
export type PageBlockData = { firstId: number; count: number; base: number[]; crc: number[]; data: Uint8Array; at: number[] };

/** A PAGES frame's uncompressed payload, or what is wrong with it. */
export function decodePageBlock(raw: Uint8Array): PageBlockData | string {
  let m: { firstId?: number; count?: number; base?: number[]; crc?: number[]; data?: Uint8Array; size?: number[] };
  try {
    m = PageBlockMsg.toObject(PageBlockMsg.decode(raw), { defaults: true, arrays: true, bytes: Uint8Array }) as typeof m;
  } catch {
    return 'does not decode';
  }
  const { firstId = 0, count = 0, base = [], crc = [], data = new Uint8Array(0), size = [] } = m;
  const sizes = size.length === 0 ? new Array<number>(count).fill(PAGE) : size;
  const at = [0];
  for (const n of sizes) at.push(at.at(-1)! + n);
  if (firstId < 1 || count < 1 || base.length !== count || crc.length !== count || sizes.length !== count || at[count] !== data.length) return 'malformed page block';
  if (base.some((b, k) => b > 0 && sizes[k] !== PAGE)) return 'malformed page block';
  return { firstId, count, base: base.map((b) => b - 1), crc, data, at };
}
