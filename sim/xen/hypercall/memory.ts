/**
 * memory_op as Xen 4.17 answers a 64-bit PV guest (xen/common/memory.c
 * do_memory_op, then xen/arch/x86/mm.c arch_memory_op and x86_64/mm.c
 * subarch_memory_op for what common code does not handle).
 *
 * A PV guest is not paging_mode_translate: it sees machine frames, so the
 * physmap operations meant for translated guests (add_to_physmap and its
 * batch form) refuse with -EACCES, and "gmfn"s are MFNs. Its pseudo-physical
 * memory map is whatever the toolstack set with XENMEM_set_memory_map; xl
 * sets none for a PV domU (libxl_x86.c: only with e820_host=1), so
 * XENMEM_memory_map answers -ENOSYS and Linux builds its own map from
 * start_info.nr_pages.
 */
import type { Domain } from '../domain.js';
import { xen_pfn_t } from '../public/arch-x86/xen.js';
import { MACH2PHYS_NR_ENTRIES, MACH2PHYS_VIRT_END, MACH2PHYS_VIRT_START } from '../public/arch-x86/xen-x86_64.js';
import * as M from '../public/memory.js';
import { shared_info } from '../public/xen.js';
import { memoryExchange } from './memory-exchange.js';
import { DOMID_SELF, E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const XENMEM_SUB = subOpNames('XENMEM', namesFrom(M, 'XENMEM'));
/** MEMOP_EXTENT_SHIFT (Xen's hypercall.h): the command's upper bits are a continuation's start extent. */
const MEMOP_EXTENT_SHIFT = 6;

/** rcu_lock_domain_by_any_id + xsm_memory_stat_reservation (XSM_TARGET): self, or anyone for a privileged caller. */
function targetDomain(h: HcCtx, domid: number): Domain | number {
  const d = h.xen.domain(domid === DOMID_SELF ? h.d.id : domid);
  if (d === undefined) return -E.ESRCH;
  return d === h.d || h.d.privileged ? d : -E.EPERM;
}

/** memory_op(cmd, arg) */
export function memoryOp(h: HcCtx): number {
  const raw = u32(h.args[0]!);
  const cmd = raw & ((1 << MEMOP_EXTENT_SHIFT) - 1);
  const startExtent = raw >>> MEMOP_EXTENT_SHIFT;
  const arg = h.args[1]!;
  h.sub = cmd;
  h.subName = XENMEM_SUB(cmd);
  const g = h.v.guest;
  const frames = h.xen.frames;
  switch (cmd) {
    case M.XENMEM_increase_reservation:
    case M.XENMEM_decrease_reservation:
    case M.XENMEM_populate_physmap:
      return reservation(h, cmd, arg);
    case M.XENMEM_maximum_ram_page:
      return startExtent !== 0 ? -E.EINVAL : frames.frameCount;
    case M.XENMEM_current_reservation:
    case M.XENMEM_maximum_reservation:
    case M.XENMEM_maximum_gpfn: {
      if (startExtent !== 0) return -E.EINVAL;
      const dom = g.u16(fld(arg, M.xen_memory_domain.domid));
      if (dom === null) return -E.EFAULT;
      h.decoded.domid = dom;
      const d = targetDomain(h, dom);
      if (typeof d === 'number') return d;
      if (cmd === M.XENMEM_current_reservation) return frames.count(d.id);
      if (cmd === M.XENMEM_maximum_reservation) return d.maxPages;
      // domain_get_maximum_gpfn: PV guests publish nr_pfns (arch_get_max_pfn), so one less (at least 0).
      const maxPfn = Number(frames.mem.frame(d.sharedInfoMfn)!.getBigUint64(shared_info.arch_max_pfn, true) & 0xffffffffffffn);
      return (maxPfn || 1) - 1;
    }
    case M.XENMEM_add_to_physmap: {
      const space = g.u32(fld(arg, M.xen_add_to_physmap.space));
      const dom = g.u16(fld(arg, M.xen_add_to_physmap.domid));
      if (space === null || dom === null) return -E.EFAULT;
      h.decoded.space = space;
      if (space === M.XENMAPSPACE_gmfn_foreign) return -E.ENOSYS;
      if (h.xen.domain(dom === DOMID_SELF ? h.d.id : dom) === undefined) return -E.ESRCH;
      return -E.EACCES; // xatp_permission_check: !paging_mode_translate
    }
    case M.XENMEM_add_to_physmap_batch: {
      const dom = g.u16(fld(arg, M.xen_add_to_physmap_batch.domid));
      if (dom === null) return -E.EFAULT;
      if (h.xen.domain(dom === DOMID_SELF ? h.d.id : dom) === undefined) return -E.ESRCH;
      return -E.EACCES;
    }
    case M.XENMEM_memory_map: {
      // No toolstack-set e820 for a PV domain (d->arch.nr_e820 == 0): "backwards compatibility".
      const raw = g.read(arg, M.xen_memory_map.size);
      return raw === null ? -E.EFAULT : -E.ENOSYS;
    }
    case M.XENMEM_machine_memory_map:
      return machineMemoryMap(h, arg);
    case M.XENMEM_exchange:
      return startExtent !== 0 ? -E.EINVAL : memoryExchange(h, arg);
    case M.XENMEM_machphys_mapping: {
      // arch_memory_op: the read-only M2P's range; a domU may see MFNs up to
      // the whole table's reach, the hardware domain (no memory hotplug) up to max_page.
      const b = new Uint8Array(M.xen_machphys_mapping.size);
      const dv = new DataView(b.buffer);
      const maxMfn = h.d.privileged ? BigInt(frames.frameCount - 1) : BigInt(MACH2PHYS_NR_ENTRIES - 1);
      dv.setBigUint64(M.xen_machphys_mapping.v_start, MACH2PHYS_VIRT_START, true);
      dv.setBigUint64(M.xen_machphys_mapping.v_end, MACH2PHYS_VIRT_END, true);
      dv.setBigUint64(M.xen_machphys_mapping.max_mfn, maxMfn, true);
      h.decoded.max_mfn = maxMfn;
      return g.write(arg, b) ? 0 : -E.EFAULT;
    }
    default:
      return -E.ENOSYS;
  }
}

/**
 * increase_reservation / decrease_reservation / populate_physmap (order-0
 * extents only; a larger order is refused with -EINVAL here, where Xen
 * would try to find contiguous frames). Returns the extents done.
 */
function reservation(h: HcCtx, cmd: number, arg: bigint): number {
  const g = h.v.guest;
  const frames = h.xen.frames;
  const raw = g.read(arg, M.xen_memory_reservation.size);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const list = dv.getBigUint64(M.xen_memory_reservation.extent_start, true);
  const nr = Number(dv.getBigUint64(M.xen_memory_reservation.nr_extents, true) & 0xffffffffn);
  const order = dv.getUint32(M.xen_memory_reservation.extent_order, true);
  const dom = dv.getUint16(M.xen_memory_reservation.domid, true);
  Object.assign(h.decoded, { nr_extents: nr, extent_order: order, domid: dom });
  if (dom !== DOMID_SELF && dom !== h.d.id) return -E.EPERM;
  if (order !== 0) return -E.EINVAL;
  let k = 0;
  for (; k < nr; k++) {
    const at = fld(list, xen_pfn_t.size * k);
    if (cmd === M.XENMEM_decrease_reservation) {
      const mfn = g.u64(at);
      if (mfn === null) return k > 0 ? k : -E.EFAULT;
      const m = Number(mfn & 0xfffffffffn);
      // guest_remove_page: a pinned table is unpinned; the frame is
      // freed once nothing references it any more (page-types.ts).
      if (m >= frames.frameCount || frames.owner[m] !== h.d.id || h.xen.pages.isReleasing(m)) break;
      if (h.d.pinned.delete(m)) h.xen.pages.putType(h.d, m);
      const pfn = h.d.p2m.indexOf(m);
      if (pfn >= 0) h.d.p2m[pfn] = -1;
      h.xen.pages.release(m);
      for (const v of h.d.vcpus) v.cpu.mmu.flush();
      continue;
    }
    if (frames.count(h.d.id) >= h.d.maxPages) break;
    const gpfn = cmd === M.XENMEM_populate_physmap ? g.u64(at) : 0n;
    if (gpfn === null) return k > 0 ? k : -E.EFAULT;
    const mfn = frames.tryAlloc(h.d.id);
    if (mfn === null) break;
    if (cmd === M.XENMEM_populate_physmap) {
      const pfn = Number(gpfn & 0xfffffffffn);
      h.d.p2m[pfn] = mfn;
      frames.setM2p(mfn, BigInt(pfn));
    }
    if (!g.putU64(at, BigInt(mfn))) return k > 0 ? k : -E.EFAULT;
  }
  return k;
}

/**
 * XENMEM_machine_memory_map (XSM_PRIV): the host's e820 as the simulated
 * machine has it: low RAM, the legacy hole, then RAM up to the last frame.
 * Xen wants room for one entry more than it writes (-EINVAL otherwise).
 */
function machineMemoryMap(h: HcCtx, arg: bigint): number {
  if (!h.d.privileged) return -E.EPERM;
  const g = h.v.guest;
  const nr = g.u32(fld(arg, M.xen_memory_map.nr_entries));
  const buf = g.u64(fld(arg, M.xen_memory_map.buffer));
  if (nr === null || buf === null) return -E.EFAULT;
  const top = BigInt(h.xen.frames.frameCount) * 4096n;
  const map: Array<[bigint, bigint, number]> = [[0n, 0xa0000n, M.E820_RAM], [0xa0000n, 0x60000n, M.E820_RESERVED], [0x100000n, top - 0x100000n, M.E820_RAM]];
  if (buf !== 0n) {
    if (nr < map.length + 1) return -E.EINVAL;
    const b = new Uint8Array(map.length * M.e820entry.size);
    const dv = new DataView(b.buffer);
    map.forEach(([addr, size, type], i) => {
      dv.setBigUint64(i * M.e820entry.size + M.e820entry.addr, addr, true);
      dv.setBigUint64(i * M.e820entry.size + M.e820entry.size_, size, true);
      dv.setUint32(i * M.e820entry.size + M.e820entry.type, type, true);
    });
    if (!g.write(buf, b)) return -E.EFAULT;
  }
  return g.putU32(fld(arg, M.xen_memory_map.nr_entries), map.length) ? 0 : -E.EFAULT;
}
