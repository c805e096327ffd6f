/**
 * grant_table_op: setup_table, query_size, set_version, get_version,
 * get_status_frames, copy, and (gnttab-map.ts) map_grant_ref,
 * unmap_grant_ref, unmap_and_replace; cache_flush is accepted.
 *
 * Grant frames (and, in v2, status frames) are Xen frames shared with the
 * guest; PV grants name machine frames. Per-entry results go into each op's
 * `status` (GNTST_*); the hypercall itself returns 0 unless an argument is
 * unreadable (-EFAULT) or the op as a whole is refused.
 *
 * set_version switches between v1 and v2 only while no entry above the
 * reserved eight is pinned (-EBUSY); leaving v2 frees the status frames,
 * which fails with -EBUSY while the guest still maps one. The first eight
 * entries are carried over, everything else is cleared.
 */
import { xen_pfn_t } from '../public/arch-x86/xen.js';
import type { Domain } from '../domain.js';
import { PGT } from '../page-types.js';
import * as P from '../public/grant_table.js';
import {
  GNTCOPY_dest_gref, GNTCOPY_source_gref, gnttab_copy as CP, gnttab_copy_ptr as CPP, gnttab_get_status_frames as GSF, gnttab_get_version as GV,
  gnttab_map_grant_ref, gnttab_query_size as QS, gnttab_set_version as SV, gnttab_setup_table as ST, gnttab_unmap_and_replace as UR,
  gnttab_unmap_grant_ref as UM, GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_page, GNTST_bad_virt_addr,
  GNTST_general_error, GNTST_okay, GNTST_permission_denied, GNTTABOP_cache_flush, GNTTABOP_copy, GNTTABOP_get_status_frames,
  GNTTABOP_get_version, GNTTABOP_map_grant_ref, GNTTABOP_query_size, GNTTABOP_set_version, GNTTABOP_setup_table, GNTTABOP_unmap_and_replace,
  GNTTABOP_unmap_grant_ref, grant_entry_v1, grant_entry_v2, grant_status_t, GTF_permit_access, GTF_readonly, GTF_reading, GTF_transitive,
  GTF_type_mask, GTF_writing,
} from '../public/grant_table.js';
import { entrySize, INITIAL_FRAMES, NR_RESERVED, nrEntries, pinned, readEntry, statusFramesFor, writePinned } from './gnttab-entry.js';
import { granterOf, mapOne, unmapCommon } from './gnttab-map.js';
import { DOMID_SELF, E, fld, namesFrom, u32, type HcCtx, subOpNames } from './types.js';

const SUB_NAME = subOpNames('GNTTABOP', namesFrom(P, 'GNTTABOP'));

export function grantTableOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const uop = h.args[1]!;
  const count = u32(h.args[2]!);
  h.sub = cmd;
  h.subName = SUB_NAME(cmd);
  h.decoded.count = count;
  const { xen, d, v } = h;
  const g = v.guest;
  /** rcu_lock_domain_by_any_id: DOMID_SELF or an id. */
  const domOf = (dom: number): Domain | undefined => xen.domain(dom === DOMID_SELF ? d.id : dom);
  const forEach = (size: number, fn: (dv: DataView, at: bigint) => boolean): number => {
    for (let k = 0; k < count; k++) {
      const at = uop + BigInt(size * k);
      const raw = g.read(at, size);
      if (raw === null || !fn(new DataView(raw.buffer), at)) return -E.EFAULT;
    }
    return 0;
  };
  switch (cmd) {
    case GNTTABOP_map_grant_ref:
      return forEach(gnttab_map_grant_ref.size, (dv, at) => mapOne(h, dv, at));
    case GNTTABOP_unmap_grant_ref:
    case GNTTABOP_unmap_and_replace:
      // gnttab_unmap_grant_ref { host_addr, dev_bus_addr, handle, status }; unmap_and_replace has new_addr in dev_bus_addr's place.
      return forEach(UM.size, (dv, at) => {
        const handle = dv.getUint32(UM.handle, true);
        const a = dv.getBigUint64(UM.host_addr, true);
        const b = dv.getBigUint64(cmd === GNTTABOP_unmap_grant_ref ? UM.dev_bus_addr : UR.new_addr, true);
        const status = cmd === GNTTABOP_unmap_grant_ref ? unmapCommon(h, a, b, 0n, handle) : unmapCommon(h, a, 0n, b, handle);
        Object.assign(h.decoded, { handle, status });
        return g.putU16(fld(at, UM.status), status);
      });
    case GNTTABOP_setup_table:
      return setupTable(h, uop, domOf);
    case GNTTABOP_copy:
      return forEach(CP.size, (dv, at) => copyOne(h, dv, at));
    case GNTTABOP_query_size: {
      const dom = g.u16(fld(uop, QS.dom));
      if (dom === null) return -E.EFAULT;
      const t = domOf(dom);
      const ok = t === d || (t !== undefined && d.privileged);
      // The OUT fields, nr_frames .. status, in one write.
      const out = new Uint8Array(QS.size - QS.nr_frames);
      const dv = new DataView(out.buffer);
      dv.setUint32(QS.nr_frames - QS.nr_frames, ok ? t!.grantFrames.length : 0, true);
      dv.setUint32(QS.max_nr_frames - QS.nr_frames, ok ? t!.maxGrantFrames : 0, true);
      dv.setInt16(QS.status - QS.nr_frames, t === undefined ? GNTST_bad_domain : ok ? GNTST_okay : GNTST_permission_denied, true);
      return g.write(fld(uop, QS.nr_frames), out) ? 0 : -E.EFAULT;
    }
    case GNTTABOP_set_version:
      return setVersion(h, uop);
    case GNTTABOP_get_status_frames:
      return getStatusFrames(h, uop, count, domOf);
    case GNTTABOP_get_version: {
      const dom = g.u16(fld(uop, GV.dom));
      if (dom === null) return -E.EFAULT;
      const t = domOf(dom);
      if (t === undefined) return -E.ESRCH;
      if (t !== d && !d.privileged) return -E.EPERM;
      return g.putU32(fld(uop, GV.version), t.grantVersion) ? 0 : -E.EFAULT;
    }
    case GNTTABOP_cache_flush:
      return 0;
    default:
      return -E.ENOSYS;
  }
}

/** Grow `d`'s table to `nr` grant frames (and their status frames in v2). */
function grow(h: HcCtx, d: Domain, nr: number): void {
  while (d.grantFrames.length < nr) d.grantFrames.push(h.xen.frames.allocXen());
  if (d.grantVersion === 2) while (d.statusFrames.length < statusFramesFor(d.grantFrames.length)) d.statusFrames.push(h.xen.frames.allocXen());
}

/** setup_table { dom, nr_frames, status, frame_list }: grow and report the frames. */
function setupTable(h: HcCtx, uop: bigint, domOf: (dom: number) => Domain | undefined): number {
  const g = h.v.guest;
  const raw = g.read(uop, ST.size);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const dom = dv.getUint16(ST.dom, true);
  const nr = dv.getUint32(ST.nr_frames, true);
  const list = dv.getBigUint64(ST.frame_list, true);
  h.decoded.nr_frames = nr;
  const t = domOf(dom);
  let status: number = GNTST_okay;
  if (nr > h.d.maxGrantFrames) status = GNTST_general_error;
  else if (t === undefined) status = GNTST_bad_domain;
  else if (t !== h.d && !h.d.privileged) status = GNTST_permission_denied;
  else {
    grow(h, t, nr);
    for (let k = 0; k < nr; k++) if (!g.putU64(fld(list, xen_pfn_t.size * k), BigInt(t.grantFrames[k]!))) status = GNTST_bad_virt_addr;
  }
  h.decoded.status = status;
  return g.putU16(fld(uop, ST.status), status) ? 0 : -E.EFAULT;
}

/** set_version { version }: 1 or 2 (gnttab_set_version); writes back the version in force. */
function setVersion(h: HcCtx, uop: bigint): number {
  const { xen, d } = h;
  const g = h.v.guest;
  const ver = g.u32(fld(uop, SV.version));
  if (ver === null) return -E.EFAULT;
  h.decoded.version = ver;
  let rc = 0;
  if (ver !== 1 && ver !== 2) rc = -E.EINVAL;
  else if (ver !== d.grantVersion) rc = switchVersion(h, d, ver);
  return g.putU32(fld(uop, SV.version), d.grantVersion) ? rc : -E.EFAULT;
}

function switchVersion(h: HcCtx, d: Domain, ver: number): number {
  const { xen } = h;
  for (const [ref, act] of d.active) if (ref >= NR_RESERVED && pinned(act)) return -E.EBUSY;
  if (d.grantVersion === 2) {
    for (let ref = 0; ref < NR_RESERVED; ref++) {
      const e = readEntry(xen, d, ref)!;
      if ((e.flags & GTF_type_mask) === GTF_permit_access && e.frame < 0) return -E.ERANGE;
      if ((e.flags & GTF_type_mask) === GTF_transitive) return -E.ERANGE;
    }
  }
  // The reserved entries, with their status bits, in v1 form.
  const keep = Array.from({ length: NR_RESERVED }, (_, ref) => {
    const e = readEntry(xen, d, ref)!;
    if (d.grantVersion === 1) return e;
    if ((e.flags & GTF_type_mask) !== GTF_permit_access) return { flags: 0, domid: 0, frame: 0 };
    const sf = xen.frames.mem.frame(d.statusFrames[0]!)!;
    return { ...e, flags: e.flags | sf.getUint16(ref * grant_status_t.size, true) };
  });
  if (d.grantVersion === 2) {
    if (d.statusFrames.some((f) => xen.pages.maps[f]! > 0)) return -E.EBUSY;
    for (const f of d.statusFrames) xen.frames.free(f);
    d.statusFrames = [];
  }
  for (const f of d.grantFrames) xen.frames.mem.fill(f * 4096, 4096);
  d.grantVersion = ver;
  grow(h, d, d.grantFrames.length);
  const mem = xen.frames.mem;
  const gf = mem.frame(d.grantFrames[0]!)!;
  keep.forEach((e, ref) => {
    const o = ref * entrySize(d);
    if (ver === 1) {
      gf.setUint16(o + grant_entry_v1.flags, e.flags, true);
      gf.setUint16(o + grant_entry_v1.domid, e.domid, true);
      gf.setUint32(o + grant_entry_v1.frame, e.frame >>> 0, true);
    } else {
      mem.frame(d.statusFrames[0]!)!.setUint16(ref * grant_status_t.size, e.flags & (GTF_reading | GTF_writing), true);
      gf.setUint16(o + grant_entry_v2.hdr_flags, e.flags & ~(GTF_reading | GTF_writing), true);
      gf.setUint16(o + grant_entry_v2.hdr_domid, e.domid, true);
      gf.setBigUint64(o + grant_entry_v2.full_page_frame, BigInt(e.frame >>> 0), true);
    }
  });
  return 0;
}

/** get_status_frames { nr_frames, dom, status, frame_list } (count must be 1). */
function getStatusFrames(h: HcCtx, uop: bigint, count: number, domOf: (dom: number) => Domain | undefined): number {
  const g = h.v.guest;
  if (count !== 1) return -E.EINVAL;
  const raw = g.read(uop, GSF.size);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const nr = dv.getUint32(GSF.nr_frames, true);
  const dom = dv.getUint16(GSF.dom, true);
  const list = dv.getBigUint64(GSF.frame_list, true);
  const t = domOf(dom);
  let status: number = GNTST_okay;
  if (t === undefined) status = GNTST_bad_domain;
  else if (t !== h.d && !h.d.privileged) status = GNTST_permission_denied;
  else if (nr > t.statusFrames.length) status = GNTST_general_error;
  else for (let k = 0; k < nr; k++) if (!g.putU64(fld(list, xen_pfn_t.size * k), BigInt(t.statusFrames[k]!))) status = GNTST_bad_virt_addr;
  Object.assign(h.decoded, { nr_frames: nr, status });
  return g.putU16(fld(uop, GSF.status), status) ? 0 : -E.EFAULT;
}

/**
 * One gnttab_copy: each side is a grant ref (of any domain, checked as for
 * a mapping but without lasting pins) or a frame of the caller's own; the
 * destination must be typeable writable.
 */
function copyOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const { xen, d } = h;
  const flags = dv.getUint16(CP.flags, true);
  const len = dv.getUint16(CP.len, true);
  // `base`: the gnttab_copy_ptr, CP.source or CP.dest.
  const side = (base: number, isGref: boolean, write: boolean): { mfn: number; off: number; dom: Domain } | number => {
    const dom = dv.getUint16(base + CPP.domid, true);
    const off = dv.getUint16(base + CPP.offset, true);
    if (!isGref && dom !== DOMID_SELF) return GNTST_permission_denied;
    const g = dom === DOMID_SELF ? d : granterOf(h.xen, dom);
    if (g === undefined) return GNTST_bad_domain;
    const ref = dv.getUint32(base + CPP.u_ref, true);
    if (g === 'dom0') return ref < INITIAL_FRAMES * 512 ? GNTST_general_error : GNTST_bad_gntref;
    let mfn: number;
    if (isGref) {
      if (ref >= nrEntries(g)) return GNTST_bad_gntref;
      const act = g.active.get(ref);
      const e = readEntry(xen, g, ref)!;
      if (act !== undefined && pinned(act)) {
        if (act.domid !== d.id) return GNTST_general_error;
        mfn = act.mfn;
      } else {
        if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== d.id) return GNTST_general_error;
        mfn = e.frame;
      }
      if (write && (e.flags & GTF_readonly) !== 0 && !(act !== undefined && writePinned(act))) return GNTST_general_error;
    } else mfn = Number(dv.getBigUint64(base + CPP.u_gmfn, true) & 0xfffffffffn);
    if (!xen.pages.owned(g, mfn)) return GNTST_bad_page;
    return { mfn, off, dom: g };
  };
  const src = side(CP.source, (flags & GNTCOPY_source_gref) !== 0, false);
  const dst = typeof src === 'number' ? src : side(CP.dest, (flags & GNTCOPY_dest_gref) !== 0, true);
  let status: number = GNTST_okay;
  if (typeof src === 'number') status = src;
  else if (typeof dst === 'number') status = dst;
  else if (xen.pages.getType(dst.dom, dst.mfn, PGT.WRITABLE) !== 0) status = GNTST_general_error;
  else {
    if (src.off + len > 4096 || dst.off + len > 4096) status = GNTST_bad_copy_arg;
    else xen.frames.mem.write(dst.mfn * 4096 + dst.off, xen.frames.mem.read(src.mfn * 4096 + src.off, len));
    xen.pages.putType(dst.dom, dst.mfn);
  }
  Object.assign(h.decoded, { len, flags, status });
  return h.v.guest.putU16(fld(at, CP.status), status);
}
