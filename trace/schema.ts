/**
 * The protobuf messages of trace/xenrr.proto, loaded by reflection.
 */
import protobuf from 'protobufjs';
import { ROOT } from '../sim/package-info.js';

// 64-bit fields as JS numbers, not Long objects: every value the writer
// puts in a 64-bit number column (times, instruction counts, RIP deltas,
// offsets) is below 2^53, and a Long per column entry made decoding
// allocation-bound. Addresses that need all 64 bits are stored as uint32
// halves, and anything else that does not fit its column goes to a batch's
// `exact` fields (see xenrr.proto).
protobuf.util.Long = undefined as unknown as typeof protobuf.util.Long;
protobuf.configure();

const root = protobuf.loadSync(`${ROOT}trace/xenrr.proto`);
const type = (name: string): protobuf.Type => root.lookupType(`xenrr.trace.v1.${name}`);

export const HeaderMsg = type('Header');
export const EventBatchMsg = type('EventBatch');
export const CheckpointMsg = type('Checkpoint');
export const IndexMsg = type('Index');
export const PageBlockMsg = type('PageBlock');
export const EventKindEnum = root.lookupEnum('xenrr.trace.v1.EventKind');

export const FILE_MAGIC = 'XENRRTRC';
export const TRAILER_MAGIC = 'XRRTRAIL';
export const FORMAT_VERSION = 1;
export const FrameKind = { HEADER: 1, CHUNK: 2, CHECKPOINT: 3, INDEX: 4, PAGES: 5 } as const;
/** The largest frame kind this build knows. */
export const LAST_FRAME_KIND = FrameKind.PAGES;
/** kind u8 + length u32 + crc32 u32 */
export const FRAME_HEADER = 9;
export const TRAILER = 16;

/** SimEvent kinds <-> EventKind values. */
export const KIND_CODES = {
  hypercall: 1, evtchn_send: 2, evtchn_deliver: 3, exception: 4, timer: 5, sched: 6, console: 7,
  xenstore: 8, ring: 9, domain_state: 10, input: 11, milestone: 12, grants: 13, net: 14,
} as const;
export type KindName = keyof typeof KIND_CODES;
export const KIND_NAMES: KindName[] = [];
for (const [k, v] of Object.entries(KIND_CODES)) KIND_NAMES[v] = k as KindName;

export type HeaderData = {
  magic: string;
  formatVersion: number;
  xenrrVersion: string;
  scenarioJson: string;
  scenarioFile: string;
  images: Array<{ role: string; domain: string; path: string; sha256: Uint8Array; size: number; name: string }>;
  seed: number;
  cpuid: Array<{ leaf: number; eax: number; ebx: number; ecx: number; edx: number }>;
  nsPerInsn: number;
  tscKhz: number;
  checkpointEvery: number;
  /** instructions between checkpoints: the reader always sets it (0 in traces that predate it); a writer may leave it out (0) */
  checkpointInsns?: number;
  /** seek cost between checkpoints (xenrr.proto): as checkpointInsns, 0 in traces that predate it */
  checkpointCost?: number;
  wallclock: number;
  /** absent (empty) in traces that predate them */
  scenarioName: string;
  scenarioSha256: Uint8Array;
};

export type IndexData = {
  chunks: Array<{ offset: number; firstSeq: number; count: number; firstTime: number; hash: Uint8Array; compressedSize: number; rawSize: number }>;
  checkpoints: Array<{ offset: number; seq: number; time: number }>;
  eventCount: number;
  countsByKind: Record<string, number>;
  countsByHypercall: Record<string, number>;
  endTime: number;
  stopReason: string;
  /** every vCPU's instruction count at the end (empty in older traces and in a scanned prefix) */
  vcpus: Array<{ dom: number; vcpu: number; icount: number; rip: number }>;
  /** the page store's PAGES frames (empty in traces older than it) */
  pageBlocks: PageBlockEntry[];
};

export type PageBlockEntry = { offset: number; firstId: number; count: number; hash: Uint8Array; compressedSize: number; rawSize: number };
