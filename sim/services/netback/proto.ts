/**
 * The wire formats the virtual switch and its peer read and write: Ethernet
 * II (RFC 894), ARP for IPv4 over Ethernet (RFC 826), IPv4 (RFC 791), ICMP
 * echo (RFC 792), UDP (RFC 768), and the Internet checksum (RFC 1071).
 * Not Xen ABI: named offsets into a frame, big-endian on the wire. Frames
 * are plain byte arrays; nothing here keeps state.
 */

export const ETH_ALEN = 6;
/** Ethernet header: destination, source, EtherType. */
export const ETH_DST = 0;
export const ETH_SRC = 6;
export const ETH_TYPE = 12;
export const ETH_HLEN = 14;
export const ETH_ZLEN = 60;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_VLAN = 0x8100;

/** ARP packet (after the Ethernet header), Ethernet + IPv4 sizes. */
export const ARP_HTYPE = 0;
export const ARP_PTYPE = 2;
export const ARP_HLEN = 4;
export const ARP_PLEN = 5;
export const ARP_OPER = 6;
export const ARP_SHA = 8;
export const ARP_SPA = 14;
export const ARP_THA = 18;
export const ARP_TPA = 24;
export const ARP_LEN = 28;
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** IPv4 header (no options written; options read past via IHL). */
export const IP_VHL = 0;
export const IP_TOTLEN = 2;
export const IP_ID = 4;
export const IP_FRAG = 6;
export const IP_TTL = 8;
export const IP_PROTO = 9;
export const IP_CSUM = 10;
export const IP_SRC = 12;
export const IP_DST = 16;
export const IP_HLEN = 20;
export const IP_MF = 0x2000;
export const IP_OFFMASK = 0x1fff;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** ICMP echo header. */
export const ICMP_TYPE = 0;
export const ICMP_CODE = 1;
export const ICMP_CSUM = 2;
export const ICMP_HLEN = 8;
export const ICMP_ECHOREPLY = 0;
export const ICMP_ECHO = 8;

/** UDP and TCP headers. */
export const UDP_SPORT = 0;
export const UDP_DPORT = 2;
export const UDP_LEN = 4;
export const UDP_CSUM = 6;
export const UDP_HLEN = 8;
export const TCP_CSUM = 16;

export const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
export const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  put16(b, o, v >>> 16);
  put16(b, o + 2, v & 0xffff);
}

/** The one's-complement sum of b[from, to) folded to 16 bits, starting from `sum` (not complemented). */
export function csumAdd(b: Uint8Array, from: number, to: number, sum = 0): number {
  let s = sum;
  let i = from;
  for (; i + 1 < to; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (i < to) s += b[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The Internet checksum of b[from, to) (RFC 1071): the complement of the folded sum. */
export function inetChecksum(b: Uint8Array, from: number, to: number, sum = 0): number {
  return ~csumAdd(b, from, to, sum) & 0xffff;
}

/** The IPv4 pseudo-header sum for an L4 segment of `len` bytes (ip: offset of the IPv4 header). */
export function pseudoSum(f: Uint8Array, ip: number, proto: number, len: number): number {
  let s = csumAdd(f, ip + IP_SRC, ip + IP_DST + 4);
  s += proto + len;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** "00:16:3e:01:02:03" -> bytes, or null (six hex pairs separated by colons, as xl writes them). */
export function parseMac(s: string): Uint8Array | null {
  const m = /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/.exec(s);
  return m === null ? null : Uint8Array.from(m.slice(1).map((x) => parseInt(x, 16)));
}

export function formatMac(b: Uint8Array, at = 0): string {
  return Array.from(b.subarray(at, at + ETH_ALEN), (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A MAC address as a number (48 bits fit a double exactly): keys of the switch's table. */
export function macKey(b: Uint8Array, at: number): number {
  return b[at]! * 2 ** 40 + b[at + 1]! * 2 ** 32 + be32(b, at + 2);
}

/** Dotted quad -> u32, or -1. */
export function parseIPv4(s: string): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (m === null) return -1;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return -1;
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

export function formatIPv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff].join('.');
}

/** Group bit of the destination: broadcast and multicast frames. */
export const isMulticast = (f: Uint8Array): boolean => (f[ETH_DST]! & 1) !== 0;

/** libxl's default MAC, 00:16:3e:(r0 & 0x7f):r1:r2, with r from an FNV-1a hash of "<domain>/<devid>" instead of a random UUID. */
export function defaultMac(name: string, devid: number): string {
  let h = 0x811c9dc5;
  for (const c of Buffer.from(`${name}/${devid}`, 'utf8')) h = Math.imul(h ^ c, 0x01000193) >>> 0;
  return [0x00, 0x16, 0x3e, (h >>> 24) & 0x7f, (h >>> 16) & 0xff, (h >>> 8) & 0xff].map((x) => x.toString(16).padStart(2, '0')).join(':');
}
