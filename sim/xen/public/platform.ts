/**
 * public/platform.h: HYPERVISOR_platform_op(struct xen_platform_op *),
 * the hardware domain's calls about the physical platform (time, firmware
 * tables, physical CPUs, power management). Xen answers -EACCES when
 * interface_version is not XENPF_INTERFACE_VERSION, then -EPERM for a
 * domain that is not privileged (xsm_platform_op, XSM_PRIV).
 */

export const XENPF_INTERFACE_VERSION = 0x03000001;

export const XENPF_settime32 = 17;
export const XENPF_settime64 = 62;
export const XENPF_add_memtype = 31;
export const XENPF_del_memtype = 32;
export const XENPF_read_memtype = 33;
export const XENPF_microcode_update = 35;
export const XENPF_platform_quirk = 39;
export const XENPF_get_cpu_version = 48;
export const XENPF_efi_runtime_call = 49;
export const XENPF_firmware_info = 50;
export const XENPF_enter_acpi_sleep = 51;
export const XENPF_change_freq = 52;
export const XENPF_getidletime = 53;
export const XENPF_set_processor_pminfo = 54;
export const XENPF_get_cpuinfo = 55;
export const XENPF_cpu_online = 56;
export const XENPF_cpu_offline = 57;
export const XENPF_cpu_hotadd = 58;
export const XENPF_mem_hotadd = 59;
export const XENPF_core_parking = 60;
export const XENPF_resource_op = 61;
export const XENPF_get_symbol = 63;

/** firmware_info types. */
export const XEN_FW_DISK_INFO = 1;
export const XEN_FW_DISK_MBR_SIGNATURE = 2;
export const XEN_FW_VBEDDC_INFO = 3;
export const XEN_FW_EFI_INFO = 4;
export const XEN_FW_KBD_SHIFT_FLAGS = 5;

/** set_processor_pminfo types, and the bits of xen_processor_pmbits (start_info.flags bits 8..15). */
export const XEN_PM_CX = 0;
export const XEN_PM_PX = 1;
export const XEN_PM_TX = 2;
export const XEN_PM_PDC = 3;
export const XEN_PROCESSOR_PM_CX = 1;
export const XEN_PROCESSOR_PM_PX = 2;
export const XEN_PROCESSOR_PM_TX = 4;

/** xenpf_pcpuinfo.flags. */
export const XEN_PCPU_FLAGS_ONLINE = 1;
export const XEN_PCPU_FLAGS_INVALID = 2;

/** struct xen_platform_op: header, then the `cmd`'s union member (128 bytes). */
export const xen_platform_op = {
  size: 136,
  cmd: 0, // u32: XENPF_*
  interface_version: 4, // u32: XENPF_INTERFACE_VERSION
  u: 8,
} as const;

/** XENPF_settime32: IN secs, nsecs (wallclock at system_time). */
export const xenpf_settime32 = { size: 16, secs: 0, nsecs: 4, system_time: 8 } as const;
/** XENPF_settime64: IN secs, nsecs, mbz (must be zero), system_time. */
export const xenpf_settime64 = { size: 24, secs: 0, nsecs: 8, mbz: 12, system_time: 16 } as const;

/** XENPF_firmware_info: IN type, index; OUT the type's member of u. */
export const xenpf_firmware_info = { size: 40, type: 0, index: 4, u: 8 } as const;

/** XENPF_get_cpuinfo: IN xen_cpuid; OUT max_present, flags, apic_id, acpi_id. */
export const xenpf_pcpuinfo = { size: 20, xen_cpuid: 0, max_present: 4, flags: 8, apic_id: 12, acpi_id: 16 } as const;

/** XENPF_get_cpu_version: IN xen_cpuid; OUT max_present, vendor_id[12], family, model, stepping. */
export const xenpf_pcpu_version = { size: 32, xen_cpuid: 0, max_present: 4, vendor_id: 8, vendor_id_sizeof: 12, family: 20, model: 24, stepping: 28 } as const;

/** XENPF_set_processor_pminfo: IN id (ACPI id), type (XEN_PM_*), then the type's member. */
export const xenpf_set_processor_pminfo = { size: 112, id: 0, type: 4 } as const;
