/**
 * The PV MSR policy against Xen 4.17's source: every MSR Debian's Linux 6.1
 * touches on its domU boot, executed as rdmsr/wrmsr in guest kernel mode.
 * Each expectation names the Xen function it mirrors.
 */
import { describe, expect, it } from 'vitest';
import { ExitKind, Vector } from '../cpu/fault.js';
import { GUEST_MCG_CAP, GUEST_MISC_ENABLE, XEN_MSR_PAT } from './msr.js';
import { HOST_EFER, HOST_UCODE_REV } from './platform.js';
import * as X from './public/xen.js';
import { corpusBuilt, struct, testDomains, type TestDomain } from './test-domain.js';

const RDMSR = [0x0f, 0x32];
const WRMSR = [0x0f, 0x30];

function exec(t: TestDomain, bytes: number[]) {
  const at = t.scratch + 0x2000n;
  t.put(at, new Uint8Array(bytes));
  t.v.cpu.rip = at;
  t.v.cpu.setReg(4, t.scratch + 0x1f00n);
  return t.v.cpu.run(1);
}
/** rdmsr: the value, or 'GP'. */
function rd(t: TestDomain, msr: number): bigint | 'GP' {
  t.v.cpu.setReg(1, BigInt(msr));
  const e = exec(t, RDMSR);
  if (e.kind === ExitKind.EXCEPTION) {
    expect(e.vector).toBe(Vector.GP);
    return 'GP';
  }
  return (t.v.cpu.getReg(2) << 32n) | t.v.cpu.getReg(0);
}
/** wrmsr: true if accepted, false for #GP. */
function wr(t: TestDomain, msr: number, val: bigint): boolean {
  t.v.cpu.setReg(1, BigInt(msr));
  t.v.cpu.setReg(0, val & 0xffffffffn);
  t.v.cpu.setReg(2, val >> 32n);
  const e = exec(t, WRMSR);
  if (e.kind === ExitKind.EXCEPTION) expect(e.vector).toBe(Vector.GP);
  return e.kind !== ExitKind.EXCEPTION;
}
/** A domain with a #GP handler registered, as Linux has when it probes MSRs. */
function withTraps(): TestDomain {
  const [t] = testDomains();
  t!.put(t!.scratch, struct(32, [[0, 1, 13], [2, 2, 0xe030], [8, 8, 0xffffffff81000000n]]));
  expect(t!.call(X.__HYPERVISOR_set_trap_table, t!.scratch)).toBe(0);
  return t!;
}

describe.skipIf(!corpusBuilt)('PV MSR policy (Xen 4.17, Intel)', () => {
  it('MISC_ENABLE 0x1a0: the host value with perfmon/MONITOR hidden and BTS/PEBS unavailable shown; any write is dropped (emul-priv-op.c guest_misc_enable)', () => {
    const t = withTraps();
    expect(rd(t, 0x1a0)).toBe(GUEST_MISC_ENABLE);
    expect(GUEST_MISC_ENABLE & 1n).toBe(1n); // fast strings stay on
    expect(GUEST_MISC_ENABLE & ((1n << 7n) | (1n << 18n))).toBe(0n);
    expect(wr(t, 0x1a0, GUEST_MISC_ENABLE)).toBe(true);
    expect(wr(t, 0x1a0, 0n)).toBe(true); // "Domain attempted WRMSR": logged, ignored
    expect(rd(t, 0x1a0)).toBe(GUEST_MISC_ENABLE);
  });

  it('FEATURE_CONTROL 0x3a reads LOCKED for an Intel policy and cannot be written (msr.c guest_rdmsr)', () => {
    const t = withTraps();
    expect(rd(t, 0x3a)).toBe(1n);
    expect(wr(t, 0x3a, 1n)).toBe(false);
  });

  it('UCODE_REV 0x8b: the host revision; only the SDM\'s write of 0 is accepted (msr.c)', () => {
    const t = withTraps();
    expect(rd(t, 0x8b)).toBe(HOST_UCODE_REV);
    expect(wr(t, 0x8b, 0n)).toBe(true);
    expect(wr(t, 0x8b, 5n)).toBe(false);
  });

  it('PLATFORM_INFO 0xce advertises CPUID faulting; MISC_FEATURES_ENABLES 0x140 takes bit 0 only, and then CPUID faults (msr.c, x86_emulate.c cpuid)', () => {
    const t = withTraps();
    expect(rd(t, 0xce)).toBe(1n << 32n);
    expect(wr(t, 0xce, 0n)).toBe(false);
    expect(rd(t, 0x140)).toBe(0n);
    expect(wr(t, 0x140, 2n)).toBe(false);
    t.v.cpu.setReg(0, 0n);
    expect(exec(t, [0x0f, 0xa2]).kind).toBe(ExitKind.BUDGET);
    expect(wr(t, 0x140, 1n)).toBe(true);
    expect(rd(t, 0x140)).toBe(1n);
    const e = exec(t, [0x0f, 0xa2]);
    expect([e.kind, e.vector]).toEqual([ExitKind.EXCEPTION, Vector.GP]);
  });

  it('TSC_AUX 0xc0000103 is readable and writable (32 bits) because CPUID offers RDTSCP; rdtscp returns it in user mode too (msr.c)', () => {
    const t = withTraps();
    expect(rd(t, 0xc0000103)).toBe(0n);
    expect(wr(t, 0xc0000103, 0x1_0000_0000n)).toBe(false);
    expect(wr(t, 0xc0000103, 7n)).toBe(true);
    expect(rd(t, 0xc0000103)).toBe(7n);
    t.v.userCr3 = t.v.kernelCr3;
    t.v.setKernelMode(false);
    expect(exec(t, [0x0f, 0x01, 0xf9]).kind).toBe(ExitKind.BUDGET); // rdtscp
    expect(t.v.cpu.getReg(1)).toBe(7n);
  });

  it('vMCE: MCG_CAP 0x179 shows 2 banks with SER/TES/CMCI, MCG_STATUS holds a value, bank MSRs read back and only accept clearing (vmce.c)', () => {
    const t = withTraps();
    expect(rd(t, 0x179)).toBe(GUEST_MCG_CAP);
    expect(GUEST_MCG_CAP).toBe(0x1000c02n);
    expect(wr(t, 0x179, 0n)).toBe(true); // read-only: "write not change"
    expect(wr(t, 0x17a, 4n)).toBe(true);
    expect(rd(t, 0x17a)).toBe(4n);
    expect(rd(t, 0x400)).toBe(0xffffffffffffffffn); // MC0_CTL: all ones
    expect(rd(t, 0x401)).toBe(0n);
    expect(wr(t, 0x401, 1n)).toBe(false);
    expect(wr(t, 0x401, 0n)).toBe(true);
    expect(rd(t, 0x40d)).toBe(0n); // bank 3: beyond GUEST_MC_BANK_NUM
    expect(wr(t, 0x280, 0x55n)).toBe(true);
    expect(rd(t, 0x280)).toBe(0x55n);
    expect(rd(t, 0x4d0)).toBe('GP'); // MCG_EXT_CTL without LMCE
  });

  it('MSRs Xen does not virtualise are #GP: 0x64e, 0x34, 0x8b writes, AMD DE_CFG on an Intel policy, ARCH_CAPABILITIES and SPEC_CTRL the CPUID does not offer', () => {
    const t = withTraps();
    for (const msr of [0x64e, 0x34, 0xc0011029, 0x10a, 0x48, 0xe7, 0x19a]) expect(rd(t, msr), `rdmsr 0x${msr.toString(16)}`).toBe('GP');
    expect(wr(t, 0x64e, 0n)).toBe(false);
    expect(wr(t, 0x49, 1n)).toBe(false); // PRED_CMD without IBPB
  });

  it('PV fallbacks: APIC_BASE (BSP on vCPU 0), EFER (writes only of the same value), PAT, PERF_CAPABILITIES, a vPMU that reads 0 and drops writes, MPERF/THERM_CONTROL writes dropped (emul-priv-op.c)', () => {
    const t = withTraps();
    expect(rd(t, 0x1b)).toBe(0xfee00900n);
    expect(rd(t, 0xc0000080)).toBe(HOST_EFER);
    expect(wr(t, 0xc0000080, HOST_EFER)).toBe(true);
    expect(wr(t, 0xc0000080, HOST_EFER & ~0x800n)).toBe(false);
    expect(rd(t, 0x277)).toBe(XEN_MSR_PAT);
    expect(rd(t, 0x345)).toBe(0n);
    expect(rd(t, 0x186)).toBe(0n);
    expect(wr(t, 0x186, 0x43003cn)).toBe(true);
    expect(rd(t, 0x38f)).toBe(0n);
    expect(wr(t, 0xe8, 1n)).toBe(true);
    expect(wr(t, 0x19a, 1n)).toBe(true);
    expect(rd(t, 0x10)).toBe(BigInt(t.xen.now()));
  });

  it('FS/GS bases take canonical values only; user mode gets #GP for any MSR', () => {
    const t = withTraps();
    expect(wr(t, 0xc0000100, 0x1234n)).toBe(true);
    expect(rd(t, 0xc0000100)).toBe(0x1234n);
    expect(wr(t, 0xc0000101, 0x800000000000n)).toBe(false);
    t.v.userCr3 = t.v.kernelCr3;
    t.v.setKernelMode(false);
    expect(rd(t, 0x1a0)).toBe('GP');
  });

  it('before the guest has a #GP handler, a read of an MSR the host has but Xen does not virtualise gives 0 ("faking RDMSR")', () => {
    const [t] = testDomains();
    expect(rd(t!, 0x64e)).toBe(0n);
    expect(rd(t!, 0x12345)).toBe('GP'); // not on the host either
    expect(rd(t!, 0x40000001)).toBe('GP'); // never for Xen's own block
  });

  it('the Xen MSR 0x40000000 writes the hypercall page into a writable frame of the domain (traps.c guest_wrmsr_xen)', () => {
    const t = withTraps();
    const pfn = Number((t.scratch + 0x3000n) >> 12n); // corpus kernels: VA == PFN << 12
    const mfn = t.d.p2m[pfn]!;
    expect(rd(t, 0x40000000)).toBe(0n);
    expect(wr(t, 0x40000000, (BigInt(mfn) << 12n) | 1n)).toBe(false); // page index 1 unsupported
    expect(wr(t, 0x40000000, BigInt(mfn) << 12n)).toBe(true);
    expect([...t.v.guest.read(t.scratch + 0x3000n, 14)!]).toEqual([0x51, 0x41, 0x53, 0xb8, 0, 0, 0, 0, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3]);
    const table = [...t.d.ptFrames][0]!;
    expect(wr(t, 0x40000000, BigInt(table) << 12n)).toBe(false); // a page table cannot become writable
  });
});
