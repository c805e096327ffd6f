/**
 * The receive side of one netif queue (Linux 6.1 xen-netback's rx.c, copy
 * only): frames the switch delivered wait in the queue's backlog until the
 * frontend has posted enough rx requests, then each is copied into the
 * posted buffers.
 *
 * A frame takes ceil(len / 4096) slots, plus one for a GSO extra: each
 * slot consumes the next rx request (its id and granted page), the data is
 * copied to offset 0 of that page with a grant copy, and the response
 * (id, offset 0, flags, status = bytes in this slot) goes in the slot at
 * rsp_prod_pvt. The first response carries NETRXF_data_validated when the
 * frame's checksum is known good, NETRXF_extra_info when a GSO extra
 * follows (in the next response slot); every response but the last
 * NETRXF_more_data. A failed copy makes that slot's status NETIF_RSP_ERROR.
 *
 * Flow control (xenvif_rx_ring_slots_available): with too few requests
 * posted, req_event is set to req_cons + the slots needed, and requests are
 * looked at again (RING_FINAL_CHECK's pairing); if still short the frame
 * waits for the frontend's next notify. The backlog holds RX_BACKLOG frames;
 * beyond that the switch's frames are dropped (counted), as netback drops
 * when its rx queue is full.
 */
import {
  netif_extra_info as EXTRA, netif_rx_request as REQ, netif_rx_response as RSP, NETIF_RSP_ERROR, NETRXF_data_validated, NETRXF_extra_info,
  NETRXF_more_data, XEN_NETIF_EXTRA_TYPE_GSO,
} from '../../xen/public/io/netif.js';
import { GNTST_okay } from '../../xen/public/grant_table.js';
import type { Frame } from './switch.js';

const PAGE = 4096;
/** Frames waiting for rx requests, at most. */
export const RX_BACKLOG = 256;

/** `waited`: times a frame had to wait for the frontend to post requests (flow control). */
export type RxStats = { packets: number; bytes: number; errors: number; dropped: number; waited: number };

/** What the rx side needs of its queue. */
export type RxIo = {
  /** rx requests published and not yet taken (req_prod - req_cons, bounded by the ring) */
  available(): number;
  /** ask to be notified when `n` requests are available (req_event), then look again: the count now */
  waitFor(n: number): number;
  /** take the next request: a private copy */
  take(): DataView;
  /** a response slot to fill (zeroed), then `push` publishes everything written */
  response(): DataView;
  copyOut(gref: number, src: Uint8Array, at: number, len: number): number;
};

/** Slots frame `f` needs. */
export function rxSlots(f: Frame): number {
  return Math.max(1, Math.ceil(f.bytes.length / PAGE)) + (f.gso !== null ? 1 : 0);
}

/** Move frames from `backlog` into the ring while requests allow; returns whether any moved. */
export function rxDrain(io: RxIo, backlog: Frame[], st: RxStats): boolean {
  let moved = false;
  while (backlog.length > 0) {
    const f = backlog[0]!;
    const need = rxSlots(f);
    if (io.available() < need && io.waitFor(need) < need) {
      st.waited++;
      break;
    }
    backlog.shift();
    rxFrame(io, f, st);
    moved = true;
  }
  return moved;
}

function rxFrame(io: RxIo, f: Frame, st: RxStats): void {
  const b = f.bytes;
  const chunks = Math.max(1, Math.ceil(b.length / PAGE));
  let failed = false;
  for (let k = 0; k < chunks; k++) {
    const req = io.take();
    const at = k * PAGE;
    const len = Math.min(PAGE, b.length - at);
    const rsp = io.response();
    rsp.setUint16(RSP.id, req.getUint16(REQ.id, true), true);
    rsp.setUint16(RSP.offset, 0, true);
    let flags = k + 1 < chunks ? NETRXF_more_data : 0;
    if (k === 0 && f.validated) flags |= NETRXF_data_validated;
    if (k === 0 && f.gso !== null) flags |= NETRXF_extra_info;
    rsp.setUint16(RSP.flags, flags, true);
    const ok = io.copyOut(req.getUint32(REQ.gref, true), b, at, len) === GNTST_okay;
    if (!ok) failed = true;
    rsp.setInt16(RSP.status, ok ? len : NETIF_RSP_ERROR, true);
    if (k === 0 && f.gso !== null) {
      io.take();
      const x = io.response();
      x.setUint8(EXTRA.type, XEN_NETIF_EXTRA_TYPE_GSO);
      x.setUint8(EXTRA.flags, 0);
      x.setUint16(EXTRA.u_gso_size, f.gso.size, true);
      x.setUint8(EXTRA.u_gso_type, f.gso.type);
      x.setUint16(EXTRA.u_gso_features, 0, true);
    }
  }
  if (failed) st.errors++;
  else {
    st.packets++;
    st.bytes += b.length;
  }
}
