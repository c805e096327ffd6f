/**
 * Segment descriptors as a 64-bit PV vCPU's hardware sees them: the guest's
 * GDT frames (set_gdt) below Xen's reserved entries, Xen's own entries from
 * FIRST_RESERVED_GDT_ENTRY (7168, selectors 0xe000 up; the guest can use
 * only the flat ring-3 ones), and the guest's LDT (MMUEXT_SET_LDT, read
 * through its page tables).
 *
 * Xen's check_descriptor forces guest code/data descriptors to DPL 3, so a
 * guest segment is always usable at CPL 3 as far as privilege goes.
 */
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

export const FIRST_RESERVED_GDT_ENTRY = 7168;
/** Xen's flat ring-3 descriptors: compat code, data, long-mode code (base 0, limit 4 GiB, DPL 3). */
const XEN_FLAT = new Map<number, bigint>([
  [0xe020, 0x00cffa000000ffffn],
  [0xe028, 0x00cff2000000ffffn],
  [0xe030, 0x00affa000000ffffn],
]);

/** The 8-byte descriptor selector `sel` names, or null beyond the table it names. */
export function descriptorOf(xen: Xen, v: Vcpu, sel: number): bigint | null {
  const index = sel >> 3;
  if ((sel & 4) !== 0) {
    if (index >= v.ldtEntries) return null;
    return v.guest.u64(v.ldtBase + BigInt(index * 8));
  }
  if (index >= FIRST_RESERVED_GDT_ENTRY) return XEN_FLAT.get(sel & 0xfff8) ?? null;
  if (index >= v.gdtEntries) return null;
  const mfn = v.gdtFrames[index >> 9];
  return mfn === undefined ? null : xen.frames.mem.frame(mfn)!.getBigUint64((index & 511) * 8, true);
}

/** Decoded access rights of a descriptor. */
export type Rights = { present: boolean; dpl: number; system: boolean; code: boolean; conforming: boolean; long: boolean };

export function rightsOf(desc: bigint): Rights {
  const access = Number((desc >> 40n) & 0xffn);
  const flags = Number((desc >> 52n) & 0xfn);
  return {
    present: (access & 0x80) !== 0,
    dpl: (access >> 5) & 3,
    system: (access & 0x10) === 0,
    code: (access & 0x18) === 0x18,
    conforming: (access & 0x1c) === 0x1c,
    long: (flags & 2) !== 0,
  };
}

const SEG_P = 0x8000;
const SEG_S = 0x1000;
const SEG_TYPE = 0xf00;
const SEG_DPL = 0x6000;

/**
 * check_descriptor for a 64-bit PV guest: the descriptor as Xen stores it,
 * or null if Xen refuses it. Not-present descriptors pass untouched; code
 * and data get DPL 3; a call gate (type 0xc) must target a guest or LDT
 * selector or Xen's flat kernel CS, and is stored with DPL 0 (so using it
 * faults and Xen emulates it) and its DPL in the target selector's RPL;
 * every other system descriptor is refused.
 */
export function checkDescriptor(desc: bigint): bigint | null {
  let a = Number(desc & 0xffffffffn);
  let b = Number(desc >> 32n);
  if ((b & SEG_P) === 0) return desc;
  const dpl = 3;
  b = (b & ~SEG_DPL) | (dpl << 13);
  if ((b & SEG_S) === 0) {
    if ((b & SEG_TYPE) === 0) return desc;
    if ((b & SEG_TYPE) !== 0xc00) return null;
    const cs = a >>> 16;
    if (!((cs >> 3) < FIRST_RESERVED_GDT_ENTRY || cs === 0xe033 || (cs & 4) !== 0)) return null;
    b &= ~SEG_DPL;
    a = (a & 0xffff) | ((((cs & ~3) | dpl) & 0xffff) << 16);
    if ((b & 0xff) !== 0) return null;
  }
  return (BigInt(b >>> 0) << 32n) | BigInt(a >>> 0);
}
