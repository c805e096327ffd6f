/**
 * Hypercalls driven directly on freshly built domains: Xen's errno on every
 * error path (unknown op, bad guest pointer, privilege, bad arguments) and
 * the effect of the successful paths on guest-visible state.
 */
import { describe, expect, it } from 'vitest';
import * as EC from '../public/event_channel.js';
import * as GT from '../public/grant_table.js';
import * as X from '../public/xen.js';
import { corpusBuilt, struct, testDomains } from '../test-domain.js';

const { Errno } = X;
const BAD = 0xdead00000000n; // canonical, unmapped
const HOLE = 0xffff800000001000n; // Xen's hole

describe.skipIf(!corpusBuilt)('hypercall errors', () => {
  it('unknown and unimplemented hypercalls return -ENOSYS', () => {
    const [t] = testDomains();
    for (const nr of [11, 6, 16, 19, 27, 31, 34, 37, 39, 41, 47, 99, 0xffffffff]) expect(t!.call(nr), `hypercall ${nr}`).toBe(-Errno.ENOSYS);
  });

  it('bad guest pointers give -EFAULT', () => {
    const [t] = testDomains();
    const c = t!.call;
    expect(c(X.__HYPERVISOR_set_trap_table, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_send, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_sched_op, 2, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_memory_op, 3, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_setup_table, BAD, 1)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_mmu_update, BAD, 1, 0, X.DOMID_SELF)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_mmuext_op, BAD, 1, 0, X.DOMID_SELF)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_console_io, 0, 16, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_xen_version, 1, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_vcpu_op, 8, 0, BAD)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_multicall, BAD, 1)).toBe(-Errno.EFAULT);
    expect(c(X.__HYPERVISOR_callback_op, 0, BAD)).toBe(-Errno.EFAULT);
  });

  it('privileged operations from a domU give -EPERM (sysctl/domctl/platform_op check the interface version first)', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    put(scratch, struct(16, [[0, 4, 1], [4, 4, 0x15]]));
    expect(call(X.__HYPERVISOR_sysctl, scratch)).toBe(-Errno.EPERM);
    expect(call(X.__HYPERVISOR_domctl, scratch)).toBe(-Errno.EPERM);
    put(scratch, struct(16, [[0, 4, 1], [4, 4, 0x12]]));
    expect(call(X.__HYPERVISOR_sysctl, scratch)).toBe(-Errno.EACCES);
    expect(call(X.__HYPERVISOR_platform_op, scratch)).toBe(-Errno.EACCES); // platform_op too checks its version first
    put(scratch, struct(16, [[0, 4, 1], [4, 4, 0x03000001]]));
    expect(call(X.__HYPERVISOR_platform_op, scratch)).toBe(-Errno.EPERM);
    expect(call(X.__HYPERVISOR_xen_version, 10, scratch)).toBe(-Errno.EPERM);
    expect(call(X.__HYPERVISOR_physdev_op, 20, scratch)).toBe(-Errno.EPERM);
    expect(call(X.__HYPERVISOR_sched_op, 4, scratch)).toBe(-Errno.EPERM);
    put(scratch, struct(8, [[0, 2, 2], [2, 2, 0]]));
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, scratch)).toBe(-Errno.EPERM);
  });

  it('invalid arguments give -EINVAL', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    put(scratch, struct(32, [[0, 1, 14], [8, 8, 0x8000000000000000n]]));
    expect(call(X.__HYPERVISOR_set_trap_table, scratch)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_update_va_mapping, HOLE, 0, 0)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_update_va_mapping, 0x8000000000000000n, 0, 0)).toBe(-Errno.EINVAL);
    put(scratch, struct(4, [[0, 4, 4095]]));
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_send, scratch)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_close, scratch)).toBe(-Errno.EINVAL);
    put(scratch, struct(12, [[0, 4, 99], [4, 4, 0]]));
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_virq, scratch)).toBe(-Errno.EINVAL);
    put(scratch, struct(24, [[0, 8, [...t!.d.ptFrames][0]!], [8, 4, 0], [12, 4, 0]])); // a page table, not a writable page
    expect(call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_init_control, scratch)).toBe(-Errno.EINVAL);
    put(scratch, struct(24, [[0, 4, 19]]));
    expect(call(X.__HYPERVISOR_mmuext_op, scratch, 1, 0, X.DOMID_SELF)).toBe(-Errno.EOPNOTSUPP); // MARK_SUPER: Xen 4.17 mm.c
    put(scratch, struct(4, [[0, 4, 9]]));
    expect(call(X.__HYPERVISOR_sched_op, 2, scratch)).toBe(-Errno.EINVAL); // shutdown reason
    expect(call(X.__HYPERVISOR_vm_assist, 0, 17)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_vcpu_op, 3, 7, 0)).toBe(-Errno.ENOENT);
  });

  it('per-vCPU VIRQs bind on any vCPU, global ones only on vCPU 0 (virq_is_global)', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    const bind = (virq: number, vcpu: number): number | null => {
      put(scratch, struct(12, [[0, 4, virq], [4, 4, vcpu]]));
      return call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_virq, scratch);
    };
    for (const virq of [X.VIRQ_TIMER, X.VIRQ_DEBUG, X.VIRQ_XENOPROF, X.VIRQ_XENPMU]) expect(bind(virq, 1), `virq ${virq}`).toBe(0);
    for (const virq of [X.VIRQ_CONSOLE, X.VIRQ_DOM_EXC, X.VIRQ_DEBUGGER, X.VIRQ_CON_RING]) {
      expect(bind(virq, 1), `virq ${virq}`).toBe(-Errno.EINVAL);
      expect(bind(virq, 0), `virq ${virq}`).toBe(0);
    }
  });

  it('a domain cannot map frames it does not own', () => {
    const [a, b] = testDomains(2);
    const foreign = BigInt(b!.d.p2m[300]!) << 12n;
    expect(a!.call(X.__HYPERVISOR_update_va_mapping, a!.scratch, foreign | 0x67n, 2)).toBe(-Errno.EBUSY); // get_page_from_l1e: could_not_pin
    const ownTable = BigInt([...a!.d.ptFrames][0]!) << 12n;
    expect(a!.call(X.__HYPERVISOR_update_va_mapping, a!.scratch, ownTable | 0x67n, 2)).toBe(-Errno.EBUSY); // writable page table: no writable type
    expect(a!.call(X.__HYPERVISOR_update_va_mapping, a!.scratch, ownTable | 0x65n, 2)).toBe(0); // read-only is fine
  });
});

describe.skipIf(!corpusBuilt)('hypercall effects', () => {
  it('xen_version reports 4.17 and zero-pads its strings', () => {
    const [t] = testDomains();
    const { call, scratch, v } = t!;
    expect(call(X.__HYPERVISOR_xen_version, 0, 0)).toBe((4 << 16) | 17);
    t!.put(scratch, new Uint8Array(16).fill(0xaa));
    expect(call(X.__HYPERVISOR_xen_version, 1, scratch)).toBe(0);
    const s = v.guest.read(scratch, 16)!;
    expect(Buffer.from(s).toString('latin1')).toBe('-xenrr\0\0\0\0\0\0\0\0\0\0');
  });

  it('interdomain channels: alloc_unbound, bind_interdomain, send, status, close', () => {
    const [a, b] = testDomains(2);
    a!.put(a!.scratch, struct(8, [[0, 2, X.DOMID_SELF], [2, 2, 2]]));
    expect(a!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, a!.scratch)).toBe(0);
    const port = a!.u32(a!.scratch + BigInt(EC.evtchn_alloc_unbound.port));
    b!.put(b!.scratch, struct(12, [[0, 2, 1], [4, 4, port]]));
    expect(b!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_bind_interdomain, b!.scratch)).toBe(0);
    const local = b!.u32(b!.scratch + 8n);
    // Send from b: a's port becomes pending in a's shared_info, and a's vCPU gets an upcall.
    b!.put(b!.scratch + 64n, struct(4, [[0, 4, local]]));
    expect(a!.xen.isPending(a!.d, port)).toBe(false);
    expect(b!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_send, b!.scratch + 64n)).toBe(0);
    expect(a!.xen.isPending(a!.d, port)).toBe(true);
    a!.put(a!.scratch + 128n, struct(24, [[0, 2, X.DOMID_SELF], [4, 4, port]]));
    expect(a!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_status, a!.scratch + 128n)).toBe(0);
    expect(a!.u32(a!.scratch + 128n + 8n)).toBe(EC.EVTCHNSTAT_interdomain);
    expect(a!.u32(a!.scratch + 128n + 20n)).toBe(local);
    expect(b!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_close, b!.scratch + 64n)).toBe(0);
    expect(a!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_status, a!.scratch + 128n)).toBe(0);
    expect(a!.u32(a!.scratch + 128n + 8n)).toBe(EC.EVTCHNSTAT_unbound);
  });

  it('the store channel reports interdomain with dom0', () => {
    const [t] = testDomains();
    t!.put(t!.scratch, struct(24, [[0, 2, X.DOMID_SELF], [4, 4, t!.d.storePort]]));
    expect(t!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_status, t!.scratch)).toBe(0);
    expect(t!.u32(t!.scratch + 8n)).toBe(EC.EVTCHNSTAT_interdomain);
    expect(t!.u32(t!.scratch + 16n) & 0xffff).toBe(0);
  });

  it('runs out of ports with -ENOSPC at 4096', () => {
    const [t] = testDomains();
    t!.put(t!.scratch, struct(8, [[0, 2, X.DOMID_SELF], [2, 2, 0]]));
    let last = 0;
    for (let k = 0; k < 4100 && last === 0; k++) last = t!.call(X.__HYPERVISOR_event_channel_op, EC.EVTCHNOP_alloc_unbound, t!.scratch)!;
    expect(last).toBe(-Errno.ENOSPC);
    expect(t!.d.ports.filter((p) => p !== null).length).toBe(4095);
  });

  it('grants: setup_table, map, copy, unmap with permission checks', () => {
    const [a, b] = testDomains(2);
    const s = a!.scratch;
    a!.put(s, struct(24, [[0, 2, X.DOMID_SELF], [4, 4, 1], [16, 8, s + 256n]]));
    expect(a!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_setup_table, s, 1)).toBe(0);
    expect(a!.u32(s + 8n) & 0xffff).toBe(0);
    const gframe = a!.d.grantFrames[0]!;
    expect(Number(a!.u64(s + 256n))).toBe(gframe);
    // a grants its PFN 500 to domain 2 as ref 3 (v1 entry: flags last).
    const mfn = a!.d.p2m[500]!;
    a!.machine.xen.frames.mem.write(mfn * 4096, new Uint8Array(4096).fill(0x5a));
    a!.machine.xen.frames.mem.write(gframe * 4096 + 3 * 8, struct(8, [[2, 2, 2], [4, 4, mfn], [0, 2, GT.GTF_permit_access | GT.GTF_readonly]]));
    // b maps it read-write: denied (read-only grant); read-only: ok.
    const m = b!.scratch;
    b!.put(m, struct(32, [[0, 8, b!.scratch + 0x1000n], [8, 4, GT.GNTMAP_host_map], [12, 4, 3], [16, 2, 1]]));
    expect(b!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_map_grant_ref, m, 1)).toBe(0);
    expect(new DataView(b!.v.guest.read(m + 18n, 2)!.buffer).getInt16(0, true)).toBe(GT.GNTST_general_error); // _set_status: write-pin of a r/o entry
    b!.put(m, struct(32, [[0, 8, b!.scratch + 0x1000n], [8, 4, GT.GNTMAP_host_map | GT.GNTMAP_readonly], [12, 4, 3], [16, 2, 1]]));
    expect(b!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_map_grant_ref, m, 1)).toBe(0);
    expect(new DataView(b!.v.guest.read(m + 18n, 2)!.buffer).getInt16(0, true)).toBe(GT.GNTST_okay);
    expect(b!.v.guest.u8(b!.scratch + 0x1000n)).toBe(0x5a);
    const handle = b!.u32(m + 20n);
    // copy from the grant into b's own PFN 600
    const own = b!.d.p2m[600]!;
    b!.put(m + 64n, struct(40, [[0, 4, 3], [8, 2, 1], [10, 2, 0], [16, 8, own], [24, 2, X.DOMID_SELF], [26, 2, 8], [32, 2, 16], [34, 2, GT.GNTCOPY_source_gref]]));
    expect(b!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_copy, m + 64n, 1)).toBe(0);
    expect(new DataView(b!.v.guest.read(m + 64n + 36n, 2)!.buffer).getInt16(0, true)).toBe(GT.GNTST_okay);
    expect([...b!.machine.xen.frames.mem.read(own * 4096 + 8, 17)]).toEqual([...new Array(16).fill(0x5a), 0]);
    // unmap: the VA no longer maps the granted page; a bad handle is reported
    b!.put(m + 128n, struct(24, [[0, 8, b!.scratch + 0x1000n], [16, 4, handle]]));
    expect(b!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_unmap_grant_ref, m + 128n, 1)).toBe(0);
    expect(b!.v.guest.u8(b!.scratch + 0x1000n)).toBe(null);
    expect(b!.call(X.__HYPERVISOR_grant_table_op, GT.GNTTABOP_unmap_grant_ref, m + 128n, 1)).toBe(0);
    expect(new DataView(b!.v.guest.read(m + 128n + 20n, 2)!.buffer).getInt16(0, true)).toBe(GT.GNTST_bad_handle);
  });

  it('memory_op reports the reservation; multicall writes each result', () => {
    const [t] = testDomains();
    const { call, put, scratch } = t!;
    put(scratch, struct(2, [[0, 2, X.DOMID_SELF]]));
    expect(call(X.__HYPERVISOR_memory_op, 3, scratch)).toBe(8 * 256);
    expect(call(X.__HYPERVISOR_memory_op, 4, scratch)).toBe(8 * 256 + 256); // + LIBXL_MAXMEM_CONSTANT
    put(scratch + 64n, struct(128, [[0, 8, X.__HYPERVISOR_xen_version], [64, 8, 99]]));
    expect(call(X.__HYPERVISOR_multicall, scratch + 64n, 2)).toBe(0);
    expect(t!.u64(scratch + 64n + 8n)).toBe(BigInt((4 << 16) | 17));
    expect(t!.u64(scratch + 64n + 72n)).toBe(BigInt.asUintN(64, BigInt(-Errno.ENOSYS)));
  });

  it('sched_op shutdown ends the domain with its reason', () => {
    const [t] = testDomains();
    t!.put(t!.scratch, struct(4, [[0, 4, 1]]));
    expect(t!.call(X.__HYPERVISOR_sched_op, 2, t!.scratch)).toBe(0);
    expect(t!.d.state).toBe('shutdown');
    expect(t!.d.shutdownReason).toBe('reboot');
  });
});
