/**
 * Grant-table entries as Xen reads and writes them (common/grant_table.c):
 * v1 entries { u16 flags; u16 domid; u32 frame } 512 per frame, with
 * GTF_reading/GTF_writing in `flags`; v2 entries { u16 flags; u16 domid;
 * u32 pad; u64 frame } 256 per frame, with the reading/writing bits in a
 * separate array of u16 status entries (2048 per status frame).
 *
 * Xen's active entry (Domain.active) pins a ref to one grantee and one
 * frame for as long as any mapping of it exists; the shared entry is checked
 * only when the first pin (or the first writable pin) is taken.
 */
import type { ActiveGrant, Domain } from '../domain.js';
import {
  GNTST_general_error, GNTST_okay, GNTTAB_NR_RESERVED_ENTRIES, grant_entry_v1, grant_entry_v2, grant_status_t, GTF_permit_access, GTF_readonly,
  GTF_reading, GTF_sub_page, GTF_type_mask, GTF_writing,
} from '../public/grant_table.js';
import type { Xen } from '../xen.js';

/** Refs 0..7 are the toolstack's and survive a version change. */
export const NR_RESERVED = GNTTAB_NR_RESERVED_ENTRIES;
/** INITIAL_NR_GRANT_FRAMES (Xen's configuration, not ABI): every domain's table starts with one frame. */
export const INITIAL_FRAMES = 1;
const PAGE = 4096;

/** Size of one shared entry of `d`'s table version. */
export const entrySize = (d: Domain): number => (d.grantVersion === 1 ? grant_entry_v1.size : grant_entry_v2.size);
export const entriesPerFrame = (d: Domain): number => PAGE / entrySize(d);
export const nrEntries = (d: Domain): number => d.grantFrames.length * entriesPerFrame(d);
/** grant_to_status_frames: status frames needed for `frames` v2 grant frames. */
export const statusFramesFor = (frames: number): number => Math.ceil((frames * (PAGE / grant_entry_v2.size) * grant_status_t.size) / PAGE);

export type Entry = { flags: number; domid: number; frame: number };

function entryMa(d: Domain, ref: number): number {
  const per = entriesPerFrame(d);
  const f = d.grantFrames[Math.floor(ref / per)];
  return f === undefined ? -1 : f * PAGE + (ref % per) * entrySize(d);
}

/** The shared entry `ref` of `d`, or null beyond the table. Frames above 2^36 read as invalid. */
export function readEntry(xen: Xen, d: Domain, ref: number): Entry | null {
  const ma = entryMa(d, ref);
  if (ma < 0) return null;
  const f = xen.frames.mem.frame(Math.floor(ma / PAGE))!;
  const o = ma % PAGE;
  const frame = d.grantVersion === 1 ? f.getUint32(o + grant_entry_v1.frame, true) : f.getBigUint64(o + grant_entry_v2.full_page_frame, true);
  // grant_entry_header: flags and domid at the same place in v1 and v2.
  return { flags: f.getUint16(o + grant_entry_v1.flags, true), domid: f.getUint16(o + grant_entry_v1.domid, true), frame: typeof frame === 'number' ? frame : frame < 1n << 36n ? Number(frame) : -1 };
}

/** The status word of `ref`: the entry's flags (v1) or its status entry (v2), as [frame view, offset]. */
function statusAt(xen: Xen, d: Domain, ref: number): [DataView, number] | null {
  if (d.grantVersion === 1) {
    const ma = entryMa(d, ref);
    return ma < 0 ? null : [xen.frames.mem.frame(Math.floor(ma / PAGE))!, ma % PAGE + grant_entry_v1.flags];
  }
  const per = PAGE / grant_status_t.size;
  const f = d.statusFrames[Math.floor(ref / per)];
  return f === undefined ? null : [xen.frames.mem.frame(f)!, (ref % per) * grant_status_t.size];
}

export function setStatusBits(xen: Xen, d: Domain, ref: number, bits: number, on: boolean): void {
  const s = statusAt(xen, d, ref);
  if (s === null) return;
  const [f, o] = s;
  f.setUint16(o, on ? f.getUint16(o, true) | bits : f.getUint16(o, true) & ~bits, true);
}

export const pinned = (a: ActiveGrant): boolean => a.hostR + a.hostW + a.devR + a.devW > 0;
export const writePinned = (a: ActiveGrant): boolean => a.hostW + a.devW > 0;

/** The active entry for `ref` of granter `rd`, created unpinned. */
export function activeEntry(rd: Domain, ref: number): ActiveGrant {
  let a = rd.active.get(ref);
  if (a === undefined) {
    a = { domid: -1, mfn: -1, hostR: 0, hostW: 0, devR: 0, devW: 0 };
    rd.active.set(ref, a);
  }
  return a;
}

/**
 * _set_status: on the first pin, the entry must permit access (not sub-page
 * for a mapping) to `ldomid`; a writable pin needs an entry that is not
 * read-only. Sets GTF_reading (and GTF_writing). Returns a GNTST code.
 */
export function setStatus(xen: Xen, rd: Domain, ref: number, act: ActiveGrant, readonly: boolean, mapflag: boolean, ldomid: number): number {
  const e = readEntry(xen, rd, ref)!;
  const mask = GTF_type_mask | (mapflag ? GTF_sub_page : 0);
  if (!pinned(act) && ((e.flags & mask) !== GTF_permit_access || e.domid !== ldomid)) return GNTST_general_error;
  if (!readonly && (e.flags & GTF_readonly) !== 0) return GNTST_general_error;
  setStatusBits(xen, rd, ref, GTF_reading | (readonly ? 0 : GTF_writing), true);
  return GNTST_okay;
}

/** reduce_status_for_pin: drop GTF_reading/GTF_writing the remaining pins no longer justify. */
export function reduceStatus(xen: Xen, rd: Domain, ref: number, act: ActiveGrant, readonly: boolean): void {
  let clear = pinned(act) ? 0 : GTF_reading;
  if (!readonly && !writePinned(act)) clear |= GTF_writing;
  if (clear !== 0) setStatusBits(xen, rd, ref, clear, false);
}
