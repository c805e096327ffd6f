/**
 * One connected netif queue: its tx and rx rings (one page each, mapped
 * from tx-ring-ref / rx-ring-ref), its event channel(s) (one, or tx and rx
 * with feature-split-event-channels), and the backend's private ring
 * indices, as Linux's xenvif_queue.
 *
 * Ring discipline (ring.ts ordering points): requests are read after their
 * producer index and copied before use; a req_prod more than the ring ahead
 * of what was answered is a broken frontend (fatal: the queue stops).
 * Responses are written at rsp_prod_pvt and published with
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY (notify iff rsp_event lies in
 * (old, new]): tx after each packet, rx after each drain. Going idle on tx
 * is RING_FINAL_CHECK_FOR_REQUESTS (req_event = req_cons + 1, look again).
 * Before each notification the trace gets the rings' traffic so far.
 *
 * Chaos (../chaos.ts), when the machine has it, draws at these decision
 * points only: a tx packet about to be sent (error: answered
 * NETIF_RSP_ERROR or NETIF_RSP_DROPPED, one more draw picking which, and not
 * sent); a frame from the switch (delay: it reaches the rx ring 1 µs ..
 * maxDelay later, through the driver's deadline; frames behind a delayed
 * one wait behind it, so order is kept); a frontend's kick (spurious: a
 * notification with nothing new behind it); a push that needs a
 * notification (drop: none is sent, a lost wake-up).
 */
import {
  NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_OKAY, netif_rx_sring_entry as RX_ENTRY, netif_tx_response as TX_RSP, netif_tx_sring_entry as TX_ENTRY, NET_RX_RING_SIZE, NET_TX_RING_SIZE,
} from '../../xen/public/io/netif.js';
import { sring } from '../../xen/public/io/ring.js';
import type { Dom0Env, GrantMap } from '../backend.js';
import type { Chaos } from '../chaos.js';
import { RX_BACKLOG, rxDrain, type RxIo, type RxStats } from './rx.js';
import type { Frame } from './switch.js';
import { txPacket, type TxIo, type TxStats } from './tx.js';

/** What a queue is between calls, as plain data (snapshots). */
export type NetQueueState = {
  queue: number;
  /** dom0's ports for tx and rx (equal without split channels), and the frontend's */
  txPort: number;
  rxPort: number;
  feTxPort: number;
  feRxPort: number;
  txRef: number;
  rxRef: number;
  txPage: GrantMap;
  rxPage: GrantMap;
  txReqCons: number;
  txRspProdPvt: number;
  rxReqCons: number;
  rxRspProdPvt: number;
  /** frames waiting for rx requests */
  backlog: Frame[];
  halted: boolean;
  /** frames chaos delays, in arrival order, each due at `due` (virtual ns); present only under chaos: a plain run's snapshots are unchanged */
  held?: Array<{ frame: Frame; due: number }>;
  tx: TxStats;
  rx: RxStats;
};

/** The vif a queue belongs to (its owner keeps it current). */
export type QueueDevice = {
  fe: number;
  name: string;
  send(f: Frame): void;
  mcast(add: boolean, mac: Uint8Array): boolean;
  chaos: Chaos | null;
};

export class NetQueue {
  private readonly tx: DataView;
  private readonly rx: DataView;
  private readonly txSlot = new DataView(new ArrayBuffer(TX_ENTRY.size));
  private readonly rxSlot = new DataView(new ArrayBuffer(RX_ENTRY.size));

  constructor(private readonly env: Dom0Env, readonly s: NetQueueState, private readonly dev: QueueDevice) {
    this.tx = env.frame(s.txPage.mfn);
    this.rx = env.frame(s.rxPage.mfn);
  }

  /** The frontend notified dom0 port `port` (or the queue just connected: both). */
  kick(port: number): void {
    // xenvif_interrupt: tx first, then rx.
    if (port === this.s.txPort) this.processTx();
    if (port === this.s.rxPort) this.drainRx();
    const c = this.dev.chaos;
    if (c === null || this.s.halted || !c.roll('spurious')) return;
    const rx = port === this.s.rxPort && port !== this.s.txPort;
    c.note(`netback ${this.where}: spurious: a ${rx ? 'rx' : 'tx'} notification with nothing new behind it`);
    this.env.ringCheck(this.dev.fe, rx ? this.s.feRxPort : this.s.feTxPort, true);
    this.env.notify(rx ? this.s.rxPort : this.s.txPort, true);
  }

  private get where(): string {
    return `${this.dev.name} queue ${this.s.queue}`;
  }

  // ---- tx ------------------------------------------------------------------

  private readonly txIo: TxIo = {
    request: (idx) => this.copy(this.tx, TX_ENTRY.size, NET_TX_RING_SIZE, idx, this.txSlot),
    respond: (id, status) => this.txRespond(id, status),
    copyIn: (gref, offset, buf, at, len) => this.env.copyGrant(this.dev.fe, gref, offset, buf, at, len, false),
    send: (f) => this.dev.send(f),
    mcast: (add, mac) => this.dev.mcast(add, mac),
    fatal: (why) => this.fatal(why),
    fault: (id) => this.txFault(id),
  };

  /** Chaos's decision on a tx packet about to be sent (first slot `id`): NETIF_RSP_OKAY, or the status it fails with. */
  private txFault(id: number): number {
    const c = this.dev.chaos;
    if (c === null || !c.roll('error')) return NETIF_RSP_OKAY;
    const dropped = c.pick(2) === 1;
    c.note(`netback ${this.where}: error: tx packet (request id ${id}) answered ${dropped ? 'NETIF_RSP_DROPPED' : 'NETIF_RSP_ERROR'}, not sent`);
    return dropped ? NETIF_RSP_DROPPED : NETIF_RSP_ERROR;
  }

  /** xenvif_tx_action until the ring is empty (RING_FINAL_CHECK_FOR_REQUESTS). */
  processTx(): void {
    const s = this.s;
    while (!s.halted) {
      const rp = this.tx.getUint32(sring.req_prod, true);
      if (((rp - s.txRspProdPvt) >>> 0) > NET_TX_RING_SIZE) return this.fatal(`Impossible number of requests. req_prod ${rp}, req_cons ${s.txReqCons}, size ${NET_TX_RING_SIZE}`);
      while (s.txReqCons !== rp && !s.halted) {
        const used = txPacket(this.txIo, s.txReqCons, (rp - s.txReqCons) >>> 0, s.tx);
        if (used < 0) break;
        s.txReqCons = (s.txReqCons + used) >>> 0;
        this.pushTx();
      }
      if (s.halted) break;
      if (this.tx.getUint32(sring.req_prod, true) !== s.txReqCons) continue;
      this.tx.setUint32(sring.req_event, (s.txReqCons + 1) >>> 0, true);
      if (this.tx.getUint32(sring.req_prod, true) === s.txReqCons) break;
    }
    this.env.ringCheck(this.dev.fe, this.s.feTxPort, false);
  }

  private txRespond(id: number, status: number): void {
    const o = sring.ring + (this.s.txRspProdPvt & (NET_TX_RING_SIZE - 1)) * TX_ENTRY.size;
    this.tx.setUint16(o + TX_RSP.id, id, true);
    this.tx.setInt16(o + TX_RSP.status, status, true);
    this.s.txRspProdPvt = (this.s.txRspProdPvt + 1) >>> 0;
  }

  private pushTx(): void {
    if (this.push(this.tx, this.s.txRspProdPvt)) this.notify(this.s.txPort, this.s.feTxPort, 'tx');
  }

  // ---- rx ------------------------------------------------------------------

  private readonly rxIo: RxIo = {
    available: () => this.rxAvailable(),
    waitFor: (n) => {
      this.rx.setUint32(sring.req_event, (this.s.rxReqCons + n) >>> 0, true);
      return this.rxAvailable();
    },
    take: () => {
      const v = this.copy(this.rx, RX_ENTRY.size, NET_RX_RING_SIZE, this.s.rxReqCons, this.rxSlot);
      this.s.rxReqCons = (this.s.rxReqCons + 1) >>> 0;
      return v;
    },
    response: () => {
      const o = sring.ring + (this.s.rxRspProdPvt & (NET_RX_RING_SIZE - 1)) * RX_ENTRY.size;
      this.s.rxRspProdPvt = (this.s.rxRspProdPvt + 1) >>> 0;
      const v = new DataView(this.rx.buffer, this.rx.byteOffset + o, RX_ENTRY.size);
      for (let i = 0; i < RX_ENTRY.size; i++) v.setUint8(i, 0);
      return v;
    },
    copyOut: (gref, src, at, len) => this.env.copyGrant(this.dev.fe, gref, 0, src, at, len, true),
  };

  /** Requests posted and not taken; a frontend more than the ring ahead is fatal (then none). */
  private rxAvailable(): number {
    const s = this.s;
    const rp = this.rx.getUint32(sring.req_prod, true);
    if (((rp - s.rxRspProdPvt) >>> 0) > NET_RX_RING_SIZE) {
      this.fatal(`Impossible number of rx requests. req_prod ${rp}, rsp_prod ${s.rxRspProdPvt}`);
      return 0;
    }
    return (rp - s.rxReqCons) >>> 0;
  }

  /** A frame from the switch: into the ring now if requests allow, else the backlog (or dropped when full). */
  deliver(f: Frame): boolean {
    const s = this.s;
    if (s.halted || s.backlog.length + (s.held?.length ?? 0) >= RX_BACKLOG) {
      s.rx.dropped++;
      return false;
    }
    const c = this.dev.chaos;
    if (c !== null) {
      const held = (s.held ??= []);
      const last = held.length > 0 ? held[held.length - 1]!.due : -1;
      if (c.roll('delay')) {
        const d = c.delay();
        const due = Math.max(last, this.env.now() + d);
        held.push({ frame: f, due });
        c.note(`netback ${this.where}: delay: an rx frame of ${f.bytes.length} bytes reaches the ring ${due - this.env.now()} ns later`);
        return true;
      }
      // Behind a delayed frame: wait with it (order is kept).
      if (last >= 0) {
        held.push({ frame: f, due: last });
        return true;
      }
    }
    s.backlog.push(f);
    this.drainRx();
    return true;
  }

  /** The earliest time a delayed rx frame is due, or -1. */
  deadline(): number {
    const h = this.s.held;
    return h === undefined || h.length === 0 ? -1 : h[0]!.due;
  }

  /** Delayed rx frames due by `now` into the backlog (in order), then into the ring as requests allow. */
  release(now: number): void {
    const s = this.s;
    const h = s.held;
    if (h === undefined || h.length === 0 || h[0]!.due > now) return;
    let n = 0;
    while (n < h.length && h[n]!.due <= now) s.backlog.push(h[n++]!.frame);
    h.splice(0, n);
    this.drainRx();
  }

  private drainRx(): void {
    if (this.s.halted || !rxDrain(this.rxIo, this.s.backlog, this.s.rx)) return;
    if (this.push(this.rx, this.s.rxRspProdPvt)) this.notify(this.s.rxPort, this.s.feRxPort, 'rx');
    else this.env.ringCheck(this.dev.fe, this.s.feRxPort, false);
  }

  // ---- common --------------------------------------------------------------

  /** RING_COPY_REQUEST of entry `idx` into `into`. */
  private copy(page: DataView, size: number, entries: number, idx: number, into: DataView): DataView {
    const o = sring.ring + (idx & (entries - 1)) * size;
    for (let i = 0; i < size; i++) into.setUint8(i, page.getUint8(o + i));
    return into;
  }

  /** RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publish `now`; whether the frontend asked to be notified. */
  private push(page: DataView, now: number): boolean {
    const old = page.getUint32(sring.rsp_prod, true);
    if (old === now) return false;
    page.setUint32(sring.rsp_prod, now, true);
    const event = page.getUint32(sring.rsp_event, true);
    return ((now - event) >>> 0) < ((now - old) >>> 0);
  }

  private notify(port: number, fePort: number, ring: 'tx' | 'rx'): void {
    const c = this.dev.chaos;
    if (c !== null && c.roll('drop')) {
      c.note(`netback ${this.where}: drop: ${ring} responses pushed with rsp_event passed, and no notification`);
      return this.env.ringCheck(this.dev.fe, fePort, false);
    }
    this.env.ringCheck(this.dev.fe, fePort, true);
    this.env.notify(port, true);
  }

  /** xenvif_fatal_tx_err: the frontend is broken; the queue stops until it disconnects. */
  private fatal(why: string): void {
    if (this.s.halted) return;
    this.s.halted = true;
    this.env.emit({ kind: 'milestone', text: `netback ${this.dev.name}: ${why}: fatal error; disabling device` });
  }

  /** Disconnect: the ring pages and the channel(s) go; frames waiting are dropped. */
  disconnect(): void {
    const s = this.s;
    this.env.unmapGrant(s.txPage);
    this.env.unmapGrant(s.rxPage);
    this.env.close(s.txPort);
    if (s.rxPort !== s.txPort) this.env.close(s.rxPort);
    // Both rings are tracked by their ports (the same one twice without split channels).
    this.env.ringRemove(this.dev.fe, s.feTxPort);
    this.env.ringRemove(this.dev.fe, s.feRxPort);
    s.backlog.length = 0;
    if (s.held !== undefined) s.held.length = 0;
  }
}
