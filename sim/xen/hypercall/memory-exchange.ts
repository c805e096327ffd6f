/**
 * XENMEM_exchange as Xen 4.17 does it for a PV guest (xen/common/memory.c
 * memory_exchange): the guest gives back extents of its memory and gets
 * the same amount in extents of another order, below an address limit.
 * Linux uses it to make machine-contiguous DMA buffers (its swiotlb and
 * xen_create_contiguous_region): 2^n single frames in, one order-n extent
 * out, below 4 GiB.
 *
 * Chunk by chunk, as Xen: steal the input frames (they must be the
 * domain's, unmapped and untyped), allocate the output extents (aligned
 * runs of free frames, Frames.allocContiguous), then free the input and
 * put the output at the guest frame numbers out.extent_start names (M2P),
 * writing each new extent's first MFN back there. A chunk that fails is
 * undone; nr_exchanged says how many input extents were exchanged.
 */
import type { Domain } from '../domain.js';
import { xen_pfn_t } from '../public/arch-x86/xen.js';
import * as M from '../public/memory.js';
import { DOMID_SELF, E, fld, guestHandleSubrangeOkay, U64, type HcCtx } from './types.js';

/** max_order(): HWDOM_MAX_ORDER / CTLDOM_MAX_ORDER (12) for dom0, DOMU_MAX_ORDER (9) for a domU. */
const maxOrder = (d: Domain): number => (d.privileged ? 12 : 9);
/** PAGE_SHIFT: machine address bits below the frame number. */
const PAGE_SHIFT = 12;

/** A reservation as the guest gave it; `nr` exactly (a guest may pass any 64-bit count), `nrN` as a number once validated. */
type Res = { list: bigint; nr: bigint; nrN: number; order: number; flags: number; domid: number };

function readRes(dv: DataView, at: number): Res {
  const R = M.xen_memory_reservation;
  const nr = dv.getBigUint64(at + R.nr_extents, true);
  return {
    list: dv.getBigUint64(at + R.extent_start, true),
    nr,
    nrN: Number(nr),
    order: dv.getUint32(at + R.extent_order, true),
    flags: dv.getUint32(at + R.mem_flags, true),
    domid: dv.getUint16(at + R.domid, true),
  };
}

export function memoryExchange(h: HcCtx, arg: bigint): number {
  const g = h.v.guest;
  const X = M.xen_memory_exchange;
  const raw = g.read(arg, X.size);
  if (raw === null) return -E.EFAULT;
  const dv = new DataView(raw.buffer);
  const inp = readRes(dv, X.in);
  const out = readRes(dv, X.out);
  const doneB = dv.getBigUint64(X.nr_exchanged, true);
  const done = Number(doneB);
  Object.assign(h.decoded, { in_nr: inp.nrN, in_order: inp.order, out_nr: out.nrN, out_order: out.order, address_bits: out.flags & M.XENMEMF_address_bits_mask, nr_exchanged: done });
  if (Math.max(inp.order, out.order) > maxOrder(h.d)) return -E.EPERM;
  // (in 64-bit integers, as Xen: XSA-212's arguments differ only beyond a double's precision)
  const inO = BigInt(inp.order);
  const outO = BigInt(out.order);
  if (doneB > inp.nr || inp.domid !== out.domid || U64 >> inO < inp.nr || U64 >> outO < out.nr || inp.nr << inO !== out.nr << outO) return -E.EINVAL;
  if (doneB === inp.nr) return 0;
  // Both lists from the first extent not yet exchanged lie where the guest may point (XSA-212).
  if (!guestHandleSubrangeOkay(inp.list, doneB, inp.nr - 1n, xen_pfn_t.size)) return -E.EFAULT;
  const outFirst = inp.order <= out.order ? doneB >> (outO - inO) : (doneB << (inO - outO)) & U64;
  if (!guestHandleSubrangeOkay(out.list, outFirst, out.nr - 1n, xen_pfn_t.size)) return -E.EFAULT;
  const d = h.xen.domain(inp.domid === DOMID_SELF ? h.d.id : inp.domid);
  if (d === undefined) return -E.ESRCH;
  if (d !== h.d && !h.d.privileged) return -E.EPERM;
  const bits = out.flags & M.XENMEMF_address_bits_mask;
  const limit = bits === 0 || bits - PAGE_SHIFT >= 52 ? Number.MAX_SAFE_INTEGER : 2 ** (bits - PAGE_SHIFT);
  const inChunk = inp.order <= out.order ? out.order - inp.order : 0;
  const outChunk = inp.order <= out.order ? 0 : inp.order - out.order;
  const { frames, pages } = h.xen;
  const ret = (i: number, rc: number): number => {
    const ok = g.putU64(fld(arg, X.nr_exchanged), BigInt(i * 2 ** inChunk));
    return ok ? rc : -E.EFAULT;
  };
  for (let i = Math.floor(done / 2 ** inChunk); i < Math.floor(inp.nrN / 2 ** inChunk); i++) {
    // Steal the chunk's input frames: the domain's own, with no mapping or type reference left.
    const stolen: number[] = [];
    for (let j = 0; j < 2 ** inChunk; j++) {
      const gmfn = g.u64(fld(inp.list, xen_pfn_t.size * (i * 2 ** inChunk + j)));
      if (gmfn === null) return ret(i, -E.EFAULT);
      for (let k = 0; k < 2 ** inp.order; k++) {
        const mfn = Number(gmfn & 0xfffffffffn) + k;
        if (mfn >= frames.frameCount) return ret(i, -E.EINVAL);
        if (!pages.owned(d, mfn) || pages.count[mfn] !== 0 || pages.maps[mfn] !== 0 || pages.isReleasing(mfn) || stolen.includes(mfn)) return ret(i, -E.EINVAL);
        stolen.push(mfn);
      }
    }
    // Allocate the chunk's output extents (undone if one cannot be found).
    const got: number[] = [];
    for (let j = 0; j < 2 ** outChunk; j++) {
      const base = frames.allocContiguous(d.id, out.order, limit);
      if (base === null) {
        for (const b of got) for (let k = 0; k < 2 ** out.order; k++) frames.free(b + k);
        return ret(i, -E.ENOMEM);
      }
      got.push(base);
    }
    for (const mfn of stolen) {
      const pfn = Number(frames.getM2p(mfn));
      if (d.p2m[pfn] === mfn) d.p2m[pfn] = -1;
      pages.release(mfn);
    }
    let rc = 0;
    got.forEach((base, j) => {
      const at = fld(out.list, xen_pfn_t.size * (i * 2 ** outChunk + j));
      const gpfn = g.u64(at);
      if (gpfn === null) {
        rc = -E.EFAULT;
        return;
      }
      for (let k = 0; k < 2 ** out.order; k++) {
        const pfn = Number(gpfn & 0xfffffffffn) + k;
        frames.setM2p(base + k, BigInt(pfn));
        d.p2m[pfn] = base + k;
      }
      if (!g.putU64(at, BigInt(base))) rc = -E.EFAULT;
    });
    for (const v of d.vcpus) v.cpu.mmu.flush();
    if (rc !== 0) return ret(i + 1, rc);
  }
  return ret(Math.floor(inp.nrN / 2 ** inChunk), 0);
}
