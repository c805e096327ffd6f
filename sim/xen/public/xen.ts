/**
 * public/xen.h (and public/errno.h): hypercall numbers, VIRQs, MMU and
 * mmuext commands, update_va_mapping flags, domain ids, and the structures
 * every PV guest shares with Xen: start_info, shared_info, vcpu_info,
 * vcpu_time_info. x86-64 layouts.
 */

// ---------------------------------------------------------------------------
// Hypercall numbers. A 64-bit PV guest calls `hypercall_page + 32 * nr`.
// ---------------------------------------------------------------------------
export const __HYPERVISOR_set_trap_table = 0;
export const __HYPERVISOR_mmu_update = 1;
export const __HYPERVISOR_set_gdt = 2;
export const __HYPERVISOR_stack_switch = 3;
export const __HYPERVISOR_set_callbacks = 4;
export const __HYPERVISOR_fpu_taskswitch = 5;
/** Pre-3.0.2 sched_op(cmd, ulong arg); kept for old guests. */
export const __HYPERVISOR_sched_op_compat = 6;
export const __HYPERVISOR_platform_op = 7;
export const __HYPERVISOR_set_debugreg = 8;
export const __HYPERVISOR_get_debugreg = 9;
export const __HYPERVISOR_update_descriptor = 10;
export const __HYPERVISOR_memory_op = 12;
export const __HYPERVISOR_multicall = 13;
export const __HYPERVISOR_update_va_mapping = 14;
export const __HYPERVISOR_set_timer_op = 15;
/** Pre-3.0.2 event_channel_op taking a struct evtchn_op. */
export const __HYPERVISOR_event_channel_op_compat = 16;
export const __HYPERVISOR_xen_version = 17;
export const __HYPERVISOR_console_io = 18;
/** Pre-3.0.2 physdev_op taking a struct physdev_op. */
export const __HYPERVISOR_physdev_op_compat = 19;
export const __HYPERVISOR_grant_table_op = 20;
export const __HYPERVISOR_vm_assist = 21;
export const __HYPERVISOR_update_va_mapping_otherdomain = 22;
/** x86 only; the guest jumps to this slot and it never returns. */
export const __HYPERVISOR_iret = 23;
export const __HYPERVISOR_vcpu_op = 24;
/** x86-64 only. */
export const __HYPERVISOR_set_segment_base = 25;
export const __HYPERVISOR_mmuext_op = 26;
export const __HYPERVISOR_xsm_op = 27;
export const __HYPERVISOR_nmi_op = 28;
export const __HYPERVISOR_sched_op = 29;
export const __HYPERVISOR_callback_op = 30;
export const __HYPERVISOR_xenoprof_op = 31;
export const __HYPERVISOR_event_channel_op = 32;
export const __HYPERVISOR_physdev_op = 33;
export const __HYPERVISOR_hvm_op = 34;
export const __HYPERVISOR_sysctl = 35;
export const __HYPERVISOR_domctl = 36;
export const __HYPERVISOR_kexec_op = 37;
export const __HYPERVISOR_tmem_op = 38;
export const __HYPERVISOR_argo_op = 39;
export const __HYPERVISOR_xenpmu_op = 40;
export const __HYPERVISOR_dm_op = 41;
export const __HYPERVISOR_hypfs_op = 42;
export const __HYPERVISOR_arch_0 = 48;
export const __HYPERVISOR_arch_1 = 49;
export const __HYPERVISOR_arch_2 = 50;
export const __HYPERVISOR_arch_3 = 51;
export const __HYPERVISOR_arch_4 = 52;
export const __HYPERVISOR_arch_5 = 53;
export const __HYPERVISOR_arch_6 = 54;
export const __HYPERVISOR_arch_7 = 55;

// ---------------------------------------------------------------------------
// Virtual IRQs, bound with EVTCHNOP_bind_virq. "V" = per vCPU, "G" = global
// (bound on vCPU 0, movable with EVTCHNOP_bind_vcpu).
// ---------------------------------------------------------------------------
/** V: timer (set_timer_op / singleshot / periodic) fired. */
export const VIRQ_TIMER = 0;
/** V: asked to dump debug state. */
export const VIRQ_DEBUG = 1;
/** G, dom0: emergency console input. */
export const VIRQ_CONSOLE = 2;
/** G, dom0: some domain hit an exceptional event (e.g. shut down). */
export const VIRQ_DOM_EXC = 3;
export const VIRQ_TBUF = 4;
export const VIRQ_DEBUGGER = 6;
export const VIRQ_XENOPROF = 7;
export const VIRQ_CON_RING = 8;
export const VIRQ_PCPU_STATE = 9;
export const VIRQ_MEM_EVENT = 10;
export const VIRQ_ARGO = 11;
export const VIRQ_ENOMEM = 12;
export const VIRQ_XENPMU = 13;
export const VIRQ_ARCH_0 = 16;
export const VIRQ_ARCH_1 = 17;
export const VIRQ_ARCH_2 = 18;
export const VIRQ_ARCH_3 = 19;
export const VIRQ_ARCH_4 = 20;
export const VIRQ_ARCH_5 = 21;
export const VIRQ_ARCH_6 = 22;
export const VIRQ_ARCH_7 = 23;
export const NR_VIRQS = 24;

// ---------------------------------------------------------------------------
// mmu_update: the low 2 bits of mmu_update.ptr select the command; the rest
// is a machine address.
// ---------------------------------------------------------------------------
/** Checked `*ptr = val`; ptr is the machine address of a PTE. */
export const MMU_NORMAL_PT_UPDATE = 0;
/** M2P update: ptr = machine address of the frame, val = its new PFN. */
export const MMU_MACHPHYS_UPDATE = 1;
/** Like NORMAL, but keeps the old entry's Accessed/Dirty bits. */
export const MMU_PT_UPDATE_PRESERVE_AD = 2;
/** Like NORMAL, val never translated (for translated guests). */
export const MMU_PT_UPDATE_NO_TRANSLATE = 3;

/**
 * struct mmu_update: one element of the array passed to
 * HYPERVISOR_mmu_update(reqs, count, done_out, foreigndom). Guest-written.
 */
export const mmu_update = {
  size: 16,
  ptr: 0, // u64: machine address | MMU_* command in bits 0-1
  val: 8, // u64: new PTE contents (machine frame inside)
} as const;

// ---------------------------------------------------------------------------
// mmuext_op commands (HYPERVISOR_mmuext_op(ops, count, done_out, domid)).
// ---------------------------------------------------------------------------
export const MMUEXT_PIN_L1_TABLE = 0;
export const MMUEXT_PIN_L2_TABLE = 1;
export const MMUEXT_PIN_L3_TABLE = 2;
export const MMUEXT_PIN_L4_TABLE = 3;
export const MMUEXT_UNPIN_TABLE = 4;
/** arg1.mfn = new kernel-mode L4. */
export const MMUEXT_NEW_BASEPTR = 5;
export const MMUEXT_TLB_FLUSH_LOCAL = 6;
/** arg1.linear_addr = address to flush. */
export const MMUEXT_INVLPG_LOCAL = 7;
/** arg2.vcpumask = guest pointer to a bitmap of vCPUs. */
export const MMUEXT_TLB_FLUSH_MULTI = 8;
export const MMUEXT_INVLPG_MULTI = 9;
export const MMUEXT_TLB_FLUSH_ALL = 10;
export const MMUEXT_INVLPG_ALL = 11;
export const MMUEXT_FLUSH_CACHE = 12;
/** arg1.linear_addr = LDT base, arg2.nr_ents = entries. */
export const MMUEXT_SET_LDT = 13;
/** arg1.mfn = L4 used in guest user mode (64-bit PV only). */
export const MMUEXT_NEW_USER_BASEPTR = 15;
export const MMUEXT_CLEAR_PAGE = 16;
/** arg1.mfn = destination, arg2.src_mfn = source. */
export const MMUEXT_COPY_PAGE = 17;
export const MMUEXT_FLUSH_CACHE_GLOBAL = 18;
export const MMUEXT_MARK_SUPER = 19;
export const MMUEXT_UNMARK_SUPER = 20;

/** struct mmuext_op: guest-written; the unions are picked by `cmd`. */
export const mmuext_op = {
  size: 24,
  cmd: 0, // u32: MMUEXT_*
  arg1: 8,
  arg1_mfn: 8, // xen_pfn_t: [UN]PIN_TABLE, NEW_[USER_]BASEPTR, CLEAR/COPY_PAGE, [UN]MARK_SUPER
  arg1_linear_addr: 8, // ulong: INVLPG_*, SET_LDT
  arg2: 16,
  arg2_nr_ents: 16, // u32: SET_LDT
  arg2_vcpumask: 16, // guest handle: TLB_FLUSH_MULTI, INVLPG_MULTI
  arg2_src_mfn: 16, // xen_pfn_t: COPY_PAGE
} as const;

// ---------------------------------------------------------------------------
// update_va_mapping(va, pte, flags) flags. Bits 0-1 pick the flush type,
// bit 2 the scope; with UVMF_MULTI the rest of `flags` is a guest pointer
// to a vCPU bitmap (UVMF_LOCAL is MULTI with a NULL bitmap).
// ---------------------------------------------------------------------------
export const UVMF_NONE = 0;
export const UVMF_TLB_FLUSH = 1;
export const UVMF_INVLPG = 2;
export const UVMF_FLUSHTYPE_MASK = 3;
export const UVMF_MULTI = 0;
export const UVMF_LOCAL = 0;
export const UVMF_ALL = 4;

// console_io(cmd, count, buffer)
export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;

// vm_assist(cmd, type)
export const VMASST_CMD_enable = 0;
export const VMASST_CMD_disable = 1;
export const VMASST_TYPE_4gb_segments = 0;
export const VMASST_TYPE_4gb_segments_notify = 1;
/** The guest may write PTEs directly; Xen emulates the faulting writes. */
export const VMASST_TYPE_writable_pagetables = 2;
export const VMASST_TYPE_pae_extended_cr3 = 3;
/** IOPL set by PHYSDEVOP_set_iopl is honoured like the real RFLAGS.IOPL. */
export const VMASST_TYPE_architectural_iopl = 4;
/** Xen sets XEN_RUNSTATE_UPDATE in state_entry_time while updating. */
export const VMASST_TYPE_runstate_update_flag = 5;
export const VMASST_TYPE_m2p_strict = 32;

// ---------------------------------------------------------------------------
// Domain ids. Ids >= DOMID_FIRST_RESERVED never name an ordinary domain.
// ---------------------------------------------------------------------------
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** "The calling domain", wherever a domid_t is accepted. */
export const DOMID_SELF = 0x7ff0;
/** Foreign domain for I/O memory (mmu_update / mmuext_op). */
export const DOMID_IO = 0x7ff1;
/** Owner of Xen's own frames. */
export const DOMID_XEN = 0x7ff2;
export const DOMID_COW = 0x7ff3;
export const DOMID_INVALID = 0x7ff4;
export const DOMID_IDLE = 0x7fff;
export const DOMID_MASK = 0x7fff;

/**
 * struct multicall_entry: the guest writes op and args; Xen writes result
 * (the hypercall's return value) for each entry it ran.
 */
export const multicall_entry = {
  size: 64,
  op: 0, // ulong: __HYPERVISOR_*
  result: 8, // ulong: written by Xen
  args: 16, // ulong[6]
  args_stride: 8,
} as const;

// ---------------------------------------------------------------------------
// Time.
// ---------------------------------------------------------------------------
/**
 * struct vcpu_time_info: written by Xen only, read by the guest.
 * Seqlock rule: Xen increments `version` (to odd) before touching the other
 * fields and again (to even) afterwards; a reader retries while the version
 * is odd or changed across its reads.
 * system time (ns) = system_time +
 *   ((((tsc - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32)
 * (a negative tsc_shift shifts right).
 */
export const vcpu_time_info = {
  size: 32,
  version: 0, // u32
  pad0: 4, // u32
  tsc_timestamp: 8, // u64: TSC at the last update
  system_time: 16, // u64: ns since boot at tsc_timestamp
  tsc_to_system_mul: 24, // u32: 32.32 fixed-point ns per (shifted) tick
  tsc_shift: 28, // i8
  flags: 29, // u8: XEN_PVCLOCK_*
} as const;
export const XEN_PVCLOCK_TSC_STABLE_BIT = 1;
export const XEN_PVCLOCK_GUEST_STOPPED = 2;

/**
 * struct vcpu_info (one per vCPU, in shared_info or where
 * VCPUOP_register_vcpu_info put it).
 * - evtchn_upcall_pending: set by Xen when it marks work in
 *   evtchn_pending_sel; the guest clears it *before* scanning, so a new
 *   event arriving during the scan re-raises it.
 * - evtchn_upcall_mask: the guest's virtual "interrupts disabled" flag.
 *   Written by the guest (plain stores, no LOCK needed: only the vCPU's own
 *   CPU reads it) and by Xen when it delivers an upcall or a masking trap.
 *   Non-zero guarantees no upcall is started.
 * - evtchn_pending_sel: bit i set by Xen (atomically) when a port in word i
 *   of shared_info.evtchn_pending became pending and unmasked; cleared by
 *   the guest with an atomic exchange.
 * - arch.cr2: written by Xen with the fault address before a #PF bounce.
 * - time: written by Xen (see vcpu_time_info).
 */
export const vcpu_info = {
  size: 64,
  evtchn_upcall_pending: 0, // u8
  evtchn_upcall_mask: 1, // u8
  evtchn_pending_sel: 8, // ulong
  arch: 16,
  arch_cr2: 16, // ulong
  arch_pad: 24, // ulong
  time: 32, // struct vcpu_time_info
  time_version: 32,
  time_tsc_timestamp: 40,
  time_system_time: 48,
  time_tsc_to_system_mul: 56,
  time_tsc_shift: 60,
  time_flags: 61,
} as const;

/**
 * struct shared_info: one Xen-owned page per domain, at the machine address
 * start_info.shared_info.
 * - evtchn_pending (2-level ABI; bit N = port N): set by Xen (atomically),
 *   cleared by the guest.
 * - evtchn_mask: written by the guest only; Xen only reads it. A port that
 *   becomes pending while masked raises no upcall; the guest must look at
 *   it after unmasking (or use EVTCHNOP_unmask).
 * - wc_*: wallclock at system time 0, written by Xen under the wc_version
 *   seqlock (same rule as vcpu_time_info.version).
 * - arch.max_pfn, arch.pfn_to_mfn_frame_list_list, arch.p2m_*: written by
 *   the guest for the toolstack (save/restore, dumps); p2m_generation is
 *   bumped by the guest before and after changing the p2m mapping (odd =
 *   update in progress).
 * - arch.nmi_reason: written by Xen.
 */
export const shared_info = {
  size: 3136,
  vcpu_info: 0, // struct vcpu_info[XEN_LEGACY_MAX_VCPUS]
  vcpu_info_stride: 64,
  evtchn_pending: 2048, // ulong[64]
  evtchn_pending_sizeof: 512,
  evtchn_mask: 2560, // ulong[64]
  evtchn_mask_sizeof: 512,
  wc_version: 3072, // u32
  wc_sec: 3076, // u32
  wc_nsec: 3080, // u32
  wc_sec_hi: 3084, // u32
  arch: 3088, // struct arch_shared_info
  arch_max_pfn: 3088, // ulong
  arch_pfn_to_mfn_frame_list_list: 3096, // xen_pfn_t
  arch_nmi_reason: 3104, // ulong
  arch_p2m_cr3: 3112, // ulong
  arch_p2m_vaddr: 3120, // ulong
  arch_p2m_generation: 3128, // ulong
} as const;

// ---------------------------------------------------------------------------
// start_info: built by the domain builder (toolstack) in guest memory; the
// guest only reads it. %rsi holds its virtual address at entry.
// ---------------------------------------------------------------------------
export const MAX_GUEST_CMDLINE = 1024;

/**
 * struct start_info. magic .. console are refilled on resume; pt_base ..
 * nr_p2m_frames are written at first boot only.
 */
export const start_info = {
  size: 1168,
  magic: 0, // char[32]: "xen-<version>-<platform>", e.g. "xen-3.0-x86_64"
  magic_sizeof: 32,
  nr_pages: 32, // ulong: pages given to the domain
  shared_info: 40, // ulong: MACHINE address of shared_info
  flags: 48, // u32: SIF_*
  store_mfn: 56, // xen_pfn_t: MACHINE frame of the xenstore ring
  store_evtchn: 64, // u32: local port of the xenstore channel
  console: 72,
  console_domU_mfn: 72, // xen_pfn_t: MACHINE frame of the console ring (domU)
  console_domU_evtchn: 80, // u32: local port of the console channel (domU)
  console_dom0_info_off: 72, // u32: dom0 only: offset of dom0_vga_console_info in this page
  console_dom0_info_size: 76, // u32
  pt_base: 88, // ulong: VIRTUAL address of the top-level page table
  nr_pt_frames: 96, // ulong: bootstrap page-table frames
  mfn_list: 104, // ulong: VIRTUAL address of the P2M array (ulong per PFN)
  mod_start: 112, // ulong: VIRTUAL address (or PFN with SIF_MOD_START_PFN) of the ramdisk
  mod_len: 120, // ulong: its length in bytes
  cmd_line: 128, // i8[MAX_GUEST_CMDLINE], NUL-terminated
  cmd_line_sizeof: 1024,
  first_p2m_pfn: 1152, // ulong: first PFN of an XEN_ELFNOTE_INIT_P2M-placed P2M
  nr_p2m_frames: 1160, // ulong
} as const;

/** start_info.flags. */
export const SIF_PRIVILEGED = 1 << 0;
export const SIF_INITDOMAIN = 1 << 1;
export const SIF_MULTIBOOT_MOD = 1 << 2;
export const SIF_MOD_START_PFN = 1 << 3;
export const SIF_VIRT_P2M_4TOOLS = 1 << 4;
export const SIF_PM_MASK = 0xff << 8;

/** xen_domain_handle_t: 16 opaque bytes (a UUID). */
export const xen_domain_handle_t = { size: 16 } as const;

// ---------------------------------------------------------------------------
// Error numbers (public/errno.h, XEN_<name> there). Hypercalls return them
// negated in %rax. Values follow Linux's x86 numbering but are Xen's own ABI.
// ---------------------------------------------------------------------------
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  /** Internal to Xen, never returned to a guest. */
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOSPC: 28,
  EROFS: 30,
  EMLINK: 31,
  EDOM: 33,
  ERANGE: 34,
  EDEADLK: 35,
  EDEADLOCK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  ETIME: 62,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EILSEQ: 84,
  /** Internal to Xen (hypercall continuation), never returned to a guest. */
  ERESTART: 85,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
} as const;
export type Errno = (typeof Errno)[keyof typeof Errno];
