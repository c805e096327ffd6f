/**
 * The simulated machine Xen runs on, where Xen would read the hardware: an
 * Intel CPU (family 6 model 0x8c stepping 1, as the CPUID policy names it)
 * with one 24-pin IO-APIC. Fixed values, so traces never depend on the host
 * xenrr runs on. Every number a guest can observe through Xen's answers
 * (MSRs Xen passes through or filters, the GSI count behind nr_pirqs) is
 * here and nowhere else.
 */

/** MSR_IA32_UCODE_REV (0x8b): the loaded microcode revision, in bits 63:32. */
export const HOST_UCODE_REV = 0xb8n << 32n;
/** MSR_IA32_PLATFORM_ID (0x17): platform id bits 52:50 (0 here). */
export const HOST_PLATFORM_ID = 0n;
/**
 * MSR_IA32_MISC_ENABLE (0x1a0) as the BIOS left it: fast strings (0),
 * automatic thermal control (3), perfmon available (7), enhanced SpeedStep
 * (16), MONITOR/MWAIT (18), xTPR messages disabled (23).
 */
export const HOST_MISC_ENABLE = (1n << 0n) | (1n << 3n) | (1n << 7n) | (1n << 16n) | (1n << 18n) | (1n << 23n);
/** EFER as Xen runs with it: SCE, LME, LMA, NXE. */
export const HOST_EFER = 0xd01n;
/** The CPU supports CPUID faulting (MSR_PLATFORM_INFO bit 32, MISC_FEATURES_ENABLES bit 0). */
export const HOST_CPUID_FAULTING = true;
/** GSIs of the machine (nr_irqs_gsi): one IO-APIC with 24 pins. */
export const HOST_NR_IRQS_GSI = 24;

/**
 * MSRs that exist on this CPU (rdmsr_safe succeeds), beyond the ones Xen
 * virtualises: what Xen's "faking RDMSR" fallback consults for a guest
 * without a #GP handler (pv/emul-priv-op.c read_msr).
 */
export const HOST_MSRS: ReadonlySet<number> = new Set([
  0x10, 0x17, 0x1b, 0x34, 0x3a, 0x3b, 0x48, 0x49, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8,
  0xce, 0xe2, 0xe7, 0xe8, 0xfe, 0x10a, 0x10b, 0x122, 0x140, 0x174, 0x175, 0x176, 0x179, 0x17a, 0x186, 0x187, 0x188, 0x189,
  0x198, 0x199, 0x19a, 0x19b, 0x19c, 0x1a0, 0x1a2, 0x1a4, 0x1aa, 0x1ad, 0x1b0, 0x1b1, 0x1b2, 0x1d9, 0x1f2, 0x1f3, 0x277, 0x2ff,
  0x309, 0x30a, 0x30b, 0x345, 0x38d, 0x38e, 0x38f, 0x390, 0x3f1, 0x4d0, 0x606, 0x610, 0x611, 0x614, 0x619, 0x639, 0x641,
  0x64e, 0x6e0, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
]);

/**
 * Physical CPUs: one (the scheduler time-shares every vCPU on it), present
 * and online, APIC id 0 and ACPI processor id 0, what XENPF_get_cpuinfo
 * and XENPF_get_cpu_version report.
 */
export const HOST_NR_CPUS = 1;
export const HOST_CPU_VENDOR = 'GenuineIntel';
export const HOST_CPU_FAMILY = 6;
export const HOST_CPU_MODEL = 0x8c;
export const HOST_CPU_STEPPING = 1;
/**
 * What Xen found at boot on this BIOS machine and hands the hardware
 * domain through XENPF_firmware_info: no EDD disks, no MBR signatures, no
 * VBE/DDC monitor, not booted through EFI; the BIOS keyboard shift flags 0.
 */
export const HOST_KBD_SHIFT_FLAGS = 0;
/**
 * The machine-check capabilities of the CPU (MSR_IA32_MCG_CAP, 0x179):
 * MCG_SER_P (24), MCG_TES_P (11), MCG_CMCI_P (10), 10 banks; what Xen
 * reports to dom0 with XEN_MC_physcpuinfo (guests see GUEST_MCG_CAP).
 */
export const HOST_MCG_CAP = (1n << 24n) | (1n << 11n) | (1n << 10n) | 10n;
/** x86_vendor as Xen numbers it (X86_VENDOR_INTEL), and the CPU's L2 size (KiB) and cache line. */
export const HOST_X86_VENDOR = 1;
export const HOST_CACHE_KIB = 1280;
export const HOST_CACHE_ALIGNMENT = 64;
