/**
 * System instructions inside a PV guest, run on a freshly built domain's
 * vCPU (exceptions come back as values, not bounced): cli/sti and port I/O
 * under the virtual IOPL (pv-iopl), the guest's CR4 view and FSGSBASE
 * (pv-fsgsbase), the flat selectors a hypercall returns with (XSA-296), far
 * transfers through the guest's descriptor tables (XSA-296/298), and the
 * iret hypercall as a multicall entry (XSA-213).
 */
import { describe, expect, it } from 'vitest';
import { ExitKind, Vector } from '../cpu/fault.js';
import * as X from './public/xen.js';
import { guestStack } from './guest-stack.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from './test-domain.js';

const CODE_OFF = 0x2000n;

/** Run `bytes` at scratch + 0x2000 for `steps` instructions (stack in the scratch area). */
function run(t: TestDomain, bytes: number[], steps = 1) {
  const at = t.scratch + CODE_OFF;
  t.put(at, new Uint8Array(bytes));
  t.v.cpu.rip = at;
  t.v.cpu.setReg(4, t.scratch + 0x1f00n);
  return t.v.cpu.run(steps);
}
const vector = (e: { kind: number; vector: number }): number => (e.kind === ExitKind.EXCEPTION ? e.vector : -1);
/** Enter guest user mode on the same tables (as XTF does with NEW_USER_BASEPTR). */
function userMode(t: TestDomain): void {
  t.v.userCr3 = t.v.kernelCr3;
  t.v.setKernelMode(false);
}
const setIopl = (t: TestDomain, iopl: number): void => {
  t.put(t.scratch + 0x3000n, struct(4, [[0, 4, iopl]]));
  expect(t.call(X.__HYPERVISOR_physdev_op, 6, t.scratch + 0x3000n)).toBe(0);
};

describe.skipIf(!corpusBuilt)('PV system instructions', () => {
  it('cli/sti and out need the virtual IOPL: vCPL 1 in the kernel, 3 in user mode; they leave the upcall mask alone', () => {
    const [t] = testDomains();
    const cli = [0xfa];
    const out = [0xe6, 0x80];
    expect(vector(run(t!, cli))).toBe(Vector.GP);
    setIopl(t!, 1);
    const mask = t!.v.upcallMask;
    expect(vector(run(t!, cli))).toBe(-1);
    expect(vector(run(t!, out))).toBe(-1);
    expect(t!.v.upcallMask).toBe(mask);
    userMode(t!);
    expect(vector(run(t!, cli))).toBe(Vector.GP);
    setIopl(t!, 3);
    expect(vector(run(t!, [0xfb]))).toBe(-1);
    expect(vector(run(t!, out))).toBe(-1);
  });

  it('with VMASST_TYPE_architectural_iopl the kernel is vCPL 0', () => {
    const [t] = testDomains();
    expect(t!.call(X.__HYPERVISOR_vm_assist, 0, 4)).toBe(0);
    expect(vector(run(t!, [0xfa]))).toBe(-1);
    userMode(t!);
    expect(vector(run(t!, [0xfa]))).toBe(Vector.GP);
  });

  it('CR4: the guest sees PAE|MCE|OSFXSR|OSXMMEXCPT, may set TSD, cannot set FSGSBASE; rd/wrfsbase are #UD', () => {
    const [t] = testDomains();
    const c = t!.v.cpu;
    expect(vector(run(t!, [0x0f, 0x20, 0xe0]))).toBe(-1); // mov rax, cr4
    expect(c.getReg(0)).toBe(0x660n);
    c.setReg(0, 0x660n | 0x10000n | 0x4n | 0x80n); // + FSGSBASE, TSD, PGE
    expect(vector(run(t!, [0x0f, 0x22, 0xe0]))).toBe(-1); // mov cr4, rax: never faults
    expect(vector(run(t!, [0x0f, 0x20, 0xe0]))).toBe(-1);
    expect(c.getReg(0)).toBe(0x664n);
    expect(vector(run(t!, [0xf3, 0x48, 0x0f, 0xae, 0xc0]))).toBe(Vector.UD); // rdfsbase rax
    expect(vector(run(t!, [0xf3, 0x48, 0x0f, 0xae, 0xd0]))).toBe(Vector.UD); // wrfsbase rax
    expect(vector(run(t!, [0x0f, 0x31]))).toBe(-1); // rdtsc in the kernel is fine with TSD
    userMode(t!);
    expect(vector(run(t!, [0x0f, 0x31]))).toBe(Vector.GP);
  });

  it('a hypercall returns with the flat CS/SS whatever CS the guest ran on', () => {
    const [t] = testDomains();
    const c = t!.v.cpu;
    c.sreg[1] = 0x4b;
    c.setReg(0, 17n); // xen_version(XENVER_version)
    c.setReg(7, 0n);
    expect(vector(run(t!, [0x0f, 0x05]))).toBe(-1);
    expect(c.getReg(0)).toBe(BigInt((4 << 16) | 17));
    expect([c.sreg[1], c.sreg[2]]).toEqual([0xe033, 0xe02b]);
  });

  it('far transfers load CS through the guest GDT; a missing LDT is #GP(sel); compatibility mode is refused', () => {
    const [t] = testDomains();
    const c = t!.v.cpu;
    // GDT frame with a DPL3 64-bit code descriptor at index 9 (selector 0x4b), mapped read-only first.
    const gva = t!.scratch + 0x3000n;
    const g = BigInt(t!.d.p2m[Number(gva >> 12n)]!);
    t!.put(gva + 72n, struct(8, [[0, 8, 0x00affa000000ffffn]]));
    expect(t!.call(X.__HYPERVISOR_update_va_mapping, gva, (g << 12n) | 0x61n, 2)).toBe(0);
    t!.put(t!.scratch + 0x1000n, struct(8, [[0, 8, g]]));
    expect(t!.call(X.__HYPERVISOR_set_gdt, t!.scratch + 0x1000n, 16)).toBe(0);
    const target = t!.scratch + CODE_OFF + 0x100n;
    // push 0x4b; push target (via rax); lretq
    c.setReg(0, target);
    expect(vector(run(t!, [0x6a, 0x4b, 0x50, 0x48, 0xcb], 3))).toBe(-1);
    expect([c.sreg[1], c.rip]).toEqual([0x4b, target]);
    // rex64 lcall [rax] with selector 0x1007 (LDT index 512, no LDT): #GP(0x1004)
    t!.put(t!.scratch + 0x1100n, struct(10, [[0, 8, target], [8, 2, 0x1007]]));
    c.setReg(0, t!.scratch + 0x1100n);
    const e = run(t!, [0x48, 0xff, 0x18]);
    expect([vector(e), e.errorCode]).toEqual([Vector.GP, 0x1004]);
    // lretq to FLAT_RING3_CS32: 32-bit code is not simulated, the domain ends
    c.setReg(0, target);
    run(t!, [0x68, 0x23, 0xe0, 0, 0, 0x50, 0x48, 0xcb], 3);
    expect(t!.d.state).toBe('crashed');
  });

  it('multicall: an iret entry ends the batch; its restored rax is the result (XSA-213)', () => {
    const [t] = testDomains();
    const c = t!.v.cpu;
    t!.v.userCr3 = t!.v.kernelCr3;
    const s = t!.scratch;
    // iret frame at rsp: rax, r11, rcx, flags, rip, cs, rflags, rsp, ss
    t!.put(s + 0x1000n, struct(72, [[0, 8, 0xdeadn], [32, 8, s + 0x2100n], [40, 8, 0xe033], [48, 8, 0x202], [56, 8, s + 0x1800n], [64, 8, 0xe02b]]));
    c.setReg(4, s + 0x1000n);
    t!.put(s, struct(128, [[0, 8, X.__HYPERVISOR_iret], [64, 8, X.__HYPERVISOR_xen_version]]));
    expect(t!.call(X.__HYPERVISOR_multicall, s, 2)).toBe(null);
    expect(c.getReg(0)).toBe(0xdeadn);
    expect(c.rip).toBe(s + 0x2100n);
    expect(t!.v.kernelMode).toBe(false);
    expect(t!.u64(s + 8n)).toBe(0xdeadn);
    expect(t!.u64(s + 72n)).toBe(0n); // the xen_version entry never ran
  });
});

describe.skipIf(!corpusBuilt)('guest call stacks at a hypercall', () => {
  /** Frames at `fps` (each: saved rbp, return address), linked in order. */
  function frames(t: TestDomain, fps: bigint[], rets: bigint[], last = 0n): void {
    fps.forEach((fp, k) => {
      const b = new Uint8Array(16);
      const dv = new DataView(b.buffer);
      dv.setBigUint64(0, fps[k + 1] ?? last, true);
      dv.setBigUint64(8, rets[k]!, true);
      t.put(fp, b);
    });
  }

  it('walks the frame-pointer chain, innermost first, after the caller', () => {
    const [t] = testDomains();
    const fps = [t!.scratch + 0x100n, t!.scratch + 0x180n, t!.scratch + 0x300n];
    frames(t!, fps, [0x101111n, 0x102222n, 0x103333n]);
    expect(guestStack(t!.v, 0x100abcn, fps[0]!)).toEqual([0x100abcn, 0x101111n, 0x102222n, 0x103333n]);
  });

  it('stops at a zero, unmapped, misaligned, non-canonical or non-increasing frame pointer, or a zero return address', () => {
    const [t] = testDomains();
    const a = t!.scratch + 0x100n;
    const b = t!.scratch + 0x200n;
    expect(guestStack(t!.v, 0x1234n, 0n)).toEqual([0x1234n]);
    expect(guestStack(t!.v, 0x1234n, 0x7fff_dead_0000n)).toEqual([0x1234n]);
    expect(guestStack(t!.v, 0x1234n, a + 4n)).toEqual([0x1234n]);
    expect(guestStack(t!.v, 0x1234n, 0x8000_0000_0000n)).toEqual([0x1234n]);
    frames(t!, [a], [0x105555n], 0x8000_0000_0000n); // saved rbp not canonical: that frame's return address, then stop
    expect(guestStack(t!.v, 0x1234n, a)).toEqual([0x1234n, 0x105555n]);
    frames(t!, [a, b], [0x105555n, 0x106666n], a); // b points back down to a: a loop
    expect(guestStack(t!.v, 0x1234n, a)).toEqual([0x1234n, 0x105555n, 0x106666n]);
    frames(t!, [a], [0n]);
    expect(guestStack(t!.v, 0x1234n, a)).toEqual([0x1234n]);
  });
});
