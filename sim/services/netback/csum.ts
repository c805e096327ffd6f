/**
 * Checksum offload: a frame sent with NETTXF_csum_blank carries a TCP or UDP
 * checksum field the sender left for someone else to fill (Linux's
 * CHECKSUM_PARTIAL; netback's checksum_setup finds the field, and the
 * checksum is finished before the frame leaves on a device without
 * offload). Here it is finished at once: IPv4 (with options) or IPv6
 * (without extension headers), TCP or UDP, over the L4 length the IP header
 * gives. A UDP checksum that comes out 0 is sent as 0xffff (RFC 768).
 */
import * as P from './proto.js';

const IP6_PLEN = 4;
const IP6_NEXT = 6;
const IP6_SRC = 8;
const IP6_HLEN = 40;
const ETHERTYPE_IPV6 = 0x86dd;

/** Fill in the L4 checksum of frame `f`; false when the frame has no TCP/UDP checksum to fill. */
export function completeChecksum(f: Uint8Array): boolean {
  if (f.length < P.ETH_HLEN) return false;
  const ethertype = P.be16(f, P.ETH_TYPE);
  const ip = P.ETH_HLEN;
  let l4: number;
  let end: number;
  let proto: number;
  let sum: number;
  if (ethertype === P.ETHERTYPE_IPV4) {
    if (f.length < ip + P.IP_HLEN || f[ip]! >> 4 !== 4) return false;
    const ihl = (f[ip]! & 0xf) * 4;
    end = ip + P.be16(f, ip + P.IP_TOTLEN);
    l4 = ip + ihl;
    proto = f[ip + P.IP_PROTO]!;
    if (ihl < P.IP_HLEN || end > f.length || end < l4) return false;
    sum = P.pseudoSum(f, ip, proto, end - l4);
  } else if (ethertype === ETHERTYPE_IPV6) {
    if (f.length < ip + IP6_HLEN) return false;
    l4 = ip + IP6_HLEN;
    end = l4 + P.be16(f, ip + IP6_PLEN);
    proto = f[ip + IP6_NEXT]!;
    if (end > f.length) return false;
    sum = P.csumAdd(f, ip + IP6_SRC, ip + IP6_SRC + 32);
    sum = P.csumAdd(Uint8Array.of(0, 0, (end - l4) >> 8, (end - l4) & 0xff, 0, 0, 0, proto), 0, 8, sum);
  } else return false;
  const field = proto === P.IPPROTO_TCP ? P.TCP_CSUM : proto === P.IPPROTO_UDP ? P.UDP_CSUM : -1;
  if (field < 0 || l4 + field + 2 > end) return false;
  P.put16(f, l4 + field, 0);
  const c = P.inetChecksum(f, l4, end, sum);
  P.put16(f, l4 + field, c === 0 && proto === P.IPPROTO_UDP ? 0xffff : c);
  return true;
}
