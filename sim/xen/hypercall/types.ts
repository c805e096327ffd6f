/**
 * What every hypercall handler receives and returns. Handlers decode their
 * arguments (reading structs from guest memory) into `decoded`, name their
 * sub-operation, and return a Xen errno (negative) or a result; null leaves
 * RAX alone (iret, which restores it). Handlers never throw for guest input.
 */
import type { Decoded } from '../../events.js';
import type { Domain } from '../domain.js';
import type { Vcpu } from '../vcpu.js';
import type { Xen } from '../xen.js';
import { HYPERVISOR_VIRT_END } from '../public/arch-x86/xen-x86_64.js';

export type HcCtx = {
  xen: Xen;
  d: Domain;
  v: Vcpu;
  /** rdi, rsi, rdx, r10, r8 */
  args: bigint[];
  decoded: Decoded;
  sub: number;
  subName: string;
  /** set by a handler that must stop the vCPU's slice (block, yield, poll, shutdown) */
  yieldSlice: boolean;
};

export type HcHandler = (ctx: HcCtx) => number | null;

/** The errno values Xen returns (public/errno.h); handlers return them negated. */
export { Errno as E } from '../public/xen.js';

export { DOMID_SELF } from '../public/xen.js';

export const u32 = (v: bigint): number => Number(v & 0xffffffffn);
/** Guest address of a struct field: `base` plus its offset from a sim/xen/public descriptor. */
export const fld = (base: bigint, offset: number): bigint => base + BigInt(offset);
export const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));

/** 2^64 - 1: Xen's `~0UL`, and the mask of its unsigned long arithmetic. */
export const U64 = (1n << 64n) - 1n;
/**
 * guest_handle_subrange_okay for a 64-bit PV guest (x86's array_access_ok
 * and __addr_ok): elements first..last of `size` bytes at `p` are a range
 * whose length does not overflow, starting in the lower canonical half or
 * above Xen's hole (a range that runs on from there faults before reaching
 * Xen, so only its start is checked). 64-bit unsigned arithmetic.
 */
export function guestHandleSubrangeOkay(p: bigint, first: bigint, last: bigint, size: number): boolean {
  // the element count, last - first + 1, is below ~0 / size (0 when it wraps, which passes as in Xen)
  const span = (last - first) & U64;
  if (span !== U64 && span >= U64 / BigInt(size) - 1n) return false;
  const at = (p + first * BigInt(size)) & U64;
  return at < 1n << 47n || at >= HYPERVISOR_VIRT_END;
}

/**
 * `PREFIX_name` of a sub-op (`EVTCHNOP_send`), one string per known sub-op
 * built once, so events share it and the trace's string table hashes it
 * once; an unknown sub-op is `PREFIX_<number>`, built each time (a guest
 * passing garbage must not grow a cache).
 */
/**
 * The sub-op names of a sim/xen/public module: every numeric export
 * `PREFIX_name` as number -> name (where upstream has aliases, the
 * alphabetically first: module namespaces list their exports sorted), for
 * subOpNames.
 */
export function namesFrom(mod: Readonly<Record<string, unknown>>, prefix: string): Record<number, string> {
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(mod)) if (k.startsWith(`${prefix}_`) && typeof v === 'number' && out[v] === undefined) out[v] = k.slice(prefix.length + 1);
  return out;
}

export function subOpNames(prefix: string, names: Readonly<Record<number, string>>): (cmd: number) => string {
  const known = new Map<number, string>();
  for (const [k, n] of Object.entries(names)) if (n !== '') known.set(Number(k), `${prefix}_${n}`);
  return (cmd) => known.get(cmd) ?? `${prefix}_${cmd}`;
}
