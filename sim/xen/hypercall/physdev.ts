/**
 * physdev_op as Xen 4.17 answers a PV domU (xen/arch/x86/physdev.c
 * do_physdev_op, with the default XSM policy). A domU owns no physical
 * IRQs, PCI devices or IO-APICs here, so the answers are about its own
 * state: the virtual IOPL, the I/O bitmap, and the page where Xen would
 * publish which PIRQs need an EOI (pirq_eoi_gmfn, which Linux registers
 * on every boot).
 */
import { HYPERVISOR_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import * as P from '../public/physdev.js';
import { PGT } from '../page-types.js';
import { HOST_NR_IRQS_GSI } from '../platform.js';
import { E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const SUB = subOpNames('PHYSDEVOP', namesFrom(P, 'PHYSDEVOP'));
/**
 * d->nr_pirqs of a domU: nr_static_irqs (the simulated host's GSIs: one
 * 24-pin IO-APIC) + extra_domU_irqs (DEFAULT_EXTRA_DOMU_IRQS, 32).
 */
export const DOMU_NR_PIRQS = HOST_NR_IRQS_GSI + 32;
/** IOBMP_BYTES: a whole 64 Ki-port bitmap must be readable. */
const IOBMP_BYTES = 8192;
/** x86's I/O port space: the most ports a bitmap may cover. */
const IO_PORTS = 65536;
/** Where the lower canonical half of a 48-bit address space ends (guest handles lie below it or above Xen's hole). */
const LOWER_HALF_END = 1n << 47n;

export function physdevOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const arg = h.args[1]!;
  const { d, v } = h;
  const g = v.guest;
  h.sub = cmd;
  h.subName = SUB(cmd);
  switch (cmd) {
    case P.PHYSDEVOP_set_iopl: {
      const iopl = g.u32(fld(arg, P.physdev_set_iopl.iopl));
      if (iopl === null) return -E.EFAULT;
      h.decoded.iopl = iopl;
      if (iopl > 3) return -E.EINVAL;
      v.iopl = iopl;
      return 0;
    }
    case P.PHYSDEVOP_set_iobitmap: {
      const bitmap = g.u64(fld(arg, P.physdev_set_iobitmap.bitmap));
      const nr = g.u32(fld(arg, P.physdev_set_iobitmap.nr_ports));
      if (bitmap === null || nr === null) return -E.EFAULT;
      h.decoded.bitmap = bitmap;
      h.decoded.nr_ports = nr;
      // guest_handle_okay: the range must be guest address space, not Xen's.
      const end = bitmap + BigInt(IOBMP_BYTES);
      if (nr > IO_PORTS || end > HYPERVISOR_VIRT_START || (bitmap >= LOWER_HALF_END && bitmap < HYPERVISOR_VIRT_START)) return -E.EINVAL;
      v.iobmp = bitmap;
      v.iobmpLimit = nr;
      return 0;
    }
    case P.PHYSDEVOP_pirq_eoi_gmfn_v1:
    case P.PHYSDEVOP_pirq_eoi_gmfn_v2: {
      const gmfn = g.u64(fld(arg, P.physdev_pirq_eoi_gmfn.gmfn));
      if (gmfn === null) return -E.EFAULT;
      const mfn = Number(gmfn & 0xfffffffffn);
      h.decoded.gmfn = mfn;
      // get_page_from_gfn (a PV gfn is an MFN) + a writable type reference, kept while registered.
      if (!h.xen.pages.owned(d, mfn) || h.xen.pages.getType(d, mfn, PGT.WRITABLE) !== 0) return -E.EINVAL;
      if (d.pirqEoiMfn !== 0) {
        h.xen.pages.putType(d, mfn);
        return -E.EBUSY;
      }
      d.pirqEoiMfn = mfn;
      return 0;
    }
    case P.PHYSDEVOP_eoi:
    case P.PHYSDEVOP_irq_status_query: {
      // physdev_eoi and physdev_irq_status_query both start with the IRQ.
      const irq = g.u32(fld(arg, cmd === P.PHYSDEVOP_eoi ? P.physdev_eoi.irq : P.physdev_irq_status_query.irq));
      if (irq === null) return -E.EFAULT;
      h.decoded.irq = irq;
      // No PIRQ is bound in a domU: eoi finds no pirq_info; a status query of a valid number reports "needs EOI".
      if (cmd === P.PHYSDEVOP_eoi || (irq | 0) < 0 || irq >= DOMU_NR_PIRQS) return -E.EINVAL;
      return g.putU32(fld(arg, P.physdev_irq_status_query.flags), P.XENIRQSTAT_needs_eoi) ? 0 : -E.EFAULT;
    }
    case P.PHYSDEVOP_IRQ_UNMASK_NOTIFY:
      return 0; // pirq_guest_unmask over no PIRQs
    case P.PHYSDEVOP_restore_msi:
    case P.PHYSDEVOP_restore_msi_ext: {
      const size = cmd === P.PHYSDEVOP_restore_msi ? P.physdev_restore_msi.size : P.physdev_pci_device.size;
      return g.read(arg, size) === null ? -E.EFAULT : -E.ENODEV; // no such PCI device
    }
    case P.PHYSDEVOP_map_pirq:
    case P.PHYSDEVOP_unmap_pirq:
    case P.PHYSDEVOP_apic_read:
    case P.PHYSDEVOP_apic_write:
    case P.PHYSDEVOP_alloc_irq_vector:
    case P.PHYSDEVOP_manage_pci_add:
    case P.PHYSDEVOP_manage_pci_remove:
    case P.PHYSDEVOP_manage_pci_add_ext:
    case P.PHYSDEVOP_setup_gsi:
    case P.PHYSDEVOP_pci_mmcfg_reserved:
    case P.PHYSDEVOP_pci_device_add:
    case P.PHYSDEVOP_pci_device_remove:
    case P.PHYSDEVOP_prepare_msix:
    case P.PHYSDEVOP_release_msix:
    case P.PHYSDEVOP_dbgp_op:
      // XSM_PRIV / XSM_DM_PRIV; the simulated hardware domain has no physical devices to manage either.
      return d.privileged ? -E.ENODEV : -E.EPERM;
    default:
      return -E.ENOSYS;
  }
}
