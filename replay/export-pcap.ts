/**
 * The frames of a trace's `net` events as a pcap file (the libpcap format
 * tcpdump and Wireshark read): nanosecond-resolution magic 0xa1b23c4d,
 * version 2.4, LINKTYPE_ETHERNET, every frame whole (snaplen 262144).
 * Timestamps are simulated time: the boot wallclock of the trace's header
 * plus the event's virtual time. Frames come in the order the switch
 * forwarded them; a frame forwarded to several ports is written once.
 */
import type { SimEvent } from '../sim/events.js';

const MAGIC_NS = 0xa1b23c4d;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

export type PcapStats = { frames: number; bytes: number };

/** Whether a `net` event involves domain `dom` (a port vif<dom>.<n> at either end). */
export function frameOfDomain(e: Extract<SimEvent, { kind: 'net' }>, dom: number): boolean {
  const mine = (p: string): boolean => p.startsWith(`vif${dom}.`);
  return mine(e.src) || e.dst.split(',').some(mine);
}

/** The pcap file's bytes, in pieces: the global header, then one record per `net` event of `events`. */
export function* pcapChunks(events: Iterable<SimEvent>, wallclock: number, stats: PcapStats, keep: (e: Extract<SimEvent, { kind: 'net' }>) => boolean = () => true): Generator<Uint8Array> {
  const g = Buffer.alloc(GLOBAL_HEADER);
  g.writeUInt32LE(MAGIC_NS, 0);
  g.writeUInt16LE(2, 4);
  g.writeUInt16LE(4, 6);
  g.writeInt32LE(0, 8);
  g.writeUInt32LE(0, 12);
  g.writeUInt32LE(SNAPLEN, 16);
  g.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  stats.bytes += g.length;
  yield g;
  for (const e of events) {
    if (e.kind !== 'net' || !keep(e)) continue;
    const r = Buffer.alloc(RECORD_HEADER);
    const len = Math.min(e.frame.length, SNAPLEN);
    r.writeUInt32LE(wallclock + Math.floor(e.time / 1e9), 0);
    r.writeUInt32LE(e.time % 1e9, 4);
    r.writeUInt32LE(len, 8);
    r.writeUInt32LE(e.frame.length, 12);
    stats.frames++;
    stats.bytes += r.length + len;
    yield r;
    yield e.frame.subarray(0, len);
  }
}
