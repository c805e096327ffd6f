/**
 * Writable page tables (pv/ro-page-fault.c ptwr_do_page_fault): a kernel
 * write to a read-only mapping of one of its own L1 tables is emulated as a
 * validated L1 update once VMASST_TYPE_writable_pagetables is on; otherwise,
 * or when the new entry would not validate, the guest gets the #PF.
 */
import { describe, expect, it } from 'vitest';
import { ExitKind, Vector } from '../cpu/fault.js';
import { PGT } from './page-types.js';
import * as X from './public/xen.js';
import { ptwrFault } from './ptwr.js';
import { corpusBuilt, testDomains, type TestDomain } from './test-domain.js';

/** An L1 table of the domain, the VA where the builder maps it (read-only), and the slot of `scratch` in it. */
function l1Of(t: TestDomain): { mfn: number; va: bigint } {
  const mfn = [...t.d.ptFrames].find((m) => t.xen.pages.tableLevel(m) === PGT.L1)!;
  return { mfn, va: BigInt(t.d.p2m.indexOf(mfn)) << 12n }; // corpus kernels: VA == PFN << 12
}
/** Execute `mov %rax, (%rbx)` (or xchg) writing `val` at `at`; returns the exit. */
function store(t: TestDomain, at: bigint, val: bigint, xchg = false) {
  const code = t.scratch + 0x2000n;
  t.put(code, new Uint8Array(xchg ? [0x48, 0x87, 0x03] : [0x48, 0x89, 0x03]));
  t.v.cpu.rip = code;
  t.v.cpu.setReg(0, val);
  t.v.cpu.setReg(3, at);
  return t.v.cpu.run(1);
}

describe.skipIf(!corpusBuilt)('writable page tables', () => {
  it('without the VM assist the write is a #PF for the guest', () => {
    const [t] = testDomains();
    const { va } = l1Of(t!);
    const e = store(t!, va + 8n * 300n, 0n);
    expect([e.kind, e.vector, e.errorCode & 3]).toEqual([ExitKind.EXCEPTION, Vector.PF, 3]);
    expect(ptwrFault(t!.xen, t!.d, t!.v, e.errorCode, e.cr2)).toBe(false);
  });

  it('with it, an xchg that clears a PTE is applied through page typing and the instruction completes', () => {
    const [t] = testDomains();
    const { call, d, v, xen } = t!;
    expect(call(X.__HYPERVISOR_vm_assist, X.VMASST_CMD_enable, X.VMASST_TYPE_writable_pagetables)).toBe(0);
    const { mfn, va } = l1Of(t!);
    const table = xen.frames.mem.frame(mfn)!;
    const slot = [...Array(512).keys()].find((i) => (table.getBigUint64(i * 8, true) & 3n) === 3n)!; // a writable mapping
    const old = table.getBigUint64(slot * 8, true);
    const target = Number((old >> 12n) & 0xffffffffffn);
    const refs = xen.pages.count[target]!;
    const e = store(t!, va + BigInt(slot * 8), 0n, true);
    expect(e.kind).toBe(ExitKind.EXCEPTION);
    const rip = v.cpu.rip;
    expect(ptwrFault(xen, d, v, e.errorCode, e.cr2)).toBe(true);
    expect(v.cpu.rip).toBe(rip + 3n);
    expect(v.cpu.getReg(0)).toBe(old); // xchg returned the old entry
    expect(table.getBigUint64(slot * 8, true)).toBe(0n);
    expect(xen.pages.count[target]).toBe(refs - 1); // the writable reference went with the entry
  });

  it('an entry that does not validate (a frame of another domain) leaves table and registers untouched and the #PF stands', () => {
    const [t, other] = testDomains(2);
    const { call, d, v, xen } = t!;
    expect(call(X.__HYPERVISOR_vm_assist, X.VMASST_CMD_enable, X.VMASST_TYPE_writable_pagetables)).toBe(0);
    const { mfn, va } = l1Of(t!);
    const table = xen.frames.mem.frame(mfn)!;
    const before = table.getBigUint64(400 * 8, true);
    const bad = (BigInt(other!.d.p2m[10]!) << 12n) | 0x63n;
    const e = store(t!, va + 400n * 8n, bad);
    const rip = v.cpu.rip;
    expect(ptwrFault(xen, d, v, e.errorCode, e.cr2)).toBe(false);
    expect(table.getBigUint64(400 * 8, true)).toBe(before);
    expect(v.cpu.rip).toBe(rip);
    expect(v.cpu.getReg(0)).toBe(bad);
  });
});

describe.skipIf(!corpusBuilt)('MMU_PT_UPDATE_PRESERVE_AD', () => {
  it('keeps the Accessed/Dirty bits of the entry it replaces (mm.c update_intpte), where a normal update does not', () => {
    const [t] = testDomains();
    const { mfn } = l1Of(t!);
    const table = t!.xen.frames.mem.frame(mfn)!;
    const slot = [...Array(512).keys()].find((i) => (table.getBigUint64(i * 8, true) & 3n) === 3n)!;
    const old = table.getBigUint64(slot * 8, true);
    table.setBigUint64(slot * 8, old | 0x60n, true); // the MMU set A and D
    const req = (cmd: bigint, val: bigint) => t!.put(t!.scratch, new Uint8Array(new BigUint64Array([BigInt(mfn * 4096 + slot * 8) | cmd, val]).buffer));
    req(2n, old & ~0x60n);
    expect(t!.call(X.__HYPERVISOR_mmu_update, t!.scratch, 1, 0, X.DOMID_SELF)).toBe(0);
    expect(table.getBigUint64(slot * 8, true)).toBe(old | 0x60n);
    req(0n, old & ~0x60n);
    expect(t!.call(X.__HYPERVISOR_mmu_update, t!.scratch, 1, 0, X.DOMID_SELF)).toBe(0);
    expect(table.getBigUint64(slot * 8, true)).toBe(old & ~0x60n);
  });
});
