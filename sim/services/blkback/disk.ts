/**
 * A virtual disk's contents: the image (an outside input, opened read-only
 * and never changed by the simulation) under a copy-on-write overlay of
 * 4 KiB blocks that holds everything written since the machine was built.
 *
 * Reads are a pure function of the image bytes and the writes before them
 * (design rule 3): a block the guest wrote reads from the overlay, any
 * other from the image; bytes past the end of the image read as zero (the
 * disk's size is the image's, rounded down to whole sectors). Discards
 * zero their range, as a hole punched in a loop device's file reads back.
 *
 * The overlay is part of the machine's state: snapshots (checkpoints) carry
 * it, so replay and seek see the disk exactly as the recorded run did.
 * Write-through (scenario mode "w!") additionally hands every write, and
 * every flush, to the outside world (`medium.write`/`flush`, which the
 * runner implements on the image file); reads still come from the image as
 * opened plus the overlay, so the run is the same with or without it.
 */

/** The image and, for write-through, where writes and flushes go (sim/ never touches files itself). */
export type DiskMedium = {
  readonly bytes: Uint8Array;
  write?: (offset: number, data: Uint8Array) => void;
  flush?: () => void;
};

const BLOCK = 4096;
export const SECTOR = 512;
/** The contents of every wholly discarded block (never written: block() replaces it first). */
const ZERO = new Uint8Array(BLOCK);
/** Zeros handed to a write-through medium at a time, for a discard. */
const ZERO_RUN = 1 << 20;

export class DiskStore {
  /** whole 512-byte sectors */
  readonly sectors: number;
  private readonly overlay = new Map<number, Uint8Array>();

  constructor(private readonly medium: DiskMedium) {
    this.sectors = Math.floor(medium.bytes.length / SECTOR);
  }

  get writeThrough(): boolean {
    return this.medium.write !== undefined;
  }

  /** Copy `len` bytes at disk offset `at` into `dst` at `dstAt`. The range must lie within the disk. */
  read(at: number, len: number, dst: Uint8Array, dstAt: number): void {
    const base = this.medium.bytes;
    for (let done = 0; done < len; ) {
      const pos = at + done;
      const b = Math.floor(pos / BLOCK);
      const off = pos % BLOCK;
      const n = Math.min(len - done, BLOCK - off);
      const blk = this.overlay.get(b);
      if (blk !== undefined) dst.set(blk.subarray(off, off + n), dstAt + done);
      else {
        const end = Math.min(pos + n, base.length);
        if (end > pos) dst.set(base.subarray(pos, end), dstAt + done);
        if (end < pos + n) dst.fill(0, dstAt + done + Math.max(0, end - pos), dstAt + done + n);
      }
      done += n;
    }
  }

  /** Write `src[srcAt .. srcAt + len)` at disk offset `at`. */
  write(at: number, src: Uint8Array, srcAt: number, len: number): void {
    for (let done = 0; done < len; ) {
      const pos = at + done;
      const off = pos % BLOCK;
      const n = Math.min(len - done, BLOCK - off);
      this.block(Math.floor(pos / BLOCK)).set(src.subarray(srcAt + done, srcAt + done + n), off);
      done += n;
    }
    this.medium.write?.(at, src.slice(srcAt, srcAt + len));
  }

  /** Zero `len` bytes at `at` (a discard). Whole blocks share one zero block until written again. */
  discard(at: number, len: number): void {
    for (let done = 0; done < len; ) {
      const pos = at + done;
      const off = pos % BLOCK;
      const n = Math.min(len - done, BLOCK - off);
      if (n === BLOCK) this.overlay.set(pos / BLOCK, ZERO);
      else this.block(Math.floor(pos / BLOCK)).fill(0, off, off + n);
      done += n;
    }
    const w = this.medium.write;
    if (w !== undefined) for (let done = 0; done < len; done += ZERO_RUN) w(at + done, new Uint8Array(Math.min(ZERO_RUN, len - done)));
  }

  /** Make completed writes durable (only write-through has anything to do). */
  flush(): void {
    this.medium.flush?.();
  }

  /** Overlay block `b`, created from the image (or a discarded block's zeros) on first write. */
  private block(b: number): Uint8Array {
    let blk = this.overlay.get(b);
    if (blk === ZERO) {
      blk = new Uint8Array(BLOCK);
      this.overlay.set(b, blk);
    } else if (blk === undefined) {
      blk = new Uint8Array(BLOCK);
      this.read(b * BLOCK, Math.min(BLOCK, Math.max(0, this.sectors * SECTOR - b * BLOCK)), blk, 0);
      this.overlay.set(b, blk);
    }
    return blk;
  }

  /** Bytes written so far (overlay blocks * 4 KiB). */
  get overlayBytes(): number {
    return this.overlay.size * BLOCK;
  }

  /** The overlay, in the order blocks were first written. */
  snapshot(): Map<number, Uint8Array> {
    return new Map([...this.overlay].map(([b, d]) => [b, d === ZERO ? new Uint8Array(BLOCK) : d.slice()]));
  }

  restore(s: Map<number, Uint8Array>): void {
    this.overlay.clear();
    for (const [b, d] of s) {
      if (d.length !== BLOCK) throw new RangeError(`disk overlay block ${b} has ${d.length} bytes`);
      this.overlay.set(b, d.every((x) => x === 0) ? ZERO : d.slice());
    }
  }
}
