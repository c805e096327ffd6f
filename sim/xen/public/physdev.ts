/**
 * public/physdev.h: HYPERVISOR_physdev_op(cmd, arg). Only the operations a
 * PV guest without devices uses are described: I/O privilege and the IRQ
 * basics. All argument structs are guest-written unless marked OUT.
 */

export const PHYSDEVOP_IRQ_UNMASK_NOTIFY = 4;
export const PHYSDEVOP_irq_status_query = 5;
/** arg = physdev_set_iopl: the vCPU's virtual IOPL (0-3). */
export const PHYSDEVOP_set_iopl = 6;
/** arg = physdev_set_iobitmap. */
export const PHYSDEVOP_set_iobitmap = 7;
export const PHYSDEVOP_apic_read = 8;
export const PHYSDEVOP_apic_write = 9;
export const PHYSDEVOP_alloc_irq_vector = 10;
export const PHYSDEVOP_free_irq_vector = 11;
export const PHYSDEVOP_eoi = 12;
export const PHYSDEVOP_map_pirq = 13;
export const PHYSDEVOP_unmap_pirq = 14;
export const PHYSDEVOP_manage_pci_add = 15;
export const PHYSDEVOP_manage_pci_remove = 16;
export const PHYSDEVOP_pirq_eoi_gmfn_v1 = 17;
export const PHYSDEVOP_restore_msi = 19;
export const PHYSDEVOP_manage_pci_add_ext = 20;
export const PHYSDEVOP_setup_gsi = 21;
export const PHYSDEVOP_get_free_pirq = 23;
export const PHYSDEVOP_pci_mmcfg_reserved = 24;
export const PHYSDEVOP_pci_device_add = 25;
export const PHYSDEVOP_pci_device_remove = 26;
export const PHYSDEVOP_restore_msi_ext = 27;
export const PHYSDEVOP_pirq_eoi_gmfn_v2 = 28;
export const PHYSDEVOP_dbgp_op = 29;
export const PHYSDEVOP_prepare_msix = 30;
export const PHYSDEVOP_release_msix = 31;

export const physdev_set_iopl = { size: 4, iopl: 0 /* u32 */ } as const;

/** bitmap: guest handle to a u8 bitmap covering nr_ports ports (bit set = denied, as in a TSS). */
export const physdev_set_iobitmap = { size: 16, bitmap: 0, nr_ports: 8 } as const;

export const physdev_eoi = { size: 4, irq: 0 } as const;

/** IN irq; OUT flags (XENIRQSTAT_*). */
export const physdev_irq_status_query = { size: 8, irq: 0, flags: 4 } as const;
export const _XENIRQSTAT_needs_eoi = 0;
export const XENIRQSTAT_needs_eoi = 1;
export const _XENIRQSTAT_shared = 1;
export const XENIRQSTAT_shared = 2;

export const physdev_pirq_eoi_gmfn = { size: 8, gmfn: 0 } as const;

/** restore_msi: IN the PCI device (segment 0) whose MSI state to restore. */
export const physdev_restore_msi = { size: 2, bus: 0, devfn: 1 } as const;

/** A PCI device (restore_msi_ext, pci_device_add/remove's first fields, ...). */
export const physdev_pci_device = { size: 4, seg: 0, bus: 2, devfn: 3 } as const;
