/**
 * FIFO event channels (xen/common/event_fifo.c), the ABI Linux picks first
 * on Xen 4.17. A domain switches to it with its first EVTCHNOP_init_control
 * (a per-vCPU control block in a guest page) and grows the event array a
 * page of 1024 event words at a time (EVTCHNOP_expand_array). An event word
 * holds PENDING, MASKED, LINKED, BUSY and the link to the next port of its
 * queue; each vCPU has 16 queues by priority, their heads in its control
 * block and their tails in Xen. Raising an unmasked port links it at the
 * tail of its queue (or makes it the head), sets the queue's READY bit, and
 * makes an upcall pending. The guest consumes the queues itself.
 *
 * Xen's lock-free dance (BUSY, cmpxchg retries) guards against guest vCPUs
 * running concurrently; here nothing runs while Xen acts, so each step is a
 * plain read-modify-write of guest memory with the same outcome.
 */
import type { Domain, Port } from './domain.js';
import { PGT } from './page-types.js';
import * as EC from './public/event_channel.js';
import { Errno } from './public/xen.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

const PAGE = 4096;
/** EVTCHN_FIFO_EVENT_WORDS_PER_PAGE (Xen's event_fifo.h). */
const WORDS_PER_PAGE = PAGE / EC.event_word_t.size;
const P = 1 << EC.EVTCHN_FIFO_PENDING;
const M = 1 << EC.EVTCHN_FIFO_MASKED;
const L = 1 << EC.EVTCHN_FIFO_LINKED;
const B = 1 << EC.EVTCHN_FIFO_BUSY;
const { EINVAL, ENOENT, ENOSPC, EOPNOTSUPP } = Errno;

/** Per-vCPU FIFO state: the control block's machine address (0 = none) and each queue's tail port. */
export type FifoVcpu = { cb: number; tail: number[] };
export const noFifo = (): FifoVcpu => ({ cb: 0, tail: new Array<number>(EC.EVTCHN_FIFO_MAX_QUEUES).fill(0) });

/** Machine address of `port`'s event word, or -1 when its array page is not there yet. */
function wordAt(xen: Xen, d: Domain, port: number): number {
  const mfn = d.fifoPages[Math.floor(port / WORDS_PER_PAGE)];
  return mfn === undefined ? -1 : mfn * PAGE + (port % WORDS_PER_PAGE) * EC.event_word_t.size;
}
function rd(xen: Xen, ma: number): number {
  return xen.frames.mem.frame(Math.floor(ma / PAGE))!.getUint32(ma % PAGE, true);
}
function wr(xen: Xen, ma: number, v: number): void {
  xen.frames.mem.frame(Math.floor(ma / PAGE))!.setUint32(ma % PAGE, v >>> 0, true);
}

export function fifoIsPending(xen: Xen, d: Domain, port: number): boolean {
  const w = wordAt(xen, d, port);
  return w >= 0 && (rd(xen, w) & P) !== 0;
}
export function fifoIsMasked(xen: Xen, d: Domain, port: number): boolean {
  const w = wordAt(xen, d, port);
  return w < 0 || (rd(xen, w) & M) !== 0;
}
/** evtchn_fifo_clear_pending (on close): just P; the guest unlinks non-pending events itself. */
export function fifoClearPending(xen: Xen, d: Domain, port: number): void {
  const w = wordAt(xen, d, port);
  if (w >= 0) wr(xen, w, rd(xen, w) & ~P);
}

/**
 * evtchn_fifo_set_pending for `port` on vCPU `v`. Returns whether the port
 * became pending (for the pollers).
 */
export function fifoSetPending(xen: Xen, d: Domain, v: Vcpu, p: Port, port: number): boolean {
  const w = wordAt(xen, d, port);
  if (w < 0) {
    p.fifoPending = true; // raised when its array page arrives
    return false;
  }
  if (v.fifo.cb === 0) return false; // no control block: the guest cannot have unmasked it
  const word = rd(xen, w);
  wr(xen, w, word | P);
  let linked = true;
  if ((word & M) === 0 && (word & L) === 0) {
    wr(xen, w, rd(xen, w) | L);
    const old = d.vcpus[p.lastVcpu]?.fifo ?? v.fifo;
    // A port that was the tail of its old queue leaves that queue empty for Xen.
    if (old.tail[p.lastPriority] === port) old.tail[p.lastPriority] = 0;
    p.lastVcpu = v.id;
    p.lastPriority = p.priority;
    linked = false;
    const tail = v.fifo.tail[p.priority]!;
    if (tail !== 0) {
      const tw = wordAt(xen, d, tail);
      const t = tw < 0 ? 0 : rd(xen, tw);
      if ((t & L) !== 0) {
        wr(xen, tw, (t & ~(B | EC.EVTCHN_FIFO_LINK_MASK)) | port);
        linked = true;
      }
    }
    if (!linked) wr(xen, v.fifo.cb + EC.evtchn_fifo_control_block.head + EC.evtchn_fifo_control_block.head_stride * p.priority, port);
    v.fifo.tail[p.priority] = port;
  }
  if (!linked) {
    const ready = rd(xen, v.fifo.cb + EC.evtchn_fifo_control_block.ready);
    const bit = 1 << p.priority;
    if ((ready & bit) === 0) {
      wr(xen, v.fifo.cb + EC.evtchn_fifo_control_block.ready, ready | bit);
      xen.markEventsPending(v);
    }
  }
  return (word & P) === 0;
}

/** evtchn_fifo_unmask: clear MASKED, relink if pending. */
export function fifoUnmask(xen: Xen, d: Domain, v: Vcpu, p: Port, port: number): void {
  const w = wordAt(xen, d, port);
  if (w < 0) return;
  wr(xen, w, rd(xen, w) & ~M);
  if ((rd(xen, w) & P) !== 0) fifoSetPending(xen, d, v, p, port);
}

/** A writable page of the domain, referenced while Xen maps it (map_guest_page); its MFN or -EINVAL. */
function mapGuestPage(xen: Xen, d: Domain, gfn: bigint): number {
  const mfn = Number(gfn & 0xfffffffffn);
  if (gfn > 0xfffffffffn || !xen.pages.owned(d, mfn) || xen.pages.getType(d, mfn, PGT.WRITABLE) !== 0) return -EINVAL;
  return mfn;
}

/**
 * EVTCHNOP_init_control: map vCPU `vcpu`'s control block at gfn + offset.
 * The first one switches the domain to FIFO, keeping the 2-level pending
 * state of bound ports to raise once their array page exists.
 */
export function fifoInitControl(xen: Xen, d: Domain, vcpu: number, gfn: bigint, offset: number): number {
  const v = d.vcpus[vcpu];
  if (v === undefined) return -ENOENT;
  if (offset > PAGE - EC.evtchn_fifo_control_block.size || (offset & 7) !== 0) return -EINVAL;
  if (v.fifo.cb !== 0) return -EINVAL;
  const mfn = mapGuestPage(xen, d, gfn);
  if (mfn < 0) return mfn;
  v.fifo.cb = mfn * PAGE + offset;
  if (!d.fifo) {
    d.fifo = true;
    for (let port = 1; port < d.ports.length; port++) {
      const p = d.ports[port];
      if (!p) continue;
      if (xen.isPending2l(d, port)) p.fifoPending = true;
      p.priority = EC.EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
  }
  return 0;
}

/** EVTCHNOP_expand_array: one more page of event words; re-raise what was pending for it. */
export function fifoExpandArray(xen: Xen, d: Domain, gfn: bigint): number {
  if (!d.fifo) return -EOPNOTSUPP;
  const first = d.fifoPages.length * WORDS_PER_PAGE;
  if (first >= EC.EVTCHN_FIFO_NR_CHANNELS) return -ENOSPC;
  const mfn = mapGuestPage(xen, d, gfn);
  if (mfn < 0) return mfn;
  d.fifoPages.push(mfn);
  for (let port = first; port < first + WORDS_PER_PAGE && port < d.ports.length; port++) {
    const p = d.ports[port];
    if (p && p.fifoPending) fifoSetPending(xen, d, d.vcpus[p.vcpu] ?? d.vcpus[0]!, p, port);
  }
  return 0;
}

/** EVTCHNOP_reset of a FIFO domain: back to 2-level, Xen's page references dropped (evtchn_fifo_destroy). */
export function fifoDestroy(xen: Xen, d: Domain): void {
  for (const v of d.vcpus) {
    if (v.fifo.cb !== 0) xen.pages.putType(d, Math.floor(v.fifo.cb / PAGE));
    v.fifo = noFifo();
  }
  for (const mfn of d.fifoPages) xen.pages.putType(d, mfn);
  d.fifoPages = [];
  d.fifo = false;
}
