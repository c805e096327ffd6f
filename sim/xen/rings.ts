/**
 * I/O ring observation: which shared rings exist, and what crossed them.
 *
 * Rings are learned from start_info (console, xenstore) and from the split-
 * driver handshake in xenstore (`ring-ref`, `tx-ring-ref`, `rx-ring-ref`,
 * `event-channel` under a frontend's device/<vbd|vif>/<n>/ (or, for domU
 * drivers without a toolstack, data/<vbd|vif>/<n>/) directory; the
 * ring page is found through the frontend's grant table). At every notify
 * on a ring's event channel by either end, when either end blocks or polls,
 * and when its slice ends, the tracker reads the producer indices and
 * reports each new request and response, decoded for the console,
 * xenstore, blkif and netif layouts. Only one vCPU runs at a time, so what
 * moved since the last look was written by the domain being looked at (or,
 * for the console and xenstore rings, by the dom0 service answering it):
 * the event is that domain's, and the peer's event indices it reports are
 * the ones the writer saw.
 *
 * For sring-based rings (blkif, netif) consumer indices are private to each
 * side; the event reports the shared req_event / rsp_event in their place.
 */
import type { PhysMem } from '../cpu/phys-mem.js';
import type { Decoded, LazyBody, RingKind, RingSeen } from '../events.js';
import {
  blkif_request, blkif_request_discard, blkif_request_indirect, blkif_request_segment as SEG, blkif_response, blkif_sring_entry, BLK_RING_SIZE,
  BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKIF_MAX_SEGMENTS_PER_REQUEST, BLKIF_OP_DISCARD, BLKIF_OP_INDIRECT,
} from './public/io/blkif.js';
import { xencons_interface as CONS } from './public/io/console.js';
import { netif_rx_request, netif_rx_response, netif_rx_sring_entry, netif_tx_request, netif_tx_response, netif_tx_sring_entry, NET_RX_RING_SIZE, NET_TX_RING_SIZE } from './public/io/netif.js';
import { sring } from './public/io/ring.js';
import { XENSTORE_PAYLOAD_MAX, xenstore_domain_interface as XSI, xsd_sockmsg } from './public/io/xs_wire.js';

export type Ring = {
  kind: RingKind;
  frontDom: number;
  backDom: number;
  /** frontend port notifying the ring */
  port: number;
  gref: number;
  /** machine frame of the shared page (the first, for a multi-page ring) */
  mfn: number;
  /** a multi-page sring (blkif ring-page-order > 0): every page, in ring order */
  mfns?: number[];
  /** entries of an sring when it is not the one-page count (__CONST_RING_SIZE of all its pages) */
  entries?: number;
  reqSeen: number;
  rspSeen: number;
  /** xenstore: where the next message header starts in each byte stream (absent: at reqSeen / rspSeen) */
  reqMsg?: number;
  rspMsg?: number;
};

/** Slots reported per event at most (a runaway index must not flood the trace). */
const MAX_SLOTS = 64;
const XS_NAMES = ['CONTROL', 'DIRECTORY', 'READ', 'GET_PERMS', 'WATCH', 'UNWATCH', 'TRANSACTION_START', 'TRANSACTION_END', 'INTRODUCE', 'RELEASE', 'GET_DOMAIN_PATH', 'WRITE', 'MKDIR', 'RM', 'SET_PERMS', 'WATCH_EVENT', 'ERROR', 'IS_DOMAIN_INTRODUCED', 'RESUME', 'SET_TARGET', 'RESTRICT', 'RESET_WATCHES', 'DIRECTORY_PART'];

type Layout = { entry: number; size: number; req: (v: DataView, o: number) => Decoded; rsp: (v: DataView, o: number) => Decoded };

const LAYOUTS: Partial<Record<RingKind, Layout>> = {
  blkif: { entry: blkif_sring_entry.size, size: BLK_RING_SIZE, req: blkifRequest, rsp: (v, o) => ({ id: v.getBigUint64(o + blkif_response.id, true), operation: v.getUint8(o + blkif_response.operation), status: v.getInt16(o + blkif_response.status, true) }) },
  'netif-tx': {
    entry: netif_tx_sring_entry.size, size: NET_TX_RING_SIZE,
    req: (v, o) => ({ gref: v.getUint32(o + netif_tx_request.gref, true), offset: v.getUint16(o + netif_tx_request.offset, true), flags: v.getUint16(o + netif_tx_request.flags, true), id: v.getUint16(o + netif_tx_request.id, true), size: v.getUint16(o + netif_tx_request.size_, true) }),
    rsp: (v, o) => ({ id: v.getUint16(o + netif_tx_response.id, true), status: v.getInt16(o + netif_tx_response.status, true) }),
  },
  'netif-rx': {
    entry: netif_rx_sring_entry.size, size: NET_RX_RING_SIZE,
    req: (v, o) => ({ id: v.getUint16(o + netif_rx_request.id, true), gref: v.getUint32(o + netif_rx_request.gref, true) }),
    rsp: (v, o) => ({ id: v.getUint16(o + netif_rx_response.id, true), offset: v.getUint16(o + netif_rx_response.offset, true), flags: v.getUint16(o + netif_rx_response.flags, true), status: v.getInt16(o + netif_rx_response.status, true) }),
  },
};

/** A blkif request slot, decoded by its operation (the indirect and discard layouts share the slot). */
function blkifRequest(v: DataView, o: number): Decoded {
  const op = v.getUint8(o + blkif_request.operation);
  if (op === BLKIF_OP_INDIRECT) {
    const I = blkif_request_indirect;
    const n = v.getUint16(o + I.nr_segments, true);
    const pages = Math.min(Math.ceil(n / SEGS_PER_INDIRECT_FRAME), BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    const grefs = Array.from({ length: pages }, (_, k) => v.getUint32(o + I.indirect_grefs + k * I.indirect_grefs_stride, true));
    return { operation: op, indirect_op: v.getUint8(o + I.indirect_op), nr_segments: n, id: v.getBigUint64(o + I.id, true), sector_number: v.getBigUint64(o + I.sector_number, true), handle: v.getUint16(o + I.handle, true), indirect_grefs: grefs };
  }
  if (op === BLKIF_OP_DISCARD) {
    const D = blkif_request_discard;
    return { operation: op, flag: v.getUint8(o + D.flag), handle: v.getUint16(o + D.handle, true), id: v.getBigUint64(o + D.id, true), sector_number: v.getBigUint64(o + D.sector_number, true), nr_sectors: v.getBigUint64(o + D.nr_sectors, true) };
  }
  const n = v.getUint8(o + blkif_request.nr_segments);
  const segs: Decoded[] = [];
  for (let k = 0; k < Math.min(n, BLKIF_MAX_SEGMENTS_PER_REQUEST); k++) {
    const s = o + blkif_request.seg + k * blkif_request.seg_stride;
    segs.push({ gref: v.getUint32(s + SEG.gref, true), first_sect: v.getUint8(s + SEG.first_sect), last_sect: v.getUint8(s + SEG.last_sect) });
  }
  return { operation: op, nr_segments: n, handle: v.getUint16(o + blkif_request.handle, true), id: v.getBigUint64(o + blkif_request.id, true), sector_number: v.getBigUint64(o + blkif_request.sector_number, true), seg: segs };
}

/** A little-endian u32 at stream position `at` of a byte ring of `size` bytes at `base` (it may wrap). */
function ringU32(v: DataView, base: number, size: number, at: number): number {
  let x = 0;
  for (let k = 3; k >= 0; k--) x = x * 256 + v.getUint8(base + ((at + k) & (size - 1)));
  return x;
}

/** Segments in one indirect page (blkif_request_segment entries of a 4 KiB frame). */
const SEGS_PER_INDIRECT_FRAME = 4096 / SEG.size;

export class RingTracker {
  readonly rings: Ring[] = [];
  /** Domain 0 is a guest (its kernel's backends serve the rings): rings with backend 0 are learned here too. */
  guestDom0 = false;
  /** Partial split-driver handshakes: "<dom>/<dev path>" -> keys seen so far. */
  private readonly pending = new Map<string, Map<string, string>>();

  constructor(
    private readonly mem: PhysMem,
    private readonly emit: (dom: number, body: LazyBody) => void,
    /** the grant entry `gref` of domain `dom`: the frame it grants, or -1 */
    private readonly grantFrame: (dom: number, gref: number) => number,
    /** read a xenstore node (toolstack view), null when absent */
    private readonly xsRead: (path: string) => string | null,
  ) {}

  /** Tracker state for machine snapshots: the rings, what was seen of them, partial handshakes. */
  snapshot(): { rings: Ring[]; pending: Array<[string, Array<[string, string]>]> } {
    return { rings: this.rings.map((r) => ({ ...r })), pending: [...this.pending].map(([k, m]) => [k, [...m]]) };
  }

  restore(s: { rings: Ring[]; pending: Array<[string, Array<[string, string]>]> }): void {
    this.rings.length = 0;
    this.rings.push(...s.rings.map((r) => ({ ...r })));
    this.pending.clear();
    for (const [k, m] of s.pending) this.pending.set(k, new Map(m));
  }

  /** Forget the ring of `frontDom` notified through `port` (its backend disconnected). */
  remove(frontDom: number, port: number): void {
    const k = this.rings.findIndex((r) => r.frontDom === frontDom && r.port === port);
    if (k >= 0) this.rings.splice(k, 1);
  }

  add(r: Omit<Ring, 'reqSeen' | 'rspSeen'>): Ring {
    const ring: Ring = { ...r, reqSeen: 0, rspSeen: 0 };
    const [req, rsp] = this.indices(ring);
    ring.reqSeen = req;
    ring.rspSeen = rsp;
    this.rings.push(ring);
    return ring;
  }

  /** The producer indices of a ring. */
  private indices(r: Ring): [number, number] {
    const v = this.mem.frame(r.mfn)!;
    if (r.kind === 'console') return [v.getUint32(CONS.out_prod, true), v.getUint32(CONS.in_prod, true)];
    if (r.kind === 'xenstore') return [v.getUint32(XSI.req_prod, true), v.getUint32(XSI.rsp_prod, true)];
    return [v.getUint32(sring.req_prod, true), v.getUint32(sring.rsp_prod, true)];
  }

  /**
   * Report new traffic on the rings `dom` is an end of: all of them, or (a
   * notify from `dom`'s `port` to `toDom`'s `toPort`) the one that channel
   * serves: the frontend's own port, or the backend's port bound to it.
   */
  check(dom: number, seen: RingSeen, port = -1, toDom = -1, toPort = -1): void {
    for (const r of this.rings) {
      if (port >= 0 ? !((r.frontDom === dom && r.port === port) || (r.backDom === dom && r.frontDom === toDom && r.port === toPort)) : r.frontDom !== dom && r.backDom !== dom) continue;
      const [req, rsp] = this.indices(r);
      if (req === r.reqSeen && rsp === r.rspSeen) continue;
      const v = this.mem.frame(r.mfn)!;
      const cons = r.kind === 'console' ? [CONS.out_cons, CONS.in_cons] : r.kind === 'xenstore' ? [XSI.req_cons, XSI.rsp_cons] : [sring.req_event, sring.rsp_event];
      // The xenstore framing is machine state: followed whether or not anyone listens.
      const starts = r.kind === 'xenstore' ? { req: this.xsFrame(r, v, 'req', req), rsp: this.xsFrame(r, v, 'rsp', rsp) } : null;
      this.emit(dom, () => ({
        kind: 'ring', ring: r.kind, frontDom: r.frontDom, backDom: r.backDom, gref: r.gref, port: r.port,
        reqProdBefore: r.reqSeen, reqProdAfter: req, rspProdBefore: r.rspSeen, rspProdAfter: rsp,
        reqCons: v.getUint32(cons[0]!, true), rspCons: v.getUint32(cons[1]!, true),
        slots: starts !== null ? [...this.xsSlots(v, 'req', r.reqSeen, req, starts.req), ...this.xsSlots(v, 'rsp', r.rspSeen, rsp, starts.rsp)] : [...this.decode(r, v, 'req', r.reqSeen, req), ...this.decode(r, v, 'rsp', r.rspSeen, rsp)], seen,
        ...(r.entries !== undefined && r.entries !== LAYOUTS[r.kind]?.size ? { entries: r.entries } : {}),
      }));
      r.reqSeen = req;
      r.rspSeen = rsp;
    }
  }

  /**
   * The shared indices of every blkif/netif ring `dom` is an end of, as
   * decoded records for a block or poll event (empty when none).
   */
  sringIndices(dom: number): Decoded[] {
    const out: Decoded[] = [];
    for (const r of this.rings) {
      if (r.kind === 'console' || r.kind === 'xenstore' || (r.frontDom !== dom && r.backDom !== dom)) continue;
      const v = this.mem.frame(r.mfn)!;
      out.push({
        ring: r.kind, front: r.frontDom, back: r.backDom, gref: r.gref, port: r.port,
        req_prod: v.getUint32(sring.req_prod, true), req_event: v.getUint32(sring.req_event, true),
        rsp_prod: v.getUint32(sring.rsp_prod, true), rsp_event: v.getUint32(sring.rsp_event, true),
      });
    }
    return out;
  }

  /**
   * Where the xenstore messages whose header arrived before `to` start in a
   * direction's byte stream: a writer may send a header and its payload in
   * separate notifies, or several messages in one, so the stream position of
   * the next header is kept (Ring.reqMsg/rspMsg, from reqSeen/rspSeen when
   * the ring was added). A length beyond XENSTORE_PAYLOAD_MAX loses the
   * framing: it is taken up again at `to`.
   */
  private xsFrame(r: Ring, v: DataView, dir: 'req' | 'rsp', to: number): number[] {
    const [base, size] = dir === 'req' ? [XSI.req, XSI.req_sizeof] : [XSI.rsp, XSI.rsp_sizeof];
    const out: number[] = [];
    let at = (dir === 'req' ? r.reqMsg : r.rspMsg) ?? (dir === 'req' ? r.reqSeen : r.rspSeen);
    while (out.length < MAX_SLOTS && ((to - at) >>> 0) >= xsd_sockmsg.size && ((to - at) >>> 0) <= size) {
      const len = ringU32(v, base, size, at + xsd_sockmsg.len);
      if (len > XENSTORE_PAYLOAD_MAX) {
        at = to;
        break;
      }
      out.push(at);
      at = (at + xsd_sockmsg.size + len) >>> 0;
    }
    if (dir === 'req') r.reqMsg = at;
    else r.rspMsg = at;
    return out;
  }

  /** The messages starting at `starts` (xsFrame), decoded; bytes that only continue a message give one slot with `continued`. */
  private xsSlots(v: DataView, dir: 'req' | 'rsp', from: number, to: number, starts: number[]): Decoded[] {
    if (((to - from) >>> 0) === 0) return [];
    if (starts.length === 0) return [{ dir, bytes: (to - from) >>> 0, continued: true }];
    const [base, size] = dir === 'req' ? [XSI.req, XSI.req_sizeof] : [XSI.rsp, XSI.rsp_sizeof];
    return starts.map((at) => {
      const len = ringU32(v, base, size, at + xsd_sockmsg.len);
      const type = ringU32(v, base, size, at + xsd_sockmsg.type);
      const avail = Math.min(len, 48, ((to - at) >>> 0) - xsd_sockmsg.size);
      let payload = '';
      for (let k = 0; k < avail; k++) payload += String.fromCharCode(v.getUint8(base + ((at + xsd_sockmsg.size + k) & (size - 1))));
      return {
        dir, bytes: xsd_sockmsg.size + len, type: XS_NAMES[type] ?? String(type), req_id: ringU32(v, base, size, at + xsd_sockmsg.req_id),
        tx_id: ringU32(v, base, size, at + xsd_sockmsg.tx_id), len, payload: payload.replace(/\0/g, ' ').trimEnd(),
      };
    });
  }

  private decode(r: Ring, v: DataView, dir: 'req' | 'rsp', from: number, to: number): Decoded[] {
    const n = (to - from) >>> 0;
    if (n === 0) return [];
    if (r.kind === 'console') {
      const [base, size] = dir === 'req' ? [CONS.out, CONS.out_sizeof] : [CONS.in, CONS.in_sizeof];
      const len = Math.min(n, size);
      const bytes = new Uint8Array(len);
      for (let k = 0; k < len; k++) bytes[k] = v.getUint8(base + ((from + k) & (size - 1)));
      return [{ dir, bytes: n, text: Buffer.from(bytes).toString('latin1') }];
    }
    const layout = LAYOUTS[r.kind]!;
    const entries = r.entries ?? layout.size;
    const out: Decoded[] = [];
    for (let k = 0; k < Math.min(n, MAX_SLOTS, entries); k++) {
      const idx = (from + k) >>> 0;
      const o = sring.ring + (idx & (entries - 1)) * layout.entry;
      const [sv, so] = this.slotView(r, v, o, layout.entry);
      out.push({ dir, idx, ...(dir === 'req' ? layout.req(sv, so) : layout.rsp(sv, so)) });
    }
    if (n > out.length) out.push({ dir, skipped: n - out.length });
    return out;
  }

  /** The bytes of a slot at ring offset `o`: in the first page, or copied from the pages of a multi-page ring. */
  private slotView(r: Ring, first: DataView, o: number, len: number): [DataView, number] {
    if (r.mfns === undefined || o + len <= 4096) return [first, o];
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = this.mem.frame(r.mfns[Math.floor((o + i) / 4096)]!)!.getUint8((o + i) % 4096);
    return [new DataView(b.buffer), 0];
  }

  /**
   * A xenstore write by domain `dom`: learn split-driver rings from the
   * frontend's device directory once its ring reference(s) and event channel
   * are all there.
   */
  learn(dom: number, path: string, value: string): void {
    // device/<type>/<n> is the toolstack's layout; a domU cannot create it,
    // so our corpus drivers use data/<type>/<n> with the same keys.
    const m = /^\/local\/domain\/(\d+)\/((?:device|data)\/(vbd|vif)\/\d+)\/(ring-ref|tx-ring-ref|rx-ring-ref|event-channel(?:-tx|-rx)?)$/.exec(path);
    if (m === null || Number(m[1]) !== dom) return;
    const key = `${dom}/${m[2]}`;
    const seen = this.pending.get(key) ?? new Map<string, string>();
    seen.set(m[4]!, value);
    this.pending.set(key, seen);
    // A netfront with split event channels (feature-split-event-channels) has one per ring.
    const portOf = (kind: RingKind): number => Number(seen.get('event-channel') ?? seen.get(kind === 'netif-rx' ? 'event-channel-rx' : 'event-channel-tx'));
    const port = portOf(m[3] === 'vbd' ? 'blkif' : 'netif-rx');
    if (!Number.isInteger(port) || !Number.isInteger(portOf('netif-tx'))) return;
    const backDom = Number(this.xsRead(`/local/domain/${dom}/${m[2]}/backend-id`) ?? 0) || 0;
    // xenrr's own backends register the rings they serve when they connect (Dom0Env.ringAdd).
    if (backDom === 0 && !this.guestDom0) {
      this.pending.delete(key);
      return;
    }
    const want: Array<[string, RingKind]> = m[3] === 'vbd' ? [['ring-ref', 'blkif']] : [['tx-ring-ref', 'netif-tx'], ['rx-ring-ref', 'netif-rx']];
    if (!want.every(([k]) => seen.has(k))) return;
    for (const [k, kind] of want) {
      const gref = Number(seen.get(k));
      const mfn = this.grantFrame(dom, gref);
      if (mfn < 0) continue;
      this.add({ kind, frontDom: dom, backDom, port: portOf(kind), gref, mfn });
    }
    this.pending.delete(key);
  }
}
