/**
 * The built-in peer: a host on a bridge of the virtual switch with one IPv4
 * address, answering what a freshly booted Linux host answers, nothing else:
 * - ARP requests for its address (a reply to the asker's hardware address);
 * - ICMP echo requests to its address (an echo reply with the same id,
 *   sequence and data);
 * - UDP datagrams to its echo port (RFC 862: the payload back, ports
 *   swapped); UDP to any other port gets ICMP port unreachable (the
 *   offending header and the first 8 bytes of its payload).
 * Frames not for its MAC (or broadcast), IPv4 with a bad header checksum,
 * ICMP or UDP with a bad checksum, fragments (no reassembly) and IP options
 * are dropped silently, as Linux's input path drops them. Replies carry
 * TTL 64, DF clear, IP ids counting from 1, and correct checksums.
 */
import * as P from './proto.js';

export type PeerConfig = { mac: Uint8Array; ip: number; prefix: number; udpEchoPort: number };
export type PeerState = { ipId: number; arp: number; echo: number; udp: number; unreach: number; dropped: number };

export class Peer {
  readonly s: PeerState = { ipId: 1, arp: 0, echo: 0, udp: 0, unreach: 0, dropped: 0 };

  constructor(readonly cfg: PeerConfig) {}

  /** A frame the switch delivered to the peer: the replies it sends, in order. */
  receive(f: Uint8Array): Uint8Array[] {
    const mine = P.isMulticast(f) ? P.be32(f, P.ETH_DST) === 0xffffffff && P.be16(f, P.ETH_DST + 4) === 0xffff : this.isMe(f, P.ETH_DST);
    if (!mine || f.length < P.ETH_HLEN) return [];
    const ethertype = P.be16(f, P.ETH_TYPE);
    const out = ethertype === P.ETHERTYPE_ARP ? this.arp(f) : ethertype === P.ETHERTYPE_IPV4 ? this.ipv4(f) : null;
    if (out === null) {
      this.s.dropped++;
      return [];
    }
    return [out];
  }

  private isMe(f: Uint8Array, at: number): boolean {
    const m = this.cfg.mac;
    for (let i = 0; i < P.ETH_ALEN; i++) if (f[at + i] !== m[i]) return false;
    return true;
  }

  private arp(f: Uint8Array): Uint8Array | null {
    const a = P.ETH_HLEN;
    if (f.length < a + P.ARP_LEN || P.be16(f, a + P.ARP_HTYPE) !== P.ARPHRD_ETHER || P.be16(f, a + P.ARP_PTYPE) !== P.ETHERTYPE_IPV4) return null;
    if (f[a + P.ARP_HLEN] !== P.ETH_ALEN || f[a + P.ARP_PLEN] !== 4 || P.be16(f, a + P.ARP_OPER) !== P.ARPOP_REQUEST) return null;
    if (P.be32(f, a + P.ARP_TPA) !== this.cfg.ip) return null;
    const r = this.ethernet(f.subarray(a + P.ARP_SHA, a + P.ARP_SHA + P.ETH_ALEN), P.ETHERTYPE_ARP, P.ARP_LEN);
    r.set(f.subarray(a, a + P.ARP_OPER), a);
    P.put16(r, a + P.ARP_OPER, P.ARPOP_REPLY);
    r.set(this.cfg.mac, a + P.ARP_SHA);
    P.put32(r, a + P.ARP_SPA, this.cfg.ip);
    r.set(f.subarray(a + P.ARP_SHA, a + P.ARP_SPA + 4), a + P.ARP_THA);
    this.s.arp++;
    return r;
  }

  private ipv4(f: Uint8Array): Uint8Array | null {
    const ip = P.ETH_HLEN;
    if (f.length < ip + P.IP_HLEN || f[ip + P.IP_VHL] !== 0x45) return null;
    const total = P.be16(f, ip + P.IP_TOTLEN);
    if (total < P.IP_HLEN || ip + total > f.length || P.inetChecksum(f, ip, ip + P.IP_HLEN) !== 0) return null;
    if ((P.be16(f, ip + P.IP_FRAG) & (P.IP_MF | P.IP_OFFMASK)) !== 0 || P.be32(f, ip + P.IP_DST) !== this.cfg.ip) return null;
    const l4 = ip + P.IP_HLEN;
    const end = ip + total;
    const proto = f[ip + P.IP_PROTO];
    if (proto === P.IPPROTO_ICMP) return this.icmp(f, l4, end);
    if (proto === P.IPPROTO_UDP) return this.udp(f, l4, end);
    return null;
  }

  private icmp(f: Uint8Array, l4: number, end: number): Uint8Array | null {
    if (end - l4 < P.ICMP_HLEN || f[l4 + P.ICMP_TYPE] !== P.ICMP_ECHO || P.inetChecksum(f, l4, end) !== 0) return null;
    const r = this.reply(f, P.IPPROTO_ICMP, end - l4);
    const o = P.ETH_HLEN + P.IP_HLEN;
    r.set(f.subarray(l4, end), o);
    r[o + P.ICMP_TYPE] = P.ICMP_ECHOREPLY;
    r[o + P.ICMP_CODE] = 0;
    P.put16(r, o + P.ICMP_CSUM, 0);
    P.put16(r, o + P.ICMP_CSUM, P.inetChecksum(r, o, o + end - l4));
    this.s.echo++;
    return r;
  }

  private udp(f: Uint8Array, l4: number, end: number): Uint8Array | null {
    const ulen = end - l4 >= P.UDP_HLEN ? P.be16(f, l4 + P.UDP_LEN) : 0;
    if (ulen < P.UDP_HLEN || l4 + ulen > end) return null;
    const ip = P.ETH_HLEN;
    if (P.be16(f, l4 + P.UDP_CSUM) !== 0 && P.inetChecksum(f, l4, l4 + ulen, P.pseudoSum(f, ip, P.IPPROTO_UDP, ulen)) !== 0) return null;
    if (P.be16(f, l4 + P.UDP_DPORT) !== this.cfg.udpEchoPort) return this.unreachable(f, l4, end);
    const r = this.reply(f, P.IPPROTO_UDP, ulen);
    const o = ip + P.IP_HLEN;
    r.set(f.subarray(l4, l4 + ulen), o);
    P.put16(r, o + P.UDP_SPORT, P.be16(f, l4 + P.UDP_DPORT));
    P.put16(r, o + P.UDP_DPORT, P.be16(f, l4 + P.UDP_SPORT));
    P.put16(r, o + P.UDP_CSUM, 0);
    const c = P.inetChecksum(r, o, o + ulen, P.pseudoSum(r, ip, P.IPPROTO_UDP, ulen));
    P.put16(r, o + P.UDP_CSUM, c === 0 ? 0xffff : c);
    this.s.udp++;
    return r;
  }

  /** ICMP destination unreachable, port unreachable (RFC 1122 3.2.2.1): the IP header and 8 bytes of the datagram. */
  private unreachable(f: Uint8Array, l4: number, end: number): Uint8Array {
    const quote = Math.min(end, l4 + 8) - P.ETH_HLEN;
    const r = this.reply(f, P.IPPROTO_ICMP, P.ICMP_HLEN + quote);
    const o = P.ETH_HLEN + P.IP_HLEN;
    r[o + P.ICMP_TYPE] = ICMP_DEST_UNREACH;
    r[o + P.ICMP_CODE] = ICMP_PORT_UNREACH;
    r.set(f.subarray(P.ETH_HLEN, P.ETH_HLEN + quote), o + P.ICMP_HLEN);
    P.put16(r, o + P.ICMP_CSUM, P.inetChecksum(r, o, o + P.ICMP_HLEN + quote));
    this.s.unreach++;
    return r;
  }

  /** An Ethernet frame to `dst` of `payload` bytes after the header (padded to the 60-byte minimum). */
  private ethernet(dst: Uint8Array, ethertype: number, payload: number): Uint8Array {
    const r = new Uint8Array(Math.max(P.ETH_ZLEN, P.ETH_HLEN + payload));
    r.set(dst, P.ETH_DST);
    r.set(this.cfg.mac, P.ETH_SRC);
    P.put16(r, P.ETH_TYPE, ethertype);
    return r;
  }

  /** A reply to IPv4 frame `f`: Ethernet and IPv4 headers back to its sender, `len` bytes of L4 to fill. */
  private reply(f: Uint8Array, proto: number, len: number): Uint8Array {
    const r = this.ethernet(f.subarray(P.ETH_SRC, P.ETH_SRC + P.ETH_ALEN), P.ETHERTYPE_IPV4, P.IP_HLEN + len);
    const ip = P.ETH_HLEN;
    r[ip + P.IP_VHL] = 0x45;
    P.put16(r, ip + P.IP_TOTLEN, P.IP_HLEN + len);
    P.put16(r, ip + P.IP_ID, this.s.ipId);
    this.s.ipId = (this.s.ipId + 1) & 0xffff;
    r[ip + P.IP_TTL] = DEFAULT_TTL;
    r[ip + P.IP_PROTO] = proto;
    P.put32(r, ip + P.IP_SRC, this.cfg.ip);
    r.set(f.subarray(ip + P.IP_SRC, ip + P.IP_SRC + 4), ip + P.IP_DST);
    P.put16(r, ip + P.IP_CSUM, P.inetChecksum(r, ip, ip + P.IP_HLEN));
    return r;
  }

  snapshot(): PeerState {
    return { ...this.s };
  }

  restore(s: PeerState): void {
    Object.assign(this.s, s);
  }
}

const ICMP_DEST_UNREACH = 3;
const ICMP_PORT_UNREACH = 3;
/** Linux's default ip_default_ttl. */
const DEFAULT_TTL = 64;
