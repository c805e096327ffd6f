/**
 * grant_table_op (v1 grant entries): setup_table, query_size, set_version,
 * get_version, map_grant_ref, unmap_grant_ref, copy.
 *
 * A v1 entry is { u16 flags; u16 domid; u32 frame } (8 bytes); the granter
 * writes domid and frame first and publishes flags last (GTF_permit_access);
 * Xen sets GTF_reading / GTF_writing while a mapping exists. PV grants name
 * machine frames. Per-entry results go into each op's `status` (GNTST_*);
 * the hypercall itself returns 0 unless the argument array is unreadable.
 */
import type { Domain } from '../domain.js';
import { checkPte, l1Slot } from './mm.js';
import { DOMID_SELF, E, u32, type HcCtx } from './types.js';

const GTF_permit_access = 1;
const GTF_type_mask = 3;
const GTF_readonly = 4;
const GTF_reading = 8;
const GTF_writing = 16;
const GNTMAP_host_map = 2;
const GNTMAP_readonly = 4;
const GNTMAP_contains_pte = 16;
const GNTCOPY_source_gref = 1;
const GNTCOPY_dest_gref = 2;
const GNTST = { okay: 0, general_error: -1, bad_domain: -2, bad_gntref: -3, bad_handle: -4, bad_virt_addr: -5, bad_dev_addr: -6, no_device_space: -7, permission_denied: -8, bad_page: -9, bad_copy_arg: -10 } as const;
const ENTRIES_PER_FRAME = 512;
const NAMES: Record<number, string> = { 0: 'map_grant_ref', 1: 'unmap_grant_ref', 2: 'setup_table', 3: 'dump_table', 4: 'transfer', 5: 'copy', 6: 'query_size', 7: 'unmap_and_replace', 8: 'set_version', 9: 'get_status_frames', 10: 'get_version', 11: 'swap_grant_ref', 12: 'cache_flush' };

/** Machine address of grant entry `ref` of `d`, or -1. */
function entryMa(d: Domain, ref: number): number {
  const f = d.grantFrames[Math.floor(ref / ENTRIES_PER_FRAME)];
  return f === undefined ? -1 : f * 4096 + (ref % ENTRIES_PER_FRAME) * 8;
}

type Entry = { flags: number; domid: number; frame: number; ma: number };

function readEntry(h: HcCtx, d: Domain, ref: number): Entry | null {
  const ma = entryMa(d, ref);
  if (ma < 0) return null;
  const f = h.xen.frames.mem.frame(Math.floor(ma / 4096))!;
  const o = ma % 4096;
  return { flags: f.getUint16(o, true), domid: f.getUint16(o + 2, true), frame: f.getUint32(o + 4, true), ma };
}

function setFlags(h: HcCtx, e: Entry, flags: number): void {
  h.xen.frames.mem.frame(Math.floor(e.ma / 4096))!.setUint16(e.ma % 4096, flags, true);
}

/** Check that `grantee` may use `granter`'s entry `ref`, for writing or not. Returns the entry or a GNTST code. */
function checkGrant(h: HcCtx, granter: Domain, grantee: number, ref: number, write: boolean): Entry | number {
  const e = readEntry(h, granter, ref);
  if (e === null) return GNTST.bad_gntref;
  if ((e.flags & GTF_type_mask) !== GTF_permit_access || e.domid !== grantee) return GNTST.permission_denied;
  if (write && (e.flags & GTF_readonly) !== 0) return GNTST.permission_denied;
  if (e.frame >= h.xen.frames.frameCount || h.xen.frames.owner[e.frame] !== granter.id) return GNTST.bad_page;
  return e;
}

export function grantTableOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const uop = h.args[1]!;
  const count = u32(h.args[2]!);
  h.sub = cmd;
  h.subName = `GNTTABOP_${NAMES[cmd] ?? cmd}`;
  h.decoded.count = count;
  const { xen, d, v } = h;
  const g = v.guest;
  const domOf = (dom: number): Domain | undefined => xen.domain(dom === DOMID_SELF ? d.id : dom);
  switch (cmd) {
    case 2: {
      const raw = g.read(uop, 24);
      if (raw === null) return -E.EFAULT;
      const dv = new DataView(raw.buffer);
      const dom = dv.getUint16(0, true);
      const nr = dv.getUint32(4, true);
      const list = dv.getBigUint64(16, true);
      h.decoded.nr_frames = nr;
      let status: number = GNTST.okay;
      if (domOf(dom) !== d) status = d.privileged ? GNTST.bad_domain : GNTST.permission_denied;
      else if (nr > d.maxGrantFrames) status = GNTST.general_error;
      else {
        while (d.grantFrames.length < nr) d.grantFrames.push(xen.frames.allocXen());
        for (let k = 0; k < nr; k++) if (!g.putU64(list + BigInt(8 * k), BigInt(d.grantFrames[k]!))) return -E.EFAULT;
      }
      h.decoded.status = status;
      return g.putU16(uop + 8n, status) ? 0 : -E.EFAULT;
    }
    case 6: {
      const dom = g.u16(uop);
      if (dom === null) return -E.EFAULT;
      const ok = domOf(dom) === d;
      const out = new Uint8Array(10);
      const dv = new DataView(out.buffer);
      dv.setUint32(0, d.grantFrames.length, true);
      dv.setUint32(4, d.maxGrantFrames, true);
      dv.setInt16(8, ok ? GNTST.okay : GNTST.bad_domain, true);
      return g.write(uop + 4n, out) ? 0 : -E.EFAULT;
    }
    case 8: {
      const ver = g.u32(uop);
      if (ver === null) return -E.EFAULT;
      h.decoded.version = ver;
      if (ver !== 1) return -E.ENOSYS;
      return 0;
    }
    case 10:
      return g.putU32(uop + 4n, d.grantVersion) ? 0 : -E.EFAULT;
    case 0:
      return forEach(h, uop, count, 32, (raw, at) => mapOne(h, raw, at));
    case 1:
      return forEach(h, uop, count, 24, (raw, at) => unmapOne(h, raw, at));
    case 5:
      return forEach(h, uop, count, 40, (raw, at) => copyOne(h, raw, at));
    case 12:
      return 0;
    default:
      return -E.ENOSYS;
  }

  function forEach(hc: HcCtx, base: bigint, n: number, size: number, fn: (dv: DataView, at: bigint) => boolean): number {
    for (let k = 0; k < n; k++) {
      const at = base + BigInt(size * k);
      const raw = g.read(at, size);
      if (raw === null || !fn(new DataView(raw.buffer), at)) return -E.EFAULT;
    }
    void hc;
    return 0;
  }
}

function mapOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const { xen, d, v } = h;
  const hostAddr = dv.getBigUint64(0, true);
  const flags = dv.getUint32(8, true);
  const ref = dv.getUint32(12, true);
  const dom = dv.getUint16(16, true);
  Object.assign(h.decoded, { ref, dom, flags, host_addr: hostAddr });
  const put = (status: number, handle = 0, bus = 0n): boolean => {
    h.decoded.status = status;
    const out = new Uint8Array(14);
    const o = new DataView(out.buffer);
    o.setInt16(0, status, true);
    o.setUint32(2, handle, true);
    o.setBigUint64(6, bus, true);
    return v.guest.write(at + 18n, out);
  };
  const granter = xen.domain(dom);
  if (granter === undefined || !granter.alive || granter === d) return put(GNTST.bad_domain);
  const readonly = (flags & GNTMAP_readonly) !== 0;
  const e = checkGrant(h, granter, d.id, ref, !readonly);
  if (typeof e === 'number') return put(e);
  let pteMa = -1;
  if ((flags & GNTMAP_host_map) !== 0) {
    pteMa = (flags & GNTMAP_contains_pte) !== 0 ? Number(hostAddr) : l1Slot(h, v.cr3, hostAddr);
    if (pteMa < 0 || pteMa >= xen.frames.frameCount * 4096 || xen.frames.owner[Math.floor(pteMa / 4096)] !== d.id) return put(GNTST.bad_virt_addr);
  }
  const handle = d.maptrack.length;
  d.maptrack.push({ dom: granter.id, ref, mfn: e.frame, hostAddr, readonly, pteMa });
  setFlags(h, e, e.flags | GTF_reading | (readonly ? 0 : GTF_writing));
  if (pteMa >= 0) {
    const pte = (BigInt(e.frame) << 12n) | 0x65n | (readonly ? 0n : 2n); // P | U | A | D (+RW)
    if (checkPte(h, d, pte) !== 0) return put(GNTST.general_error);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, pte, true);
    xen.frames.mem.write(pteMa, b);
    v.cpu.mmu.flush();
  }
  return put(GNTST.okay, handle, BigInt(e.frame) << 12n);
}

function unmapOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const { xen, d, v } = h;
  const handle = dv.getUint32(16, true);
  h.decoded.handle = handle;
  const m = d.maptrack[handle];
  let status: number = GNTST.okay;
  if (m === undefined || m === null) status = GNTST.bad_handle;
  else {
    if (m.pteMa >= 0) {
      xen.frames.mem.write(m.pteMa, new Uint8Array(8));
      for (const x of d.vcpus) x.cpu.mmu.flush();
    }
    d.maptrack[handle] = null;
    const granter = xen.domain(m.dom);
    const e = granter ? readEntry(h, granter, m.ref) : null;
    const still = d.maptrack.some((x) => x !== null && x.dom === m.dom && x.ref === m.ref);
    if (e !== null && !still) setFlags(h, e, e.flags & ~(GTF_reading | GTF_writing));
  }
  h.decoded.status = status;
  return v.guest.putU16(at + 20n, status);
}

function copyOne(h: HcCtx, dv: DataView, at: bigint): boolean {
  const { xen, d, v } = h;
  const flags = dv.getUint16(34, true);
  const len = dv.getUint16(32, true);
  const side = (base: number, isGref: boolean, write: boolean): { mfn: number; off: number } | number => {
    const dom = dv.getUint16(base + 8, true);
    const off = dv.getUint16(base + 10, true);
    if (off + len > 4096) return GNTST.bad_copy_arg;
    if (isGref) {
      const granter = xen.domain(dom === DOMID_SELF ? d.id : dom);
      if (granter === undefined) return GNTST.bad_domain;
      const e = checkGrant(h, granter, d.id, dv.getUint32(base, true), write);
      return typeof e === 'number' ? e : { mfn: e.frame, off };
    }
    if (dom !== DOMID_SELF && dom !== d.id) return GNTST.permission_denied;
    const mfn = Number(dv.getBigUint64(base, true) & 0xfffffffffn);
    if (mfn >= xen.frames.frameCount || xen.frames.owner[mfn] !== d.id) return GNTST.bad_page;
    return { mfn, off };
  };
  const src = side(0, (flags & GNTCOPY_source_gref) !== 0, false);
  const dst = side(16, (flags & GNTCOPY_dest_gref) !== 0, true);
  let status: number = GNTST.okay;
  if (typeof src === 'number') status = src;
  else if (typeof dst === 'number') status = dst;
  else xen.frames.mem.write(dst.mfn * 4096 + dst.off, xen.frames.mem.read(src.mfn * 4096 + src.off, len));
  Object.assign(h.decoded, { len, flags, status });
  return v.guest.putU16(at + 36n, status);
}
