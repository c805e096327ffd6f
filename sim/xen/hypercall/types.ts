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
export const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
