/**
 * Software GSO: a TCP super-frame (sent with a XEN_NETIF_EXTRA_TYPE_GSO
 * extra: its MSS and type) cut into MSS-sized segments for a vif whose
 * frontend did not offer that GSO type, as Linux's skb_gso_segment does
 * before such a device: every segment has the super-frame's Ethernet, IP
 * and TCP headers (options included), its own IPv4 total length, id
 * (counting up from the super-frame's) and header checksum (or IPv6
 * payload length), its TCP sequence number advanced by the payload before
 * it, FIN and PSH only on the last, CWR only on the first, and its TCP
 * checksum computed.
 */
import * as P from './proto.js';

const IP6_PLEN = 4;
const IP6_HLEN = 40;
const ETHERTYPE_IPV6 = 0x86dd;
const TCP_SEQ = 4;
const TCP_OFF = 12;
const TCP_FLAGS = 13;
const TH_FIN = 0x01;
const TH_PSH = 0x08;
const TH_CWR = 0x80;

/** The segments of TCP super-frame `f` at `mss` bytes of payload each, or null when `f` is not TCP over IPv4/IPv6 (or mss is 0). */
export function segmentTcp(f: Uint8Array, mss: number): Uint8Array[] | null {
  if (mss === 0 || f.length < P.ETH_HLEN + P.IP_HLEN) return null;
  const ip = P.ETH_HLEN;
  const v4 = P.be16(f, P.ETH_TYPE) === P.ETHERTYPE_IPV4;
  if (!v4 && P.be16(f, P.ETH_TYPE) !== ETHERTYPE_IPV6) return null;
  const ihl = v4 ? (f[ip]! & 0xf) * 4 : IP6_HLEN;
  const proto = v4 ? f[ip + P.IP_PROTO] : f[ip + 6];
  const tcp = ip + ihl;
  if (proto !== P.IPPROTO_TCP || f.length < tcp + 20) return null;
  const hlen = tcp + (f[tcp + TCP_OFF]! >> 4) * 4;
  const end = v4 ? ip + P.be16(f, ip + P.IP_TOTLEN) : tcp + P.be16(f, ip + IP6_PLEN);
  if (hlen > end || end > f.length) return null;
  const seq = P.be32(f, tcp + TCP_SEQ);
  const id = v4 ? P.be16(f, ip + P.IP_ID) : 0;
  const flags = f[tcp + TCP_FLAGS]!;
  const out: Uint8Array[] = [];
  for (let at = hlen, k = 0; at < end || k === 0; at += mss, k++) {
    const n = Math.min(mss, end - at);
    const last = at + n >= end;
    const s = new Uint8Array(hlen + n);
    s.set(f.subarray(0, hlen));
    s.set(f.subarray(at, at + n), hlen);
    if (v4) {
      P.put16(s, ip + P.IP_TOTLEN, hlen - ip + n);
      P.put16(s, ip + P.IP_ID, (id + k) & 0xffff);
      P.put16(s, ip + P.IP_CSUM, 0);
      P.put16(s, ip + P.IP_CSUM, P.inetChecksum(s, ip, tcp));
    } else P.put16(s, ip + IP6_PLEN, hlen - tcp + n);
    P.put32(s, tcp + TCP_SEQ, (seq + (at - hlen)) >>> 0);
    s[tcp + TCP_FLAGS] = flags & ~(last ? 0 : TH_FIN | TH_PSH) & ~(k === 0 ? 0 : TH_CWR);
    P.put16(s, tcp + P.TCP_CSUM, 0);
    const sum = v4 ? P.pseudoSum(s, ip, P.IPPROTO_TCP, s.length - tcp) : pseudo6(s, ip, s.length - tcp);
    P.put16(s, tcp + P.TCP_CSUM, P.inetChecksum(s, tcp, s.length, sum));
    out.push(s);
    if (last) break;
  }
  return out;
}

function pseudo6(s: Uint8Array, ip: number, len: number): number {
  const sum = P.csumAdd(s, ip + 8, ip + 40);
  return P.csumAdd(Uint8Array.of(0, 0, len >> 8, len & 0xff, 0, 0, 0, P.IPPROTO_TCP), 0, 8, sum);
}
