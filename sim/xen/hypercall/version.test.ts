/**
 * xen_version as Xen 4.17 answers it (xen/common/kernel.c do_xen_version,
 * xen/include/xsm/dummy.h xsm_xen_version): the feature submap a PV domU
 * and a hardware domain see, and the XSM_PRIV sub-ops a domU is denied.
 */
import { describe, expect, it } from 'vitest';
import * as F from '../public/features.js';
import * as V from '../public/version.js';
import * as X from '../public/xen.js';
import { corpusBuilt, struct, testDomains } from '../test-domain.js';

const { Errno } = X;
const bit = (n: number): number => 1 << n;
const PV_ALWAYS = bit(F.XENFEAT_memory_op_vnode_supported) | bit(F.XENFEAT_mmu_pt_update_preserve_ad) | bit(F.XENFEAT_highmem_assist) | bit(F.XENFEAT_gnttab_map_avail_bits) | bit(F.XENFEAT_direct_mapped);

describe.skipIf(!corpusBuilt)('xen_version', () => {
  it('XENVER_get_features: a 64-bit PV domU gets 5, 6, 7, 13 and 17; pae_pgdir_above_4gb once it enables pae_extended_cr3 (kernel.c)', () => {
    const [t] = testDomains();
    const { call, put, scratch, u32 } = t!;
    put(scratch, struct(8, [[0, 4, 0], [4, 4, 0xdeadbeef]]));
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_get_features, scratch)).toBe(0);
    expect(u32(scratch + 4n)).toBe(PV_ALWAYS);
    expect(call(X.__HYPERVISOR_vm_assist, X.VMASST_CMD_enable, X.VMASST_TYPE_pae_extended_cr3)).toBe(0);
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_get_features, scratch)).toBe(0);
    expect(u32(scratch + 4n)).toBe(PV_ALWAYS | bit(F.XENFEAT_pae_pgdir_above_4gb));
  });

  it('XENVER_get_features: the hardware domain also gets XENFEAT_dom0, and pae_pgdir_above_4gb from its PAE_MODE "yes" note (pv/dom0_build.c)', () => {
    const [t] = testDomains(1, 'hello', { privileged: true });
    const { call, put, scratch, u32 } = t!;
    put(scratch, struct(8, [[0, 4, 0]]));
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_get_features, scratch)).toBe(0);
    expect(u32(scratch + 4n)).toBe(PV_ALWAYS | bit(F.XENFEAT_dom0) | bit(F.XENFEAT_pae_pgdir_above_4gb));
  });

  it('XENVER_get_features: a submap index past XENFEAT_NR_SUBMAPS is -EINVAL', () => {
    const [t] = testDomains();
    t!.put(t!.scratch, struct(8, [[0, 4, 1]]));
    expect(t!.call(X.__HYPERVISOR_xen_version, V.XENVER_get_features, t!.scratch)).toBe(-Errno.EINVAL);
  });

  it('XENVER_pagesize answers 4096 only with a NULL argument; capabilities name 64-bit PV', () => {
    const [t] = testDomains();
    const { call, scratch, v } = t!;
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_pagesize, 0)).toBe(4096);
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_pagesize, scratch)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_xen_version, V.XENVER_capabilities, scratch)).toBe(0);
    expect(Buffer.from(v.guest.read(scratch, 16)!).toString('latin1')).toBe('xen-3.0-x86_64 \0');
  });

  it('XENVER_guest_handle is the domain UUID the toolstack uses', () => {
    const [t] = testDomains();
    expect(t!.call(X.__HYPERVISOR_xen_version, V.XENVER_guest_handle, t!.scratch)).toBe(0);
    const h = t!.v.guest.read(t!.scratch, 16)!;
    expect(Buffer.from(h).toString('hex')).toBe(t!.d.uuid.replaceAll('-', ''));
    expect(h[6]! >> 4).toBe(4); // version 4 layout
  });

  it('XSM_PRIV sub-ops: a domU reads "<denied>" as the command line and gets -EPERM for the build id; dom0 gets them', () => {
    const [t] = testDomains();
    t!.put(t!.scratch, new Uint8Array(16).fill(0xaa));
    expect(t!.call(X.__HYPERVISOR_xen_version, V.XENVER_commandline, t!.scratch)).toBe(0);
    expect(Buffer.from(t!.v.guest.read(t!.scratch, 10)!).toString('latin1')).toBe('<denied>\0\xaa');
    expect(t!.call(X.__HYPERVISOR_xen_version, V.XENVER_build_id, t!.scratch)).toBe(-Errno.EPERM);
    const [d0] = testDomains(1, 'hello', { privileged: true });
    expect(d0!.call(X.__HYPERVISOR_xen_version, V.XENVER_commandline, d0!.scratch)).toBe(0);
    expect(d0!.call(X.__HYPERVISOR_xen_version, V.XENVER_build_id, d0!.scratch)).toBe(-Errno.ENODATA);
    expect(t!.call(X.__HYPERVISOR_xen_version, 11, 0)).toBe(-Errno.ENOSYS);
  });
});
