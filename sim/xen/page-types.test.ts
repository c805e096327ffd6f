/**
 * Xen's page typing as the PV memory hypercalls see it, on a freshly built
 * domain (not run): the builder's tables validate; a frame mapped writable
 * cannot become a page table and a page table cannot be mapped writable
 * (XSA-224/234's final check); updates of non-leaf entries are validated by
 * the level of the table written (XSA-286's mmu_update of an L3 entry);
 * linear mappings, Xen's L4 slots, descriptor pages, mmuext_op errnos.
 */
import { describe, expect, it } from 'vitest';
import { PGT } from './page-types.js';
import * as X from './public/xen.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from './test-domain.js';

const { Errno } = X;
const MMUEXT = { PIN_L1: 0, PIN_L2: 1, UNPIN: 4, NEW_BASEPTR: 5, MARK_SUPER: 19 } as const;
const P = 1n;
const RW = 2n;
const AD = 0x60n;

/** VA == PFN << 12 in the corpus kernels. */
const mfnOf = (t: TestDomain, va: bigint): number => t.d.p2m[Number(va >> 12n)]!;
const pte = (t: TestDomain, va: bigint, flags: bigint): bigint => (BigInt(mfnOf(t, va)) << 12n) | flags;
function mmuext(t: TestDomain, ops: Array<[number, bigint]>, at = t.scratch + 0x3000n): number {
  const b = new Uint8Array(24 * ops.length);
  ops.forEach(([cmd, arg1], k) => b.set(struct(24, [[0, 4, cmd], [8, 8, arg1]]), 24 * k));
  t.put(at, b);
  return t.call(X.__HYPERVISOR_mmuext_op, at, ops.length, at + 0x800n, X.DOMID_SELF)!;
}
function mmuUpdate(t: TestDomain, ptr: bigint, val: bigint): number {
  const at = t.scratch + 0x3c00n;
  t.put(at, struct(16, [[0, 8, ptr], [8, 8, val]]));
  return t.call(X.__HYPERVISOR_mmu_update, at, 1, 0, X.DOMID_SELF)!;
}
const uvm = (t: TestDomain, va: bigint, val: bigint): number => t.call(X.__HYPERVISOR_update_va_mapping, va, val, 2)!;

describe.skipIf(!corpusBuilt)('page types', () => {
  it('the builder pins the L4 and validates every table; RAM mapped writable is typed writable', () => {
    const [t] = testDomains();
    const { xen, d, v } = t!;
    const l4 = v.kernelCr3;
    expect(xen.pages.tableLevel(l4)).toBe(PGT.L4);
    expect(xen.pages.count[l4]).toBe(2); // the pin and vCPU 0's cr3
    expect(d.pinned.get(l4)).toBe(PGT.L4);
    const frame = mfnOf(t!, t!.scratch);
    expect(xen.pages.type[frame]).toBe(PGT.WRITABLE);
    expect(xen.pages.count[frame]).toBe(1);
    expect(xen.pages.maps[frame]).toBe(1);
    // every table frame is typed at some level and is what ptFrames lists
    for (const f of d.ptFrames) expect(xen.pages.tableLevel(f)).toBeGreaterThan(0);
  });

  it('a writably mapped frame cannot be pinned; read-only it can, and is then not mappable writable', () => {
    const [t] = testDomains();
    const va = t!.scratch + 0x1000n;
    const f = BigInt(mfnOf(t!, va));
    expect(mmuext(t!, [[MMUEXT.PIN_L1, f]])).toBe(-Errno.EINVAL);
    expect(uvm(t!, va, pte(t!, va, AD | P))).toBe(0);
    expect(t!.xen.pages.count[Number(f)]).toBe(0);
    expect(mmuext(t!, [[MMUEXT.PIN_L1, f]])).toBe(0);
    expect(t!.xen.pages.tableLevel(Number(f))).toBe(PGT.L1);
    expect(mmuext(t!, [[MMUEXT.PIN_L1, f]])).toBe(-Errno.EINVAL); // already pinned
    expect(uvm(t!, va, pte(t!, va, AD | RW | P))).toBe(-Errno.EBUSY);
    expect(mmuext(t!, [[MMUEXT.UNPIN, f]])).toBe(0);
    expect(mmuext(t!, [[MMUEXT.UNPIN, f]])).toBe(-Errno.EINVAL); // not pinned
    expect(uvm(t!, va, pte(t!, va, AD | RW | P))).toBe(0);
  });

  it('validating an L1 takes writable references for what it maps writable (and refuses page tables)', () => {
    const [t] = testDomains();
    const [tbl, data] = [t!.scratch + 0x1000n, t!.scratch + 0x2000n];
    const l1 = mfnOf(t!, tbl);
    // the table maps `data` writable in slot 0 and the L4 (read-only) in slot 1
    t!.put(tbl, struct(16, [[0, 8, pte(t!, data, AD | RW | P)], [8, 8, (BigInt(t!.v.kernelCr3) << 12n) | AD | P]]));
    expect(uvm(t!, tbl, pte(t!, tbl, AD | P))).toBe(0);
    const before = t!.xen.pages.count[mfnOf(t!, data)]!;
    expect(mmuext(t!, [[MMUEXT.PIN_L1, BigInt(l1)]])).toBe(0);
    expect(t!.xen.pages.count[mfnOf(t!, data)]).toBe(before + 1);
    expect(mmuext(t!, [[MMUEXT.UNPIN, BigInt(l1)]])).toBe(0);
    expect(t!.xen.pages.count[mfnOf(t!, data)]).toBe(before);
    // a writable entry for the L4 makes the table invalid
    expect(mmuUpdate(t!, BigInt(l1) << 12n, 0n)).toBe(0); // plain writable page now: raw write
    expect(uvm(t!, tbl, pte(t!, tbl, AD | RW | P))).toBe(0);
    t!.put(tbl, struct(8, [[0, 8, (BigInt(t!.v.kernelCr3) << 12n) | AD | RW | P]]));
    expect(uvm(t!, tbl, pte(t!, tbl, AD | P))).toBe(0);
    expect(mmuext(t!, [[MMUEXT.PIN_L1, BigInt(l1)]])).toBe(-Errno.EBUSY);
  });

  it('mmu_update validates an entry by its table level: an L3 entry may be RW and point at a pinned L2', () => {
    const [t] = testDomains();
    const { xen, v } = t!;
    const l2va = t!.scratch + 0x1000n;
    const l2 = mfnOf(t!, l2va);
    expect(uvm(t!, l2va, pte(t!, l2va, AD | P))).toBe(0);
    expect(mmuext(t!, [[MMUEXT.PIN_L2, BigInt(l2)]])).toBe(0);
    const l3 = Number((xen.frames.mem.frame(v.kernelCr3)!.getBigUint64(0, true) >> 12n) & 0xffffffffffn);
    expect(xen.pages.tableLevel(l3)).toBe(PGT.L3);
    const slot = (BigInt(l3) << 12n) + 8n; // l3[1]: 1 GiB..2 GiB, unused
    expect(mmuUpdate(t!, slot, (BigInt(l2) << 12n) | AD | RW | P)).toBe(0);
    expect(xen.pages.count[l2]).toBe(2);
    // an L1 cannot stand in for an L2, and a superpage bit is refused
    expect(mmuUpdate(t!, slot, (BigInt(mfnOf(t!, t!.scratch)) << 12n) | AD | P)).toBe(-Errno.EINVAL);
    expect(mmuUpdate(t!, slot, (BigInt(l2) << 12n) | 0x80n | AD | P)).toBe(-Errno.EINVAL);
    expect(mmuUpdate(t!, slot, 0n)).toBe(0);
    expect(xen.pages.count[l2]).toBe(1);
    // an unknown command
    expect(mmuUpdate(t!, slot | 5n, 0n)).toBe(-Errno.ENOSYS);
  });

  it('an L4 may map itself read-only (linear page table), never writable; Xen slots are off limits', () => {
    const [t] = testDomains();
    const l4 = BigInt(t!.v.kernelCr3);
    expect(mmuUpdate(t!, (l4 << 12n) + 5n * 8n, (l4 << 12n) | AD | RW | P)).toBe(-Errno.EINVAL);
    expect(mmuUpdate(t!, (l4 << 12n) + 5n * 8n, (l4 << 12n) | AD | P)).toBe(0);
    expect(t!.xen.pages.count[Number(l4)]).toBe(2); // a self-map holds no reference
    expect(mmuUpdate(t!, (l4 << 12n) + 5n * 8n, 0n)).toBe(0);
    expect(mmuUpdate(t!, (l4 << 12n) + 260n * 8n, 0n)).toBe(-Errno.EINVAL);
  });

  it('mmuext_op: MARK_SUPER is not supported (-EOPNOTSUPP); done counts the ops before a failure', () => {
    const [t] = testDomains();
    expect(mmuext(t!, [[6, 0n], [MMUEXT.MARK_SUPER, 0n], [6, 0n]])).toBe(-Errno.EOPNOTSUPP);
    expect(t!.u32(t!.scratch + 0x3800n)).toBe(1);
    expect(mmuext(t!, [[12, 0n]])).toBe(-Errno.EACCES); // FLUSH_CACHE needs cache-flush rights
    expect(mmuext(t!, [[MMUEXT.NEW_BASEPTR, BigInt(mfnOf(t!, t!.scratch))]])).not.toBe(0);
    expect(t!.v.kernelCr3).not.toBe(mfnOf(t!, t!.scratch));
  });

  it('set_gdt types its frames as descriptor pages; update_descriptor fixes DPL to 3 and refuses system descriptors', () => {
    const [t] = testDomains();
    const gva = t!.scratch + 0x1000n;
    const g = BigInt(mfnOf(t!, gva));
    const list = t!.scratch + 0x3000n;
    t!.put(list, struct(8, [[0, 8, g]]));
    expect(t!.call(X.__HYPERVISOR_set_gdt, list, 16)).toBe(-Errno.EINVAL); // still mapped writable
    expect(uvm(t!, gva, pte(t!, gva, AD | P))).toBe(0);
    expect(t!.call(X.__HYPERVISOR_set_gdt, list, 16)).toBe(0);
    expect(t!.xen.pages.type[Number(g)]).toBe(PGT.SEG_DESC);
    expect(uvm(t!, gva, pte(t!, gva, AD | RW | P))).toBe(-Errno.EBUSY);
    const code64dpl0 = 0x00af9a000000ffffn;
    expect(t!.call(X.__HYPERVISOR_update_descriptor, (g << 12n) + 8n, code64dpl0)).toBe(0);
    expect(t!.xen.frames.mem.frame(Number(g))!.getBigUint64(8, true)).toBe(0x00affa000000ffffn);
    expect(t!.call(X.__HYPERVISOR_update_descriptor, (g << 12n) + 16n, 0x0000890000000067n)).toBe(-Errno.EINVAL); // a TSS
    expect(t!.call(X.__HYPERVISOR_update_descriptor, (g << 12n) + 17n, 0n)).toBe(-Errno.EINVAL); // misaligned
  });

  it('decrease_reservation frees a still-mapped frame only when its last mapping goes', () => {
    const [t] = testDomains();
    const va = t!.scratch + 0x1000n;
    const f = mfnOf(t!, va);
    t!.put(t!.scratch + 0x3000n, struct(8, [[0, 8, f]]));
    t!.put(t!.scratch + 0x3100n, struct(32, [[0, 8, t!.scratch + 0x3000n], [8, 8, 1], [16, 4, 0], [24, 2, X.DOMID_SELF]]));
    expect(t!.call(X.__HYPERVISOR_memory_op, 1, t!.scratch + 0x3100n)).toBe(1);
    expect(t!.xen.frames.owner[f]).toBe(t!.d.id); // still mapped at va
    expect(t!.call(X.__HYPERVISOR_memory_op, 1, t!.scratch + 0x3100n)).toBe(0); // already given back
    expect(uvm(t!, va, 0n)).toBe(0);
    expect(t!.xen.frames.owner[f]).toBe(-1);
  });
});
