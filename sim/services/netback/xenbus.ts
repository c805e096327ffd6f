/**
 * One vif's side of the xenbus handshake, as Linux 6.1's xen-netback
 * (drivers/net/xen-netback/xenbus.c) runs it. Backend directory
 * BE = /local/domain/0/backend/vif/F/D, frontend directory FE (BE/frontend).
 *
 * probe: in one transaction feature-sg, feature-gso-tcpv4, feature-gso-tcpv6,
 *   feature-ipv6-csum-offload, feature-rx-copy = 1, feature-rx-flip = 0,
 *   feature-multicast-control, feature-dynamic-multicast-control = 1; then
 *   feature-split-event-channels = 1 and multi-queue-max-queues; state
 *   InitWait; read BE/script and BE/handle (the interface vif<F>.<handle>).
 *   Not offered: feature-ctrl-ring (no control ring, so no hash
 *   configuration) and feature-xdp-headroom (rx data always at offset 0).
 * frontend state (set_backend_state walks Linux's transition graph):
 *   Initialising -> InitWait; Connected -> connect, then Connected;
 *   Closing -> Closing; Closed -> Closed and, unless BE/online is 1, the
 *   device goes; Unknown -> Closed, the device goes; Initialised: nothing;
 *   others: fatal.
 * connect: FE/multi-queue-num-queues (1 to the maximum), BE/mac (fatal when
 *   malformed), a watch on FE/request-multicast-control; the frontend's
 *   flags: request-rx-copy must be 1 (rx-flip is not implemented: fatal
 *   EOPNOTSUPP), feature-rx-notify, feature-sg, feature-gso-tcpv4/-tcpv6,
 *   feature-no-csum-offload, feature-ipv6-csum-offload; per queue (FE, or
 *   FE/queue-N with several) tx-ring-ref and rx-ring-ref, then
 *   event-channel-tx and event-channel-rx, else event-channel; map both
 *   rings, bind the channel(s); the vif's port on its bridge goes up. Then a
 *   watch on BE/hotplug-status: every state change is held back
 *   (backend_switch_state) until the hotplug script has written
 *   "connected" there, as libxl makes netback wait for vif-bridge.
 * A fatal error writes error/backend/vif/F/D/error under dom0's home and
 * switches to Closing (xenbus_dev_fatal).
 */
import * as XB from '../../xen/public/io/xenbus.js';
import { NET_RX_RING_SIZE, NET_TX_RING_SIZE, XEN_NETIF_GSO_TYPE_TCPV4, XEN_NETIF_GSO_TYPE_TCPV6 } from '../../xen/public/io/netif.js';
import { sring } from '../../xen/public/io/ring.js';
import { Errno } from '../../xen/public/xen.js';
import type { BackendDriver, Dom0Env, GrantMap } from '../backend.js';
import { readUnsigned } from '../blkback/xenbus.js';
import { segmentTcp } from './gso.js';
import * as P from './proto.js';
import type { Chaos } from '../chaos.js';
import { NetQueue, type NetQueueState, type QueueDevice } from './queue.js';
import type { Frame, VSwitch } from './switch.js';
import { xenbusSwitchState } from '../xenbus-switch.js';

/** xenvif_max_queues: dom0's online CPUs, as blkback counts them. */
export const NETBACK_MAX_QUEUES = 4;
/** XEN_NETBK_MCAST_MAX: multicast addresses a frontend may register. */
export const MCAST_MAX = 64;

/** What a vif is between calls, as plain data (snapshots). */
export type VifState = {
  fe: number;
  devid: number;
  otherend: string;
  /** be->state (where the backend is going) and the state last written to the store */
  state: number;
  written: number;
  handle: number;
  /** waiting for the hotplug script (be->have_hotplug_status_watch) */
  hotplugWatch: boolean;
  mcastWatch: boolean;
  mac: string;
  canSg: boolean;
  /** XEN_NETIF_GSO_TYPE_* bits the frontend takes */
  gsoMask: number;
  multicastControl: boolean;
  /** registered multicast addresses (proto.ts macKey), in order */
  mcast: number[];
  queues: NetQueueState[];
};

export class VifDevice {
  readonly be: string;
  private queues: NetQueue[];
  private readonly qdev: QueueDevice;
  gone = false;

  constructor(private readonly env: Dom0Env, private readonly drv: BackendDriver, private readonly sw: VSwitch, readonly s: VifState, chaos: Chaos | null = null) {
    this.be = `/local/domain/0/backend/vif/${s.fe}/${s.devid}`;
    this.qdev = { fe: s.fe, name: this.port, send: (f) => this.sw.send(this.port, f), mcast: (add, mac) => this.mcastUpdate(add, mac), chaos };
    this.queues = s.queues.map((q) => new NetQueue(env, q, this.qdev));
    if (this.queues.length > 0) this.sw.bind(this.port, (f) => this.deliver(f));
  }

  get name(): string {
    return `${this.s.fe}/${this.s.devid}`;
  }

  /** The interface's name, its port on the bridge: vif<domid>.<handle>. */
  get port(): string {
    return `vif${this.s.fe}.${this.s.handle}`;
  }

  /** netback_probe. */
  probe(): boolean {
    const xs = this.env.xs;
    for (let tries = 0; tries < 16; tries++) {
      const t = xs.transactionStart();
      for (const [k, v] of [
        ['feature-sg', '1'], ['feature-gso-tcpv4', '1'], ['feature-gso-tcpv6', '1'], ['feature-ipv6-csum-offload', '1'], ['feature-rx-copy', '1'],
        ['feature-rx-flip', '0'], ['feature-multicast-control', '1'], ['feature-dynamic-multicast-control', '1'],
      ] as const) xs.write(`${this.be}/${k}`, v, t);
      const end = xs.transactionEnd(t, true);
      if (end.ok || end.error !== 'EAGAIN') break;
    }
    xs.write(`${this.be}/feature-split-event-channels`, '1');
    xs.write(`${this.be}/multi-queue-max-queues`, `${NETBACK_MAX_QUEUES}`);
    this.backendSwitch(XB.XenbusStateInitWait);
    if (xs.read(`${this.be}/script`) === null) return this.fatal(Errno.ENOENT, 'reading script');
    const handle = readUnsigned(xs.read(`${this.be}/handle`), -1);
    if (handle < 0) return this.fatal(Errno.EINVAL, 'reading handle');
    this.s.handle = handle;
    this.env.xs.watch(this.drv, `${this.s.otherend}/state`, `fe:${this.name}`);
    return true;
  }

  /** The device goes (netback_remove). */
  remove(): void {
    const xs = this.env.xs;
    xs.unwatch(this.drv, `${this.s.otherend}/state`, `fe:${this.name}`);
    this.unwatchHotplug();
    xs.rm(`${this.be}/hotplug-status`);
    this.disconnect();
  }

  /** The earliest time a queue's chaos-delayed rx frame is due, or -1. */
  deadline(): number {
    let t = -1;
    for (const q of this.queues) {
      const x = q.deadline();
      if (x >= 0 && (t < 0 || x < t)) t = x;
    }
    return t;
  }

  /** Chaos-delayed rx frames due by `now` go to their rings. */
  release(now: number): void {
    for (const q of this.queues) q.release(now);
  }

  /** The frontend notified dom0 port `port`: the queue bound to it works. */
  notify(port: number): boolean {
    const q = this.queues.find((x) => x.s.txPort === port || x.s.rxPort === port);
    q?.kick(port);
    return q !== undefined;
  }

  /** frontend_changed. */
  frontendChanged(): void {
    const st = this.env.xs.read(`${this.s.otherend}/state`);
    const fe = st === null ? XB.XenbusStateUnknown : Number(st);
    switch (fe) {
      case XB.XenbusStateInitialising:
        return this.setState(XB.XenbusStateInitWait);
      case XB.XenbusStateInitialised:
        return;
      case XB.XenbusStateConnected:
        return this.setState(XB.XenbusStateConnected);
      case XB.XenbusStateClosing:
        return this.setState(XB.XenbusStateClosing);
      case XB.XenbusStateClosed:
        this.setState(XB.XenbusStateClosed);
        if (this.env.xs.read(`${this.be}/online`) === '1') return;
        this.gone = true;
        return;
      case XB.XenbusStateUnknown:
        this.setState(XB.XenbusStateClosed);
        this.gone = true;
        return;
      default:
        this.fatal(Errno.EINVAL, `saw state ${fe} at frontend`);
    }
  }

  /** hotplug_status_changed: the script says "connected": the held-back state goes out. */
  hotplugChanged(): void {
    if (!this.s.hotplugWatch || this.env.xs.read(`${this.be}/hotplug-status`) !== 'connected') return;
    this.unwatchHotplug();
    this.writeState(this.s.state);
  }

  /** xen_mcast_ctrl_changed. */
  mcastControlChanged(): void {
    this.s.multicastControl = readUnsigned(this.env.xs.read(`${this.s.otherend}/request-multicast-control`), 0) !== 0;
  }

  /** set_backend_state: the shortest path through Linux's transition graph. */
  private setState(target: number): void {
    const S = XB;
    for (let guard = 0; this.s.state !== target && guard < 8; guard++) {
      const cur = this.s.state;
      if (cur === S.XenbusStateInitialising) this.backendSwitch(target === S.XenbusStateClosed ? S.XenbusStateClosed : S.XenbusStateInitWait);
      else if (cur === S.XenbusStateClosed) this.backendSwitch(target === S.XenbusStateClosing ? S.XenbusStateClosing : S.XenbusStateInitWait);
      else if (cur === S.XenbusStateInitWait) {
        if (target === S.XenbusStateConnected) {
          if (!this.connect()) return;
          this.backendSwitch(S.XenbusStateConnected);
        } else this.backendSwitch(S.XenbusStateClosing);
      } else if (cur === S.XenbusStateConnected) {
        this.disconnect();
        this.backendSwitch(S.XenbusStateClosing);
      } else if (cur === S.XenbusStateClosing) this.backendSwitch(S.XenbusStateClosed);
      else return;
    }
  }

  /** backend_switch_state: the state is written at once unless the hotplug script is awaited. */
  private backendSwitch(state: number): void {
    this.s.state = state;
    if (!this.s.hotplugWatch) this.writeState(state);
  }

  /** connect (see the file comment); false after a fatal error. */
  private connect(): boolean {
    const xs = this.env.xs;
    const fe = this.s.otherend;
    const nq = readUnsigned(xs.read(`${fe}/multi-queue-num-queues`), 1);
    if (nq === 0 || nq > NETBACK_MAX_QUEUES) return this.fatal(Errno.EINVAL, `guest requested ${nq} queues, but valid range is 1 - ${NETBACK_MAX_QUEUES}.`);
    const mac = xs.read(`${this.be}/mac`);
    if (mac === null || P.parseMac(mac) === null) return this.fatal(Errno.ENOENT, `parsing ${this.be}/mac`);
    this.s.mac = mac;
    if (!this.s.mcastWatch) {
      xs.watch(this.drv, `${fe}/request-multicast-control`, `mc:${this.name}`);
      this.s.mcastWatch = true;
    }
    if (readUnsigned(xs.read(`${fe}/request-rx-copy`), 0) === 0) return this.fatal(Errno.EOPNOTSUPP, `${fe}/request-rx-copy: the frontend must use rx-copy (rx-flip is not implemented)`);
    xs.read(`${fe}/feature-rx-notify`);
    this.s.canSg = readUnsigned(xs.read(`${fe}/feature-sg`), 0) !== 0;
    this.s.gsoMask = (readUnsigned(xs.read(`${fe}/feature-gso-tcpv4`), 0) !== 0 ? 1 << XEN_NETIF_GSO_TYPE_TCPV4 : 0) | (readUnsigned(xs.read(`${fe}/feature-gso-tcpv6`), 0) !== 0 ? 1 << XEN_NETIF_GSO_TYPE_TCPV6 : 0);
    xs.read(`${fe}/feature-no-csum-offload`);
    xs.read(`${fe}/feature-ipv6-csum-offload`);
    for (let q = 0; q < nq; q++) {
      if (!this.connectQueue(q, nq === 1 ? fe : `${fe}/queue-${q}`)) {
        this.disconnect();
        return false;
      }
    }
    this.sw.bind(this.port, (f) => this.deliver(f));
    this.unwatchHotplug();
    xs.watch(this.drv, `${this.be}/hotplug-status`, `hp:${this.name}`);
    this.s.hotplugWatch = true;
    for (const q of this.queues) {
      q.kick(q.s.txPort);
      if (q.s.rxPort !== q.s.txPort) q.kick(q.s.rxPort);
    }
    return true;
  }

  /** connect_data_rings + xenvif_connect_data for queue `q` whose keys are in `dir`. */
  private connectQueue(q: number, dir: string): boolean {
    const xs = this.env.xs;
    const txRef = readUnsigned(xs.read(`${dir}/tx-ring-ref`), -1);
    const rxRef = readUnsigned(xs.read(`${dir}/rx-ring-ref`), -1);
    if (txRef < 0 || rxRef < 0) return this.fatal(Errno.ENOENT, `reading ${dir}/ring-ref`);
    let feTx = readUnsigned(xs.read(`${dir}/event-channel-tx`), -1);
    let feRx = readUnsigned(xs.read(`${dir}/event-channel-rx`), -1);
    if (feTx < 0 || feRx < 0) {
      feTx = feRx = readUnsigned(xs.read(`${dir}/event-channel`), -1);
      if (feTx < 0) return this.fatal(Errno.ENOENT, `reading ${dir}/event-channel(-tx/rx)`);
    }
    const what = `mapping shared-frames ${txRef}/${rxRef} port tx ${feTx} rx ${feRx}`;
    const txPage = this.env.mapGrant(this.s.fe, txRef, false);
    if (typeof txPage === 'number') return this.fatal(-txPage, what);
    const rxPage = this.env.mapGrant(this.s.fe, rxRef, false);
    if (typeof rxPage === 'number') {
      this.env.unmapGrant(txPage);
      return this.fatal(-rxPage, what);
    }
    const undo = (err: number): false => {
      this.env.unmapGrant(txPage);
      this.env.unmapGrant(rxPage);
      return this.fatal(err, what);
    };
    const txPort = this.env.bindInterdomain(this.drv, this.s.fe, feTx);
    if (txPort < 0) return undo(-txPort);
    const rxPort = feRx === feTx ? txPort : this.env.bindInterdomain(this.drv, this.s.fe, feRx);
    if (rxPort < 0) {
      this.env.close(txPort);
      return undo(-rxPort);
    }
    const st = this.attach(q, { txPort, rxPort, feTx, feRx, txRef, rxRef, txPage, rxPage });
    this.s.queues.push(st);
    this.queues.push(new NetQueue(this.env, st, this.qdev));
    this.env.ringAdd({ kind: 'netif-tx', frontDom: this.s.fe, port: feTx, gref: txRef, mfns: [txPage.mfn], entries: NET_TX_RING_SIZE });
    this.env.ringAdd({ kind: 'netif-rx', frontDom: this.s.fe, port: feRx, gref: rxRef, mfns: [rxPage.mfn], entries: NET_RX_RING_SIZE });
    return true;
  }

  /** BACK_RING_ATTACH of both rings: go on where their responses stand. */
  private attach(queue: number, r: { txPort: number; rxPort: number; feTx: number; feRx: number; txRef: number; rxRef: number; txPage: GrantMap; rxPage: GrantMap }): NetQueueState {
    const txProd = this.env.frame(r.txPage.mfn).getUint32(sring.rsp_prod, true);
    const rxProd = this.env.frame(r.rxPage.mfn).getUint32(sring.rsp_prod, true);
    return {
      queue, txPort: r.txPort, rxPort: r.rxPort, feTxPort: r.feTx, feRxPort: r.feRx, txRef: r.txRef, rxRef: r.rxRef, txPage: r.txPage, rxPage: r.rxPage,
      txReqCons: txProd, txRspProdPvt: txProd, rxReqCons: rxProd, rxRspProdPvt: rxProd, backlog: [], halted: false,
      tx: { packets: 0, bytes: 0, errors: 0, dropped: 0 }, rx: { packets: 0, bytes: 0, errors: 0, dropped: 0, waited: 0 },
    };
  }

  /** backend_disconnect: the queues go, the port on the bridge goes down. */
  private disconnect(): void {
    for (const q of this.queues) q.disconnect();
    this.queues = [];
    this.s.queues = [];
    this.sw.bind(this.port, null);
    if (this.s.mcastWatch) this.env.xs.unwatch(this.drv, `${this.s.otherend}/request-multicast-control`, `mc:${this.name}`);
    this.s.mcastWatch = false;
  }

  /** A frame from the switch (xenvif_start_xmit): multicast filter, queue choice, GSO the frontend cannot take segmented, into the queue. */
  private deliver(f: Frame): boolean {
    if (this.queues.length === 0) return false;
    const b = f.bytes;
    if (this.s.multicastControl && P.isMulticast(b) && !(P.be32(b, P.ETH_DST) === 0xffffffff && P.be16(b, P.ETH_DST + 4) === 0xffff)) {
      if (!this.s.mcast.includes(P.macKey(b, P.ETH_DST))) return false;
    }
    const q = this.queues[this.queues.length === 1 ? 0 : flowHash(b) % this.queues.length]!;
    if (f.gso !== null && (this.s.gsoMask & (1 << f.gso.type)) === 0) {
      // The frontend takes no super-frames of this type: segment it in software.
      const segs = segmentTcp(b, f.gso.size);
      if (segs === null) {
        q.s.rx.dropped++;
        return false;
      }
      return segs.map((s) => q.deliver({ bytes: s, validated: true, gso: null })).every((ok) => ok);
    }
    return q.deliver(f);
  }

  /** xenvif_mcast_add / _del. */
  private mcastUpdate(add: boolean, mac: Uint8Array): boolean {
    const key = P.macKey(mac, 0);
    const k = this.s.mcast.indexOf(key);
    if (!add) {
      if (k >= 0) this.s.mcast.splice(k, 1);
      return true;
    }
    if (k >= 0) return true;
    if (this.s.mcast.length >= MCAST_MAX) return false;
    this.s.mcast.push(key);
    return true;
  }

  private unwatchHotplug(): void {
    if (!this.s.hotplugWatch) return;
    this.env.xs.unwatch(this.drv, `${this.be}/hotplug-status`, `hp:${this.name}`);
    this.s.hotplugWatch = false;
  }

  /** xenbus_switch_state: read the old state and write the new one in a transaction. */
  private writeState(state: number): void {
    if (state === this.s.written) return;
    xenbusSwitchState(this.env.xs, this.be, state);
    this.s.written = state;
  }

  /** xenbus_dev_fatal: the error under dom0's error/ tree, then Closing. Returns false. */
  private fatal(err: number, msg: string): false {
    this.env.xs.write(`/local/domain/0/error/backend/vif/${this.s.fe}/${this.s.devid}/error`, `${err} ${msg}`);
    this.s.state = XB.XenbusStateClosing;
    this.writeState(XB.XenbusStateClosing);
    return false;
  }
}

/** A flow's queue (several queues): FNV-1a over the IPv4 addresses, protocol and ports, or the MAC addresses. */
function flowHash(b: Uint8Array): number {
  let h = 0x811c9dc5;
  const mix = (from: number, to: number): void => {
    for (let i = from; i < to && i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  };
  if (b.length >= P.ETH_HLEN + P.IP_HLEN && P.be16(b, P.ETH_TYPE) === P.ETHERTYPE_IPV4) {
    const ip = P.ETH_HLEN;
    mix(ip + P.IP_PROTO, ip + P.IP_PROTO + 1);
    mix(ip + P.IP_SRC, ip + P.IP_DST + 4);
    mix(ip + (b[ip]! & 0xf) * 4, ip + (b[ip]! & 0xf) * 4 + 4);
  } else mix(P.ETH_DST, P.ETH_TYPE);
  return h;
}
