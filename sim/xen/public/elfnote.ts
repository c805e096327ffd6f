/**
 * public/elfnote.h: note types a PV kernel puts in a PT_NOTE segment (or
 * SHT_NOTE section) with owner name "Xen". The domain builder reads them.
 * Numeric payloads are 4 or 8 bytes, as the note's desc size says; strings
 * are NUL-terminated ASCII.
 */

/** NAME=VALUE string. */
export const XEN_ELFNOTE_INFO = 0;
/** Virtual entry point (numeric); default e_entry. */
export const XEN_ELFNOTE_ENTRY = 1;
/** Virtual address of the page Xen fills with hypercall stubs (numeric). */
export const XEN_ELFNOTE_HYPERCALL_PAGE = 2;
/** Virtual address the image's p_paddr values are relative to; default 0. */
export const XEN_ELFNOTE_VIRT_BASE = 3;
/** p_paddr minus the real pseudo-physical load address; default 0. */
export const XEN_ELFNOTE_PADDR_OFFSET = 4;
/** Xen interface version the kernel speaks, e.g. "xen-3.0". */
export const XEN_ELFNOTE_XEN_VERSION = 5;
export const XEN_ELFNOTE_GUEST_OS = 6;
export const XEN_ELFNOTE_GUEST_VERSION = 7;
/** Loader type, e.g. "generic". */
export const XEN_ELFNOTE_LOADER = 8;
/** x86-32 PAE support: "yes", "no", "bimodal". */
export const XEN_ELFNOTE_PAE_MODE = 9;
/**
 * '|'-separated XENFEAT_ names without the prefix; a leading '!' marks a
 * feature the kernel cannot run without.
 */
export const XEN_ELFNOTE_FEATURES = 10;
/** "yes": load the symbol table after the image. */
export const XEN_ELFNOTE_BSD_SYMTAB = 11;
/** Lowest address the hypervisor hole may start at (numeric). */
export const XEN_ELFNOTE_HV_START_LOW = 12;
/** mask/value pairs recognising non-present L1 entries that hold MFNs. */
export const XEN_ELFNOTE_L1_MFN_VALID = 13;
/** Numeric: supports cooperative suspend cancellation. */
export const XEN_ELFNOTE_SUSPEND_CANCEL = 14;
/** Virtual address to place the initial P2M at instead of after the image. */
export const XEN_ELFNOTE_INIT_P2M = 15;
/** Numeric: accepts a ramdisk given as a PFN (SIF_MOD_START_PFN). */
export const XEN_ELFNOTE_MOD_START_PFN = 16;
/** Numeric bitmap of supported XENFEAT_ bits (adds to FEATURES). */
export const XEN_ELFNOTE_SUPPORTED_FEATURES = 17;
/** 32-bit physical entry for PVH; ignored for PV. */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;
/** The highest note type defined above. */
export const XEN_ELFNOTE_MAX = XEN_ELFNOTE_PHYS32_ENTRY;

/** Crash and dump-core notes (written by Xen / the toolstack, not guests). */
export const XEN_ELFNOTE_CRASH_INFO = 0x1000001;
export const XEN_ELFNOTE_CRASH_REGS = 0x1000002;
export const XEN_ELFNOTE_DUMPCORE_NONE = 0x2000000;
export const XEN_ELFNOTE_DUMPCORE_HEADER = 0x2000001;
export const XEN_ELFNOTE_DUMPCORE_XEN_VERSION = 0x2000002;
export const XEN_ELFNOTE_DUMPCORE_FORMAT_VERSION = 0x2000003;
