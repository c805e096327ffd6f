/**
 * What a domain's grant table holds, for GRANTS events: the entries that
 * grant something (with Xen's GTF_reading/GTF_writing while mapped: v1 has
 * them in the entry's flags, v2 in the status array) and the grant
 * mappings the domain itself holds (its maptrack).
 */
import type { Decoded } from '../../events.js';
import type { Domain } from '../domain.js';
import type { Xen } from '../xen.js';
import { grant_status_t, GTF_reading, GTF_type_mask, GTF_writing } from '../public/grant_table.js';
import { entriesPerFrame, nrEntries, readEntry } from './gnttab-entry.js';

/** v2 status entries per status frame. */
const STATUS_PER_FRAME = 4096 / grant_status_t.size;

export function grantReport(xen: Xen, d: Domain): { granted: Decoded[]; mapped: Decoded[] } {
  const granted: Decoded[] = [];
  const mem = xen.frames.mem;
  const n = nrEntries(d);
  const per = entriesPerFrame(d);
  for (let ref = 0; ref < n; ref++) {
    // A frame nothing touched yet is all zeros: it grants nothing (and reading it must not allocate it).
    const gf = d.grantFrames[Math.floor(ref / per)];
    if (gf === undefined || !mem.has(gf)) {
      ref += per - 1 - (ref % per);
      continue;
    }
    const e = readEntry(xen, d, ref);
    if (e === null || (e.flags & GTF_type_mask) === 0) continue;
    let flags = e.flags;
    if (d.grantVersion === 2) {
      const sf = d.statusFrames[Math.floor(ref / STATUS_PER_FRAME)];
      if (sf !== undefined && mem.has(sf)) flags |= mem.frame(sf)!.getUint16((ref % STATUS_PER_FRAME) * grant_status_t.size, true) & (GTF_reading | GTF_writing);
    }
    granted.push({ ref, domid: e.domid, frame: e.frame, flags });
  }
  const mapped: Decoded[] = [];
  d.maptrack.forEach((m, handle) => {
    if (m !== null) mapped.push({ handle, dom: m.dom, ref: m.ref, flags: m.flags });
  });
  return { granted, mapped };
}
