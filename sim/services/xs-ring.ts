/**
 * The xenstored end of one domain's xenstore ring page
 * (docs/misc/xenstore-ring.txt): bytes in from `req`, messages out on `rsp`.
 *
 * Ordering points (what xenstored's readchn/writechn do; in this
 * single-threaded simulation the barriers are program order):
 * - Reading: one pass loads req_cons, then req_prod, checks
 *   req_prod - req_cons <= 1024, then copies bytes [req_cons, req_prod) as far
 *   as the current message needs, and only then stores req_cons (the store
 *   frees the space). Bytes are consumed as they arrive: a message larger than
 *   the ring (up to 16 + 4096 bytes) streams through, and a partial message is
 *   kept here until the rest arrives.
 * - Writing: one pass loads rsp_cons, then rsp_prod, checks
 *   rsp_prod - rsp_cons <= 1024, copies as much of the queued output as fits,
 *   and only then stores rsp_prod (the publication point). Output that does
 *   not fit stays queued, byte-exact, for the next `service`.
 * - Per `service`: first queued output is flushed and watch events that
 *   accumulated since the last call (other domains' changes) are queued;
 *   then each complete request is handled in ring order, its reply queued,
 *   then the watch events it caused, flushing after each. So a reply always
 *   precedes the events its own request fired (xenstored queues a WRITE's
 *   events before its "OK"; clients must cope with either order).
 * - Flow control as xenstored's domain_can_read: an unprivileged domain with
 *   20 or more replies still queued (not yet fully on the ring) gets no
 *   further requests read until it drains the rsp ring.
 * - server_features is set (FEATURE_ERROR) at construction, before any data
 *   moves. No reconnection feature is offered; `connection` is left alone.
 *
 * Broken rings (never a throw): an index pair more than 1024 apart gives
 * error = XENSTORE_ERROR_RINGIDX, a header with len > 4096 gives
 * XENSTORE_ERROR_PROTO. The code is written to the page's `error` field,
 * the domain's watches, transactions and queued events are dropped
 * (XenStore.resetConnection), and the connection is dead: every later
 * `service` does nothing and reports the same error.
 *
 * Notification: xenstored kicks the domain's xenstore event channel
 * (start_info.store_evtchn) after moving either index. `produced` says
 * rsp_prod moved, `consumed` that req_cons moved (a guest blocked on a full
 * req ring waits for that); notify when either is true.
 */
import {
  XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX, XENSTORE_PAYLOAD_MAX, XENSTORE_RING_SIZE as RING_SIZE, XENSTORE_SERVER_FEATURE_ERROR,
  xenstore_domain_interface as I, xsd_sockmsg as M,
} from '../xen/public/io/xs_wire.js';
import type { XenStore, XsMsg, XsRecord } from './xenstored.js';

const HDR = M.size;
/** xenstored's default ACC_OUTST quota: replies pending before reading stops. */
const MAX_OUTSTANDING = 20;

export type XsServiceResult = { records: XsRecord[]; produced: boolean; consumed: boolean; error: string | null };

/** A wire message: 16-byte little-endian header {type, req_id, tx_id, len} + payload. */
export function encodeXsMsg(m: XsMsg): Uint8Array {
  const b = new Uint8Array(HDR + m.payload.length);
  const v = new DataView(b.buffer);
  v.setUint32(M.type, m.type, true), v.setUint32(M.req_id, m.reqId, true), v.setUint32(M.tx_id, m.txId, true), v.setUint32(M.len, m.payload.length, true);
  b.set(m.payload, HDR);
  return b;
}

export type XsRingState = {
  hdr: Uint8Array; hdrUsed: number; body: Uint8Array | null; bodyUsed: number;
  out: { bytes: Uint8Array; reply: boolean }[]; outUsed: number; replies: number; broken: string | null;
};

export class XsRingServer {
  private readonly hdr = new Uint8Array(HDR);
  private hdrUsed = 0;
  private body: Uint8Array | null = null;
  private bodyUsed = 0;
  /** Encoded messages not yet (fully) on the rsp ring; `outUsed` bytes of the first are. */
  private readonly out: { bytes: Uint8Array; reply: boolean }[] = [];
  private outUsed = 0;
  private replies = 0;
  private broken: string | null = null;
  private st = { produced: false, consumed: false };

  constructor(
    private readonly store: XenStore,
    private readonly domid: number,
    private readonly privileged: boolean,
    private readonly page: DataView,
    /** the store connection it feeds (the domid, or XS_DOM0_RING_CONN for a guest dom0) */
    private readonly connKey = domid,
  ) {
    page.setUint32(I.server_features, page.getUint32(I.server_features, true) | XENSTORE_SERVER_FEATURE_ERROR, true);
  }

  /** Why the connection died, or null. */
  get error(): string | null {
    return this.broken;
  }

  /** Consume every complete request, answer each, queue watch events, write what fits. */
  service(): XsServiceResult {
    this.st = { produced: false, consumed: false };
    const records: XsRecord[] = [];
    if (!this.broken) {
      this.flush();
      this.takeEvents();
      while (!this.broken && (this.privileged || this.replies < MAX_OUTSTANDING)) {
        const msg = this.readMessage();
        if (!msg) break;
        const { replies, record } = this.store.request(this.domid, this.privileged, msg, this.connKey);
        records.push(record);
        for (const r of replies) this.queue(r, true);
        this.takeEvents();
      }
      this.flush();
    }
    return { records, ...this.st, error: this.broken };
  }

  /** The transport state between `service` calls (a partial request, unsent output), for snapshots. */
  snapshot(): XsRingState {
    return {
      hdr: this.hdr.slice(), hdrUsed: this.hdrUsed, body: this.body?.slice() ?? null, bodyUsed: this.bodyUsed,
      out: this.out.map((o) => ({ bytes: o.bytes.slice(), reply: o.reply })), outUsed: this.outUsed, replies: this.replies, broken: this.broken,
    };
  }
  restore(s: XsRingState): void {
    this.hdr.set(s.hdr);
    (this.hdrUsed = s.hdrUsed), (this.body = s.body?.slice() ?? null), (this.bodyUsed = s.bodyUsed);
    this.out.length = 0;
    for (const o of s.out) this.out.push({ bytes: o.bytes.slice(), reply: o.reply });
    (this.outUsed = s.outUsed), (this.replies = s.replies), (this.broken = s.broken);
  }

  private takeEvents(): void {
    for (const e of this.store.takeWatchEvents(this.connKey)) this.queue(e, false);
    this.flush();
  }
  private queue(m: XsMsg, reply: boolean): void {
    this.out.push({ bytes: encodeXsMsg(m), reply });
    if (reply) this.replies++;
  }

  /** Assemble the next request from the ring; null while incomplete (or when the ring broke). */
  private readMessage(): XsMsg | null {
    if (this.hdrUsed < HDR) {
      const n = this.read(this.hdr, this.hdrUsed);
      if (n < 0) return null;
      this.hdrUsed += n;
      if (this.hdrUsed < HDR) return null;
      const len = this.hdrView().getUint32(M.len, true);
      if (len > XENSTORE_PAYLOAD_MAX) return this.fail(XENSTORE_ERROR_PROTO, `request payload length ${len} > ${XENSTORE_PAYLOAD_MAX}`);
      (this.body = new Uint8Array(len)), (this.bodyUsed = 0);
    }
    const body = this.body!;
    if (this.bodyUsed < body.length) {
      const n = this.read(body, this.bodyUsed);
      if (n < 0) return null;
      this.bodyUsed += n;
      if (this.bodyUsed < body.length) return null;
    }
    const h = this.hdrView();
    (this.hdrUsed = 0), (this.body = null);
    return { type: h.getUint32(M.type, true), reqId: h.getUint32(M.req_id, true), txId: h.getUint32(M.tx_id, true), payload: body };
  }
  private hdrView(): DataView {
    return new DataView(this.hdr.buffer);
  }

  /** One read pass into dst[off..]: bytes copied (req_cons stored after them), or -1 on a bad index pair. */
  private read(dst: Uint8Array, off: number): number {
    const p = this.page;
    const cons = p.getUint32(I.req_cons, true);
    const prod = p.getUint32(I.req_prod, true);
    const avail = (prod - cons) >>> 0;
    if (avail > RING_SIZE) return this.fail(XENSTORE_ERROR_RINGIDX, `req_prod - req_cons = ${avail} > ${RING_SIZE}`) ?? -1;
    const n = Math.min(avail, dst.length - off);
    for (let i = 0; i < n; i++) dst[off + i] = p.getUint8(I.req + ((cons + i) & (RING_SIZE - 1)));
    if (n > 0) p.setUint32(I.req_cons, (cons + n) >>> 0, true), (this.st.consumed = true);
    return n;
  }

  /** Write queued output while the rsp ring has room; rsp_prod is stored after the bytes. */
  private flush(): void {
    const p = this.page;
    while (this.out.length > 0 && !this.broken) {
      const cons = p.getUint32(I.rsp_cons, true);
      const prod = p.getUint32(I.rsp_prod, true);
      const used = (prod - cons) >>> 0;
      if (used > RING_SIZE) return void this.fail(XENSTORE_ERROR_RINGIDX, `rsp_prod - rsp_cons = ${used} > ${RING_SIZE}`);
      const head = this.out[0]!;
      const n = Math.min(RING_SIZE - used, head.bytes.length - this.outUsed);
      if (n === 0) return;
      for (let i = 0; i < n; i++) p.setUint8(I.rsp + ((prod + i) & (RING_SIZE - 1)), head.bytes[this.outUsed + i]!);
      p.setUint32(I.rsp_prod, (prod + n) >>> 0, true);
      this.st.produced = true;
      this.outUsed += n;
      if (this.outUsed === head.bytes.length) {
        this.out.shift();
        this.outUsed = 0;
        if (head.reply) this.replies--;
      }
    }
  }

  /** Give up on the ring as xenstored's ignore_connection does. */
  private fail(code: number, why: string): null {
    this.broken = `xenstore ring of domain ${this.domid} broken: ${why}`;
    this.page.setUint32(I.error, code, true);
    this.out.length = 0;
    (this.outUsed = 0), (this.replies = 0), (this.hdrUsed = 0), (this.body = null);
    this.store.resetConnection(this.domid);
    return null;
  }
}
