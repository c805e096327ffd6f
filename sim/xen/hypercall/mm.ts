/**
 * Page tables and memory: mmu_update, update_va_mapping, mmuext_op,
 * memory_op, vm_assist.
 *
 * The guest's page tables hold machine addresses and are read-only to it;
 * it changes them only through these hypercalls, which check that every
 * mapping names a frame the domain may map, and never a writable mapping
 * of a frame in use as a page table.
 */
import type { Domain } from '../domain.js';
import { isCanonical } from './traps.js';
import { DOMID_SELF, E, u32, type HcCtx } from './types.js';

const M64 = (1n << 64n) - 1n;
const PTE_P = 1n;
const PTE_RW = 2n;
const PTE_PS = 0x80n;
const ADDR_MASK = 0x000ffffffffff000n;
const XEN_HOLE_START = 0xffff800000000000n;
const XEN_HOLE_END = 0xffff880000000000n;

/** May `d` map machine frame `mfn`? Its own RAM, its shared_info and grant frames, or a frame granted to it. */
export function mayMap(h: HcCtx, d: Domain, mfn: number): boolean {
  if (mfn < h.xen.frames.frameCount && h.xen.frames.owner[mfn] === d.id) return true;
  if (mfn === d.sharedInfoMfn || d.grantFrames.includes(mfn)) return true;
  return d.maptrack.some((m) => m !== null && m.mfn === mfn);
}

/** Check a new PTE value; returns 0 or a negative errno. */
export function checkPte(h: HcCtx, d: Domain, val: bigint): number {
  if ((val & PTE_P) === 0n) return 0;
  const mfn = Number((val & ADDR_MASK) >> 12n);
  if (!mayMap(h, d, mfn)) return -E.EPERM;
  if ((val & PTE_RW) !== 0n && d.ptFrames.has(mfn)) return -E.EPERM;
  return 0;
}

/** Machine address of the L1 entry mapping `va` in the tables rooted at `cr3`, or -1. */
export function l1Slot(h: HcCtx, cr3: number, va: bigint): number {
  const mem = h.xen.frames.mem;
  let table = cr3;
  const v = va & M64;
  for (let level = 3; level >= 1; level--) {
    const idx = Number((v >> BigInt(12 + 9 * level)) & 511n);
    const f = mem.frame(table);
    if (f === null) return -1;
    const e = f.getBigUint64(idx * 8, true);
    if ((e & PTE_P) === 0n || (level < 3 && (e & PTE_PS) !== 0n)) return -1;
    table = Number((e & ADDR_MASK) >> 12n);
  }
  return table * 4096 + Number((v >> 12n) & 511n) * 8;
}

function writePte(h: HcCtx, ma: number, val: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, val & M64, true);
  h.xen.frames.mem.write(ma, b);
  for (const v of h.d.vcpus) v.cpu.mmu.flush();
}

/** update_va_mapping(va, val, flags) */
export function updateVaMapping(h: HcCtx): number {
  const [va, val, flags] = h.args as [bigint, bigint, bigint];
  h.decoded.va = va;
  h.decoded.val = val;
  h.decoded.flags = Number(flags & 7n);
  if (!isCanonical(va) || ((va & M64) >= XEN_HOLE_START && (va & M64) < XEN_HOLE_END)) return -E.EINVAL;
  const slot = l1Slot(h, h.v.cr3, va);
  if (slot < 0) return -E.EINVAL;
  const rc = checkPte(h, h.d, val);
  if (rc !== 0) return rc;
  writePte(h, slot, val);
  return 0;
}

/** mmu_update(reqs, count, done, foreigndom) */
export function mmuUpdate(h: HcCtx): number {
  const [reqs, count, done] = h.args as [bigint, bigint, bigint];
  const n = u32(count);
  h.decoded.count = n;
  const updates: number[] = [];
  let k = 0;
  let rc = 0;
  for (; k < n; k++) {
    const raw = h.v.guest.read(reqs + BigInt(16 * k), 16);
    if (raw === null) {
      rc = -E.EFAULT;
      break;
    }
    const dv = new DataView(raw.buffer);
    const ptr = dv.getBigUint64(0, true);
    const val = dv.getBigUint64(8, true);
    const cmd = Number(ptr & 3n);
    const ma = ptr & ~7n;
    const mfn = Number(ma >> 12n);
    if (k < 4) updates.push(Number(ma), Number(val & 0xffffffffn));
    if (mfn >= h.xen.frames.frameCount || h.xen.frames.owner[mfn] !== h.d.id) {
      rc = -E.EPERM;
      break;
    }
    if (cmd === 0 || cmd === 2) {
      rc = checkPte(h, h.d, val);
      if (rc !== 0) break;
      writePte(h, Number(ma), val);
    } else if (cmd === 1) {
      h.xen.frames.setM2p(mfn, val);
    } else {
      rc = -E.ENOSYS;
      break;
    }
  }
  h.decoded.updates = updates;
  if (done !== 0n && !h.v.guest.putU32(done, k)) return -E.EFAULT;
  return rc;
}

const MMUEXT_NAMES = ['PIN_L1_TABLE', 'PIN_L2_TABLE', 'PIN_L3_TABLE', 'PIN_L4_TABLE', 'UNPIN_TABLE', 'NEW_BASEPTR', 'TLB_FLUSH_LOCAL', 'INVLPG_LOCAL', 'TLB_FLUSH_MULTI', 'INVLPG_MULTI', 'TLB_FLUSH_ALL', 'INVLPG_ALL', 'FLUSH_CACHE', 'SET_LDT', '', 'NEW_USER_BASEPTR', 'CLEAR_PAGE', 'COPY_PAGE', 'FLUSH_CACHE_GLOBAL', 'MARK_SUPER', 'UNMARK_SUPER'];

/** mmuext_op(ops, count, done, foreigndom) */
export function mmuextOp(h: HcCtx): number {
  const [ops, count, done] = h.args as [bigint, bigint, bigint];
  const n = u32(count);
  const names: string[] = [];
  let k = 0;
  let rc = 0;
  const owned = (mfn: number): boolean => mfn < h.xen.frames.frameCount && h.xen.frames.owner[mfn] === h.d.id;
  for (; k < n && rc === 0; k++) {
    const raw = h.v.guest.read(ops + BigInt(24 * k), 24);
    if (raw === null) {
      rc = -E.EFAULT;
      break;
    }
    const dv = new DataView(raw.buffer);
    const cmd = dv.getUint32(0, true);
    const arg1 = dv.getBigUint64(8, true);
    const arg2 = dv.getBigUint64(16, true);
    const mfn = Number(arg1 & 0xfffffffffn);
    names.push(MMUEXT_NAMES[cmd] ?? String(cmd));
    if (k === 0) {
      h.sub = cmd;
      h.subName = `MMUEXT_${MMUEXT_NAMES[cmd] ?? cmd}`;
      h.decoded.arg1 = arg1;
      h.decoded.arg2 = arg2;
    }
    switch (cmd) {
      case 0: case 1: case 2: case 3:
        if (!owned(mfn)) rc = -E.EINVAL;
        else if (h.d.pinned.has(mfn)) rc = -E.EINVAL;
        else {
          h.d.pinned.set(mfn, cmd + 1);
          h.d.ptFrames.add(mfn);
        }
        break;
      case 4:
        if (!h.d.pinned.delete(mfn)) rc = -E.EINVAL;
        break;
      case 5:
        if (!owned(mfn)) rc = -E.EINVAL;
        else {
          h.v.kernelCr3 = mfn;
          h.d.ptFrames.add(mfn);
          if (h.v.kernelMode) h.v.loadCr3(mfn);
        }
        break;
      case 15:
        if (mfn !== 0 && !owned(mfn)) rc = -E.EINVAL;
        else {
          h.v.userCr3 = mfn;
          if (mfn !== 0) h.d.ptFrames.add(mfn);
          if (!h.v.kernelMode) h.v.loadCr3(mfn);
        }
        break;
      case 6: case 8: case 10:
        for (const v of cmd === 6 ? [h.v] : h.d.vcpus) v.cpu.mmu.flush();
        break;
      case 7: case 9: case 11:
        for (const v of cmd === 7 ? [h.v] : h.d.vcpus) v.cpu.mmu.flushPage(Number(arg1 & 0xffffffffn), Number((arg1 >> 32n) & 0xffffffffn));
        break;
      case 12: case 18:
        break;
      case 13:
        if ((arg1 & 0xfffn) !== 0n || arg2 > 8192n || !isCanonical(arg1)) rc = -E.EINVAL;
        else {
          h.v.ldtBase = arg1;
          h.v.ldtEntries = Number(arg2);
        }
        break;
      case 16:
        if (!owned(mfn)) rc = -E.EINVAL;
        else h.xen.frames.mem.fill(mfn * 4096, 4096);
        break;
      case 17: {
        const src = Number(arg2 & 0xfffffffffn);
        if (!owned(mfn) || !mayMap(h, h.d, src)) rc = -E.EINVAL;
        else h.xen.frames.mem.write(mfn * 4096, h.xen.frames.mem.read(src * 4096, 4096));
        break;
      }
      default:
        rc = cmd === 19 || cmd === 20 ? -E.EINVAL : -E.ENOSYS;
    }
  }
  if (rc !== 0) k--;
  h.decoded.ops = names.join(',');
  if (done !== 0n && !h.v.guest.putU32(done, k)) return -E.EFAULT;
  return rc;
}

const XENMEM_NAMES: Record<number, string> = { 0: 'increase_reservation', 1: 'decrease_reservation', 2: 'maximum_ram_page', 3: 'current_reservation', 4: 'maximum_reservation', 6: 'populate_physmap', 7: 'add_to_physmap', 9: 'memory_map', 11: 'exchange' };

/** memory_op(cmd, arg) */
export function memoryOp(h: HcCtx): number {
  const cmd = u32(h.args[0]!) & 0x3f;
  const arg = h.args[1]!;
  h.sub = cmd;
  h.subName = `XENMEM_${XENMEM_NAMES[cmd] ?? cmd}`;
  const g = h.v.guest;
  const frames = h.xen.frames;
  switch (cmd) {
    case 2:
      return frames.frameCount - 1;
    case 3:
    case 4: {
      const dom = g.u16(arg);
      if (dom === null) return -E.EFAULT;
      h.decoded.domid = dom;
      if (dom !== DOMID_SELF && dom !== h.d.id) return h.d.privileged ? -E.ESRCH : -E.EPERM;
      return cmd === 3 ? frames.count(h.d.id) : h.d.maxPages;
    }
    case 0:
    case 1:
    case 6: {
      const raw = g.read(arg, 32);
      if (raw === null) return -E.EFAULT;
      const dv = new DataView(raw.buffer);
      const list = dv.getBigUint64(0, true);
      const nr = Number(dv.getBigUint64(8, true) & 0xffffffffn);
      const order = dv.getUint32(16, true);
      const dom = dv.getUint16(24, true);
      Object.assign(h.decoded, { nr_extents: nr, extent_order: order, domid: dom });
      if (dom !== DOMID_SELF && dom !== h.d.id) return -E.EPERM;
      if (order !== 0) return -E.EINVAL;
      let k = 0;
      for (; k < nr; k++) {
        const at = list + BigInt(8 * k);
        if (cmd === 1) {
          const mfn = g.u64(at);
          if (mfn === null) return k > 0 ? k : -E.EFAULT;
          const m = Number(mfn & 0xfffffffffn);
          if (m >= frames.frameCount || frames.owner[m] !== h.d.id || h.d.ptFrames.has(m)) break;
          const pfn = h.d.p2m.indexOf(m);
          if (pfn >= 0) h.d.p2m[pfn] = -1;
          frames.free(m);
          for (const v of h.d.vcpus) v.cpu.mmu.flush();
          continue;
        }
        if (frames.count(h.d.id) >= h.d.maxPages) break;
        const gpfn = cmd === 6 ? g.u64(at) : 0n;
        if (gpfn === null) return k > 0 ? k : -E.EFAULT;
        const mfn = frames.tryAlloc(h.d.id);
        if (mfn === null) break;
        if (cmd === 6) {
          const pfn = Number(gpfn & 0xfffffffffn);
          h.d.p2m[pfn] = mfn;
          frames.setM2p(mfn, BigInt(pfn));
        }
        if (!g.putU64(at, BigInt(mfn))) return k > 0 ? k : -E.EFAULT;
      }
      return k;
    }
    case 7: {
      const raw = g.read(arg, 24);
      if (raw === null) return -E.EFAULT;
      const dv = new DataView(raw.buffer);
      const space = dv.getUint32(4, true);
      const idx = Number(dv.getBigUint64(8, true) & 0xffffffffn);
      const gpfn = Number(dv.getBigUint64(16, true) & 0xfffffffffn);
      Object.assign(h.decoded, { space, idx, gpfn });
      let mfn: number;
      if (space === 0) mfn = h.d.sharedInfoMfn;
      else if (space === 1) {
        if (idx >= h.d.maxGrantFrames) return -E.EINVAL;
        while (h.d.grantFrames.length <= idx) h.d.grantFrames.push(frames.allocXen());
        mfn = h.d.grantFrames[idx]!;
      } else return -E.EINVAL;
      h.d.p2m[gpfn] = mfn;
      return 0;
    }
    case 9: {
      const nr = g.u32(arg);
      const buf = g.u64(arg + 8n);
      if (nr === null || buf === null) return -E.EFAULT;
      if (nr < 1) return -E.EINVAL;
      const e820 = new Uint8Array(20);
      const dv = new DataView(e820.buffer);
      dv.setBigUint64(8, BigInt(h.d.maxPages) * 4096n, true);
      dv.setUint32(16, 1, true); // E820_RAM
      if (!g.write(buf, e820) || !g.putU32(arg, 1)) return -E.EFAULT;
      return 0;
    }
    default:
      return -E.ENOSYS;
  }
}

/** vm_assist(cmd, type): enable (0) / disable (1) an assist Xen offers 64-bit PV guests. */
export function vmAssist(h: HcCtx): number {
  const cmd = u32(h.args[0]!);
  const type = u32(h.args[1]!);
  h.decoded.cmd = cmd;
  h.decoded.type = type;
  const valid = [1, 2, 3, 4, 5, 32].includes(type);
  if (cmd > 1) return -E.ENOSYS;
  if (!valid) return -E.EINVAL;
  if (type === 32) {
    h.d.m2pStrict = cmd === 0;
    return 0;
  }
  const bit = 1 << type;
  h.d.vmAssist = cmd === 0 ? h.d.vmAssist | bit : h.d.vmAssist & ~bit;
  return 0;
}
