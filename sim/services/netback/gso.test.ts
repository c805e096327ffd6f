/**
 * Software GSO (gso.ts): a TCP/IPv4 super-frame cut at the MSS, each
 * segment a valid frame on its own (checksums by the receiver's rule), the
 * payload intact in order, sequence numbers and flags as TCP segmentation
 * leaves them.
 */
import { describe, expect, it } from 'vitest';
import { segmentTcp } from './gso.js';
import * as P from './proto.js';

function superFrame(payload: number): Uint8Array {
  const ip = P.ETH_HLEN;
  const tcp = ip + P.IP_HLEN;
  const f = new Uint8Array(tcp + 20 + payload);
  P.put16(f, P.ETH_TYPE, P.ETHERTYPE_IPV4);
  f[ip] = 0x45;
  P.put16(f, ip + P.IP_TOTLEN, f.length - ip);
  P.put16(f, ip + P.IP_ID, 100);
  f[ip + P.IP_TTL] = 64;
  f[ip + P.IP_PROTO] = P.IPPROTO_TCP;
  P.put32(f, ip + P.IP_SRC, 0x0a000002);
  P.put32(f, ip + P.IP_DST, 0x0a000003);
  P.put32(f, tcp + 4, 0xfffffff0); // sequence number: wraps inside the frame
  f[tcp + 12] = 5 << 4;
  f[tcp + 13] = 0x80 | 0x10 | 0x08 | 0x01; // CWR ACK PSH FIN
  for (let i = 0; i < payload; i++) f[tcp + 20 + i] = (i * 13) & 0xff;
  return f;
}

describe('software GSO', () => {
  it('cuts a 3000-byte TCP payload at MSS 1448 into three valid segments', () => {
    const f = superFrame(3000);
    const segs = segmentTcp(f, 1448)!;
    expect(segs.map((s) => s.length - 54)).toEqual([1448, 1448, 104]);
    const data: number[] = [];
    segs.forEach((s, k) => {
      const ip = P.ETH_HLEN;
      const tcp = ip + P.IP_HLEN;
      expect(P.inetChecksum(s, ip, tcp)).toBe(0);
      expect(P.be16(s, ip + P.IP_TOTLEN)).toBe(s.length - ip);
      expect(P.be16(s, ip + P.IP_ID)).toBe(100 + k);
      expect(P.inetChecksum(s, tcp, s.length, P.pseudoSum(s, ip, P.IPPROTO_TCP, s.length - tcp))).toBe(0);
      expect(P.be32(s, tcp + 4)).toBe((0xfffffff0 + 1448 * k) >>> 0);
      expect(s[tcp + 13]).toBe(k === 0 ? 0x90 : k === 2 ? 0x19 : 0x10);
      data.push(...s.subarray(54));
    });
    expect(data).toEqual([...f.subarray(54)]);
  });

  it('leaves what is not TCP over IP alone', () => {
    const f = superFrame(10);
    f[P.ETH_HLEN + P.IP_PROTO] = P.IPPROTO_UDP;
    expect(segmentTcp(f, 1000)).toBe(null);
    expect(segmentTcp(superFrame(10), 0)).toBe(null);
  });
});
