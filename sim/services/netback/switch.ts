/**
 * The virtual switch: every bridge of the scenario, a learning bridge as
 * Linux's bridge without STP, joining the vifs the hotplug script added to
 * it (`plug`, port vif<domid>.<devid>) and the bridge's built-in peer (port
 * "peer", peer.ts). No host networking: frames exist only here.
 *
 * Forwarding: the source MAC is learnt on the ingress port (entries age out
 * after 300 s of simulated time, as bridge's default ageing_time); a
 * unicast destination known on another port goes there alone, one known on
 * the ingress port is filtered; broadcast, multicast and unknown unicast are
 * flooded to every other port of the bridge in the order ports were plugged,
 * the peer last. A vif port whose netback device is not connected (no sink
 * bound) drops what it is given, as a bridge port with carrier off.
 *
 * Ordering: `send` queues the frame; frames are forwarded one at a time in
 * the order they were sent (a frame's deliveries, then the replies they
 * caused, in turn), all at the current simulated time, inside the call that
 * sent the first (a guest's notify, or the rx drain it triggered). Every
 * frame forwarded is one `net` event (bridge, ingress port, the ports it
 * reached, the bytes), emitted before its deliveries: the trace holds the
 * frames in the order the switch handled them. Between calls the queue is
 * empty, so a snapshot needs only the MAC tables and the peers' state.
 */
import type { Dom0Env } from '../backend.js';
import { Peer, type PeerConfig, type PeerState } from './peer.js';
import * as P from './proto.js';

/** A bridge of the scenario: its name and built-in peer (null: none). */
export type BridgeSpec = { name: string; peer: PeerConfig | null };

/** A frame on the switch; `validated`: its L4 checksum is known good (rx flag NETRXF_data_validated); `gso`: a TCP super-frame's MSS and type. */
export type Frame = { bytes: Uint8Array; validated: boolean; gso: { size: number; type: number } | null };

/** Where a vif port hands its frames: true if its device took it. */
export type PortSink = (f: Frame) => boolean;

/** Linux bridge's default ageing_time: 300 s. */
const AGEING_NS = 300e9;
const PEER = 'peer';

type Learnt = { port: string; at: number };
type Bridge = { name: string; peer: Peer | null; ports: string[]; fdb: Map<number, Learnt> };
export type SwitchState = { ports: Array<[string, string[]]>; fdb: Array<[string, Array<[number, Learnt]>]>; peers: Array<[string, PeerState]>; frames: number };

export class VSwitch {
  private readonly bridges = new Map<string, Bridge>();
  /** plugged vif ports: name -> bridge */
  private readonly portBridge = new Map<string, string>();
  private readonly sinks = new Map<string, PortSink>();
  private readonly queue: Array<{ bridge: string; port: string; f: Frame }> = [];
  private busy = false;
  /** frames forwarded so far */
  frames = 0;

  constructor(private readonly env: Dom0Env, specs: BridgeSpec[]) {
    for (const b of specs) this.bridges.set(b.name, { name: b.name, peer: b.peer === null ? null : new Peer(b.peer), ports: [], fdb: new Map() });
  }

  has(bridge: string): boolean {
    return this.bridges.has(bridge);
  }

  peer(bridge: string): Peer | null {
    return this.bridges.get(bridge)?.peer ?? null;
  }

  /** The hotplug script adds vif `port` to `bridge` (false: no such bridge, as brctl addif fails). */
  plug(bridge: string, port: string): boolean {
    const b = this.bridges.get(bridge);
    if (b === undefined) return false;
    if (!b.ports.includes(port)) b.ports.push(port);
    this.portBridge.set(port, bridge);
    return true;
  }

  /** The vif is gone: off its bridge, its learnt addresses forgotten. */
  unplug(port: string): void {
    const b = this.bridges.get(this.portBridge.get(port) ?? '');
    this.portBridge.delete(port);
    this.sinks.delete(port);
    if (b === undefined) return;
    b.ports.splice(b.ports.indexOf(port), 1);
    for (const [k, l] of [...b.fdb]) if (l.port === port) b.fdb.delete(k);
  }

  /** A netback device connected (sink) or disconnected (null) behind vif `port`. */
  bind(port: string, sink: PortSink | null): void {
    if (sink === null) this.sinks.delete(port);
    else this.sinks.set(port, sink);
  }

  bridgeOf(port: string): string | null {
    return this.portBridge.get(port) ?? null;
  }

  /** Vif `port` transmits a frame (see the file comment for when it is forwarded); a port on no bridge drops it. */
  send(port: string, f: Frame): void {
    const bridge = this.portBridge.get(port);
    if (bridge === undefined) return;
    this.queue.push({ bridge, port, f });
    if (this.busy) return;
    this.busy = true;
    try {
      for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) this.forward(this.bridges.get(q.bridge)!, q.port, q.f);
    } finally {
      this.busy = false;
    }
  }

  private forward(b: Bridge, port: string, f: Frame): void {
    const bytes = f.bytes;
    if (bytes.length < P.ETH_HLEN) return;
    const now = this.env.now();
    if ((bytes[P.ETH_SRC]! & 1) === 0) b.fdb.set(P.macKey(bytes, P.ETH_SRC), { port, at: now });
    const to = this.destinations(b, port, bytes, now);
    this.frames++;
    this.env.emit({ kind: 'net', bridge: b.name, src: port, dst: to.join(','), frame: bytes });
    for (const p of to) {
      if (p !== PEER) this.sinks.get(p)?.(f);
      else for (const r of b.peer!.receive(bytes)) this.queue.push({ bridge: b.name, port: PEER, f: { bytes: r, validated: true, gso: null } });
    }
  }

  /** The ports a frame from `from` goes to (see the file comment). */
  private destinations(b: Bridge, from: string, f: Uint8Array, now: number): string[] {
    const all = b.peer === null ? b.ports : [...b.ports, PEER];
    if (!P.isMulticast(f)) {
      const l = b.fdb.get(P.macKey(f, P.ETH_DST));
      if (l !== undefined && now - l.at <= AGEING_NS && all.includes(l.port)) return l.port === from ? [] : [l.port];
    }
    return all.filter((p) => p !== from);
  }

  snapshot(): SwitchState {
    return {
      ports: [...this.bridges.values()].map((b) => [b.name, [...b.ports]]),
      fdb: [...this.bridges.values()].map((b) => [b.name, [...b.fdb].map(([k, l]) => [k, { ...l }])]),
      peers: [...this.bridges.values()].filter((b) => b.peer !== null).map((b) => [b.name, b.peer!.snapshot()]),
      frames: this.frames,
    };
  }

  restore(s: SwitchState): void {
    this.portBridge.clear();
    this.sinks.clear();
    for (const b of this.bridges.values()) (b.ports.length = 0), b.fdb.clear();
    for (const [bridge, ports] of s.ports) for (const port of ports) this.plug(bridge, port);
    for (const [name, fdb] of s.fdb) for (const [k, l] of fdb) this.bridges.get(name)?.fdb.set(k, { ...l });
    for (const [name, ps] of s.peers) this.bridges.get(name)?.peer?.restore(ps);
    this.frames = s.frames;
  }
}
