/**
 * One connected blkif ring of a vbd (one queue): the backend's side of
 * public/io/ring.h over the ring pages it mapped, as Linux's
 * do_block_io_op / make_response run it.
 *
 * Consumption (ordering points 1, 2, 4 of ring.ts): read req_prod once,
 * then the slots below it; a req_prod more than the ring's size ahead of
 * what was answered means a broken frontend: the ring is halted for good
 * (no further request is read, as blkback waits for disconnection). Each
 * slot is copied before it is looked at (RING_COPY_REQUEST) and req_cons
 * advanced before the request is answered. When nothing is left,
 * RING_FINAL_CHECK_FOR_REQUESTS: req_event = req_cons + 1, look again.
 *
 * Responses (ordering point 3): each one is written to the slot at
 * rsp_prod_pvt, then pushed on its own (RING_PUSH_RESPONSES_AND_CHECK_NOTIFY:
 * store rsp_prod, then notify iff rsp_event lies in (old, new]); before
 * notifying, the trace gets the ring traffic so far, then dom0's send.
 *
 * Under chaos (../chaos.ts) a response may fail, be held back (pushed by
 * `release` at its due time, the machine's timer point for dom0) or pushed
 * after the next one (legal: the frontend matches responses by id); a push
 * may skip its notify (drop), and a kick may end with a notify that
 * carries nothing (spurious). Requests are still executed as they are
 * read, in ring order: only their completions move.
 */
import { blkif_response as RSP, blkif_sring_entry, BLK_RING_SIZE, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY } from '../../xen/public/io/blkif.js';
import { sring } from '../../xen/public/io/ring.js';
import type { Dom0Env, GrantMap } from '../backend.js';
import type { DiskStore } from './disk.js';
import { freePersistent, type GrantCtx } from './grants.js';
import type { Chaos } from '../chaos.js';
import { execute, type BlkStats, type IoCtx, type Response } from './request.js';

const PAGE = 4096;

/** What a ring is between calls, as plain data (snapshots). */
export type BlkRingState = {
  /** queue number (queue-N), 0 for a single ring */
  queue: number;
  /** dom0's port, and the frontend's */
  port: number;
  fePort: number;
  /** ring-ref(s), and the ring pages mapped from them */
  refs: number[];
  pages: GrantMap[];
  entries: number;
  reqCons: number;
  rspProdPvt: number;
  /** persistent grants kept: reference -> mapping, in the order they were mapped */
  pgrants: Map<number, GrantMap>;
  halted: boolean;
  stats: BlkStats;
  /** responses chaos holds back, in the order they were made (present only under chaos: a plain run's snapshots are unchanged) */
  held?: HeldResponse[];
};

/** A response chaos (../chaos.ts) holds back: pushed at `due` (virtual ns), or, `behind` (reordered), right after the next response pushed. */
export type HeldResponse = Response & { due: number; behind: boolean };

/** __CONST_RING_SIZE(blkif, nr_pages * 4096): entries rounded down to a power of two. */
export function ringEntries(nrPages: number): number {
  return 2 ** Math.floor(Math.log2((nrPages * PAGE - sring.ring) / blkif_sring_entry.size));
}

/**
 * A ring attached to pages the frontend initialised, at its rsp_prod
 * (BACK_RING_ATTACH: a backend connecting to a ring already in use goes on
 * where the last one stopped).
 */
export function newRingState(queue: number, port: number, fePort: number, refs: number[], pages: GrantMap[], rspProd: number): BlkRingState {
  return {
    queue, port, fePort, refs, pages, entries: pages.length === 1 ? BLK_RING_SIZE : ringEntries(pages.length), reqCons: rspProd, rspProdPvt: rspProd,
    pgrants: new Map(), halted: false, stats: { rdReq: 0, wrReq: 0, fReq: 0, dsReq: 0, rdSect: 0, wrSect: 0 },
  };
}

/** The device a ring serves requests for (its owner updates it: the disk opens after the rings may have connected). */
export type RingDevice = { fe: number; disk: DiskStore | null; readonly: boolean; persistent: boolean; name: string; chaos: Chaos | null };

export class BlkRing {
  private readonly bytes: Uint8Array[];
  private readonly head: DataView;
  private readonly slot = new Uint8Array(blkif_sring_entry.size);
  private readonly slotView = new DataView(this.slot.buffer);

  constructor(private readonly env: Dom0Env, readonly s: BlkRingState, private readonly dev: RingDevice) {
    // Views kept for the ring's life (responses are written through them): env.frame, which pins them dirty.
    this.bytes = s.pages.map((p) => {
      const v = env.frame(p.mfn);
      return new Uint8Array(v.buffer, v.byteOffset, PAGE);
    });
    this.head = env.frame(s.pages[0]!.mfn);
  }

  private grants(): GrantCtx {
    return { env: this.env, fe: this.dev.fe, persistent: this.dev.persistent, pgrants: this.s.pgrants };
  }

  /** The frontend notified (or the device just connected): serve everything published. */
  process(): void {
    const s = this.s;
    const disk = this.dev.disk;
    if (s.halted || disk === null) return;
    const io: IoCtx = { ...this.grants(), disk, readonly: this.dev.readonly, stats: s.stats };
    for (;;) {
      const rp = this.head.getUint32(sring.req_prod, true);
      if (((rp - s.rspProdPvt) >>> 0) > s.entries) {
        s.halted = true;
        this.env.emit({ kind: 'milestone', text: `blkback ${this.dev.name}: frontend provided bogus ring requests (${rp} - ${s.rspProdPvt} = ${(rp - s.rspProdPvt) >>> 0}), halting ring processing` });
        break;
      }
      while (s.reqCons !== rp && ((s.reqCons - s.rspProdPvt) >>> 0) < s.entries) {
        this.copySlot(s.reqCons);
        s.reqCons = (s.reqCons + 1) >>> 0;
        this.complete(execute(io, this.slotView));
      }
      // RING_FINAL_CHECK_FOR_REQUESTS
      if (this.unconsumed() > 0) continue;
      this.head.setUint32(sring.req_event, (s.reqCons + 1) >>> 0, true);
      if (this.unconsumed() === 0) break;
    }
    const c = this.dev.chaos;
    if (c !== null && c.roll('spurious')) {
      c.note(`blkback ${this.where}: spurious: a notification with nothing new behind it (rsp_prod ${s.rspProdPvt})`);
      this.env.ringCheck(this.dev.fe, s.fePort, true);
      this.env.notify(s.port, true);
    }
    this.env.ringCheck(this.dev.fe, s.fePort, false);
  }

  private get where(): string {
    return `vbd ${this.dev.name} queue ${this.s.queue}`;
  }

  /**
   * A request's response, as chaos (if on) has it (decision points, in this
   * order, each one draw: error, for a request that succeeded; delay;
   * reorder): failed, held back for a while, or held back until the next
   * response; otherwise pushed now, and the responses held back behind it
   * right after it.
   */
  private complete(r: Response): void {
    const c = this.dev.chaos;
    if (c === null) return this.respond(r);
    const s = this.s;
    const what = `response to request 0x${r.id.toString(16)} (operation ${r.op})`;
    if (r.status === BLKIF_RSP_OKAY && c.roll('error')) {
      r = { ...r, status: BLKIF_RSP_ERROR };
      c.note(`blkback ${this.where}: error: request 0x${r.id.toString(16)} (operation ${r.op}) fails with BLKIF_RSP_ERROR`);
    }
    const held = (s.held ??= []);
    if (c.roll('delay')) {
      const d = c.delay();
      held.push({ ...r, due: this.env.now() + d, behind: false });
      return c.note(`blkback ${this.where}: delay: ${what} made ${d} ns later`);
    }
    if (c.roll('reorder')) {
      held.push({ ...r, due: this.env.now() + c.config.maxDelay, behind: true });
      return c.note(`blkback ${this.where}: reorder: ${what} held back until the next response is pushed`);
    }
    this.respond(r);
    if (!held.some((h) => h.behind)) return;
    s.held = held.filter((h) => !h.behind);
    for (const h of held) if (h.behind) this.respond(h);
  }

  /** The earliest time a held-back response is due, or -1. */
  deadline(): number {
    let t = -1;
    for (const h of this.s.held ?? []) if (t < 0 || h.due < t) t = h.due;
    return t;
  }

  /** Push the held-back responses due by `now` (earliest first; ties in the order they were made), as a completion handler would. */
  release(now: number): void {
    const held = this.s.held;
    if (held === undefined || !held.some((h) => h.due <= now)) return;
    const due = held.filter((h) => h.due <= now).sort((a, b) => a.due - b.due);
    this.s.held = held.filter((h) => h.due > now);
    for (const h of due) this.respond(h);
    this.env.ringCheck(this.dev.fe, this.s.fePort, false);
  }

  /** RING_HAS_UNCONSUMED_REQUESTS. */
  private unconsumed(): number {
    const s = this.s;
    const req = (this.head.getUint32(sring.req_prod, true) - s.reqCons) >>> 0;
    const rsp = s.entries - ((s.reqCons - s.rspProdPvt) >>> 0);
    return Math.min(req, rsp);
  }

  /** Byte offset of entry `idx` in the ring pages. */
  private entryOffset(idx: number): number {
    return sring.ring + (idx & (this.s.entries - 1)) * blkif_sring_entry.size;
  }

  private copySlot(idx: number): void {
    const o = this.entryOffset(idx);
    for (let i = 0; i < this.slot.length; i++) this.slot[i] = this.bytes[Math.floor((o + i) / PAGE)]![(o + i) % PAGE]!;
  }

  /** make_response: the response into its slot, pushed, and the frontend notified if it asked. */
  private respond(r: Response): void {
    const s = this.s;
    const rsp = new DataView(new ArrayBuffer(RSP.size));
    rsp.setBigUint64(RSP.id, r.id, true);
    rsp.setUint8(RSP.operation, r.op);
    rsp.setInt16(RSP.status, r.status, true);
    const o = this.entryOffset(s.rspProdPvt);
    for (let i = 0; i < RSP.size; i++) this.bytes[Math.floor((o + i) / PAGE)]![(o + i) % PAGE] = rsp.getUint8(i);
    s.rspProdPvt = (s.rspProdPvt + 1) >>> 0;
    const old = this.head.getUint32(sring.rsp_prod, true);
    const now = s.rspProdPvt;
    this.head.setUint32(sring.rsp_prod, now, true);
    const event = this.head.getUint32(sring.rsp_event, true);
    if (((now - event) >>> 0) < ((now - old) >>> 0)) {
      const c = this.dev.chaos;
      if (c !== null && c.roll('drop')) return c.note(`blkback ${this.where}: drop: responses ${old} -> ${now} pushed with rsp_event ${event} in (${old}, ${now}], and no notification`);
      this.env.ringCheck(this.dev.fe, s.fePort, true);
      this.env.notify(s.port, true);
    }
  }

  /** Disconnect: the persistent grants, the ring pages and the event channel go. */
  disconnect(): void {
    freePersistent(this.grants());
    for (const p of this.s.pages) this.env.unmapGrant(p);
    this.env.close(this.s.port);
    this.env.ringRemove(this.dev.fe, this.s.fePort);
  }
}
