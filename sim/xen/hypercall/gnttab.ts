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
import type { Decoded } from '../../events.js';
import type { Domain } from '../domain.js';
import { PGT } from '../page-types.js';
import {
  GNTST, GTF_permit_access, GTF_readonly, GTF_reading, GTF_type_mask, GTF_writing, INITIAL_FRAMES, NR_RESERVED, nrEntries,
  pinned, readEntry, statusFramesFor, writePinned,
} from './gnttab-entry.js';
import { granterOf, mapOne, unmapCommon } from './gnttab-map.js';
import { DOMID_SELF, E, u32, type HcCtx, subOpNames } from './types.js';

const GNTCOPY_source_gref = 1;
const GNTCOPY_dest_gref = 2;
const NAMES: Record<number, string> = { 0: 'map_grant_ref', 1: 'unmap_grant_ref', 2: 'setup_table', 3: 'dump_table', 4: 'transfer', 5: 'copy', 6: 'query_size', 7: 'unmap_and_replace', 8: 'set_version', 9: 'get_status_frames', 10: 'get_version', 11: 'swap_grant_ref', 12: 'cache_flush' };
const SUB_NAME = subOpNames('GNTTABOP', NAMES);

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
  // A batch of maps or unmaps: each op's decoded fields also go to `ops` (the top-level ones are the last op's).
  const ops: Decoded[] = [];
  if (count > 1 && (cmd === 0 || cmd === 1 || cmd === 7)) h.decoded.ops = ops;
  const each = (fn: (dv: DataView, at: bigint) => boolean) => (dv: DataView, at: bigint): boolean => {
    const ok = fn(dv, at);
    if (count > 1) {
      const { count: _c, ops: _o, ...one } = h.decoded;
      ops.push(one);
    }
    return ok;
  };
  switch (cmd) {
    case 0:
      return forEach(32, each((dv, at) => mapOne(h, dv, at)));
    case 1:
    case 7:
      return forEach(24, each((dv, at) => {
        const handle = dv.getUint32(16, true);
        const a = dv.getBigUint64(0, true);
        const b = dv.getBigUint64(8, true);
        const status = cmd === 1 ? unmapCommon(h, a, b, 0n, handle) : unmapCommon(h, a, 0n, b, handle);
        Object.assign(h.decoded, { handle, status });
        return g.putU16(at + 20n, status);
      }));
    case 2:
      return setupTable(h, uop, domOf);
    case 5:
      return forEach(40, (dv, at) => copyOne(h, dv, at));
    case 6: {
      const dom = g.u16(uop);
      if (dom === null) return -E.EFAULT;
      const t = domOf(dom);
      const ok = t === d || (t !== undefined && d.privileged);
      const out = new Uint8Array(10);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, ok ? t!.grantFrames.length : 0, true);
      dv.setUint32(4, ok ? t!.maxGrantFrames : 0, true);
      dv.setInt16(8, t === undefined ? GNTST.bad_domain : ok ? GNTST.okay : GNTST.permission_denied, true);
      return g.write(uop + 4n, out) ? 0 : -E.EFAULT;
    }
    case 8:
      return setVersion(h, uop);
    case 9:
      return getStatusFrames(h, uop, count, domOf);
    case 10: {
      const dom = g.u16(uop);
      if (dom === null) return -E.EFAULT;
      const t = domOf(dom);
      if (t === undefined) return -E.ESRCH;
      if (t !== d && !d.privileged) return -E.EPERM;
      return g.putU32(uop + 4n, t.grantVersion) ? 0 : -E.EFAULT;
    }
    case 12:
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
  const raw = g.read(uop, 24);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const dom = dv.getUint16(0, true);
  const nr = dv.getUint32(4, true);
  const list = dv.getBigUint64(16, true);
  h.decoded.nr_frames = nr;
  const t = domOf(dom);
  let status: number = GNTST.okay;
  if (nr > h.d.maxGrantFrames) status = GNTST.general_error;
  else if (t === undefined) status = GNTST.bad_domain;
  else if (t !== h.d && !h.d.privileged) status = GNTST.permission_denied;
  else {
    grow(h, t, nr);
    for (let k = 0; k < nr; k++) if (!g.putU64(list + BigInt(8 * k), BigInt(t.grantFrames[k]!))) status = GNTST.bad_virt_addr;
  }
  h.decoded.status = status;
  return g.putU16(uop + 8n, status) ? 0 : -E.EFAULT;
}

/** set_version { version }: 1 or 2 (gnttab_set_version); writes back the version in force. */
function setVersion(h: HcCtx, uop: bigint): number {
  const { xen, d } = h;
  const g = h.v.guest;
  const ver = g.u32(uop);
  if (ver === null) return -E.EFAULT;
  h.decoded.version = ver;
  let rc = 0;
  if (ver !== 1 && ver !== 2) rc = -E.EINVAL;
  else if (ver !== d.grantVersion) rc = switchVersion(h, d, ver);
  return g.putU32(uop, d.grantVersion) ? rc : -E.EFAULT;
}

function switchVersion(h: HcCtx, d: Domain, ver: number): number {
  const { xen } = h;
  for (const [ref, act] of d.active) if (ref >= NR_RESERVED && pinned(act)) return -E.EBUSY;
  if (d.grantVersion === 2) {
    for (let ref = 0; ref < NR_RESERVED; ref++) {
      const e = readEntry(xen, d, ref)!;
      if ((e.flags & GTF_type_mask) === GTF_permit_access && e.frame < 0) return -E.ERANGE;
      if ((e.flags & GTF_type_mask) === 3) return -E.ERANGE; // transitive
    }
  }
  // The reserved entries, with their status bits, in v1 form.
  const keep = Array.from({ length: NR_RESERVED }, (_, ref) => {
    const e = readEntry(xen, d, ref)!;
    if (d.grantVersion === 1) return e;
    if ((e.flags & GTF_type_mask) !== GTF_permit_access) return { flags: 0, domid: 0, frame: 0 };
    const sf = xen.frames.mem.frame(d.statusFrames[0]!)!;
    return { ...e, flags: e.flags | sf.getUint16(ref * 2, true) };
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
    if (ver === 1) {
      gf.setUint16(ref * 8, e.flags, true);
      gf.setUint16(ref * 8 + 2, e.domid, true);
      gf.setUint32(ref * 8 + 4, e.frame >>> 0, true);
    } else {
      mem.frame(d.statusFrames[0]!)!.setUint16(ref * 2, e.flags & (GTF_reading | GTF_writing), true);
      gf.setUint16(ref * 16, e.flags & ~(GTF_reading | GTF_writing), true);
      gf.setUint16(ref * 16 + 2, e.domid, true);
      gf.setBigUint64(ref * 16 + 8, BigInt(e.frame >>> 0), true);
    }
  });
  return 0;
}

/** get_status_frames { nr_frames, dom, status, frame_list } (count must be 1). */
function getStatusFrames(h: HcCtx, uop: bigint, count: number, domOf: (dom: number) => Domain | undefined): number {
  const g = h.v.guest;
  if (count !== 1) return -E.EINVAL;
  const raw = g.read(uop, 16);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const nr = dv.getUint32(0, true);
  const dom = dv.getUint16(4, true);
  const list = dv.getBigUint64(8, true);
  const t = domOf(dom);
  let status: number = GNTST.okay;
  if (t === undefined) status = GNTST.bad_domain;
  else if (t !== h.d && !h.d.privileged) status = GNTST.permission_denied;
  else if (nr > t.statusFrames.length) status = GNTST.general_error;
  else for (let k = 0; k < nr; k++) if (!g.putU64(list + BigInt(8 * k), BigInt(t.statusFrames[k]!))) status = GNTST.bad_virt_addr;
  Object.assign(h.decoded, { nr_frames: nr, status });
  return g.putU16(uop + 6n, status) ? 0 : -E.EFAULT;
}

/**
 * One gnttab_copy: each side is a grant ref (of any domain, checked as for
 * a mapping but without lasting pins) or a frame of the caller's own; the
 * destination must be typeable writable.
 */
function copyOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const { xen, d } = h;
  const flags = dv.getUint16(34, true);
  const len = dv.getUint16(32, true);
  const side = (base: number, isGref: boolean, write: boolean): { mfn: number; off: number; dom: Domain } | number => {
    const dom = dv.getUint16(base + 8, true);
    const off = dv.getUint16(base + 10, true);
    if (!isGref && dom !== DOMID_SELF) return GNTST.permission_denied;
    const g = dom === DOMID_SELF ? d : granterOf(h, dom);
    if (g === undefined) return GNTST.bad_domain;
    const ref = dv.getUint32(base, true);
    if (g === 'dom0') return ref < INITIAL_FRAMES * 512 ? GNTST.general_error : GNTST.bad_gntref;
    let mfn: number;
    if (isGref) {
      if (ref >= nrEntries(g)) return GNTST.bad_gntref;
      const act = g.active.get(ref);
      const e = readEntry(xen, g, ref)!;
      if (act !== undefined && pinned(act)) {
        if (act.domid !== d.id) return GNTST.general_error;
        mfn = act.mfn;
      } else {
        if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== d.id) return GNTST.general_error;
        mfn = e.frame;
      }
      if (write && (e.flags & GTF_readonly) !== 0 && !(act !== undefined && writePinned(act))) return GNTST.general_error;
    } else mfn = Number(dv.getBigUint64(base, true) & 0xfffffffffn);
    if (!xen.pages.owned(g, mfn)) return GNTST.bad_page;
    return { mfn, off, dom: g };
  };
  const src = side(0, (flags & GNTCOPY_source_gref) !== 0, false);
  const dst = typeof src === 'number' ? src : side(16, (flags & GNTCOPY_dest_gref) !== 0, true);
  let status: number = GNTST.okay;
  if (typeof src === 'number') status = src;
  else if (typeof dst === 'number') status = dst;
  else if (xen.pages.getType(dst.dom, dst.mfn, PGT.WRITABLE) !== 0) status = GNTST.general_error;
  else {
    if (src.off + len > 4096 || dst.off + len > 4096) status = GNTST.bad_copy_arg;
    else xen.frames.mem.write(dst.mfn * 4096 + dst.off, xen.frames.mem.read(src.mfn * 4096 + src.off, len));
    xen.pages.putType(dst.dom, dst.mfn);
  }
  Object.assign(h.decoded, { len, flags, status });
  return h.v.guest.putU16(at + 36n, status);
}
