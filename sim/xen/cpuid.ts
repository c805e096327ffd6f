/**
 * The CPUID policy PV guests see: what our core implements (x87 state and
 * SSE/SSE2 but no MMX, SSE3 or later, AVX or XSAVE; no FSGSBASE, no RTM,
 * no DBEXT, so guests take their simple paths), the hypervisor bit, and
 * Xen's leaves at 0x40000000. Fixed, so traces do not depend on the host.
 * Also the CR4 bits that policy lets a guest set.
 */
import { XEN_MAJOR, XEN_MINOR } from './hypercall/version.js';

const str4 = (s: string): number => (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;

/** leaf -> [eax, ebx, ecx, edx]; subleaf 0 only. */
export const PV_CPUID: Readonly<Record<number, readonly [number, number, number, number]>> = {
  0x0: [0xd, str4('Genu'), str4('ntel'), str4('ineI')],
  // family 6; EBX: CLFLUSH line 8 * 8 bytes; ECX: CX16, POPCNT, hypervisor;
  // EDX: FPU, TSC, MSR, PAE, CX8, CMOV, CLFSH, FXSR, SSE, SSE2
  0x1: [0x000806c1, 0x00000800, (1 << 13) | (1 << 23) | (1 << 31),
    (1 << 0) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 15) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26)],
  // EBX: BMI1 (tzcnt), CLFLUSHOPT, CLWB
  0x7: [0, (1 << 3) | (1 << 23) | (1 << 24), 0, 0],
  0xd: [0, 0, 0, 0],
  0x40000000: [0x40000005, str4('XenV'), str4('MMXe'), str4('nVMM')],
  0x40000001: [(XEN_MAJOR << 16) | XEN_MINOR, 0, 0, 0],
  // one hypercall page; MSR base 0x40000000
  0x40000002: [1, 0x40000000, 0, 0],
  0x40000003: [0, 0, 1_000_000, 0],
  0x80000000: [0x80000008, 0, 0, 0],
  // ECX: LAHF/SAHF, ABM (lzcnt); EDX: SYSCALL, NX, RDTSCP, LM
  0x80000001: [0, 0, (1 << 0) | (1 << 5), (1 << 11) | (1 << 20) | (1 << 27) | (1 << 29)],
  0x80000007: [0, 0, 0, 1 << 8],
  0x80000008: [0x3030, 0, 0, 0],
};

export function cpuidLeaf(leaf: number): readonly [number, number, number, number] {
  return PV_CPUID[leaf >>> 0] ?? [0, 0, 0, 0];
}

/** CR4 bits a PV guest controls (PV_CR4_GUEST_MASK): TSD DE FSGSBASE OSXSAVE, each only if its CPUID feature is offered. */
export const CR4_TSD = 0x4;
const CR4_DE = 0x8;
export const CR4_FSGSBASE = 0x10000;
const CR4_OSXSAVE = 0x40000;
/** CR4 bits a PV guest sees of Xen's own setting (PV_CR4_GUEST_VISIBLE_MASK): PAE MCE OSFXSR OSXMMEXCPT. */
export const PV_CR4_VISIBLE = 0x20 | 0x40 | 0x200 | 0x400;

/** pv_fixup_guest_cr4: the guest's view of CR4 after it writes `val`. */
export function fixupGuestCr4(val: number): number {
  const [, , ecx1, edx1] = cpuidLeaf(1);
  const ebx7 = cpuidLeaf(7)[1];
  const allowed =
    ((edx1 & (1 << 4)) !== 0 ? CR4_TSD : 0) | ((edx1 & (1 << 2)) !== 0 ? CR4_DE : 0) |
    ((ebx7 & 1) !== 0 ? CR4_FSGSBASE : 0) | ((ecx1 & (1 << 27)) !== 0 ? CR4_OSXSAVE : 0);
  return ((val & allowed) | PV_CR4_VISIBLE) >>> 0;
}
