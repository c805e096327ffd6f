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
 */
import { blkif_response as RSP, blkif_sring_entry, BLK_RING_SIZE } from '../../xen/public/io/blkif.js';
import { sring } from '../../xen/public/io/ring.js';
import type { Dom0Env, GrantMap } from '../backend.js';
import type { DiskStore } from './disk.js';
import { freePersistent, type GrantCtx } from './grants.js';
import { execute, type BlkStats, type IoCtx } from './request.js';

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
};

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
export type RingDevice = { fe: number; disk: DiskStore | null; readonly: boolean; persistent: boolean; name: string };

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
        this.respond(execute(io, this.slotView));
      }
      // RING_FINAL_CHECK_FOR_REQUESTS
      if (this.unconsumed() > 0) continue;
      this.head.setUint32(sring.req_event, (s.reqCons + 1) >>> 0, true);
      if (this.unconsumed() === 0) break;
    }
    this.env.ringCheck(this.dev.fe, s.fePort);
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
  private respond(r: { id: bigint; op: number; status: number }): void {
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
      this.env.ringCheck(this.dev.fe, s.fePort);
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
