/**
 * The wire helpers: the Internet checksum against RFC 1071's worked example
 * and a frame checked by the receiver's rule (a correct header sums to
 * zero), completed TCP/UDP checksums (csum.ts) against the pseudo-header
 * rule, addresses parsed and printed.
 */
import { describe, expect, it } from 'vitest';
import { completeChecksum } from './csum.js';
import * as P from './proto.js';

/** An IPv4 UDP frame with payload `data`, checksum field zero. */
function udpFrame(data: number[]): Uint8Array {
  const l4 = P.UDP_HLEN + data.length;
  const f = new Uint8Array(P.ETH_HLEN + P.IP_HLEN + l4);
  P.put16(f, P.ETH_TYPE, P.ETHERTYPE_IPV4);
  const ip = P.ETH_HLEN;
  f[ip] = 0x45;
  P.put16(f, ip + P.IP_TOTLEN, P.IP_HLEN + l4);
  f[ip + P.IP_TTL] = 64;
  f[ip + P.IP_PROTO] = P.IPPROTO_UDP;
  P.put32(f, ip + P.IP_SRC, P.parseIPv4('10.0.0.2'));
  P.put32(f, ip + P.IP_DST, P.parseIPv4('10.0.0.1'));
  P.put16(f, ip + P.IP_CSUM, P.inetChecksum(f, ip, ip + P.IP_HLEN));
  const u = ip + P.IP_HLEN;
  P.put16(f, u + P.UDP_SPORT, 4000);
  P.put16(f, u + P.UDP_DPORT, 7);
  P.put16(f, u + P.UDP_LEN, l4);
  f.set(data, u + P.UDP_HLEN);
  return f;
}

describe('Internet checksum', () => {
  it("RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, checksum 0x220d", () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(P.csumAdd(b, 0, 8)).toBe(0xddf2);
    expect(P.inetChecksum(b, 0, 8)).toBe(0x220d);
    // an odd length pads with a zero byte
    expect(P.inetChecksum(Uint8Array.of(0x01), 0, 1)).toBe(0xfeff);
  });

  it('a header with its checksum in place sums to zero (what receivers check)', () => {
    const f = udpFrame([1, 2, 3]);
    expect(P.inetChecksum(f, P.ETH_HLEN, P.ETH_HLEN + P.IP_HLEN)).toBe(0);
    f[P.ETH_HLEN + P.IP_TTL] = 63;
    expect(P.inetChecksum(f, P.ETH_HLEN, P.ETH_HLEN + P.IP_HLEN)).not.toBe(0);
  });

  it('completeChecksum fills the UDP checksum over the pseudo-header; a frame without TCP/UDP is refused', () => {
    const f = udpFrame([0x68, 0x65, 0x6c, 0x6c, 0x6f]);
    expect(completeChecksum(f)).toBe(true);
    const u = P.ETH_HLEN + P.IP_HLEN;
    expect(P.be16(f, u + P.UDP_CSUM)).not.toBe(0);
    expect(P.inetChecksum(f, u, f.length, P.pseudoSum(f, P.ETH_HLEN, P.IPPROTO_UDP, f.length - u))).toBe(0);
    // by hand: pseudo-header 0a00 0002 0a00 0001 0011 000d, header 0fa0 0007 000d, data 6865 6c6c 6f00
    const words = [0x0a00, 0x0002, 0x0a00, 0x0001, 0x0011, 0x000d, 0x0fa0, 0x0007, 0x000d, 0x6865, 0x6c6c, 0x6f00];
    let s = words.reduce((a, b) => a + b, 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    expect(P.be16(f, u + P.UDP_CSUM)).toBe(~s & 0xffff);
    const arp = new Uint8Array(42);
    P.put16(arp, P.ETH_TYPE, P.ETHERTYPE_ARP);
    expect(completeChecksum(arp)).toBe(false);
    expect(completeChecksum(udpFrame([1]).subarray(0, 30))).toBe(false);
  });
});

describe('addresses', () => {
  it('MACs and IPv4 addresses parse and print; malformed ones do not parse', () => {
    expect([...P.parseMac('00:16:3E:01:ab:ff')!]).toEqual([0, 0x16, 0x3e, 1, 0xab, 0xff]);
    expect(P.formatMac(P.parseMac('00:16:3E:01:ab:ff')!)).toBe('00:16:3e:01:ab:ff');
    for (const bad of ['00:16:3e:01:ab', '00-16-3e-01-ab-ff', '00:16:3e:01:ab:fg', '']) expect(P.parseMac(bad)).toBe(null);
    expect(P.parseIPv4('10.0.0.1')).toBe(0x0a000001);
    expect(P.formatIPv4(0xc0a80a01)).toBe('192.168.10.1');
    for (const bad of ['10.0.0', '10.0.0.256', '1.2.3.4.5', 'a.b.c.d']) expect(P.parseIPv4(bad)).toBe(-1);
    expect(P.macKey(P.parseMac('ff:ff:ff:ff:ff:ff')!, 0)).toBe(2 ** 48 - 1);
  });
});
