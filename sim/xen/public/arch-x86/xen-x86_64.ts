/**
 * public/arch-x86/xen-x86_64.h: the 64-bit PV specifics: flat selectors,
 * the hypervisor hole and M2P window, set_segment_base, the iret hypercall
 * frame, cpu_user_regs and arch_vcpu_info.
 *
 * Hypercall ABI: number in %rax (via the hypercall page stub), arguments 1-5
 * in %rdi, %rsi, %rdx, %r10, %r8, result in %rax. Argument registers count
 * as clobbered.
 */

/**
 * Flat selectors in Xen's reserved part of every GDT (base 0, 4 GiB / long
 * mode). A 64-bit PV kernel and its user space both run at CPL 3, so the
 * KERNEL and USER names resolve to the same ring-3 selectors.
 */
export const FLAT_RING3_CS32 = 0xe023;
export const FLAT_RING3_CS64 = 0xe033;
export const FLAT_RING3_DS32 = 0xe02b;
export const FLAT_RING3_DS64 = 0x0000;
export const FLAT_RING3_SS32 = 0xe02b;
export const FLAT_RING3_SS64 = 0xe02b;
export const FLAT_KERNEL_DS64 = FLAT_RING3_DS64;
export const FLAT_KERNEL_DS32 = FLAT_RING3_DS32;
export const FLAT_KERNEL_DS = FLAT_KERNEL_DS64;
export const FLAT_KERNEL_CS64 = FLAT_RING3_CS64;
export const FLAT_KERNEL_CS32 = FLAT_RING3_CS32;
export const FLAT_KERNEL_CS = FLAT_KERNEL_CS64;
export const FLAT_KERNEL_SS64 = FLAT_RING3_SS64;
export const FLAT_KERNEL_SS32 = FLAT_RING3_SS32;
export const FLAT_KERNEL_SS = FLAT_KERNEL_SS64;
export const FLAT_USER_DS64 = FLAT_RING3_DS64;
export const FLAT_USER_DS32 = FLAT_RING3_DS32;
export const FLAT_USER_DS = FLAT_USER_DS64;
export const FLAT_USER_CS64 = FLAT_RING3_CS64;
export const FLAT_USER_CS32 = FLAT_RING3_CS32;
export const FLAT_USER_CS = FLAT_USER_CS64;
export const FLAT_USER_SS64 = FLAT_RING3_SS64;
export const FLAT_USER_SS32 = FLAT_RING3_SS32;
export const FLAT_USER_SS = FLAT_USER_SS64;

/**
 * The hypervisor hole, L4 slots 256-271: a guest may not map anything in
 * [HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END). bigints: these do not fit a
 * double with room for arithmetic.
 */
export const HYPERVISOR_VIRT_START = 0xffff800000000000n;
export const HYPERVISOR_VIRT_END = 0xffff880000000000n;
/**
 * The read-only machine-to-phys table, inside the hole: u64 m2p[mfn] = pfn,
 * readable by the guest at MACH2PHYS_VIRT_START + 8 * mfn.
 */
export const MACH2PHYS_VIRT_START = 0xffff800000000000n;
export const MACH2PHYS_VIRT_END = 0xffff804000000000n;
export const MACH2PHYS_NR_ENTRIES = 0x800000000;

/** set_segment_base(which, base). */
export const SEGBASE_FS = 0;
export const SEGBASE_GS_USER = 1;
export const SEGBASE_GS_KERNEL = 2;
/** base[15:0] is a selector to load into the user %gs. */
export const SEGBASE_GS_USER_SEL = 3;

/**
 * iret_context.flags: the guest is returning from its syscall handler; Xen
 * restores rax, rip, rflags and rsp only and leaves rcx/r11 as they are
 * (the SYSRET path), CS/SS being implied.
 */
export const _VGCF_in_syscall = 8;
export const VGCF_in_syscall = 1 << 8;
export const VGCF_IN_SYSCALL = VGCF_in_syscall;

/**
 * struct iret_context: what %rsp points at when the guest enters the iret
 * hypercall. The guest pushed flags..ss (as an iretq frame plus a flags
 * word); the hypercall-page stub pushed rcx, r11, rax. Read by Xen only.
 * The saved cs picks the target mode: RPL 3 = guest user mode, RPL 0-2 =
 * guest kernel mode (RPL 0 also tells a kernel it may iretq directly after
 * `orb $3, 8(%rsp)`).
 */
export const iret_context = {
  size: 72,
  rax: 0,
  r11: 8,
  rcx: 16,
  flags: 24, // VGCF_in_syscall or 0
  rip: 32,
  cs: 40,
  rflags: 48,
  rsp: 56,
  ss: 64,
} as const;

/**
 * struct cpu_user_regs: a vCPU's general registers as Xen saves them
 * (vcpu_guest_context.user_regs). All u64 unless noted. error_code and
 * entry_vector are Xen-private. rflags.IF == !saved_upcall_mask.
 */
export const cpu_user_regs = {
  size: 200,
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  rbp: 32,
  rbx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  rax: 80,
  rcx: 88,
  rdx: 96,
  rsi: 104,
  rdi: 112,
  error_code: 120, // u32
  entry_vector: 124, // u32
  rip: 128,
  cs: 136, // u16
  saved_upcall_mask: 140, // u8
  rflags: 144,
  rsp: 152,
  ss: 160, // u16
  es: 168, // u16
  ds: 176, // u16
  fs: 184, // u16
  gs: 192, // u16
} as const;

/** struct arch_vcpu_info: vcpu_info.arch. cr2 is written by Xen on #PF. */
export const arch_vcpu_info = {
  size: 16,
  cr2: 0,
  pad: 8,
} as const;
