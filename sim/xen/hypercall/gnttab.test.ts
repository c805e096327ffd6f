/**
 * Grant tables as XSA-224/234/255/316 exercise them, driven directly on a
 * freshly built domain: self grants with host and device mappings and the
 * references they hold, unmap_and_replace and Xen's PTE check on unmap,
 * v2 status frames and switching back to v1, and grants from domain 0.
 */
import { describe, expect, it } from 'vitest';
import * as GT from '../public/grant_table.js';
import * as X from '../public/xen.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from '../test-domain.js';

const { Errno } = X;
const P = 1n;
const RW = 2n;
const AD = 0x60n;

const mfnOf = (t: TestDomain, va: bigint): number => t.d.p2m[Number(va >> 12n)]!;
const s16 = (t: TestDomain, va: bigint): number => new DataView(t.v.guest.read(va, 2)!.buffer).getInt16(0, true);
const gop = (t: TestDomain, cmd: number, at: bigint, n = 1): number => t.call(X.__HYPERVISOR_grant_table_op, cmd, at, n)!;
const uvm = (t: TestDomain, va: bigint, val: bigint): number => t.call(X.__HYPERVISOR_update_va_mapping, va, val, 2)!;
function pin(t: TestDomain, mfn: number): number {
  const at = t.scratch + 0x3f00n;
  t.put(at, struct(24, [[0, 4, 0], [8, 8, mfn]]));
  return t.call(X.__HYPERVISOR_mmuext_op, at, 1, 0, X.DOMID_SELF)!;
}

/** The domain's grant frame 0 (v1: 8-byte entries, v2: 16-byte). */
function grant(t: TestDomain, ref: number, frame: number, flags: number): void {
  const f = t.xen.frames.mem.frame(t.d.grantFrames[0]!)!;
  if (t.d.grantVersion === 1) {
    f.setUint16(ref * 8 + 2, t.d.id, true);
    f.setUint32(ref * 8 + 4, frame, true);
    f.setUint16(ref * 8, flags, true);
  } else {
    f.setUint16(ref * 16 + 2, t.d.id, true);
    f.setBigUint64(ref * 16 + 8, BigInt(frame), true);
    f.setUint16(ref * 16, flags, true);
  }
}
/** map_grant_ref at `at`; returns [status, handle]. */
function map(t: TestDomain, at: bigint, hostAddr: bigint, flags: number, ref: number, dom = t.d.id): [number, number] {
  t.put(at, struct(32, [[0, 8, hostAddr], [8, 4, flags], [12, 4, ref], [16, 2, dom], [24, 8, 0x1000n]]));
  expect(gop(t, GT.GNTTABOP_map_grant_ref, at)).toBe(0);
  return [s16(t, at + 18n), t.u32(at + 20n)];
}
function unmap(t: TestDomain, at: bigint, hostAddr: bigint, devBus: bigint, handle: number): number {
  t.put(at, struct(24, [[0, 8, hostAddr], [8, 8, devBus], [16, 4, handle]]));
  expect(gop(t, GT.GNTTABOP_unmap_grant_ref, at)).toBe(0);
  return s16(t, at + 20n);
}

describe.skipIf(!corpusBuilt)('grant tables', () => {
  it('every domain starts with one v1 grant frame; a domain may map its own grants', () => {
    const [t] = testDomains();
    expect(t!.d.grantFrames.length).toBe(1);
    const va = t!.scratch + 0x1000n;
    grant(t!, 8, mfnOf(t!, t!.scratch + 0x2000n), GT.GTF_permit_access);
    const [status, handle] = map(t!, t!.scratch, va, GT.GNTMAP_host_map, 8);
    expect(status).toBe(GT.GNTST_okay);
    t!.machine.xen.frames.mem.write(mfnOf(t!, t!.scratch + 0x2000n) * 4096, new Uint8Array([0x77]));
    expect(t!.v.guest.u8(va)).toBe(0x77);
    const flags = t!.xen.frames.mem.frame(t!.d.grantFrames[0]!)!.getUint16(64, true);
    expect(flags & (GT.GTF_reading | GT.GTF_writing)).toBe(GT.GTF_reading | GT.GTF_writing);
    expect(unmap(t!, t!.scratch + 64n, va, 0n, handle)).toBe(GT.GNTST_okay);
    expect(t!.v.guest.u8(va)).toBe(null); // the PTE is cleared, not restored
    expect(t!.xen.frames.mem.frame(t!.d.grantFrames[0]!)!.getUint16(64, true)).toBe(GT.GTF_permit_access);
  });

  it('XSA-224: host and device mappings unmapped separately leave the frame unpinnable', () => {
    const [t] = testDomains();
    const frame = t!.scratch + 0x2000n;
    const f = mfnOf(t!, frame);
    grant(t!, 8, f, GT.GTF_permit_access);
    const before = t!.xen.pages.count[f]!;
    const [status, handle] = map(t!, t!.scratch, t!.scratch + 0x1000n, GT.GNTMAP_host_map | GT.GNTMAP_device_map, 8);
    expect(status).toBe(GT.GNTST_okay);
    expect(t!.u64(t!.scratch + 24n)).toBe(BigInt(f) << 12n); // dev_bus_addr
    expect(t!.xen.pages.count[f]).toBe(before + 2);
    expect(unmap(t!, t!.scratch + 64n, t!.scratch + 0x1000n, 0n, handle)).toBe(GT.GNTST_okay);
    expect(unmap(t!, t!.scratch + 64n, 0n, (BigInt(f) << 12n) + 4096n, handle)).toBe(GT.GNTST_bad_dev_addr);
    expect(unmap(t!, t!.scratch + 64n, 0n, BigInt(f) << 12n, handle)).toBe(GT.GNTST_okay);
    expect(t!.xen.pages.count[f]).toBe(before);
    expect(unmap(t!, t!.scratch + 64n, 0n, BigInt(f) << 12n, handle)).toBe(GT.GNTST_bad_handle);
    expect(pin(t!, f)).toBe(-Errno.EINVAL); // still mapped writable at its own VA
  });

  it('XSA-234: unmap_and_replace moves the PTE; an unmap whose PTE no longer matches fails and keeps its reference', () => {
    const [t] = testDomains();
    const [f1va, f2va, a4k, a8k] = [t!.scratch + 0x2000n, t!.scratch + 0x3000n, t!.scratch, t!.scratch + 0x1000n];
    const [f1, f2] = [mfnOf(t!, f1va), mfnOf(t!, f2va)];
    expect(uvm(t!, f1va, (BigInt(f1) << 12n) | AD | P)).toBe(0);
    grant(t!, 8, f1, GT.GTF_permit_access);
    grant(t!, 9, f2, GT.GTF_permit_access);
    const ops = 0x3c0000n; // mapped scratch of the same domain, away from the pages above
    const [s1, h1] = map(t!, ops, a4k, GT.GNTMAP_host_map, 8);
    const [s2, h2] = map(t!, ops + 64n, a8k, GT.GNTMAP_host_map | GT.GNTMAP_readonly, 9);
    expect([s1, s2]).toEqual([0, 0]);
    t!.put(ops + 128n, struct(24, [[0, 8, a8k], [8, 8, a4k], [16, 4, h2]]));
    expect(gop(t!, GT.GNTTABOP_unmap_and_replace, ops + 128n)).toBe(0);
    expect(s16(t!, ops + 148n)).toBe(GT.GNTST_okay);
    expect(t!.v.guest.u8(a4k)).toBe(null);
    expect(t!.v.guest.translate(a8k, true)).toBe(f1 * 4096); // frame1's writable grant PTE, moved
    expect(uvm(t!, a4k, (BigInt(f1) << 12n) | AD | P)).toBe(0);
    expect(unmap(t!, ops + 192n, a4k, 0n, h1)).toBe(GT.GNTST_general_error);
    expect(pin(t!, f1)).toBe(-Errno.EINVAL);
  });

  it('XSA-255: v2 status frames can be mapped; leaving v2 while one is mapped is -EBUSY', () => {
    const [t] = testDomains();
    const s = t!.scratch;
    t!.put(s, struct(4, [[0, 4, 2]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(0);
    expect(t!.d.grantVersion).toBe(2);
    expect(t!.d.statusFrames.length).toBe(1);
    t!.put(s + 32n, struct(16, [[0, 4, 1], [4, 2, X.DOMID_SELF], [8, 8, s + 64n]]));
    expect(gop(t!, GT.GNTTABOP_get_status_frames, s + 32n)).toBe(0);
    expect(s16(t!, s + 38n)).toBe(GT.GNTST_okay);
    const sf = t!.u64(s + 64n);
    expect(Number(sf)).toBe(t!.d.statusFrames[0]);
    expect(gop(t!, GT.GNTTABOP_get_status_frames, s + 32n, 2)).toBe(-Errno.EINVAL);
    const va = s + 0x1000n;
    expect(uvm(t!, va, (sf << 12n) | AD | P)).toBe(0);
    t!.put(s, struct(4, [[0, 4, 1]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(-Errno.EBUSY);
    expect(t!.u32(s)).toBe(2); // the version in force is written back
    expect(uvm(t!, va, 0n)).toBe(0);
    t!.put(s, struct(4, [[0, 4, 1]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(0);
    expect(t!.d.grantVersion).toBe(1);
    expect(t!.d.statusFrames.length).toBe(0);
    t!.put(s + 32n, struct(16, [[0, 4, 1], [4, 2, X.DOMID_SELF], [8, 8, s + 64n]]));
    expect(gop(t!, GT.GNTTABOP_get_status_frames, s + 32n)).toBe(0);
    expect(s16(t!, s + 38n)).toBe(GT.GNTST_general_error); // v1 has none
  });

  it('v2 keeps reading/writing in the status frame; a pinned entry blocks a version change', () => {
    const [t] = testDomains();
    const s = t!.scratch;
    t!.put(s, struct(4, [[0, 4, 2]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(0);
    grant(t!, 10, mfnOf(t!, s + 0x2000n), GT.GTF_permit_access | GT.GTF_readonly);
    expect(map(t!, s + 64n, s + 0x1000n, GT.GNTMAP_host_map, 10)[0]).toBe(GT.GNTST_general_error); // r/o grant
    const [status, handle] = map(t!, s + 64n, s + 0x1000n, GT.GNTMAP_host_map | GT.GNTMAP_readonly, 10);
    expect(status).toBe(GT.GNTST_okay);
    expect(t!.xen.frames.mem.frame(t!.d.statusFrames[0]!)!.getUint16(20, true)).toBe(GT.GTF_reading);
    t!.put(s, struct(4, [[0, 4, 1]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(-Errno.EBUSY);
    expect(unmap(t!, s + 128n, s + 0x1000n, 0n, handle)).toBe(GT.GNTST_okay);
    expect(t!.xen.frames.mem.frame(t!.d.statusFrames[0]!)!.getUint16(20, true)).toBe(0);
    t!.put(s, struct(4, [[0, 4, 1]]));
    expect(gop(t!, GT.GNTTABOP_set_version, s)).toBe(0);
    expect(t!.d.grantVersion).toBe(1);
  });

  it('XSA-316: domain 0 exists and grants nothing (general error); an absent domain is bad_domain', () => {
    const [t] = testDomains();
    expect(map(t!, t!.scratch, t!.scratch + 0x1000n, GT.GNTMAP_host_map, 8, 0)[0]).toBe(GT.GNTST_general_error);
    expect(map(t!, t!.scratch, t!.scratch + 0x1000n, GT.GNTMAP_host_map, 4096, 0)[0]).toBe(GT.GNTST_bad_gntref);
    expect(map(t!, t!.scratch, t!.scratch + 0x1000n, GT.GNTMAP_host_map, 8, 77)[0]).toBe(GT.GNTST_bad_domain);
    expect(map(t!, t!.scratch, t!.scratch + 0x1000n, 0, 8)[0]).toBe(GT.GNTST_bad_gntref); // neither host nor device
  });
});
