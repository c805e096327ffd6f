/**
 * public/features.h: bit numbers returned by XENVER_get_features (and named,
 * without the prefix, in XEN_ELFNOTE_FEATURES).
 */
export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_writable_descriptor_tables = 1;
export const XENFEAT_auto_translated_physmap = 2;
export const XENFEAT_supervisor_mode_kernel = 3;
export const XENFEAT_pae_pgdir_above_4gb = 4;
export const XENFEAT_mmu_pt_update_preserve_ad = 5;
export const XENFEAT_highmem_assist = 6;
export const XENFEAT_gnttab_map_avail_bits = 7;
export const XENFEAT_hvm_callback_vector = 8;
export const XENFEAT_hvm_safe_pvclock = 9;
export const XENFEAT_hvm_pirqs = 10;
export const XENFEAT_dom0 = 11;
/* 12 was XENFEAT_grant_map_identity, deprecated (upstream leaves it commented out). */
export const XENFEAT_memory_op_vnode_supported = 13;
export const XENFEAT_ARM_SMCCC_supported = 14;
export const XENFEAT_linux_rsdp_unrestricted = 15;
export const XENFEAT_not_direct_mapped = 16;
export const XENFEAT_direct_mapped = 17;
/** Number of 32-bit submaps XENVER_get_features answers for. */
export const XENFEAT_NR_SUBMAPS = 1;
