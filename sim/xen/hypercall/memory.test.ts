/**
 * memory_op as Xen 4.17 answers a 64-bit PV domU: xen/common/memory.c
 * (do_memory_op), xen/arch/x86/mm.c (arch_memory_op: machphys_mapping,
 * memory_map, machine_memory_map), and the toolstack's max_pages
 * (tools/libs/light/libxl_dom.c libxl__build_pre).
 */
import { describe, expect, it } from 'vitest';
import { MACH2PHYS_NR_ENTRIES, MACH2PHYS_VIRT_END, MACH2PHYS_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import * as M from '../public/memory.js';
import * as X from '../public/xen.js';
import { corpusBuilt, struct, testDomains } from '../test-domain.js';

const { Errno } = X;
const mop = X.__HYPERVISOR_memory_op;

describe.skipIf(!corpusBuilt)('memory_op', () => {
  it('XENMEM_machphys_mapping: the read-only M2P range and, for a domU, the whole table as max_mfn (mm.c arch_memory_op)', () => {
    const [t] = testDomains();
    const { call, scratch, u64 } = t!;
    expect(call(mop, M.XENMEM_machphys_mapping, scratch)).toBe(0);
    expect(u64(scratch)).toBe(MACH2PHYS_VIRT_START);
    expect(u64(scratch + 8n)).toBe(MACH2PHYS_VIRT_END);
    expect(u64(scratch + 16n)).toBe(BigInt(MACH2PHYS_NR_ENTRIES - 1));
    const [d0] = testDomains(1, 'hello', { privileged: true });
    expect(d0!.call(mop, M.XENMEM_machphys_mapping, d0!.scratch)).toBe(0);
    expect(d0!.u64(d0!.scratch + 16n)).toBe(BigInt(d0!.xen.frames.frameCount - 1)); // max_page - 1, no memory hotplug
    expect(call(mop, M.XENMEM_machphys_mapping, 0xdead00000000n)).toBe(-Errno.EFAULT);
  });

  it('XENMEM_memory_map: no e820 set by the toolstack for a PV domain gives -ENOSYS; the host map is privileged', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    put(scratch, struct(16, [[0, 4, 128], [8, 8, scratch + 64n]]));
    expect(call(mop, M.XENMEM_memory_map, scratch)).toBe(-Errno.ENOSYS);
    expect(call(mop, M.XENMEM_machine_memory_map, scratch)).toBe(-Errno.EPERM);
    const [d0] = testDomains(1, 'hello', { privileged: true });
    d0!.put(d0!.scratch, struct(16, [[0, 4, 3], [8, 8, d0!.scratch + 64n]]));
    expect(d0!.call(mop, M.XENMEM_machine_memory_map, d0!.scratch)).toBe(-Errno.EINVAL); // room for nr + 1 entries needed
    d0!.put(d0!.scratch, struct(16, [[0, 4, 16], [8, 8, d0!.scratch + 64n]]));
    expect(d0!.call(mop, M.XENMEM_machine_memory_map, d0!.scratch)).toBe(0);
    expect(d0!.u32(d0!.scratch)).toBe(3);
    expect(d0!.u32(d0!.scratch + 64n + 16n)).toBe(M.E820_RAM);
  });

  it('reservations: max_pages is the domain plus libxl\'s 1 MiB; another domain is -EPERM, a missing one -ESRCH', () => {
    const [a, b] = testDomains(2);
    const { call, put, scratch } = a!;
    put(scratch, struct(2, [[0, 2, X.DOMID_SELF]]));
    expect(call(mop, M.XENMEM_current_reservation, scratch)).toBe(8 * 256);
    expect(call(mop, M.XENMEM_maximum_reservation, scratch)).toBe(8 * 256 + 256);
    put(scratch, struct(2, [[0, 2, b!.d.id]]));
    expect(call(mop, M.XENMEM_maximum_reservation, scratch)).toBe(-Errno.EPERM);
    put(scratch, struct(2, [[0, 2, 77]]));
    expect(call(mop, M.XENMEM_current_reservation, scratch)).toBe(-Errno.ESRCH);
    expect(call(mop, M.XENMEM_maximum_ram_page | (1 << 6), 0)).toBe(-Errno.EINVAL); // a start extent where none belongs
  });

  it('XENMEM_maximum_gpfn: the guest-published shared_info max_pfn minus one', () => {
    const [t] = testDomains();
    const { call, put, scratch, xen, d } = t!;
    put(scratch, struct(2, [[0, 2, X.DOMID_SELF]]));
    xen.frames.mem.frame(d.sharedInfoMfn)!.setBigUint64(3088, 0x1234n, true);
    expect(call(mop, M.XENMEM_maximum_gpfn, scratch)).toBe(0x1233);
    xen.frames.mem.frame(d.sharedInfoMfn)!.setBigUint64(3088, 0n, true);
    expect(call(mop, M.XENMEM_maximum_gpfn, scratch)).toBe(0);
  });

  it('populate_physmap may grow the domain up to max_pages and no further', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    const list = scratch + 0x100n;
    for (let k = 0; k < 300; k++) put(list + BigInt(8 * k), struct(8, [[0, 8, 0x100000 + k]]));
    put(scratch, struct(32, [[0, 8, list], [8, 8, 300], [16, 4, 0], [24, 2, X.DOMID_SELF]]));
    expect(call(mop, M.XENMEM_populate_physmap, scratch)).toBe(256);
  });

  it('the physmap of a PV (not translated) guest cannot be changed: add_to_physmap is -EACCES (memory.c xatp_permission_check)', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    put(scratch, struct(24, [[0, 2, X.DOMID_SELF], [4, 4, M.XENMAPSPACE_shared_info], [16, 8, 0x1000]]));
    expect(call(mop, M.XENMEM_add_to_physmap, scratch)).toBe(-Errno.EACCES);
    put(scratch, struct(24, [[0, 2, X.DOMID_SELF], [4, 4, M.XENMAPSPACE_gmfn_foreign]]));
    expect(call(mop, M.XENMEM_add_to_physmap, scratch)).toBe(-Errno.ENOSYS);
  });
});
