/**
 * Sparse physical memory in 4 KiB frames. A frame is allocated the first
 * time anything touches it, so a 128 MiB guest that uses 8 MiB costs 8 MiB.
 *
 * `codeMark[pfn]` is set while decoded blocks exist for a frame in any CPU
 * sharing this memory; no MMU caches write permission for such frames, so
 * every store to them reaches `codeWritten`, which makes every CPU drop its
 * stale translations.
 *
 * `dirty[pfn]` is set when the frame may have changed since the last
 * `resetDirty()` (the recorder's checkpoints use it to copy and hash only
 * those frames). Every way to change a frame sets it:
 * - `frame()`, which hands out the view to write through: callers that get
 *   a view to read only use `view()`, which does not mark;
 * - allocating a frame (its bytes, zero, appear in the allocated set);
 * - bulk `write`/`fill`;
 * - CPU stores: an MMU caches write rights only to dirty frames (as it
 *   caches none to frames with decoded code), so the first store to a clean
 *   frame takes its slow path, which marks the frame (Mmu.fill); the MMU's
 *   own accessed/dirty-bit updates mark the table they write;
 * - frames `pin`ned by a holder that keeps their view and writes through it
 *   later (service rings): always dirty.
 * `resetDirty` clears the marks (but the pinned) and makes every attached
 * CPU drop its cached write rights.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;

/** What memory needs from a CPU that caches decoded code (Cpu implements it). */
export interface CodeWatcher {
  /** drop decoded blocks that include the frame */
  invalidateCode(pfn: number): void;
  /** stop caching write rights to the frame */
  protectFrame(pfn: number): void;
  /** stop caching write rights to every frame (dirty tracking starts over) */
  protectAll(): void;
}

export class PhysMem {
  readonly frameCount: number;
  /** one slot per frame, allocated up front: a sparse array grown by random MFNs turns into a slow dictionary */
  private readonly frames: (DataView | undefined)[];
  readonly codeMark: Uint8Array;
  /** 1: the frame may have changed since the last resetDirty (see above) */
  readonly dirty: Uint8Array;
  private readonly pinned: number[] = [];
  private readonly watchers: CodeWatcher[] = [];
  private allocated = 0;

  constructor(readonly size: number) {
    if (size <= 0 || size % PAGE_SIZE !== 0) throw new RangeError(`physical memory size ${size} is not a positive multiple of 4 KiB`);
    this.frameCount = size / PAGE_SIZE;
    this.frames = new Array<DataView | undefined>(this.frameCount).fill(undefined);
    this.codeMark = new Uint8Array(this.frameCount);
    this.dirty = new Uint8Array(this.frameCount);
  }

  /** The frame's view to write through (marked dirty), allocating it; null when pfn is outside physical memory. */
  frame(pfn: number): DataView | null {
    const f = this.view(pfn);
    if (f !== null) this.dirty[pfn] = 1;
    return f;
  }

  /** The frame's view for a caller that only reads through it, or that marks its writes itself (the MMU); allocates. */
  view(pfn: number): DataView | null {
    const f = this.frames[pfn];
    if (f !== undefined) return f;
    if (pfn < 0 || pfn >= this.frameCount) return null;
    const nf = new DataView(new ArrayBuffer(PAGE_SIZE));
    this.frames[pfn] = nf;
    this.allocated++;
    this.dirty[pfn] = 1;
    return nf;
  }

  /** The frame is written through a view its holder keeps: report it dirty at every reset. */
  pin(pfn: number): void {
    if (!this.pinned.includes(pfn)) this.pinned.push(pfn);
    this.dirty[pfn] = 1;
  }

  /** Start a new dirty epoch: only pinned frames stay marked, and no CPU keeps write rights cached. */
  resetDirty(): void {
    this.dirty.fill(0);
    for (const p of this.pinned) this.dirty[p] = 1;
    for (const w of this.watchers) w.protectAll();
  }

  /** Register a CPU that caches decoded code from this memory. */
  attach(w: CodeWatcher): void {
    this.watchers.push(w);
  }

  /** A CPU decoded code in this frame: from now on no MMU may cache write rights to it. */
  markCode(pfn: number): void {
    if (this.codeMark[pfn]) return;
    this.codeMark[pfn] = 1;
    for (const w of this.watchers) w.protectFrame(pfn);
  }

  /** A store is about to modify a frame holding decoded code. */
  codeWritten(pfn: number): void {
    for (const w of this.watchers) w.invalidateCode(pfn);
    this.codeMark[pfn] = 0;
  }

  /** Frames allocated so far. */
  get framesTouched(): number {
    return this.allocated;
  }

  /** True when the frame has been touched (for snapshots: untouched frames are zero). */
  has(pfn: number): boolean {
    return this.frames[pfn] !== undefined;
  }

  /** Release a frame (its contents become zero); callers must flush TLBs. */
  free(pfn: number): void {
    if (this.frames[pfn] !== undefined) {
      this.frames[pfn] = undefined;
      this.allocated--;
    }
  }

  /** Bulk copy into physical memory (loaders, DMA-like services). */
  write(pa: number, data: Uint8Array): void {
    let done = 0;
    while (done < data.length) {
      const a = pa + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, data.length - done);
      const f = this.mustFrame(a);
      if (this.codeMark[Math.floor(a / PAGE_SIZE)]) this.codeWritten(Math.floor(a / PAGE_SIZE));
      new Uint8Array(f.buffer, off, n).set(data.subarray(done, done + n));
      done += n;
    }
  }

  /** Bulk copy out of physical memory. */
  read(pa: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = pa + done;
      const off = a % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, len - done);
      out.set(new Uint8Array(this.mustFrame(a, false).buffer, off, n), done);
      done += n;
    }
    return out;
  }

  /** Fill a range with one byte value (bss clearing). */
  fill(pa: number, len: number, value = 0): void {
    this.write(pa, new Uint8Array(len).fill(value));
  }

  private mustFrame(pa: number, write = true): DataView {
    const pfn = Math.floor(pa / PAGE_SIZE);
    const f = write ? this.frame(pfn) : this.view(pfn);
    if (f === null) throw new RangeError(`physical address 0x${pa.toString(16)} is outside ${this.size / 2 ** 20} MiB of memory`);
    return f;
  }
}
