/**
 * physdev_op, vm_assist and xenpmu_op as Xen 4.17 answers a PV domU
 * (xen/arch/x86/physdev.c, xen/common/domain.c do_vm_assist with
 * asm/domain.h PV64_VM_ASSIST_MASK, xen/arch/x86/cpu/vpmu.c).
 */
import { describe, expect, it } from 'vitest';
import { ExitKind, Vector } from '../../cpu/fault.js';
import { PGT } from '../page-types.js';
import * as P from '../public/physdev.js';
import * as X from '../public/xen.js';
import { corpusBuilt, struct, testDomains } from '../test-domain.js';

const { Errno } = X;
const pop = X.__HYPERVISOR_physdev_op;

describe.skipIf(!corpusBuilt)('physdev_op, vm_assist, xenpmu_op', () => {
  it('PHYSDEVOP_pirq_eoi_gmfn_v2: a domU may register one writable page of its own (-EBUSY after); not a page table (-EINVAL)', () => {
    const [t] = testDomains();
    const { call, put, scratch, d, xen } = t!;
    const mfn = d.p2m[Number((scratch + 0x3000n) >> 12n)]!;
    put(scratch, struct(8, [[0, 8, mfn]]));
    expect(call(pop, P.PHYSDEVOP_pirq_eoi_gmfn_v2, scratch)).toBe(0);
    expect(d.pirqEoiMfn).toBe(mfn);
    expect(xen.pages.type[mfn]).toBe(PGT.WRITABLE); // the reference Xen keeps while it maps the page
    expect(call(pop, P.PHYSDEVOP_pirq_eoi_gmfn_v2, scratch)).toBe(-Errno.EBUSY);
    const [a, b] = testDomains(2);
    a!.put(a!.scratch, struct(8, [[0, 8, [...a!.d.ptFrames][0]!]]));
    expect(a!.call(pop, P.PHYSDEVOP_pirq_eoi_gmfn_v2, a!.scratch)).toBe(-Errno.EINVAL);
    a!.put(a!.scratch, struct(8, [[0, 8, b!.d.p2m[5]!]])); // another domain's frame
    expect(a!.call(pop, P.PHYSDEVOP_pirq_eoi_gmfn_v2, a!.scratch)).toBe(-Errno.EINVAL);
  });

  it('no PIRQs in a domU: eoi is -EINVAL, a status query of a valid number says needs-EOI, device and IO-APIC ops are -EPERM', () => {
    const [t] = testDomains();
    const { call, put, scratch, u32 } = t!;
    put(scratch, struct(8, [[0, 4, 3]]));
    expect(call(pop, P.PHYSDEVOP_eoi, scratch)).toBe(-Errno.EINVAL);
    expect(call(pop, P.PHYSDEVOP_irq_status_query, scratch)).toBe(0);
    expect(u32(scratch + 4n)).toBe(P.XENIRQSTAT_needs_eoi);
    put(scratch, struct(8, [[0, 4, 10_000]]));
    expect(call(pop, P.PHYSDEVOP_irq_status_query, scratch)).toBe(-Errno.EINVAL);
    for (const op of [P.PHYSDEVOP_map_pirq, P.PHYSDEVOP_apic_read, P.PHYSDEVOP_manage_pci_add, P.PHYSDEVOP_setup_gsi]) expect(call(pop, op, scratch), `op ${op}`).toBe(-Errno.EPERM);
    expect(call(pop, P.PHYSDEVOP_restore_msi, scratch)).toBe(-Errno.ENODEV);
    expect(call(pop, 99, scratch)).toBe(-Errno.ENOSYS);
  });

  it('PHYSDEVOP_set_iobitmap: ports whose bits are clear are allowed without IOPL; the rest #GP', () => {
    const [t] = testDomains();
    const { call, put, scratch, v } = t!;
    const bitmap = scratch + 0x1000n;
    put(bitmap, new Uint8Array(16).fill(0xff));
    put(bitmap + 0x10n, new Uint8Array([0xfe])); // port 0x80 allowed
    put(scratch, struct(16, [[0, 8, bitmap], [8, 4, 0x100]]));
    expect(call(pop, P.PHYSDEVOP_set_iobitmap, scratch)).toBe(0);
    const out = (port: number) => {
      put(scratch + 0x2000n, new Uint8Array([0xe6, port])); // out imm8, al
      v.cpu.rip = scratch + 0x2000n;
      return v.cpu.run(1);
    };
    expect(out(0x80).kind).toBe(ExitKind.BUDGET);
    const e = out(0x81);
    expect([e.kind, e.vector]).toEqual([ExitKind.EXCEPTION, Vector.GP]);
    put(scratch, struct(16, [[0, 8, bitmap], [8, 4, 65537]]));
    expect(call(pop, P.PHYSDEVOP_set_iobitmap, scratch)).toBe(-Errno.EINVAL);
  });

  it('vm_assist accepts every type of PV64_VM_ASSIST_MASK, 4gb_segments included; the type is checked before the command', () => {
    const [t] = testDomains();
    const { call, d } = t!;
    for (const type of [0, 1, 2, 3, 4, 5, 32]) expect(call(X.__HYPERVISOR_vm_assist, X.VMASST_CMD_enable, type), `type ${type}`).toBe(0);
    expect(d.vmAssist & 0x3f).toBe(0x3f);
    expect(d.m2pStrict).toBe(true);
    expect(call(X.__HYPERVISOR_vm_assist, X.VMASST_CMD_disable, 0)).toBe(0);
    expect(d.vmAssist & 1).toBe(0);
    expect(call(X.__HYPERVISOR_vm_assist, 7, 6)).toBe(-Errno.EINVAL);
    expect(call(X.__HYPERVISOR_vm_assist, 7, 2)).toBe(-Errno.ENOSYS);
  });

  it('xenpmu_op: the vPMU is off by default, so every sub-op is -EOPNOTSUPP', () => {
    const [t] = testDomains();
    for (const op of [0, 2, 4, 5]) expect(t!.call(X.__HYPERVISOR_xenpmu_op, op, t!.scratch)).toBe(-Errno.EOPNOTSUPP);
  });
});
