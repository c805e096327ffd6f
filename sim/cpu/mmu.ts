/**
 * Linear-to-physical translation and the data accessors the executor uses.
 *
 * Addresses are (lo, hi) uint32 pairs. With paging off the mapping is the
 * identity below the top of physical memory. With paging on it is the x86-64
 * 4-level walk from CR3 with P/RW/US/NX checks, accessed/dirty updates and
 * 2 MiB / 1 GiB pages, behind a direct-mapped software TLB that is flushed on
 * CR3 loads, invlpg and explicit flushes (`flush`, `flushPage`).
 *
 * A TLB entry caches the rights the walk granted; write rights are cached
 * only once the dirty bit is set, never for frames holding decoded code, and
 * only for frames PhysMem counts as dirty, so those stores take the slow
 * path, which updates D, invalidates code and marks the frame dirty.
 *
 * The hit tests are plain tag compares, so that translated code (jit-mem.ts)
 * can inline them: an entry whose tag is in `tlbR` may be read, one whose tag
 * is also in `tlbW` may be written, both in the current mode (a change of
 * user/supervisor mode flushes the TLB). Those two tests, with the page
 * offset leaving room for the access, are the whole fast path: anything
 * else (a miss, a page-straddling access) goes through the methods here.
 *
 * A debugger's data watch (setDataWatch) takes the entries of watched frames
 * out of `tlbR`/`tlbW` (their tags stay in `tag`), so every access to them
 * misses and `fill` reports it.
 */
import { FAULT, PfErr, Vector } from './fault.js';
import { PAGE_SIZE, type PhysMem } from './phys-mem.js';

const TLB_BITS = 10;
const TLB_SIZE = 1 << TLB_BITS;
/** Index mask of the direct-mapped TLB (entry = linear page number & TLB_MASK). */
export const TLB_MASK = TLB_SIZE - 1;

/** Access kinds, also the TLB permission bits that must be present. */
export const Acc = { R: 1, W: 2, X: 4 } as const;
const P_USER = 8;

/** Called with the vector, error code and (for #PF) the faulting address; must throw FAULT. */
export type RaiseFn = (vector: number, err: number, cr2Lo: number, cr2Hi: number) => never;

/**
 * A debugger's read/access watch (Mmu.setDataWatch): every data access to
 * one of `frames` is reported with its offset in the frame and its length,
 * before it is made. Instruction fetches are not.
 */
export type DataWatch = { frames: ReadonlySet<number>; access(pfn: number, off: number, n: number, write: boolean): void };

export class Mmu {
  paging = false;
  /** CR3 as a page-frame number of the PML4. */
  cr3Pfn = 0;
  /** CR0.WP: supervisor writes honour R/W. */
  wp = true;
  /** EFER.NXE: bit 63 of entries is NX rather than reserved. */
  nxe = true;
  /**
   * Hypervisor-owned top-level slots: when set, PML4 entries 256..271 (the
   * Xen hole, 0xffff800000000000-0xffff87ffffffffff) are read from this
   * frame instead of the guest's table, as Xen shares its own slots with
   * every PV address space.
   */
  xenSlots: DataView | null = null;
  private user = false;

  /** Tag (linear page number, lo >>> 12) of each valid entry, else -1: the entry may be read. */
  readonly tlbR = new Int32Array(TLB_SIZE).fill(-1);
  /** The same tag where write rights are cached too, else -1. */
  readonly tlbW = new Int32Array(TLB_SIZE).fill(-1);
  /** High half of each entry's linear address (hi | 0). */
  readonly tlbHi = new Int32Array(TLB_SIZE);
  /** The frame behind each entry. */
  readonly tlbView: DataView[];
  /** Rights the walk granted (Acc bits; X is checked on fetch) and the frame number. */
  private readonly perm = new Uint8Array(TLB_SIZE);
  private readonly pfn = new Float64Array(TLB_SIZE);
  /** Tag of each valid entry (else -1), watched or not: `tlbR` without the data watch's exclusions. */
  private readonly tag = new Int32Array(TLB_SIZE).fill(-1);
  /**
   * With a data watch, entries of watched frames are valid in `tag` but
   * absent from `tlbR`/`tlbW`, so every access to them misses the fast path
   * and `fill` reports it, then goes on exactly as the cached entry would
   * have let it (no new walk: a stale translation stays stale, as in the run
   * without the watch).
   */
  private dwatch: DataWatch | null = null;
  /** Bumped whenever cached translations or rights may change (see Cpu.lookup). */
  epoch = 0;
  /** Frame of the last successful translation (for code fetch). */
  lastPfn = 0;

  constructor(readonly mem: PhysMem, private readonly raise: RaiseFn) {
    const dummy = new DataView(new ArrayBuffer(8));
    this.tlbView = new Array<DataView>(TLB_SIZE).fill(dummy);
  }

  /** Accesses are checked as user-mode (CPL 3) or supervisor; a change flushes the TLB (its entries hold one mode's rights). */
  setUser(user: boolean): void {
    if (user === this.user) return;
    this.user = user;
    this.flush();
  }

  flush(): void {
    this.tag.fill(-1);
    this.tlbR.fill(-1);
    this.tlbW.fill(-1);
    this.epoch++;
  }

  /** invlpg: drop the entry for one linear page. */
  flushPage(lo: number, _hi: number): void {
    const i = (lo >>> 12) & TLB_MASK;
    this.tag[i] = -1;
    this.tlbR[i] = -1;
    this.tlbW[i] = -1;
    this.epoch++;
  }

  /** Remove write permission from every cached entry of a frame (it now holds code). */
  protectFrame(pfn: number): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      if (this.pfn[i] === pfn) {
        this.perm[i] = this.perm[i]! & ~Acc.W;
        this.tlbW[i] = -1;
      }
    }
  }

  /** Remove write permission from every cached entry (PhysMem.resetDirty: no frame is dirty any more). */
  protectAll(): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      this.perm[i] = this.perm[i]! & ~Acc.W;
      this.tlbW[i] = -1;
    }
  }

  /** Report data accesses to some frames (null: stop). Cached entries of those frames leave the fast path. */
  setDataWatch(w: DataWatch | null): void {
    for (let i = 0; i < TLB_SIZE; i++) {
      const t = this.tag[i]!;
      if (t === -1) continue;
      const watched = w !== null && w.frames.has(this.pfn[i]!);
      this.tlbR[i] = watched ? -1 : t;
      this.tlbW[i] = watched || (this.perm[i]! & Acc.W) === 0 ? -1 : t;
    }
    this.dwatch = w;
    this.epoch++;
  }

  // ---- data accessors ---------------------------------------------------

  read8(lo: number, hi: number): number {
    return this.rview(lo, hi, 1).getUint8(lo & 0xfff);
  }
  read16(lo: number, hi: number): number {
    if ((lo & 0xfff) > 0xffe) return this.readSlow(lo, hi, 2);
    return this.rview(lo, hi, 2).getUint16(lo & 0xfff, true);
  }
  read32(lo: number, hi: number): number {
    if ((lo & 0xfff) > 0xffc) return this.readSlow(lo, hi, 4);
    return this.rview(lo, hi, 4).getUint32(lo & 0xfff, true);
  }
  /** Returns the low half; the high half is left in `hi32`. */
  read64(lo: number, hi: number): number {
    const off = lo & 0xfff;
    if (off > 0xff8) {
      this.rview(lo, hi, 0x1000 - off);
      this.rview((((lo + 7) & ~0xfff) >>> 0), ((lo + 7) >>> 0) < lo ? (hi + 1) >>> 0 : hi, off - 0xff8);
      const l = this.readSlow(lo, hi, 4);
      const a = (lo + 4) >>> 0;
      this.hi32 = this.readSlow(a, a < 4 ? (hi + 1) >>> 0 : hi, 4);
      return l;
    }
    const v = this.rview(lo, hi, 8);
    this.hi32 = v.getUint32(off + 4, true);
    return v.getUint32(off, true);
  }
  hi32 = 0;

  write8(lo: number, hi: number, v: number): void {
    this.wview(lo, hi, 1).setUint8(lo & 0xfff, v);
  }
  write16(lo: number, hi: number, v: number): void {
    if ((lo & 0xfff) > 0xffe) return this.writeSlow(lo, hi, 2, v);
    this.wview(lo, hi, 2).setUint16(lo & 0xfff, v, true);
  }
  write32(lo: number, hi: number, v: number): void {
    if ((lo & 0xfff) > 0xffc) return this.writeSlow(lo, hi, 4, v);
    this.wview(lo, hi, 4).setUint32(lo & 0xfff, v, true);
  }
  write64(lo: number, hi: number, vlo: number, vhi: number): void {
    const off = lo & 0xfff;
    if (off > 0xff8) {
      // Check both pages before storing anything, as hardware does.
      const a = (lo + 4) >>> 0;
      const ah = a < 4 ? (hi + 1) >>> 0 : hi;
      this.probeWrite(lo, hi, 8);
      this.writeSlow(lo, hi, 4, vlo);
      this.writeSlow(a, ah, 4, vhi);
      return;
    }
    const v = this.wview(lo, hi, 8);
    v.setUint32(off, vlo, true);
    v.setUint32(off + 4, vhi, true);
  }

  /** Check that an n-byte write would succeed without performing it (read-modify-write forms). */
  probeWrite(lo: number, hi: number, n: number): void {
    const off = lo & 0xfff;
    this.wview(lo, hi, Math.min(n, 0x1000 - off));
    if (off > 0x1000 - n) {
      const end = lo + n - 1;
      this.wview((end & ~0xfff) >>> 0, end > 0xffffffff ? (hi + 1) >>> 0 : hi, off + n - 0x1000);
    }
  }

  /**
   * The frame view for an n-byte read-modify-write at (lo, hi), with write
   * rights checked (A/D set, code invalidated); null when the access straddles
   * a page, in which case the caller takes the general path.
   */
  rmwView(lo: number, hi: number, n: number): DataView | null {
    if ((lo & 0xfff) > 0x1000 - n) return null;
    return this.wview(lo, hi, n);
  }

  /** The frame view for an instruction fetch at (lo, hi); sets lastPfn. */
  fetchView(lo: number, hi: number): DataView {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbR[i] === lo >>> 12 && this.tlbHi[i] === (hi | 0) && (this.perm[i]! & Acc.X) !== 0) {
      this.lastPfn = this.pfn[i]!;
      return this.tlbView[i]!;
    }
    return this.fill(lo, hi, Acc.X, 0);
  }

  /**
   * Translate with access checks as the current mode would do them (a read,
   * or a write honouring R/W and CR0.WP), for a hypervisor copying to or
   * from guest memory: physical address or -1. Never faults, never sets A/D.
   */
  probe(lo: number, hi: number, write: boolean): number {
    if (!this.paging) return hi === 0 && lo >>> 12 < this.mem.frameCount ? lo : -1;
    const s = hi >> 15;
    if (s !== 0 && s !== -1) return -1;
    const r = this.walk(lo, hi, write ? Acc.W : Acc.R, false);
    return r < 0 ? -1 : r * PAGE_SIZE + (lo & 0xfff);
  }

  /** Translate for a debugger or loader: physical address or -1; never faults, never sets A/D. */
  peekPhys(lo: number, hi: number): number {
    if (!this.paging) return hi === 0 && lo >>> 12 < this.mem.frameCount ? lo : -1;
    const r = this.walk(lo, hi, 0, false);
    return r < 0 ? -1 : r * PAGE_SIZE + (lo & 0xfff);
  }

  /** The frame view for an `n`-byte read within one page (`n` matters to a data watch only). */
  private rview(lo: number, hi: number, n: number): DataView {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbR[i] === lo >>> 12 && this.tlbHi[i] === (hi | 0)) return this.tlbView[i]!;
    return this.fill(lo, hi, Acc.R, n);
  }

  private wview(lo: number, hi: number, n: number): DataView {
    const i = (lo >>> 12) & TLB_MASK;
    if (this.tlbW[i] === lo >>> 12 && this.tlbHi[i] === (hi | 0)) return this.tlbView[i]!;
    const v = this.fill(lo, hi, Acc.W, n);
    if (this.mem.codeMark[this.lastPfn]) this.mem.codeWritten(this.lastPfn);
    return v;
  }

  /**
   * Page-straddling accesses. Both pages are translated first, lowest first,
   * so a fault reports CR2 as hardware does: the access's own address when
   * the first page faults, the second page's first byte when the second does.
   */
  private readSlow(lo: number, hi: number, n: number): number {
    this.rview(lo, hi, 0x1000 - (lo & 0xfff));
    const end = lo + n - 1;
    this.rview((end & ~0xfff) >>> 0, end > 0xffffffff ? (hi + 1) >>> 0 : hi, (end & 0xfff) + 1);
    let v = 0;
    for (let k = n - 1; k >= 0; k--) {
      const a = (lo + k) >>> 0;
      v = v * 256 + this.read8(a, a < lo ? (hi + 1) >>> 0 : hi);
    }
    return v >>> 0;
  }

  private writeSlow(lo: number, hi: number, n: number, v: number): void {
    this.probeWrite(lo, hi, n);
    for (let k = 0; k < n; k++) {
      const a = (lo + k) >>> 0;
      this.write8(a, a < lo ? (hi + 1) >>> 0 : hi, (v >>> (8 * k)) & 0xff);
    }
  }

  /** TLB miss: translate, check rights, refill, or raise #PF / #GP. `n`: bytes accessed in this page (data watches). */
  private fill(lo: number, hi: number, acc: number, n: number): DataView {
    const i = (lo >>> 12) & TLB_MASK;
    const dw = this.dwatch;
    if (dw !== null && this.tag[i] === lo >>> 12 && this.tlbHi[i] === (hi | 0) && (this.perm[i]! & acc) === acc) {
      // A cached entry, watched or not (a watched one misses every fast path): allowed as it allows, and reported.
      const pfn = this.pfn[i]!;
      this.lastPfn = pfn;
      if (acc !== Acc.X && dw.frames.has(pfn)) dw.access(pfn, lo & 0xfff, n, acc === Acc.W);
      return this.tlbView[i]!;
    }
    let pfn: number;
    let perm: number;
    if (!this.paging) {
      if (hi !== 0 || lo >>> 12 >= this.mem.frameCount) this.raise(Vector.GP, 0, 0, 0);
      pfn = lo >>> 12;
      perm = Acc.R | Acc.W | Acc.X | P_USER;
    } else {
      const s = hi >> 15;
      if (s !== 0 && s !== -1) this.raise(Vector.GP, 0, 0, 0);
      pfn = this.walk(lo, hi, acc, true);
      if (pfn < 0) {
        this.raise(Vector.PF, this.walkErr, lo, hi);
      }
      perm = this.walkPerm;
    }
    const mem = this.mem;
    const view = mem.view(pfn);
    if (view === null) this.raise(Vector.GP, 0, 0, 0);
    if (acc === Acc.W) mem.dirty[pfn] = 1;
    if (mem.codeMark[pfn] || !mem.dirty[pfn]) perm &= ~Acc.W;
    const watched = dw !== null && dw.frames.has(pfn);
    this.tag[i] = lo >>> 12;
    this.tlbR[i] = watched ? -1 : lo >>> 12;
    this.tlbW[i] = !watched && (perm & Acc.W) !== 0 ? lo >>> 12 : -1;
    this.tlbHi[i] = hi | 0;
    this.perm[i] = perm;
    this.pfn[i] = pfn;
    this.tlbView[i] = view;
    this.lastPfn = pfn;
    if (watched && acc !== Acc.X) dw.access(pfn, lo & 0xfff, n, acc === Acc.W);
    return view;
  }

  private walkErr = 0;
  private walkPerm = 0;

  /**
   * The 4-level walk. Returns the frame number, or -1 with `walkErr` set.
   * `acc` 0 means a side-effect-free look-up (debugger); otherwise A is set
   * on every level and D on the leaf for writes, only when access is allowed.
   */
  private walk(lo: number, hi: number, acc: number, update: boolean): number {
    const user = this.user;
    let tablePfn = this.cr3Pfn;
    let rw = true;
    let us = true;
    let nx = false;
    const idx = [(hi >>> 7) & 511, ((hi & 0x7f) << 2) | (lo >>> 30), (lo >>> 21) & 511, (lo >>> 12) & 511];
    const errBase = (acc === Acc.W ? PfErr.W : 0) | (user ? PfErr.U : 0) | (acc === Acc.X && this.nxe ? PfErr.I : 0);
    for (let level = 0; level < 4; level++) {
      const slot = idx[level]!;
      // (Xen's own slots never need an A-bit update: the entries are built with A set.)
      const t = level === 0 && this.xenSlots !== null && slot >= 256 && slot < 272 ? this.xenSlots : this.mem.view(tablePfn);
      if (t === null) return this.walkFail(errBase | PfErr.RSVD);
      const off = slot * 8;
      const eLo = t.getUint32(off, true);
      const eHi = t.getUint32(off + 4, true);
      if ((eLo & 1) === 0) return this.walkFail(errBase);
      if (!this.nxe && eHi >>> 31) return this.walkFail(errBase | PfErr.P | PfErr.RSVD);
      const large = level > 0 && level < 3 && (eLo & 0x80) !== 0;
      if (level === 0 && (eLo & 0x80) !== 0) return this.walkFail(errBase | PfErr.P | PfErr.RSVD);
      rw &&= (eLo & 2) !== 0;
      us &&= (eLo & 4) !== 0;
      nx ||= this.nxe && eHi >>> 31 === 1;
      const leaf = level === 3 || large;
      if (leaf) {
        const denied =
          (user && !us) ||
          (acc === Acc.W && !rw && (user || this.wp)) ||
          (acc === Acc.X && nx);
        if (denied) return this.walkFail(errBase | PfErr.P);
        if (update && acc !== 0) {
          let n = eLo | 0x20;
          if (acc === Acc.W) n |= 0x40;
          if (n !== eLo) {
            t.setUint32(off, n >>> 0, true);
            this.mem.dirty[tablePfn] = 1;
          }
        }
        const dirty = acc === Acc.W || (eLo & 0x40) !== 0;
        this.walkPerm = Acc.R | (rw && dirty ? Acc.W : 0) | (nx ? 0 : Acc.X) | (us ? P_USER : 0);
        // Supervisor with CR0.WP=0 may write read-only pages; don't cache that.
        const basePfn = (eHi & 0xfffff) * 0x100000 + (eLo >>> 12);
        if (level === 3) return basePfn;
        const sub = level === 2 ? (lo >>> 12) & 511 : ((lo >>> 12) & 0x3ffff);
        const mask = level === 2 ? ~511 : ~0x3ffff;
        return (basePfn & mask) + sub;
      }
      if (update && acc !== 0 && (eLo & 0x20) === 0) {
        t.setUint32(off, (eLo | 0x20) >>> 0, true);
        this.mem.dirty[tablePfn] = 1;
      }
      tablePfn = (eHi & 0xfffff) * 0x100000 + (eLo >>> 12);
    }
    return this.walkFail(errBase);
  }

  private walkFail(err: number): number {
    this.walkErr = err;
    return -1;
  }
}
