/**
 * Xen's page typing for PV guests (arch/x86/mm.c): how Xen keeps a guest
 * from ever holding a writable mapping of a frame that is in use as a page
 * table or descriptor table.
 *
 * Every machine frame has at most one type at a time -- writable, L1..L4
 * page table, or segment-descriptor page -- and a count of references of
 * that type. The type may change only while the count is 0. Taking the
 * first reference of a page-table type validates the frame's entries, which
 * takes references on what they point at (a writable L1 entry takes a
 * writable-type reference on its target, an L2 entry an L1-type reference,
 * ...); dropping the last one releases them again. So:
 *   - a frame with any writable mapping cannot become a page table, and a
 *     page table cannot be mapped writable (-EBUSY from an L1 update, -EINVAL
 *     from a pin or a new base pointer);
 *   - references come from: validated table entries, pins, the vCPUs' base
 *     pointers, GDT frames, and grant mappings (grant-map code takes its
 *     own).
 * `maps` counts general references (mappings and table links), so Xen can
 * tell whether a frame it shares with the guest is still mapped.
 *
 * Linear page tables (an entry pointing at a table of its own level,
 * read-only) are accepted as Xen does by default; the per-table limits on
 * linear use (linear_pt_count) are not modelled.
 *
 * Ordering: a new entry's references are taken before the entry is written
 * and the old entry's dropped after, so a failed update changes nothing.
 */
import { checkDescriptor } from './descriptors.js';
import type { Domain } from './domain.js';
import { OWNER_IO, type Frames } from './frames.js';

export const PGT = { NONE: 0, L1: 1, L2: 2, L3: 3, L4: 4, SEG_DESC: 5, WRITABLE: 6 } as const;
export type Pgt = (typeof PGT)[keyof typeof PGT];

const EINVAL = 22;
const EBUSY = 16;
const EPERM = 1;
const M64 = (1n << 64n) - 1n;
export const PTE_P = 1n;
export const PTE_RW = 2n;
const ADDR = 0x000ffffffffff000n;
/** Guest-settable bits of any entry: P RW US A D, AVAIL (9-11), AVAIL_HIGH (52-62), NX. */
const BASE_ALLOWED = 0x1n | 0x2n | 0x4n | 0x20n | 0x40n | 0xe00n | 0x7ff0000000000000n | (1n << 63n);
/** L1 entries may also be global; a domU without I/O rights may not set cache attributes (PWT PCD PAT). */
const L1_ALLOWED = BASE_ALLOWED | 0x100n;
/** Flags an update may change without retaking references (FASTPATH_FLAG_WHITELIST). */
const FAST_L1 = 0x4n | 0x20n | 0x40n | 0x100n | 0xe00n | 0x7ff0000000000000n | (1n << 63n);
const FAST_PDE = 0x4n | 0x20n | 0x40n | 0xe00n | 0x7ff0000000000000n | (1n << 63n);
/** L4 slots 256..271 belong to Xen in every 64-bit PV address space. */
export const isXenL4Slot = (slot: number): boolean => slot >= 256 && slot < 272;

const isTable = (t: number): boolean => t >= PGT.L1 && t <= PGT.L4;
export const pteMfn = (e: bigint): number => Number((e & ADDR) >> 12n);

export class PageTypes {
  readonly type: Uint8Array;
  readonly count: Int32Array;
  readonly validated: Uint8Array;
  readonly maps: Int32Array;

  constructor(private readonly frames: Frames) {
    const n = frames.frameCount;
    this.type = new Uint8Array(n);
    this.count = new Int32Array(n);
    this.validated = new Uint8Array(n);
    this.maps = new Int32Array(n);
  }

  /** Frames given back (decrease_reservation) while still referenced: freed with the last reference. */
  private readonly releasing = new Set<number>();

  /**
   * The guest dropped its allocation of `mfn`: free it now if nothing
   * references it, else once the last type or mapping reference goes (as
   * Xen frees a page when its count drops to zero). Pinned frames are
   * unpinned first by the caller.
   */
  release(mfn: number): void {
    this.releasing.add(mfn);
    this.settle(mfn);
  }

  isReleasing(mfn: number): boolean {
    return this.releasing.has(mfn);
  }

  private settle(mfn: number): void {
    if (this.count[mfn] !== 0 || this.maps[mfn] !== 0 || !this.releasing.delete(mfn)) return;
    this.type[mfn] = PGT.NONE;
    this.validated[mfn] = 0;
    this.frames.free(mfn);
  }

  /** Drop one general (mapping) reference, e.g. a grant mapping's. */
  dropMap(mfn: number): void {
    if (this.maps[mfn]! > 0) this.maps[mfn]!--;
    this.settle(mfn);
  }

  /** A frame of `d`'s own RAM. */
  owned(d: Domain, mfn: number): boolean {
    return mfn >= 0 && mfn < this.frames.frameCount && this.frames.owner[mfn] === d.id;
  }

  /** A Xen frame shared with `d` (share_xen_page_with_guest): shared_info, grant and status frames. */
  shared(d: Domain, mfn: number): boolean {
    return mfn === d.sharedInfoMfn || d.grantFrames.includes(mfn) || d.statusFrames.includes(mfn);
  }

  /** The level (1..4) of a frame in use as a page table, or 0. */
  tableLevel(mfn: number): number {
    const t = this.type[mfn] ?? 0;
    return this.count[mfn]! > 0 && isTable(t) ? t : 0;
  }

  /** get_page_type: take a reference of type `t`, validating a page table on its first one. 0 or -errno. */
  getType(d: Domain, mfn: number, t: Pgt): number {
    if (mfn < 0 || mfn >= this.frames.frameCount) return -EINVAL;
    const n = this.count[mfn]!;
    if (n > 0) {
      if (this.type[mfn] !== t || !this.validated[mfn]) return -EINVAL;
      this.count[mfn] = n + 1;
      return 0;
    }
    this.type[mfn] = t;
    this.count[mfn] = 1;
    this.validated[mfn] = 0;
    if (t === PGT.SEG_DESC && !this.validateSegDesc(mfn)) {
      this.count[mfn] = 0;
      this.type[mfn] = PGT.NONE;
      return -EINVAL;
    }
    if (isTable(t)) {
      d.ptFrames.add(mfn);
      const rc = t === PGT.L1 ? this.promoteL1(d, mfn) : this.promotePd(d, mfn, t);
      if (rc !== 0) {
        this.count[mfn] = 0;
        this.type[mfn] = PGT.NONE;
        d.ptFrames.delete(mfn);
        return rc;
      }
    }
    this.validated[mfn] = 1;
    return 0;
  }

  /** put_page_type: drop a reference; the last one of a page table releases what its entries hold. */
  putType(d: Domain, mfn: number): void {
    const n = this.count[mfn] ?? 0;
    if (n <= 0) return;
    this.count[mfn] = n - 1;
    if (n > 1) return;
    const t = this.type[mfn]!;
    if (isTable(t) && this.validated[mfn]) {
      this.validated[mfn] = 0;
      const f = this.frames.mem.frame(mfn)!;
      for (let i = 0; i < 512; i++) {
        if (t === PGT.L4 && isXenL4Slot(i)) continue;
        const e = f.getBigUint64(i * 8, true);
        if (t === PGT.L1) this.putL1e(d, e);
        else this.putPde(d, e, mfn);
      }
    }
    if (isTable(t)) d.ptFrames.delete(mfn);
    this.validated[mfn] = 0;
    this.settle(mfn);
  }

  /** validate_segdesc_page: every descriptor passes check_descriptor (and is stored as fixed up). */
  private validateSegDesc(mfn: number): boolean {
    const f = this.frames.mem.frame(mfn)!;
    for (let i = 0; i < 512; i++) {
      const fixed = checkDescriptor(f.getBigUint64(i * 8, true));
      if (fixed === null) return false;
      this.store(mfn * 4096 + i * 8, fixed);
    }
    return true;
  }

  private promoteL1(d: Domain, mfn: number): number {
    const f = this.frames.mem.frame(mfn)!;
    for (let i = 0; i < 512; i++) {
      const rc = this.getL1e(d, f.getBigUint64(i * 8, true));
      if (rc !== 0) {
        while (i-- > 0) this.putL1e(d, f.getBigUint64(i * 8, true));
        return rc;
      }
    }
    return 0;
  }

  private promotePd(d: Domain, mfn: number, level: number): number {
    const f = this.frames.mem.frame(mfn)!;
    const slots = [...Array(512).keys()].filter((i) => level !== PGT.L4 || !isXenL4Slot(i));
    for (let k = 0; k < slots.length; k++) {
      const rc = this.getPde(d, f.getBigUint64(slots[k]! * 8, true), mfn, level);
      if (rc !== 0) {
        while (k-- > 0) this.putPde(d, f.getBigUint64(slots[k]! * 8, true), mfn);
        return rc;
      }
    }
    return 0;
  }

  /** get_page_from_l1e for a PTE `d` writes itself: its own RAM or frames Xen shares with it. */
  getL1e(d: Domain, e: bigint): number {
    if ((e & PTE_P) === 0n) return 0;
    if ((e & ~(L1_ALLOWED | ADDR) & M64) !== 0n) return -EINVAL;
    const mfn = pteMfn(e);
    if (mfn >= this.frames.frameCount) return -EPERM; // not RAM: an MMIO attempt without I/O rights
    // DOMID_IO's frames: the hardware domain has iomem access (no references are taken); others do not.
    if (this.frames.owner[mfn] === OWNER_IO) return d.id === 0 && d.privileged ? 0 : -EPERM;
    if (!this.owned(d, mfn) && !this.shared(d, mfn)) return -EBUSY;
    if ((e & PTE_RW) !== 0n && this.getType(d, mfn, PGT.WRITABLE) !== 0) return -EBUSY;
    this.maps[mfn]!++;
    return 0;
  }

  /** put_page_from_l1e (also for grant PTEs zapped by an ordinary update, as a release build does). */
  putL1e(d: Domain, e: bigint): void {
    if ((e & PTE_P) === 0n) return;
    const mfn = pteMfn(e);
    if (mfn >= this.frames.frameCount || this.frames.owner[mfn] === OWNER_IO) return;
    if ((e & PTE_RW) !== 0n) this.putType(d, mfn);
    this.dropMap(mfn);
  }

  /** get_page_from_l{2,3,4}e: the target becomes a table one level down, or a read-only linear mapping. */
  private getPde(d: Domain, e: bigint, table: number, level: number): number {
    if ((e & PTE_P) === 0n) return 0;
    if ((e & ~(BASE_ALLOWED | ADDR) & M64) !== 0n) return -EINVAL;
    const mfn = pteMfn(e);
    if (!this.owned(d, mfn)) return -EINVAL;
    let rc = this.getType(d, mfn, (level - 1) as Pgt);
    if (rc === -EINVAL && (e & PTE_RW) === 0n) {
      if (mfn === table) return 0; // a table mapping itself holds no reference
      if (this.type[mfn] === level && this.validated[mfn] && this.count[mfn]! > 0) {
        this.count[mfn]!++;
        rc = 0;
      }
    }
    if (rc === 0) this.maps[mfn]!++;
    return rc;
  }

  private putPde(d: Domain, e: bigint, table: number): void {
    if ((e & PTE_P) === 0n) return;
    const mfn = pteMfn(e);
    if (mfn === table || mfn >= this.frames.frameCount) return;
    this.putType(d, mfn);
    this.dropMap(mfn);
  }

  /** Write a 64-bit entry at machine address `ma` (decoded code in the frame is dropped first). */
  store(ma: number, v: bigint): void {
    const mem = this.frames.mem;
    const pfn = Math.floor(ma / 4096);
    if (mem.codeMark[pfn]) mem.codeWritten(pfn);
    mem.frame(pfn)!.setBigUint64(ma % 4096, v & M64, true);
  }

  /**
   * Whether the table entry at machine address `ma` is present: only then can
   * a TLB hold a translation through it, so only then does replacing it
   * need a flush (a walk through a non-present entry faults and caches nothing).
   */
  present(ma: number): boolean {
    return (this.frames.mem.frame(Math.floor(ma / 4096))!.getUint8(ma % 4096) & 1) !== 0;
  }

  /** mod_l1_entry: replace the L1 entry at machine address `ma` (in a validated L1) with `nv`. */
  modL1e(d: Domain, ma: number, nv: bigint): number {
    const f = this.frames.mem.frame(Math.floor(ma / 4096))!;
    const off = ma % 4096;
    const ov = f.getBigUint64(off, true);
    if ((nv & PTE_P) !== 0n) {
      if ((nv & ~(L1_ALLOWED | ADDR) & M64) !== 0n) return -EINVAL;
      if ((ov & PTE_P) !== 0n && ((ov ^ nv) & ~FAST_L1 & M64) === 0n) {
        this.store(ma, nv);
        return 0;
      }
      const rc = this.getL1e(d, nv);
      if (rc !== 0) return rc;
    }
    this.store(ma, nv);
    this.putL1e(d, ov);
    return 0;
  }

  /** mod_l{2,3,4}_entry: replace an entry of the validated table `level` at `ma`. */
  modPde(d: Domain, ma: number, nv: bigint, level: number): number {
    const table = Math.floor(ma / 4096);
    const off = ma % 4096;
    if (level === PGT.L4 && isXenL4Slot(off >> 3)) return -EINVAL;
    const f = this.frames.mem.frame(table)!;
    const ov = f.getBigUint64(off, true);
    if ((nv & PTE_P) !== 0n) {
      if ((nv & ~(BASE_ALLOWED | ADDR) & M64) !== 0n) return -EINVAL;
      if ((ov & PTE_P) !== 0n && ((ov ^ nv) & ~FAST_PDE & M64) === 0n) {
        this.store(ma, nv);
        return 0;
      }
      const rc = this.getPde(d, nv, table, level);
      if (rc !== 0) return rc;
    }
    this.store(ma, nv);
    this.putPde(d, ov, table);
    return 0;
  }
}
