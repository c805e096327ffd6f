/**
 * One-line descriptions of Ethernet frames, in tcpdump's manner, for event
 * summaries of the virtual switch's `net` events:
 *   "ARP, Request who-has 10.0.0.1 tell 10.0.0.2"
 *   "10.0.0.2 > 10.0.0.1: ICMP echo request, id 1, seq 1, length 64"
 *   "10.0.0.2.4000 > 10.0.0.1.7: UDP, length 16"
 */
import * as P from '../sim/services/netback/proto.js';

const ICMP_NAMES: Record<number, string> = { 0: 'echo reply', 3: 'destination unreachable', 8: 'echo request', 11: 'time exceeded' };

export function describeFrame(f: Uint8Array): string {
  if (f.length < P.ETH_HLEN) return `truncated frame, length ${f.length}`;
  const ethertype = P.be16(f, P.ETH_TYPE);
  const a = P.ETH_HLEN;
  if (ethertype === P.ETHERTYPE_ARP && f.length >= a + P.ARP_LEN) {
    const oper = P.be16(f, a + P.ARP_OPER);
    const spa = P.formatIPv4(P.be32(f, a + P.ARP_SPA));
    const tpa = P.formatIPv4(P.be32(f, a + P.ARP_TPA));
    if (oper === P.ARPOP_REQUEST) return `ARP, Request who-has ${tpa} tell ${spa}`;
    if (oper === P.ARPOP_REPLY) return `ARP, Reply ${spa} is-at ${P.formatMac(f, a + P.ARP_SHA)}`;
    return `ARP, operation ${oper}`;
  }
  if (ethertype !== P.ETHERTYPE_IPV4 || f.length < a + P.IP_HLEN) return `${P.formatMac(f, P.ETH_SRC)} > ${P.formatMac(f, P.ETH_DST)}, ethertype 0x${ethertype.toString(16).padStart(4, '0')}, length ${f.length}`;
  const src = P.formatIPv4(P.be32(f, a + P.IP_SRC));
  const dst = P.formatIPv4(P.be32(f, a + P.IP_DST));
  const l4 = a + (f[a]! & 0xf) * 4;
  const end = Math.min(f.length, a + P.be16(f, a + P.IP_TOTLEN));
  const proto = f[a + P.IP_PROTO]!;
  if (proto === P.IPPROTO_ICMP && end - l4 >= P.ICMP_HLEN) {
    const t = f[l4]!;
    const name = ICMP_NAMES[t] ?? `type ${t}`;
    const echo = t === P.ICMP_ECHO || t === P.ICMP_ECHOREPLY ? `, id ${P.be16(f, l4 + 4)}, seq ${P.be16(f, l4 + 6)}` : '';
    return `${src} > ${dst}: ICMP ${name}${echo}, length ${end - l4}`;
  }
  if ((proto === P.IPPROTO_UDP || proto === P.IPPROTO_TCP) && end - l4 >= 4) {
    const name = proto === P.IPPROTO_UDP ? 'UDP' : 'TCP';
    return `${src}.${P.be16(f, l4)} > ${dst}.${P.be16(f, l4 + 2)}: ${name}, length ${end - l4 - (proto === P.IPPROTO_UDP ? P.UDP_HLEN : 0)}`;
  }
  return `${src} > ${dst}: ip-proto-${proto}, length ${end - l4}`;
}
