/**
 * The virtual switch and its peer: the peer's ARP, ICMP echo, UDP echo and
 * port-unreachable answers (checked field by field and by the receiver's
 * checksum rule), what it drops; the bridge's learning, flooding,
 * filtering and ageing; every forwarded frame one `net` event, in order;
 * a snapshot restores the tables.
 */
import { describe, expect, it } from 'vitest';
import type { SimEventBody } from '../../events.js';
import type { Dom0Env } from '../backend.js';
import { Peer } from './peer.js';
import * as P from './proto.js';
import { VSwitch, type Frame } from './switch.js';

const PEER_MAC = P.parseMac('02:78:72:00:00:01')!;
const PEER_IP = P.parseIPv4('10.0.0.1');
const A = P.parseMac('00:16:3e:00:00:0a')!;
const B = P.parseMac('00:16:3e:00:00:0b')!;
const BCAST = P.parseMac('ff:ff:ff:ff:ff:ff')!;
const peerCfg = { mac: PEER_MAC, ip: PEER_IP, prefix: 24, udpEchoPort: 7 };

function eth(dst: Uint8Array, src: Uint8Array, ethertype: number, payload: number): Uint8Array {
  const f = new Uint8Array(P.ETH_HLEN + payload);
  f.set(dst, P.ETH_DST);
  f.set(src, P.ETH_SRC);
  P.put16(f, P.ETH_TYPE, ethertype);
  return f;
}

function arpRequest(src: Uint8Array, spa: string, tpa: string): Uint8Array {
  const f = eth(BCAST, src, P.ETHERTYPE_ARP, P.ARP_LEN);
  const a = P.ETH_HLEN;
  P.put16(f, a + P.ARP_HTYPE, P.ARPHRD_ETHER);
  P.put16(f, a + P.ARP_PTYPE, P.ETHERTYPE_IPV4);
  f[a + P.ARP_HLEN] = 6;
  f[a + P.ARP_PLEN] = 4;
  P.put16(f, a + P.ARP_OPER, P.ARPOP_REQUEST);
  f.set(src, a + P.ARP_SHA);
  P.put32(f, a + P.ARP_SPA, P.parseIPv4(spa));
  P.put32(f, a + P.ARP_TPA, P.parseIPv4(tpa));
  return f;
}

/** An IPv4 frame from A (10.0.0.2) to the peer: `proto`, `l4` bytes given (checksums to fill by the caller). */
function ipv4(proto: number, l4: number[]): Uint8Array {
  const f = eth(PEER_MAC, A, P.ETHERTYPE_IPV4, P.IP_HLEN + l4.length);
  const ip = P.ETH_HLEN;
  f[ip] = 0x45;
  P.put16(f, ip + P.IP_TOTLEN, P.IP_HLEN + l4.length);
  f[ip + P.IP_TTL] = 64;
  f[ip + P.IP_PROTO] = proto;
  P.put32(f, ip + P.IP_SRC, P.parseIPv4('10.0.0.2'));
  P.put32(f, ip + P.IP_DST, PEER_IP);
  P.put16(f, ip + P.IP_CSUM, P.inetChecksum(f, ip, ip + P.IP_HLEN));
  f.set(l4, ip + P.IP_HLEN);
  return f;
}

function echoRequest(data: number[]): Uint8Array {
  const f = ipv4(P.IPPROTO_ICMP, [P.ICMP_ECHO, 0, 0, 0, 0x12, 0x34, 0, 7, ...data]);
  const o = P.ETH_HLEN + P.IP_HLEN;
  P.put16(f, o + P.ICMP_CSUM, P.inetChecksum(f, o, f.length));
  return f;
}

function udp(dport: number, data: number[]): Uint8Array {
  const len = P.UDP_HLEN + data.length;
  const f = ipv4(P.IPPROTO_UDP, [0x0f, 0xa0, dport >> 8, dport & 0xff, len >> 8, len & 0xff, 0, 0, ...data]);
  const o = P.ETH_HLEN + P.IP_HLEN;
  P.put16(f, o + P.UDP_CSUM, P.inetChecksum(f, o, f.length, P.pseudoSum(f, P.ETH_HLEN, P.IPPROTO_UDP, len)));
  return f;
}

/** The receiver's checks of an IPv4 reply from the peer to A: addresses, header checksum; its L4 offset. */
function checkIp(r: Uint8Array, proto: number): number {
  expect(P.formatMac(r, P.ETH_DST)).toBe(P.formatMac(A));
  expect(P.formatMac(r, P.ETH_SRC)).toBe(P.formatMac(PEER_MAC));
  const ip = P.ETH_HLEN;
  expect(P.inetChecksum(r, ip, ip + P.IP_HLEN)).toBe(0);
  expect(r[ip + P.IP_PROTO]).toBe(proto);
  expect(P.formatIPv4(P.be32(r, ip + P.IP_SRC))).toBe('10.0.0.1');
  expect(P.formatIPv4(P.be32(r, ip + P.IP_DST))).toBe('10.0.0.2');
  return ip + P.IP_HLEN;
}

describe('the peer', () => {
  it('answers an ARP request for its address, not one for another', () => {
    const p = new Peer(peerCfg);
    const [r] = p.receive(arpRequest(A, '10.0.0.2', '10.0.0.1'));
    const a = P.ETH_HLEN;
    expect(r!.length).toBe(P.ETH_ZLEN);
    expect(P.formatMac(r!, P.ETH_DST)).toBe(P.formatMac(A));
    expect(P.be16(r!, a + P.ARP_OPER)).toBe(P.ARPOP_REPLY);
    expect(P.formatMac(r!, a + P.ARP_SHA)).toBe('02:78:72:00:00:01');
    expect(P.formatIPv4(P.be32(r!, a + P.ARP_SPA))).toBe('10.0.0.1');
    expect(P.formatMac(r!, a + P.ARP_THA)).toBe(P.formatMac(A));
    expect(P.formatIPv4(P.be32(r!, a + P.ARP_TPA))).toBe('10.0.0.2');
    expect(p.receive(arpRequest(A, '10.0.0.2', '10.0.0.9'))).toEqual([]);
  });

  it('answers an ICMP echo with the same id, sequence and data; drops one with a bad checksum', () => {
    const p = new Peer(peerCfg);
    const data = Array.from({ length: 56 }, (_, i) => (i * 7) & 0xff);
    const [r] = p.receive(echoRequest(data));
    const o = checkIp(r!, P.IPPROTO_ICMP);
    expect(r![o + P.ICMP_TYPE]).toBe(P.ICMP_ECHOREPLY);
    expect(P.inetChecksum(r!, o, r!.length)).toBe(0);
    expect([...r!.subarray(o + 4, o + 8)]).toEqual([0x12, 0x34, 0, 7]);
    expect([...r!.subarray(o + 8)]).toEqual(data);
    const bad = echoRequest(data);
    bad[bad.length - 1]! ^= 1;
    expect(p.receive(bad)).toEqual([]);
    expect(p.s.echo).toBe(1);
    expect(p.s.dropped).toBe(1);
  });

  it('echoes UDP on its echo port with a correct checksum, and answers another port with port unreachable', () => {
    const p = new Peer(peerCfg);
    const [r] = p.receive(udp(7, [104, 105]));
    const o = checkIp(r!, P.IPPROTO_UDP);
    expect([P.be16(r!, o + P.UDP_SPORT), P.be16(r!, o + P.UDP_DPORT), P.be16(r!, o + P.UDP_LEN)]).toEqual([7, 4000, 10]);
    expect(P.inetChecksum(r!, o, o + 10, P.pseudoSum(r!, P.ETH_HLEN, P.IPPROTO_UDP, 10))).toBe(0);
    expect([...r!.subarray(o + 8, o + 10)]).toEqual([104, 105]);
    const sent = udp(9, [1, 2, 3]);
    const [u] = p.receive(sent);
    const q = checkIp(u!, P.IPPROTO_ICMP);
    expect([u![q], u![q + 1]]).toEqual([3, 3]);
    expect(P.inetChecksum(u!, q, u!.length)).toBe(0);
    // the offending IP header and the first 8 bytes after it
    expect([...u!.subarray(q + 8, q + 8 + 28)]).toEqual([...sent.subarray(P.ETH_HLEN, P.ETH_HLEN + 28)]);
    // IP ids count from 1
    expect([P.be16(r!, P.ETH_HLEN + P.IP_ID), P.be16(u!, P.ETH_HLEN + P.IP_ID)]).toEqual([1, 2]);
  });

  it('ignores fragments, frames for other MACs and other protocols', () => {
    const p = new Peer(peerCfg);
    const frag = echoRequest([1, 2]);
    P.put16(frag, P.ETH_HLEN + P.IP_FRAG, P.IP_MF);
    P.put16(frag, P.ETH_HLEN + P.IP_CSUM, 0);
    P.put16(frag, P.ETH_HLEN + P.IP_CSUM, P.inetChecksum(frag, P.ETH_HLEN, P.ETH_HLEN + P.IP_HLEN));
    expect(p.receive(frag)).toEqual([]);
    const other = echoRequest([1]);
    other.set(B, P.ETH_DST);
    expect(p.receive(other)).toEqual([]);
    expect(p.receive(eth(PEER_MAC, A, 0x86dd, 40))).toEqual([]);
  });
});

/** A switch over a fake dom0: the events it emits, a settable clock, and vif sinks that record. */
function rig() {
  const events: SimEventBody[] = [];
  let now = 0;
  const env = { emit: (b: SimEventBody) => events.push(b), now: () => now } as unknown as Dom0Env;
  const sw = new VSwitch(env, [{ name: 'xenbr0', peer: peerCfg }, { name: 'br1', peer: null }]);
  const got = new Map<string, Uint8Array[]>();
  for (const [bridge, port] of [['xenbr0', 'vif1.0'], ['xenbr0', 'vif2.0'], ['xenbr0', 'vif3.0'], ['br1', 'vif4.0']] as const) {
    expect(sw.plug(bridge, port)).toBe(true);
    got.set(port, []);
    sw.bind(port, (f: Frame) => (got.get(port)!.push(f.bytes), true));
  }
  const net = () => events.filter((e): e is Extract<SimEventBody, { kind: 'net' }> => e.kind === 'net').map((e) => `${e.bridge} ${e.src} -> ${e.dst}`);
  return { sw, got, net, setNow: (t: number) => (now = t) };
}
const frame = (bytes: Uint8Array): Frame => ({ bytes, validated: false, gso: null });

describe('the switch', () => {
  it('floods unknown and broadcast frames (the peer last), learns sources, sends learnt unicast to one port', () => {
    const { sw, got, net } = rig();
    expect(sw.plug('nobridge', 'vif9.0')).toBe(false);
    sw.send('vif1.0', frame(arpRequest(A, '10.0.0.2', '10.0.0.1')));
    // The ARP reply from the peer goes to vif1.0 alone: A was learnt there.
    expect(net()).toEqual(['xenbr0 vif1.0 -> vif2.0,vif3.0,peer', 'xenbr0 peer -> vif1.0']);
    expect(got.get('vif1.0')!.length).toBe(1);
    expect(got.get('vif2.0')!.length).toBe(1);
    expect(got.get('vif4.0')!.length).toBe(0);
    // B unknown yet: A's frame to B floods; then B answers and is learnt; A -> B is unicast.
    sw.send('vif1.0', frame(eth(B, A, 0x88b5, 50)));
    sw.send('vif2.0', frame(eth(A, B, 0x88b5, 50)));
    sw.send('vif1.0', frame(eth(B, A, 0x88b5, 50)));
    expect(net().slice(2)).toEqual(['xenbr0 vif1.0 -> vif2.0,vif3.0,peer', 'xenbr0 vif2.0 -> vif1.0', 'xenbr0 vif1.0 -> vif2.0']);
    // A frame to a MAC learnt on its own ingress port is filtered (no destination).
    sw.send('vif1.0', frame(eth(A, A, 0x88b5, 50)));
    expect(net().at(-1)).toBe('xenbr0 vif1.0 -> ');
    expect(sw.frames).toBe(6);
  });

  it('forgets an address after 300 s of simulated time, and a vif unplugged', () => {
    const { sw, net, setNow } = rig();
    sw.send('vif2.0', frame(eth(A, B, 0x88b5, 50)));
    setNow(299e9);
    sw.send('vif1.0', frame(eth(B, A, 0x88b5, 50)));
    setNow(600e9);
    sw.send('vif3.0', frame(eth(B, A, 0x88b5, 50)));
    expect(net()).toEqual(['xenbr0 vif2.0 -> vif1.0,vif3.0,peer', 'xenbr0 vif1.0 -> vif2.0', 'xenbr0 vif3.0 -> vif1.0,vif2.0,peer']);
    sw.unplug('vif2.0');
    sw.send('vif1.0', frame(eth(B, A, 0x88b5, 50)));
    expect(net().at(-1)).toBe('xenbr0 vif1.0 -> vif3.0,peer');
    sw.send('vif2.0', frame(eth(A, B, 0x88b5, 50)));
    expect(net()).toHaveLength(4); // an unplugged port sends nothing
  });

  it('a snapshot restores the learnt addresses, the ports and the peer', () => {
    const a = rig();
    a.sw.send('vif1.0', frame(arpRequest(A, '10.0.0.2', '10.0.0.1')));
    a.sw.send('vif2.0', frame(eth(A, B, 0x88b5, 50)));
    const snap = a.sw.snapshot();
    const b = rig();
    b.sw.restore(JSON.parse(JSON.stringify(snap)) as typeof snap);
    for (const port of ['vif1.0', 'vif2.0']) b.sw.bind(port, () => true);
    b.sw.send('vif1.0', frame(eth(B, A, 0x88b5, 50)));
    expect(b.net()).toEqual(['xenbr0 vif1.0 -> vif2.0']);
    expect(b.sw.peer('xenbr0')!.s.arp).toBe(1);
    expect(b.sw.snapshot().frames).toBe(4);
  });
});
