/**
 * GNTTABOP_map_grant_ref, unmap_grant_ref and unmap_and_replace for a PV
 * grantee (common/grant_table.c map_grant_ref/unmap_common,
 * arch/x86/pv/grant_table.c).
 *
 * A mapping pins the granter's active entry and holds its own references
 * on the frame: a general one per kind (host, device) and a writable-type
 * one for a writable kind. The host PTE Xen writes holds none of its own;
 * an unmap finds the PTE again through the address the guest passes and
 * must find it still mapping the frame with the grant's P/RW bits, else
 * GNTST_general_error and the mapping (with its references) stays.
 * A domain may map its own grants. Domain 0 is not simulated as a guest:
 * it exists with Xen's minimal table (one v1 frame) granting nothing, and
 * its services map guests' grants through mapGrant/unmapGrant with a
 * maptrack of their own, for device access only (they have no page
 * tables; they reach the frame by its bus address, as DMA would).
 */
import type { Domain, GrantMapping } from '../domain.js';
import type { Xen } from '../xen.js';
import { PGT, PTE_P, PTE_RW, pteMfn } from '../page-types.js';
import { guestL1e } from './mm.js';
import { activeEntry, INITIAL_FRAMES, nrEntries, pinned, readEntry, reduceStatus, setStatus, writePinned } from './gnttab-entry.js';
import {
  GNTMAP_contains_pte, GNTMAP_device_map, GNTMAP_host_map, GNTMAP_readonly, gnttab_map_grant_ref as M, GNTST_bad_dev_addr, GNTST_bad_domain,
  GNTST_bad_gntref, GNTST_bad_handle, GNTST_bad_page, GNTST_general_error, GNTST_okay,
} from '../public/grant_table.js';
import { fld, type HcCtx } from './types.js';

const M64 = (1n << 64n) - 1n;
/** PTE of a grant host mapping: P A D NX, RW unless read-only, U (Xen sets it for kernel mappings too). */
function grantPte(mfn: number, flags: number): bigint {
  const ro = (flags & GNTMAP_readonly) !== 0;
  return (BigInt(mfn) << 12n) | 0x65n | (ro ? 0n : PTE_RW) | (1n << 63n);
}

/** The granter: a simulated domain, or 'dom0' (exists, grants nothing), or undefined. */
export function granterOf(xen: Xen, dom: number): Domain | 'dom0' | undefined {
  return xen.domain(dom) ?? (dom === 0 ? 'dom0' : undefined);
}

/** Machine address of the L1 entry a host mapping uses, or -1 (validated L1 of the caller only). */
function hostPteMa(h: HcCtx, addr: bigint, flags: number): number {
  if ((flags & GNTMAP_contains_pte) === 0) return guestL1e(h, addr);
  const ma = Number(addr & 0xfffffffffffffn);
  const l1 = Math.floor(ma / 4096);
  if ((addr & 7n) !== 0n || !h.xen.pages.owned(h.d, l1) || h.xen.pages.tableLevel(l1) !== PGT.L1) return -1;
  return ma;
}

/**
 * Who maps: a guest domain (its hypercall context, for host mappings into
 * its page tables), or a grantee without page tables (dom0's services,
 * h null), which may only map for device access (GNTMAP_device_map) and
 * reaches the frame by the returned bus address.
 */
export type Grantee = { readonly id: number; readonly maptrack: (GrantMapping | null)[] };
export type MapResult = { status: number; handle: number; bus: bigint };

/** map_grant_ref for one gnttab_map_grant_ref at `at`; false when the op cannot be written back. */
export function mapOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const hostAddr = dv.getBigUint64(M.host_addr, true);
  const flags = dv.getUint32(M.flags, true);
  const ref = dv.getUint32(M.ref, true);
  const dom = dv.getUint16(M.dom, true);
  Object.assign(h.decoded, { ref, dom, flags, host_addr: hostAddr });
  const r = mapGrant(h.xen, h.d, h, hostAddr, flags, ref, dom);
  h.decoded.status = r.status;
  // The OUT fields, status .. dev_bus_addr, in one write.
  const out = new Uint8Array(M.size - M.status);
  const o = new DataView(out.buffer);
  o.setInt16(M.status - M.status, r.status, true);
  o.setUint32(M.handle - M.status, r.handle, true);
  o.setBigUint64(M.dev_bus_addr - M.status, r.bus, true);
  return h.v.guest.write(fld(at, M.status), out);
}

/**
 * map_grant_ref (common/grant_table.c) of `ref` granted by domain `dom`,
 * for grantee `d`; `h` is the guest's hypercall context (null for a
 * grantee without page tables, which cannot make host mappings).
 */
export function mapGrant(xen: Xen, d: Grantee, h: HcCtx | null, hostAddr: bigint, flags: number, ref: number, dom: number): MapResult {
  const pages = xen.pages;
  const put = (status: number, handle = 0, bus = 0n): MapResult => ({ status, handle, bus });
  const ro = (flags & GNTMAP_readonly) !== 0;
  const host = (flags & GNTMAP_host_map) !== 0;
  const dev = (flags & GNTMAP_device_map) !== 0;
  if (!host && !dev) return put(GNTST_bad_gntref);
  const rd = granterOf(xen, dom);
  if (rd === undefined) return put(GNTST_bad_domain);
  if (rd === 'dom0') return put(ref < INITIAL_FRAMES * 512 ? GNTST_general_error : GNTST_bad_gntref);
  if (ref >= nrEntries(rd)) return put(GNTST_bad_gntref);
  const act = activeEntry(rd, ref);
  if (pinned(act) && act.domid !== d.id) return put(GNTST_general_error);
  const first = !pinned(act);
  if (first || (!ro && !writePinned(act))) {
    const rc = setStatus(xen, rd, ref, act, ro, true, d.id);
    if (rc !== GNTST_okay) return put(rc);
    if (first) {
      const frame = readEntry(xen, rd, ref)!.frame;
      if (!pages.owned(rd, frame)) {
        reduceStatus(xen, rd, ref, act, ro);
        return put(GNTST_bad_page);
      }
      act.domid = d.id;
      act.mfn = frame;
    }
  }
  const mfn = act.mfn;
  // The mapping's own references, each undone if a later step fails.
  let types = 0;
  const undo = (status: number): MapResult => {
    while (types-- > 0) pages.putType(rd, mfn);
    reduceStatus(xen, rd, ref, act, ro);
    return put(status);
  };
  if (dev && !ro) {
    if (pages.getType(rd, mfn, PGT.WRITABLE) !== 0) return undo(GNTST_general_error);
    types++;
  }
  if (host) {
    if (h === null) return undo(GNTST_general_error);
    if (!ro) {
      if (pages.getType(rd, mfn, PGT.WRITABLE) !== 0) return undo(GNTST_general_error);
      types++;
    }
    // create_grant_pv_mapping: the old PTE's references go, the new one holds none.
    const ma = hostPteMa(h, hostAddr, flags);
    if (ma < 0) return undo(GNTST_general_error);
    const old = xen.frames.mem.frame(Math.floor(ma / 4096))!.getBigUint64(ma % 4096, true);
    pages.store(ma, grantPte(mfn, flags));
    pages.putL1e(h.d, old);
    for (const x of h.d.vcpus) x.cpu.mmu.flush();
  }
  if (dev) act[ro ? 'devR' : 'devW']++;
  if (host) act[ro ? 'hostR' : 'hostW']++;
  pages.maps[mfn]! += (dev ? 1 : 0) + (host ? 1 : 0);
  let handle = d.maptrack.indexOf(null);
  if (handle < 0) handle = d.maptrack.push(null) - 1;
  d.maptrack[handle] = { dom: rd.id, ref, flags: flags & (GNTMAP_device_map | GNTMAP_host_map | GNTMAP_readonly | GNTMAP_contains_pte) };
  return put(GNTST_okay, handle, BigInt(mfn) << 12n);
}

/**
 * replace_grant_pv_mapping: the PTE at `addr` must map `mfn` with the
 * grant's P/RW bits; it becomes empty, or (unmap_and_replace) takes the PTE
 * stolen from `newAddr`, whose slot becomes empty. Returns a GNTST code.
 */
function replaceHost(h: HcCtx, addr: bigint, mfn: number, newAddr: bigint, flags: number): number {
  const pages = h.xen.pages;
  let stolen = 0n;
  if (newAddr !== 0n) {
    if ((flags & GNTMAP_contains_pte) !== 0) return GNTST_general_error;
    const from = guestL1e(h, newAddr);
    if (from < 0) return GNTST_general_error;
    stolen = h.xen.frames.mem.frame(Math.floor(from / 4096))!.getBigUint64(from % 4096, true);
    pages.store(from, 0n);
  }
  const ma = hostPteMa(h, addr, flags);
  const cur = ma < 0 ? 0n : h.xen.frames.mem.frame(Math.floor(ma / 4096))!.getBigUint64(ma % 4096, true);
  const want = grantPte(mfn, flags);
  if (ma < 0 || pteMfn(cur) !== mfn || ((cur ^ want) & (PTE_P | PTE_RW)) !== 0n) {
    pages.putL1e(h.d, stolen); // we still own the stolen PTE's references
    return GNTST_general_error;
  }
  pages.store(ma, stolen & M64);
  for (const x of h.d.vcpus) x.cpu.mmu.flush();
  return GNTST_okay;
}

/** unmap_common (+ _complete): one gnttab_unmap_grant_ref (newAddr 0) or unmap_and_replace. Returns a GNTST code. */
export function unmapCommon(h: HcCtx, hostAddr: bigint, devBus: bigint, newAddr: bigint, handle: number): number {
  return unmapGrant(h.xen, h.d, h, hostAddr, devBus, newAddr, handle);
}

/** unmap_common for grantee `d` (`h`: its hypercall context; null for a grantee without page tables). */
export function unmapGrant(xen: Xen, d: Grantee, h: HcCtx | null, hostAddr: bigint, devBus: bigint, newAddr: bigint, handle: number): number {
  const m = d.maptrack[handle];
  if (m === undefined || m === null) return GNTST_bad_handle;
  const rd = xen.domain(m.dom);
  if (rd === undefined) {
    if (h !== null) xen.crash(h.d, `grant unmap of handle ${handle}: granter d${m.dom} is gone`);
    return GNTST_general_error;
  }
  const act = activeEntry(rd, m.ref);
  const ro = (m.flags & GNTMAP_readonly) !== 0;
  let done = 0;
  if (devBus !== 0n && (m.flags & GNTMAP_device_map) !== 0 && devBus !== BigInt(act.mfn) << 12n) return GNTST_bad_dev_addr;
  if (hostAddr !== 0n && (m.flags & GNTMAP_host_map) !== 0) {
    if (h === null) return GNTST_general_error;
    const rc = replaceHost(h, hostAddr, act.mfn, newAddr, m.flags);
    if (rc !== GNTST_okay) return rc;
    m.flags &= ~GNTMAP_host_map;
    done |= GNTMAP_host_map;
  }
  if (devBus !== 0n && (m.flags & GNTMAP_device_map) !== 0) {
    m.flags &= ~GNTMAP_device_map;
    done |= GNTMAP_device_map;
  }
  if ((m.flags & (GNTMAP_device_map | GNTMAP_host_map)) === 0) d.maptrack[handle] = null;
  const pages = xen.pages;
  for (const kind of [GNTMAP_device_map, GNTMAP_host_map]) {
    if ((done & kind) === 0) continue;
    if (!ro) pages.putType(rd, act.mfn);
    pages.dropMap(act.mfn);
    const k = kind === GNTMAP_device_map ? (ro ? 'devR' : 'devW') : ro ? 'hostR' : 'hostW';
    if (act[k] > 0) act[k]--;
  }
  if (done !== 0) reduceStatus(xen, rd, m.ref, act, ro);
  return GNTST_okay;
}
