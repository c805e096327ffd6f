/**
 * The transmit side of one netif queue (Linux 6.1 xen-netback's
 * xenvif_tx_build_gops / xenvif_tx_submit / make_tx_response, with grant
 * copies done at once): packets the frontend put on its tx ring become
 * frames on the switch.
 *
 * A packet is a first request, its extra-info slots (NETTXF_extra_info,
 * chained by XEN_NETIF_EXTRA_FLAG_MORE), then fragments while the previous
 * slot had NETTXF_more_data. The first request's size is the whole packet;
 * each fragment's size is subtracted from it, what is left is the first
 * slot's own data. Checks, as netback's:
 * - fatal (the frontend is broken: the queue stops for good, a milestone
 *   says why, as xenvif_fatal_tx_err disables the vif): req_prod more than
 *   the ring ahead; an extra slot or fragment not yet published; an extra of
 *   type NONE or unknown; GSO of size 0 or an unknown GSO type; more than
 *   XEN_NETBK_LEGACY_SLOTS_MAX + 2 slots (fatal_skb_slots); a slot crossing
 *   its page;
 * - the packet is refused, every slot answered NETIF_RSP_ERROR (xenvif_tx_err):
 *   a fragment bigger than what is left of the packet, a packet shorter than
 *   an Ethernet header, or larger than XEN_NETIF_MAX_TX_SIZE;
 * - a grant copy that fails answers its slot NETIF_RSP_ERROR (the others
 *   NETIF_RSP_OKAY) and drops the packet;
 * - NETTXF_csum_blank: the TCP/UDP checksum over IPv4 is completed here (the
 *   switch carries only finished frames); a packet whose checksum cannot be
 *   set up (not TCP/UDP over IPv4, or truncated) is answered
 *   NETIF_RSP_DROPPED and not sent.
 * A multicast-control extra (MCAST_ADD/DEL) is answered on its own and sends
 * nothing. Under chaos (queue.ts) a packet that would be sent may instead
 * be answered NETIF_RSP_ERROR (counted an error) or NETIF_RSP_DROPPED
 * (counted dropped), and not sent. Responses come in request order: the first slot's, NETIF_RSP_NULL
 * for each extra slot, then one per fragment.
 */
import {
  netif_extra_info as EXTRA, netif_tx_request as REQ, NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_csum_blank,
  NETTXF_data_validated, NETTXF_extra_info, NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MAX,
  XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, XEN_NETIF_EXTRA_TYPE_NONE, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6,
  XEN_NETIF_MAX_TX_SIZE, XEN_NETIF_NR_SLOTS_MIN,
} from '../../xen/public/io/netif.js';
import { GNTST_okay } from '../../xen/public/grant_table.js';
import { completeChecksum } from './csum.js';
import * as P from './proto.js';
import type { Frame } from './switch.js';

const PAGE = 4096;
/** netback's fatal_skb_slots default (FATAL_SKB_SLOTS_DEFAULT = XEN_NETIF_NR_SLOTS_MIN + 2). */
export const FATAL_SKB_SLOTS = XEN_NETIF_NR_SLOTS_MIN + 2;

export type TxSlot = { id: number; gref: number; offset: number; flags: number; size: number };
/** What the tx side needs of its queue: slots, responses, copies, the switch. */
export type TxIo = {
  /** the request at ring index `idx` (a private copy) */
  request(idx: number): DataView;
  respond(id: number, status: number): void;
  /** copy a fragment out of the guest's grant into `buf` at `at`: a GNTST_* code */
  copyIn(gref: number, offset: number, buf: Uint8Array, at: number, len: number): number;
  send(f: Frame): void;
  mcast(add: boolean, mac: Uint8Array): boolean;
  fatal(why: string): void;
  /** chaos's say on a packet about to be sent, first slot's id `id`: NETIF_RSP_OKAY, or the status it fails with instead (absent: none) */
  fault?(id: number): number;
};

export type TxStats = { packets: number; bytes: number; errors: number; dropped: number };

/**
 * Build and send one packet starting at ring index `cons` with `avail`
 * requests published from there. Returns the slots consumed, or -1 after a
 * fatal error (nothing consumed).
 */
export function txPacket(io: TxIo, cons: number, avail: number, st: TxStats): number {
  const first = slotAt(io, cons);
  let used = 1;
  let gso: { size: number; type: number } | null = null;
  let mcast: { add: boolean; mac: Uint8Array } | null = null;
  let extras = 0;
  if ((first.flags & NETTXF_extra_info) !== 0) {
    for (let more = true; more; ) {
      if (used >= avail) return fatal(io, 'Missing extra info');
      const x = io.request((cons + used) >>> 0);
      used++;
      extras++;
      const xtype = x.getUint8(EXTRA.type);
      if (xtype === XEN_NETIF_EXTRA_TYPE_NONE || xtype >= XEN_NETIF_EXTRA_TYPE_MAX) return fatal(io, `Invalid extra type: ${xtype}`);
      more = (x.getUint8(EXTRA.flags) & XEN_NETIF_EXTRA_FLAG_MORE) !== 0;
      if (xtype === XEN_NETIF_EXTRA_TYPE_GSO) {
        gso = { size: x.getUint16(EXTRA.u_gso_size, true), type: x.getUint8(EXTRA.u_gso_type) };
        if (gso.size === 0) return fatal(io, 'GSO size must not be zero.');
        if (gso.type !== XEN_NETIF_GSO_TYPE_TCPV4 && gso.type !== XEN_NETIF_GSO_TYPE_TCPV6) return fatal(io, `Bad GSO type ${gso.type}.`);
      } else if (xtype === XEN_NETIF_EXTRA_TYPE_MCAST_ADD || xtype === XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
        const mac = new Uint8Array(P.ETH_ALEN);
        for (let i = 0; i < P.ETH_ALEN; i++) mac[i] = x.getUint8(EXTRA.u_mcast_addr + i);
        mcast = { add: xtype === XEN_NETIF_EXTRA_TYPE_MCAST_ADD, mac };
      }
    }
  }
  if (mcast !== null) {
    respond(io, first.id, io.mcast(mcast.add, mcast.mac) ? NETIF_RSP_OKAY : NETIF_RSP_ERROR, extras);
    return used;
  }
  // Fragments (xenvif_count_requests).
  const frags: TxSlot[] = [];
  let left = first.size;
  let refused = false;
  for (let last = first; (last.flags & NETTXF_more_data) !== 0; ) {
    if (frags.length + 1 >= FATAL_SKB_SLOTS) return fatal(io, `Malicious frontend using ${frags.length + 2} slots, threshold ${FATAL_SKB_SLOTS}`);
    if (used >= avail) return fatal(io, `Asked for ${frags.length + 2} slots but exceeds this limit`);
    last = slotAt(io, (cons + used) >>> 0);
    used++;
    if (last.size > left) refused = true;
    else left -= last.size;
    if (last.offset + last.size > PAGE) return fatal(io, `Cross page boundary, txp->offset: ${last.offset}, size: ${last.size}`);
    frags.push(last);
  }
  const slots = [{ ...first, size: left }, ...frags];
  if (refused || left < P.ETH_HLEN || first.size > XEN_NETIF_MAX_TX_SIZE) {
    st.errors++;
    for (const [k, s] of slots.entries()) respond(io, s.id, NETIF_RSP_ERROR, k === 0 ? extras : 0);
    return used;
  }
  if (first.offset + left > PAGE) return fatal(io, `Cross page boundary, txreq.offset: ${first.offset}, size: ${left}`);
  const bytes = new Uint8Array(first.size);
  const status = slots.map(() => NETIF_RSP_OKAY);
  let at = 0;
  let ok = true;
  slots.forEach((s, k) => {
    if (io.copyIn(s.gref, s.offset, bytes, at, s.size) !== GNTST_okay) {
      status[k] = NETIF_RSP_ERROR;
      ok = false;
    }
    at += s.size;
  });
  let validated = (first.flags & NETTXF_data_validated) !== 0;
  if (ok && (first.flags & NETTXF_csum_blank) !== 0) {
    if (completeChecksum(bytes)) validated = true;
    else status[0] = NETIF_RSP_DROPPED;
  }
  if (ok && status[0] === NETIF_RSP_OKAY && io.fault !== undefined) {
    // The one decision point of a tx packet: one that would be sent.
    const f = io.fault(first.id);
    if (f === NETIF_RSP_ERROR) ok = false;
    status[0] = f;
  }
  slots.forEach((s, k) => respond(io, s.id, status[k]!, k === 0 ? extras : 0));
  if (!ok) st.errors++;
  else if (status[0] === NETIF_RSP_DROPPED) st.dropped++;
  else {
    st.packets++;
    st.bytes += bytes.length;
    io.send({ bytes, validated, gso });
  }
  return used;
}

function slotAt(io: TxIo, idx: number): TxSlot {
  const v = io.request(idx);
  return { id: v.getUint16(REQ.id, true), gref: v.getUint32(REQ.gref, true), offset: v.getUint16(REQ.offset, true), flags: v.getUint16(REQ.flags, true), size: v.getUint16(REQ.size_, true) };
}

/** make_tx_response: the slot's response, then NETIF_RSP_NULL for each of its extra slots. */
function respond(io: TxIo, id: number, status: number, extras: number): void {
  io.respond(id, status);
  for (let k = 0; k < extras; k++) io.respond(0, NETIF_RSP_NULL);
}

function fatal(io: TxIo, why: string): number {
  io.fatal(why);
  return -1;
}
