/**
 * The MSR policy of a 64-bit PV domain: what rdmsr/wrmsr in guest kernel
 * mode give, as Xen 4.17 emulates them -- guest_rdmsr/guest_wrmsr
 * (xen/arch/x86/msr.c) first, then the PV fallbacks of read_msr/write_msr
 * (xen/arch/x86/pv/emul-priv-op.c), with vMCE (cpu/mcheck/vmce.c), the
 * disabled vPMU (cpu/vpmu.c, vpmu=0) and the Xen MSR block (traps.c
 * guest_{rd,wr}msr_xen). The CPUID policy is Intel's (cpuid.ts) and so is
 * the simulated host (platform.ts); msr_relaxed is off, as xl leaves it.
 *
 * One row per MSR or range: `rd` gives the value, `wr` takes one and says
 * whether it was accepted; a missing or refusing handler is #GP(0). Writes
 * Xen accepts but ignores are `drop`. Everything not listed is #GP, except
 * that a read before the guest has a #GP handler returns 0 for an MSR the
 * host has ("faking RDMSR").
 */
import { cpuidLeaf } from './cpuid.js';
import { hypercallPage } from './builder.js';
import type { Domain } from './domain.js';
import { PGT } from './page-types.js';
import { HOST_CPUID_FAULTING, HOST_EFER, HOST_MISC_ENABLE, HOST_MSRS, HOST_PLATFORM_ID, HOST_UCODE_REV } from './platform.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

/** Per-vCPU MSR state Xen keeps (struct vcpu_msrs, arch.vmce). */
export type VcpuMsrs = {
  tscAux: bigint;
  /** MSR_INTEL_MISC_FEATURES_ENABLES: bit 0 = CPUID faulting */
  miscFeaturesEnables: bigint;
  mcgStatus: bigint;
  /** GUEST_MC_BANK_NUM (2) vMCE banks */
  banks: Array<{ ctl2: bigint; status: bigint; addr: bigint; misc: bigint }>;
};
export function initialMsrs(): VcpuMsrs {
  return { tscAux: 0n, miscFeaturesEnables: 0n, mcgStatus: 0n, banks: [0, 1].map(() => ({ ctl2: 0n, status: 0n, addr: 0n, misc: 0n })) };
}

type Ctx = { xen: Xen; d: Domain; v: Vcpu; msr: number };
type Row = { from: number; to?: number; name: string; rd?: (x: Ctx) => bigint | null; wr?: (x: Ctx, val: bigint) => boolean };

const M64 = (1n << 64n) - 1n;
const ok = (): boolean => true;
const drop = ok;
const zero = (): bigint => 0n;
const isCanonical = (v: bigint): boolean => v < 0x800000000000n || v >= 0xffff800000000000n;
const pair = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
const split = (v: bigint): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)];

/** CPUID-derived facts of the policy. */
const rdtscpOffered = (): boolean => (cpuidLeaf(0x80000001)[3] & (1 << 27)) !== 0;
/** guest_misc_enable: perfmon and MONITOR hidden; BTS/PEBS unavailable and xTPR disabled shown. */
export const GUEST_MISC_ENABLE = (HOST_MISC_ENABLE & ~((1n << 7n) | (1n << 18n))) | (1n << 11n) | (1n << 12n) | (1n << 23n);
/** vMCE on an Intel host: MCG_SER_P | MCG_TES_P | MCG_CMCI_P | GUEST_MC_BANK_NUM. */
export const GUEST_MCG_CAP = (1n << 24n) | (1n << 11n) | (1n << 10n) | 2n;
/** XEN_MSR_PAT: WB, WT, UC-, UC, WC, WP, UC, UC (Xen's own, fixed for PV). */
export const XEN_MSR_PAT = 0x0000050100070406n;
const APIC_BASE = 0xfee00000n | (1n << 11n);

/** vMCE bank registers MC0..MC1 (CTL, STATUS, ADDR, MISC); other banks read 0 and drop writes. */
function bankRd(x: Ctx): bigint {
  const bank = (x.msr - 0x400) >> 2;
  const b = x.v.msrs.banks[bank];
  if (b === undefined) return 0n;
  return [M64, b.status, b.addr, b.misc][x.msr & 3]!;
}
function bankWr(x: Ctx, val: bigint): boolean {
  const b = x.v.msrs.banks[(x.msr - 0x400) >> 2];
  if (b === undefined || (x.msr & 3) === 0) return true;
  if (val !== 0n) return false; // only clearing is allowed
  if ((x.msr & 3) === 1) b.status = 0n;
  else if ((x.msr & 3) === 2) b.addr = 0n;
  else b.misc = 0n;
  return true;
}

/** guest_wrmsr_xen: writing a frame number to base+0 fills that (writable, own) page with hypercall stubs. */
function hypercallPageMsr(x: Ctx, val: bigint): boolean {
  if ((val & 0xfffn) !== 0n) return false;
  const mfn = Number((val >> 12n) & 0xffffffffffn);
  const pages = x.xen.pages;
  if (!pages.owned(x.d, mfn) || pages.getType(x.d, mfn, PGT.WRITABLE) !== 0) return false;
  x.xen.frames.mem.write(mfn * 4096, hypercallPage());
  pages.putType(x.d, mfn);
  return true;
}

const gp = (): null => null;
const ROWS: Row[] = [
  { from: 0x0, to: 0x1, name: 'P5_MC_ADDR/TYPE', rd: zero },
  { from: 0x10, name: 'IA32_TSC', rd: (x) => BigInt(x.xen.now()) },
  { from: 0x17, name: 'IA32_PLATFORM_ID', rd: () => HOST_PLATFORM_ID },
  { from: 0x1b, name: 'APIC_BASE', rd: (x) => APIC_BASE | (x.v.id === 0 ? 1n << 8n : 0n) },
  { from: 0x3a, name: 'IA32_FEATURE_CONTROL', rd: () => 1n /* LOCK; no LMCE, no VMX */ },
  { from: 0x48, name: 'SPEC_CTRL', rd: gp }, // no IBRSB in the CPUID policy
  { from: 0x49, name: 'PRED_CMD' },
  { from: 0x79, name: 'IA32_UCODE_WRITE' },
  { from: 0x8b, name: 'IA32_UCODE_REV', rd: () => HOST_UCODE_REV, wr: (_x, v) => v === 0n },
  { from: 0xc1, to: 0xc8, name: 'P6_PERFCTR0-7 (vPMU off)', rd: zero, wr: drop },
  { from: 0xce, name: 'PLATFORM_INFO', rd: () => (HOST_CPUID_FAULTING ? 1n << 32n : 0n) },
  { from: 0xe7, to: 0xe8, name: 'MPERF/APERF', wr: drop },
  { from: 0x10a, name: 'ARCH_CAPABILITIES' }, // not offered in CPUID.7:EDX
  { from: 0x10b, name: 'FLUSH_CMD' },
  {
    from: 0x140, name: 'MISC_FEATURES_ENABLES', rd: (x) => x.v.msrs.miscFeaturesEnables,
    wr: (x, v) => ((v & ~(HOST_CPUID_FAULTING ? 1n : 0n)) !== 0n ? false : ((x.v.msrs.miscFeaturesEnables = v), true)),
  },
  { from: 0x179, name: 'MCG_CAP', rd: () => GUEST_MCG_CAP, wr: drop },
  { from: 0x17a, name: 'MCG_STATUS', rd: (x) => x.v.msrs.mcgStatus, wr: (x, v) => ((x.v.msrs.mcgStatus = v), true) },
  { from: 0x17b, name: 'MCG_CTL', rd: zero, wr: drop }, // no MCG_CTL_P
  { from: 0x186, to: 0x189, name: 'P6_EVNTSEL0-3 (vPMU off)', rd: zero, wr: drop },
  { from: 0x198, name: 'PERF_STATUS', rd: zero },
  { from: 0x199, name: 'PERF_CTL', rd: zero, wr: drop },
  { from: 0x19a, name: 'THERM_CONTROL', wr: drop },
  { from: 0x19c, name: 'THERM_STATUS', rd: zero },
  { from: 0x1a0, name: 'MISC_ENABLE', rd: () => GUEST_MISC_ENABLE, wr: drop /* a changed value is logged and dropped */ },
  { from: 0x1b0, name: 'ENERGY_PERF_BIAS', wr: drop },
  { from: 0x277, name: 'CR_PAT', rd: () => XEN_MSR_PAT },
  {
    from: 0x280, to: 0x29f, name: 'MCx_CTL2', rd: (x) => x.v.msrs.banks[x.msr - 0x280]?.ctl2 ?? 0n,
    wr: (x, v) => {
      const b = x.v.msrs.banks[x.msr - 0x280];
      if (b !== undefined) b.ctl2 = v;
      return true;
    },
  },
  { from: 0x309, to: 0x30b, name: 'FIXED_CTR0-2 (vPMU off)', rd: zero, wr: drop },
  { from: 0x345, name: 'PERF_CAPABILITIES', rd: zero },
  { from: 0x38d, to: 0x390, name: 'FIXED_CTR_CTRL..GLOBAL_OVF_CTRL (vPMU off)', rd: zero, wr: drop },
  { from: 0x400, to: 0x47f, name: 'MCx_CTL/STATUS/ADDR/MISC', rd: bankRd, wr: bankWr },
  { from: 0x4d0, name: 'MCG_EXT_CTL' }, // no LMCE
  { from: 0x40000000, name: 'Xen hypercall page', rd: zero, wr: hypercallPageMsr },
  { from: 0xc0000080, name: 'EFER', rd: () => HOST_EFER, wr: (_x, v) => v === HOST_EFER },
  { from: 0xc0000100, name: 'FS_BASE', rd: (x) => pair(x.v.cpu.fsLo, x.v.cpu.fsHi), wr: (x, v) => isCanonical(v) && (([x.v.cpu.fsLo, x.v.cpu.fsHi] = split(v)), true) },
  { from: 0xc0000101, name: 'GS_BASE', rd: (x) => pair(x.v.cpu.gsLo, x.v.cpu.gsHi), wr: (x, v) => isCanonical(v) && (([x.v.cpu.gsLo, x.v.cpu.gsHi] = split(v)), true) },
  { from: 0xc0000102, name: 'SHADOW_GS_BASE', rd: (x) => pair(x.v.cpu.kgsLo, x.v.cpu.kgsHi), wr: (x, v) => isCanonical(v) && (([x.v.cpu.kgsLo, x.v.cpu.kgsHi] = split(v)), true) },
  {
    from: 0xc0000103, name: 'TSC_AUX', rd: (x) => (rdtscpOffered() ? x.v.msrs.tscAux : null),
    wr: (x, v) => rdtscpOffered() && v <= 0xffffffffn && ((x.v.msrs.tscAux = v), true),
  },
  { from: 0xc001001f, name: 'AMD64_NB_CFG', rd: zero, wr: drop }, // not a pinned hardware-domain vCPU
];

function row(msr: number): Row | undefined {
  for (const r of ROWS) if (msr >= r.from && msr <= (r.to ?? r.from)) return r;
  return undefined;
}

/** The policy row naming `msr`, for traces and reports ("" if Xen does not know it). */
export function msrName(msr: number): string {
  return row(msr >>> 0)?.name ?? '';
}

/** rdmsr in guest kernel mode: the value, or null for #GP(0). */
export function readMsr(xen: Xen, d: Domain, v: Vcpu, msr: number): bigint | null {
  const x = { xen, d, v, msr: msr >>> 0 };
  const r = row(x.msr);
  const val = r?.rd?.(x) ?? null;
  if (val !== null) return val;
  // "faking RDMSR": no #GP handler yet, an MSR the hardware has, not Xen's block.
  const gpHandler = v.traps[13]?.address ?? 0n;
  if (gpHandler === 0n && x.msr >>> 16 !== 0x4000 && HOST_MSRS.has(x.msr)) return 0n;
  return null;
}

/** wrmsr in guest kernel mode: false for #GP(0). */
export function writeMsr(xen: Xen, d: Domain, v: Vcpu, msr: number, val: bigint): boolean {
  const x = { xen, d, v, msr: msr >>> 0 };
  return row(x.msr)?.wr?.(x, val) ?? false;
}
