/**
 * Machine memory: who owns each machine frame (MFN), deterministic
 * allocation, and the machine-to-phys table (M2P) that every 64-bit PV guest
 * can read at MACH2PHYS_VIRT_START.
 *
 * The M2P lives in Xen-owned frames mapped read-only through Xen's own L4
 * slots (`xenSlots`, shared with every PV address space by the MMU).
 */
import { PhysMem } from '../cpu/phys-mem.js';

export const OWNER_FREE = -1;
export const OWNER_XEN = -2;
/**
 * DOMID_IO's frames: machine addresses that are not RAM (the legacy
 * 0xa0000-0xfffff window of a PC). Never allocated; the hardware domain
 * may map them (iomem), nobody else.
 */
export const OWNER_IO = -3;
/** The PC's legacy window (VGA memory, option ROMs, BIOS): MFNs 0xa0..0xff, reserved in the host e820. */
export const LEGACY_HOLE_START = 0xa0;
export const LEGACY_HOLE_END = 0x100;
/** The M2P entry of a frame that belongs to no guest PFN. */
export const INVALID_P2M_ENTRY = 0xffffffffffffffffn;

const PAGE = 4096;

/**
 * The most guest memory a machine is built with, all domains together.
 * The hard cap is 512 GiB of machine memory (one L2 table maps the whole
 * M2P); the host runs out first: each guest frame costs about 35 bytes of
 * host memory to build (frame table, p2m, M2P) and 8 bytes per checkpoint
 * (p2m), all of it proportional to the size asked for, however little the
 * guest touches. Measured: 64 GiB builds in 12 s with 1 GiB of host memory
 * and checkpoints in 190 MB; 128 GiB takes 80 s and 4.7 GiB; 256 GiB
 * exceeds Node's default heap.
 */
export const MAX_MACHINE_MIB = 65536;

/**
 * Frames Xen takes for itself when a machine of `frameCount` frames is built:
 * the L4-slot page, the M2P (8 bytes per frame) and the L3, L2 and L1 tables
 * that map it.
 */
export function xenBootFrames(frameCount: number): number {
  const m2pPages = Math.ceil((frameCount * 8) / PAGE);
  return 1 + m2pPages + 2 + Math.ceil(m2pPages / 512);
}

/** The machine size for `frames` frames of other use: those plus Xen's boot frames for the whole. */
export function withXenFrames(frames: number): number {
  let total = frames + xenBootFrames(frames);
  while (total - frames < xenBootFrames(total)) total = frames + xenBootFrames(total);
  return total;
}

export class Frames {
  readonly mem: PhysMem;
  /** owner[mfn]: domid, OWNER_XEN or OWNER_FREE */
  readonly owner: Int32Array;
  /** The page holding Xen's L4 entries (slots 256..271). */
  readonly xenSlots: DataView;
  private next = 0;
  private readonly m2pFrames: number[] = [];

  /**
   * `legacyHole`: machine frames 0xa0..0xff are I/O (OWNER_IO), not RAM, as
   * on a PC; a machine with a guest dom0 has it (dom0 sees the host's e820
   * and maps that window 1:1). Their bytes start as all ones (no device
   * decodes them) and keep what is written.
   */
  constructor(readonly frameCount: number, readonly legacyHole = false) {
    if (xenBootFrames(frameCount) > 1 + 3 + 512 * 512 + 512) throw new RangeError(`${frameCount} machine frames: the M2P would need more than one L2 table (512 GiB)`);
    this.mem = new PhysMem(frameCount * PAGE);
    this.owner = new Int32Array(frameCount).fill(OWNER_FREE);
    if (legacyHole) {
      for (let mfn = LEGACY_HOLE_START; mfn < Math.min(LEGACY_HOLE_END, frameCount); mfn++) {
        this.owner[mfn] = OWNER_IO;
        new Uint8Array(this.mem.frame(mfn)!.buffer).fill(0xff);
      }
    }
    // Xen's own structures first: the L4-slot page, the M2P and its page tables.
    const slots = this.allocXen();
    this.xenSlots = this.mem.frame(slots)!;
    // Kept as a view (every MMU reads Xen's slots through it): never counted clean.
    this.mem.pin(slots);
    const m2pPages = Math.ceil((frameCount * 8) / PAGE);
    for (let k = 0; k < m2pPages; k++) this.m2pFrames.push(this.allocXen());
    this.mapM2p();
    for (const f of this.m2pFrames) new Uint8Array(this.mem.frame(f)!.buffer).fill(0xff);
  }

  /** The allocation cursor (every frame below it is in use); snapshots read it and restore it. */
  get cursor(): number {
    return this.next;
  }
  set cursor(n: number) {
    this.next = n;
  }

  /** A zeroed frame owned by `owner`; throws RangeError when machine memory is exhausted. */
  alloc(owner: number): number {
    while (this.next < this.frameCount && this.owner[this.next] !== OWNER_FREE) this.next++;
    if (this.next >= this.frameCount) throw new RangeError('machine memory exhausted');
    const mfn = this.next++;
    this.owner[mfn] = owner;
    // A frame never touched reads as zero already; a reused one is cleared.
    if (this.mem.has(mfn)) new Uint8Array(this.mem.frame(mfn)!.buffer).fill(0);
    return mfn;
  }

  /**
   * 2^order free frames in a row, the first a multiple of 2^order (as Xen's
   * buddy allocator hands them out), all below `limit`, zeroed and owned by
   * `owner`: the lowest such run, or null when there is none.
   */
  allocContiguous(owner: number, order: number, limit: number): number | null {
    const n = 1 << order;
    const end = Math.min(limit, this.frameCount);
    for (let base = 0; base + n <= end; base += n) {
      let k = 0;
      while (k < n && this.owner[base + k] === OWNER_FREE) k++;
      if (k < n) continue;
      for (let j = 0; j < n; j++) {
        this.owner[base + j] = owner;
        if (this.mem.has(base + j)) new Uint8Array(this.mem.frame(base + j)!.buffer).fill(0);
      }
      while (this.next < this.frameCount && this.owner[this.next] !== OWNER_FREE) this.next++;
      return base;
    }
    return null;
  }

  /** Allocate, or null when memory is exhausted (guest-requested allocations). */
  tryAlloc(owner: number): number | null {
    try {
      return this.alloc(owner);
    } catch {
      return null;
    }
  }

  allocXen(): number {
    return this.alloc(OWNER_XEN);
  }

  free(mfn: number): void {
    this.owner[mfn] = OWNER_FREE;
    this.setM2p(mfn, INVALID_P2M_ENTRY);
    if (mfn < this.next) this.next = mfn;
  }

  /** Frames currently owned by `owner`. */
  count(owner: number): number {
    let n = 0;
    for (let i = 0; i < this.frameCount; i++) if (this.owner[i] === owner) n++;
    return n;
  }

  setM2p(mfn: number, pfn: bigint): void {
    const f = this.mem.frame(this.m2pFrames[Math.floor((mfn * 8) / PAGE)]!)!;
    f.setBigUint64((mfn * 8) % PAGE, pfn, true);
  }

  getM2p(mfn: number): bigint {
    const f = this.mem.frame(this.m2pFrames[Math.floor((mfn * 8) / PAGE)]!)!;
    return f.getBigUint64((mfn * 8) % PAGE, true);
  }

  /** Build L3/L2/L1 tables under L4 slot 256 mapping the M2P read-only from 0xFFFF800000000000. */
  private mapM2p(): void {
    const PRESENT_USER = 0x5n; // P | U, read-only
    const TABLE = 0x67n; // P | RW | U | A | D
    const l3 = this.allocXen();
    this.xenSlots.setBigUint64(256 * 8, (BigInt(l3) << 12n) | TABLE, true);
    const l2 = this.allocXen();
    this.mem.frame(l3)!.setBigUint64(0, (BigInt(l2) << 12n) | TABLE, true);
    for (let k = 0; k < this.m2pFrames.length; k += 512) {
      const l1 = this.allocXen();
      this.mem.frame(l2)!.setBigUint64((k / 512) * 8, (BigInt(l1) << 12n) | TABLE, true);
      const t = this.mem.frame(l1)!;
      for (let j = 0; j < 512 && k + j < this.m2pFrames.length; j++) {
        t.setBigUint64(j * 8, (BigInt(this.m2pFrames[k + j]!) << 12n) | PRESENT_USER | 0x20n, true);
      }
    }
  }
}
