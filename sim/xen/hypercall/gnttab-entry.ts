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
import type { Xen } from '../xen.js';

export const GTF_permit_access = 1;
export const GTF_type_mask = 3;
export const GTF_readonly = 4;
export const GTF_reading = 8;
export const GTF_writing = 16;
export const GTF_sub_page = 1 << 8;
export const GNTMAP_device_map = 1;
export const GNTMAP_host_map = 2;
export const GNTMAP_readonly = 4;
export const GNTMAP_application_map = 8;
export const GNTMAP_contains_pte = 16;
export const GNTST = { okay: 0, general_error: -1, bad_domain: -2, bad_gntref: -3, bad_handle: -4, bad_virt_addr: -5, bad_dev_addr: -6, no_device_space: -7, permission_denied: -8, bad_page: -9, bad_copy_arg: -10, address_too_big: -11, eagain: -12, no_space: -13 } as const;
/** Refs 0..7 are the toolstack's and survive a version change. */
export const NR_RESERVED = 8;
/** INITIAL_NR_GRANT_FRAMES: every domain's table starts with one frame. */
export const INITIAL_FRAMES = 1;

export const entriesPerFrame = (d: Domain): number => (d.grantVersion === 1 ? 512 : 256);
export const nrEntries = (d: Domain): number => d.grantFrames.length * entriesPerFrame(d);
/** grant_to_status_frames: status frames needed for `frames` v2 grant frames. */
export const statusFramesFor = (frames: number): number => Math.ceil((frames * 256 * 2) / 4096);

export type Entry = { flags: number; domid: number; frame: number };

function entryMa(d: Domain, ref: number): number {
  const per = entriesPerFrame(d);
  const f = d.grantFrames[Math.floor(ref / per)];
  return f === undefined ? -1 : f * 4096 + (ref % per) * (d.grantVersion === 1 ? 8 : 16);
}

/** The shared entry `ref` of `d`, or null beyond the table. Frames above 2^36 read as invalid. */
export function readEntry(xen: Xen, d: Domain, ref: number): Entry | null {
  const ma = entryMa(d, ref);
  if (ma < 0) return null;
  const f = xen.frames.mem.frame(Math.floor(ma / 4096))!;
  const o = ma % 4096;
  const frame = d.grantVersion === 1 ? f.getUint32(o + 4, true) : f.getBigUint64(o + 8, true);
  return { flags: f.getUint16(o, true), domid: f.getUint16(o + 2, true), frame: typeof frame === 'number' ? frame : frame < 1n << 36n ? Number(frame) : -1 };
}

/** The status word of `ref`: the entry's flags (v1) or its status entry (v2), as [frame view, offset]. */
function statusAt(xen: Xen, d: Domain, ref: number): [DataView, number] | null {
  if (d.grantVersion === 1) {
    const ma = entryMa(d, ref);
    return ma < 0 ? null : [xen.frames.mem.frame(Math.floor(ma / 4096))!, ma % 4096];
  }
  const f = d.statusFrames[Math.floor(ref / 2048)];
  return f === undefined ? null : [xen.frames.mem.frame(f)!, (ref % 2048) * 2];
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
  if (!pinned(act) && ((e.flags & mask) !== GTF_permit_access || e.domid !== ldomid)) return GNTST.general_error;
  if (!readonly && (e.flags & GTF_readonly) !== 0) return GNTST.general_error;
  setStatusBits(xen, rd, ref, GTF_reading | (readonly ? 0 : GTF_writing), true);
  return GNTST.okay;
}

/** reduce_status_for_pin: drop GTF_reading/GTF_writing the remaining pins no longer justify. */
export function reduceStatus(xen: Xen, rd: Domain, ref: number, act: ActiveGrant, readonly: boolean): void {
  let clear = pinned(act) ? 0 : GTF_reading;
  if (!readonly && !writePinned(act)) clear |= GTF_writing;
  if (clear !== 0) setStatusBits(xen, rd, ref, clear, false);
}
