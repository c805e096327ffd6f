/**
 * public/arch-x86/xen.h: x86 pieces shared by 32- and 64-bit guests: the
 * Xen-reserved GDT area, trap_info (set_trap_table), vcpu_guest_context
 * (VCPUOP_initialise, XEN_DOMCTL_{get,set}vcpucontext) and
 * arch_shared_info. x86-64 layouts.
 */

/**
 * Xen owns GDT frames 14 and 15 of every PV guest's GDT: entries from
 * FIRST_RESERVED_GDT_ENTRY up hold Xen's flat selectors (FLAT_RING3_*), so a
 * guest's set_gdt may describe at most FIRST_RESERVED_GDT_ENTRY entries.
 */
export const FIRST_RESERVED_GDT_PAGE = 14;
export const FIRST_RESERVED_GDT_BYTE = 14 * 4096;
export const FIRST_RESERVED_GDT_ENTRY = (14 * 4096) / 8;

/** xen_pfn_t (unsigned long): a frame number, the element of every frame_list / extent list. */
export const xen_pfn_t = { size: 8 } as const;

/** vcpu_info slots in shared_info; vCPUs above need VCPUOP_register_vcpu_info. */
export const XEN_LEGACY_MAX_VCPUS = 32;

/**
 * struct trap_info: guest-written array for set_trap_table, ended by an
 * entry with address == 0.
 * flags bits 0-1: the lowest mode that may raise the vector with `int n`
 * (0 = nobody, 1 or 2 = guest kernel, 3 = kernel and user);
 * flags bit 2: mask events (set evtchn_upcall_mask) on entry, like an
 * interrupt gate clears IF.
 */
export const trap_info = {
  size: 16,
  vector: 0, // u8
  flags: 1, // u8
  cs: 2, // u16: code selector (RPL forced to 3 by Xen on 64-bit)
  address: 8, // ulong: handler, 0 = not registered
} as const;

/** vcpu_guest_context.flags. */
export const VGCF_I387_VALID = 1 << 0;
export const VGCF_IN_KERNEL = 1 << 2;
export const _VGCF_i387_valid = 0;
export const VGCF_i387_valid = 1 << 0;
export const _VGCF_in_kernel = 2;
/** Start in guest kernel mode. */
export const VGCF_in_kernel = 1 << 2;
export const _VGCF_failsafe_disables_events = 3;
export const VGCF_failsafe_disables_events = 1 << 3;
export const _VGCF_syscall_disables_events = 4;
export const VGCF_syscall_disables_events = 1 << 4;
export const _VGCF_online = 5;
export const VGCF_online = 1 << 5;

/**
 * struct vcpu_guest_context: the whole PV vCPU state. Written by the guest
 * (VCPUOP_initialise) or the toolstack (setvcpucontext) and read by Xen; Xen
 * writes it for getvcpucontext. The user-mode L4 lives in ctrlreg[1] (as a
 * folded cr3, xen_pfn_to_cr3), the kernel one in ctrlreg[3].
 */
export const vcpu_guest_context = {
  size: 5168,
  fpu_ctxt: 0, // 512 bytes, FXSAVE image
  flags: 512, // ulong: VGCF_*
  user_regs: 520, // struct cpu_user_regs
  trap_ctxt: 720, // struct trap_info[256]
  trap_ctxt_stride: 16,
  ldt_base: 4816, // ulong: linear address
  ldt_ents: 4824, // ulong
  gdt_frames: 4832, // ulong[16]: machine frames
  gdt_frames_stride: 8,
  gdt_ents: 4960, // ulong
  kernel_ss: 4968, // ulong: stack_switch ss
  kernel_sp: 4976, // ulong: stack_switch sp
  ctrlreg: 4984, // ulong[8]
  ctrlreg_stride: 8,
  debugreg: 5048, // ulong[8]
  debugreg_stride: 8,
  event_callback_eip: 5112, // ulong
  failsafe_callback_eip: 5120, // ulong
  syscall_callback_eip: 5128, // ulong
  vm_assist: 5136, // ulong: bitmap of VMASST_TYPE_*
  fs_base: 5144, // u64
  gs_base_kernel: 5152, // u64
  gs_base_user: 5160, // u64
} as const;

/** struct arch_shared_info (see shared_info in ../xen.ts for who writes it). */
export const arch_shared_info = {
  size: 48,
  max_pfn: 0,
  pfn_to_mfn_frame_list_list: 8,
  nmi_reason: 16,
  p2m_cr3: 24,
  p2m_vaddr: 32,
  p2m_generation: 40,
} as const;
