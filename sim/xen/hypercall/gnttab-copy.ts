/**
 * GNTTABOP_copy for a grantee without page tables (dom0's services, as
 * Linux's netback issues it for every tx fragment and rx buffer): one side
 * is a guest's grant reference, the other the service's own buffer. The
 * grant is checked as gnttab.ts's copyOne checks a gref side (a valid
 * reference, permit_access to the grantee or a pin by it, writable for a
 * copy into it, owned by the granter) and nothing is pinned past the copy;
 * a destination frame must take a writable type reference (a page table or
 * descriptor page cannot be copied into).
 */
import type { Xen } from '../xen.js';
import { PGT } from '../page-types.js';
import { GNTST_bad_copy_arg, GNTST_bad_domain, GNTST_bad_gntref, GNTST_bad_page, GNTST_general_error, GNTST_okay, GTF_permit_access, GTF_readonly, GTF_type_mask } from '../public/grant_table.js';
import { nrEntries, pinned, readEntry, writePinned } from './gnttab-entry.js';

/**
 * Copy `len` bytes between page offset `off` of grant `ref` of domain `dom`
 * and `buf[at..]`: into the grant when `toGrant`, else out of it. Returns a
 * GNTST_* code; the bytes move only on GNTST_okay (a store like any other:
 * code decoded from the frame is dropped).
 */
export function copyGrant(xen: Xen, grantee: number, dom: number, ref: number, off: number, buf: Uint8Array, at: number, len: number, toGrant: boolean): number {
  const g = xen.domain(dom);
  if (g === undefined) return GNTST_bad_domain;
  if (ref >= nrEntries(g)) return GNTST_bad_gntref;
  const act = g.active.get(ref);
  const e = readEntry(xen, g, ref)!;
  let mfn: number;
  if (act !== undefined && pinned(act)) {
    if (act.domid !== grantee) return GNTST_general_error;
    mfn = act.mfn;
  } else {
    if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== grantee) return GNTST_general_error;
    mfn = e.frame;
  }
  if (toGrant && (e.flags & GTF_readonly) !== 0 && !(act !== undefined && writePinned(act))) return GNTST_general_error;
  if (!xen.pages.owned(g, mfn)) return GNTST_bad_page;
  if (off + len > 4096) return GNTST_bad_copy_arg;
  const mem = xen.frames.mem;
  if (!toGrant) {
    buf.set(mem.read(mfn * 4096 + off, len), at);
    return GNTST_okay;
  }
  if (xen.pages.getType(g, mfn, PGT.WRITABLE) !== 0) return GNTST_general_error;
  mem.write(mfn * 4096 + off, buf.subarray(at, at + len));
  xen.pages.putType(g, mfn);
  return GNTST_okay;
}
