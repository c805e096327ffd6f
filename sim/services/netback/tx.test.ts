/**
 * Building tx packets from ring slots (tx.ts) over a fake queue: fragments
 * joined, extra-info slots answered NETIF_RSP_NULL, the refused packets
 * (NETIF_RSP_ERROR for every slot), a failed grant copy, a checksum that
 * cannot be set up (NETIF_RSP_DROPPED), multicast control, and the fatal
 * errors that stop the queue.
 */
import { describe, expect, it } from 'vitest';
import {
  netif_extra_info as EXTRA, netif_tx_request as REQ, NETIF_RSP_DROPPED, NETIF_RSP_ERROR, NETIF_RSP_NULL, NETIF_RSP_OKAY, NETTXF_csum_blank, NETTXF_extra_info,
  NETTXF_more_data, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, XEN_NETIF_GSO_TYPE_TCPV4,
} from '../../xen/public/io/netif.js';
import { GNTST_bad_gntref, GNTST_okay } from '../../xen/public/grant_table.js';
import type { Frame } from './switch.js';
import { txPacket, type TxIo, type TxStats } from './tx.js';

type Slot = { gref?: number; offset?: number; flags?: number; id?: number; size?: number } | { extra: number; more?: boolean; gso?: [number, number]; mac?: number[] };

function queue(slots: Slot[], badGref = -1) {
  const rsp: Array<[number, number]> = [];
  const sent: Frame[] = [];
  const fatal: string[] = [];
  const mcast: string[] = [];
  const io: TxIo = {
    request: (idx) => {
      const v = new DataView(new ArrayBuffer(REQ.size));
      const s = slots[idx]!;
      if ('extra' in s) {
        v.setUint8(EXTRA.type, s.extra);
        v.setUint8(EXTRA.flags, s.more ? XEN_NETIF_EXTRA_FLAG_MORE : 0);
        if (s.gso) (v.setUint16(EXTRA.u_gso_size, s.gso[0], true), v.setUint8(EXTRA.u_gso_type, s.gso[1]));
        s.mac?.forEach((b, i) => v.setUint8(EXTRA.u_mcast_addr + i, b));
      } else {
        v.setUint32(REQ.gref, s.gref ?? idx, true);
        v.setUint16(REQ.offset, s.offset ?? 0, true);
        v.setUint16(REQ.flags, s.flags ?? 0, true);
        v.setUint16(REQ.id, s.id ?? idx, true);
        v.setUint16(REQ.size_, s.size ?? 60, true);
      }
      return v;
    },
    respond: (id, status) => void rsp.push([id, status]),
    copyIn: (gref, offset, buf, at, len) => {
      if (gref === badGref) return GNTST_bad_gntref;
      for (let i = 0; i < len; i++) buf[at + i] = (gref * 16 + offset + i) & 0xff;
      return GNTST_okay;
    },
    send: (f) => void sent.push(f),
    mcast: (add, mac) => (mcast.push(`${add ? '+' : '-'}${[...mac].join(':')}`), true),
    fatal: (why) => void fatal.push(why),
  };
  const st: TxStats = { packets: 0, bytes: 0, errors: 0, dropped: 0 };
  return { run: () => txPacket(io, 0, slots.length, st), rsp, sent, fatal, mcast, st };
}

describe('tx packets', () => {
  it('joins fragments: the first size is the packet, each fragment its own; one response per slot', () => {
    const q = queue([{ flags: NETTXF_more_data, size: 100, id: 7 }, { flags: NETTXF_more_data, size: 30, id: 8 }, { size: 20, id: 9 }]);
    expect(q.run()).toBe(3);
    expect(q.rsp).toEqual([[7, NETIF_RSP_OKAY], [8, NETIF_RSP_OKAY], [9, NETIF_RSP_OKAY]]);
    const b = q.sent[0]!.bytes;
    expect(b.length).toBe(100);
    expect([b[0], b[49], b[50], b[80]]).toEqual([0, 49, 16, 32]); // 50 bytes of slot 0, 30 of slot 1, 20 of slot 2
    expect(q.st).toEqual({ packets: 1, bytes: 100, errors: 0, dropped: 0 });
  });

  it('a GSO extra slot is answered NETIF_RSP_NULL and goes with the frame', () => {
    const q = queue([{ flags: NETTXF_extra_info, size: 60, id: 1 }, { extra: XEN_NETIF_EXTRA_TYPE_GSO, gso: [1448, XEN_NETIF_GSO_TYPE_TCPV4] }]);
    expect(q.run()).toBe(2);
    expect(q.rsp).toEqual([[1, NETIF_RSP_OKAY], [0, NETIF_RSP_NULL]]);
    expect(q.sent[0]!.gso).toEqual({ size: 1448, type: XEN_NETIF_GSO_TYPE_TCPV4 });
  });

  it('multicast control: the slot is answered on its own and nothing is sent', () => {
    const q = queue([{ flags: NETTXF_extra_info, size: 0, id: 3 }, { extra: XEN_NETIF_EXTRA_TYPE_MCAST_ADD, mac: [1, 0, 0x5e, 0, 0, 1] }]);
    expect(q.run()).toBe(2);
    expect(q.mcast).toEqual(['+1:0:94:0:0:1']);
    expect(q.rsp).toEqual([[3, NETIF_RSP_OKAY], [0, NETIF_RSP_NULL]]);
    expect(q.sent).toEqual([]);
  });

  it('refuses a fragment larger than what is left, and a runt: NETIF_RSP_ERROR for every slot', () => {
    const big = queue([{ flags: NETTXF_more_data, size: 60, id: 1 }, { size: 61, id: 2 }]);
    expect(big.run()).toBe(2);
    expect(big.rsp).toEqual([[1, NETIF_RSP_ERROR], [2, NETIF_RSP_ERROR]]);
    const runt = queue([{ size: 13 }]);
    expect(runt.run()).toBe(1);
    expect(runt.rsp).toEqual([[0, NETIF_RSP_ERROR]]);
    expect(big.sent.length + runt.sent.length).toBe(0);
  });

  it('a grant that cannot be copied fails its slot and drops the packet', () => {
    const q = queue([{ flags: NETTXF_more_data, size: 100, gref: 5 }, { size: 40, gref: 6, id: 1 }], 6);
    q.run();
    expect(q.rsp).toEqual([[0, NETIF_RSP_OKAY], [1, NETIF_RSP_ERROR]]);
    expect(q.sent).toEqual([]);
    expect(q.st.errors).toBe(1);
  });

  it('csum_blank on a frame without a TCP/UDP checksum: NETIF_RSP_DROPPED, not sent', () => {
    const q = queue([{ flags: NETTXF_csum_blank, size: 60 }]);
    q.run();
    expect(q.rsp).toEqual([[0, NETIF_RSP_DROPPED]]);
    expect(q.st.dropped).toBe(1);
  });

  it('fatal: a missing fragment or extra, a bad extra type, GSO size 0, a slot crossing its page, too many slots', () => {
    const cases: Array<[Slot[], RegExp]> = [
      [[{ flags: NETTXF_more_data, size: 100 }], /Asked for 2 slots/],
      [[{ flags: NETTXF_extra_info }], /Missing extra info/],
      [[{ flags: NETTXF_extra_info }, { extra: 0 }], /Invalid extra type: 0/],
      [[{ flags: NETTXF_extra_info }, { extra: XEN_NETIF_EXTRA_TYPE_GSO, gso: [0, XEN_NETIF_GSO_TYPE_TCPV4] }], /GSO size must not be zero/],
      [[{ flags: NETTXF_extra_info }, { extra: XEN_NETIF_EXTRA_TYPE_GSO, gso: [1000, 9] }], /Bad GSO type 9/],
      [[{ offset: 4090, size: 60 }], /Cross page boundary/],
      [Array.from({ length: 25 }, (_, i) => ({ flags: i < 24 ? NETTXF_more_data : 0, size: i === 0 ? 2000 : 60 })), /Malicious frontend using 21 slots/],
    ];
    for (const [slots, why] of cases) {
      const q = queue(slots);
      expect(q.run()).toBe(-1);
      expect(q.fatal[0]).toMatch(why);
      expect(q.rsp).toEqual([]);
    }
  });
});
