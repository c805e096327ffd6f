/**
 * Executing one blkif request (dispatch_rw_block_io, dispatch_discard_io,
 * dispatch_other_io of Linux's blkback.c), on the backend's private copy
 * of the ring slot. Requests complete at once, in ring order: the disk is
 * memory, so a request's data is moved and its response known before the
 * next request is read.
 *
 * Checks, in Linux's order, each failing the request with BLKIF_RSP_ERROR:
 * an indirect request must wrap READ or WRITE; READ and WRITE need at least
 * one segment (FLUSH_DISKCACHE and WRITE_BARRIER may carry none); at most
 * 11 segments in the slot, 256 (feature-max-indirect-segments) indirect;
 * each segment within its 4 KiB page (first_sect <= last_sect <= 7); no
 * write of any kind to a read-only disk; the sector range inside the disk
 * and not wrapping; every page mapped (grants.ts). A flush or barrier makes
 * earlier writes durable before its own data (REQ_PREFLUSH). A discard
 * zeroes its range (or fails on a read-only disk or out of range), and is
 * answered with operation DISCARD; anything else is BLKIF_RSP_EOPNOTSUPP.
 * The response carries the request's id and its operation (the wrapped one
 * for an indirect request).
 */
import {
  blkif_request as RW, blkif_request_discard as DISC, blkif_request_indirect as IND, blkif_request_segment as SEG, BLKIF_MAX_SEGMENTS_PER_REQUEST,
  BLKIF_OP_DISCARD, BLKIF_OP_FLUSH_DISKCACHE, BLKIF_OP_INDIRECT, BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_RSP_EOPNOTSUPP,
  BLKIF_RSP_ERROR, BLKIF_RSP_OKAY,
} from '../../xen/public/io/blkif.js';
import { SECTOR, type DiskStore } from './disk.js';
import { mapPages, unmapPages, type GrantCtx } from './grants.js';

/** feature-max-indirect-segments (Linux's MAX_INDIRECT_SEGMENTS). */
export const MAX_INDIRECT_SEGMENTS = 256;
const PAGE = 4096;
const SECTORS_PER_PAGE = PAGE / SECTOR;
const SEGS_PER_INDIRECT_FRAME = PAGE / SEG.size;

/** Per-ring counters, as blkback's statistics (rd_req, wr_req, f_req, ds_req, rd_sect, wr_sect). */
export type BlkStats = { rdReq: number; wrReq: number; fReq: number; dsReq: number; rdSect: number; wrSect: number };

export type IoCtx = GrantCtx & { disk: DiskStore; readonly: boolean; stats: BlkStats };
export type Response = { id: bigint; op: number; status: number };

type Seg = { gref: number; first: number; last: number };

/** Execute the request in `req` (a private copy of its slot). */
export function execute(io: IoCtx, req: DataView): Response {
  const op = req.getUint8(RW.operation);
  if (op === BLKIF_OP_DISCARD) return discard(io, req);
  if (op === BLKIF_OP_READ || op === BLKIF_OP_WRITE || op === BLKIF_OP_WRITE_BARRIER || op === BLKIF_OP_FLUSH_DISKCACHE || op === BLKIF_OP_INDIRECT) return readWrite(io, req, op);
  return { id: req.getBigUint64(RW.id, true), op, status: BLKIF_RSP_EOPNOTSUPP };
}

function readWrite(io: IoCtx, req: DataView, op: number): Response {
  const indirect = op === BLKIF_OP_INDIRECT;
  const reqOp = indirect ? req.getUint8(IND.indirect_op) : op;
  const id = req.getBigUint64(RW.id, true);
  const fail: Response = { id, op: reqOp, status: BLKIF_RSP_ERROR };
  if (indirect && reqOp !== BLKIF_OP_READ && reqOp !== BLKIF_OP_WRITE) return fail;
  const preflush = reqOp === BLKIF_OP_WRITE_BARRIER || reqOp === BLKIF_OP_FLUSH_DISKCACHE;
  if (reqOp === BLKIF_OP_READ) io.stats.rdReq++;
  else if (reqOp === BLKIF_OP_WRITE) io.stats.wrReq++;
  else io.stats.fReq++;
  const nseg = indirect ? req.getUint16(IND.nr_segments, true) : req.getUint8(RW.nr_segments);
  if ((nseg === 0 && !preflush) || (!indirect && nseg > BLKIF_MAX_SEGMENTS_PER_REQUEST) || (indirect && nseg > MAX_INDIRECT_SEGMENTS)) return fail;
  const sector = req.getBigUint64(indirect ? IND.sector_number : RW.sector_number, true);
  const segs = indirect ? indirectSegments(io, req, nseg) : Array.from({ length: nseg }, (_, k) => segAt(req, RW.seg + k * RW.seg_stride));
  if (segs === null || segs.some((s) => s.last >= SECTORS_PER_PAGE || s.last < s.first)) return fail;
  const sectors = segs.reduce((n, s) => n + s.last - s.first + 1, 0);
  const write = reqOp !== BLKIF_OP_READ;
  if (!inside(io, write, sector, BigInt(sectors))) return fail;
  const pages = mapPages(io, segs.map((s) => s.gref), write);
  if (typeof pages === 'number') return fail;
  if (preflush) io.disk.flush();
  let at = Number(sector) * SECTOR;
  segs.forEach((s, k) => {
    const off = s.first * SECTOR;
    const len = (s.last - s.first + 1) * SECTOR;
    const frame = io.env.frameBytes(pages[k]!.map.mfn, !write);
    if (write) io.disk.write(at, frame, off, len);
    else io.disk.read(at, len, frame, off);
    at += len;
  });
  if (write) io.stats.wrSect += sectors;
  else io.stats.rdSect += sectors;
  unmapPages(io, pages);
  return { id, op: reqOp, status: BLKIF_RSP_OKAY };
}

function segAt(v: DataView, o: number): Seg {
  return { gref: v.getUint32(o + SEG.gref, true), first: v.getUint8(o + SEG.first_sect), last: v.getUint8(o + SEG.last_sect) };
}

/** xen_blkbk_parse_indirect: the segments, from the indirect pages (mapped read-only for the look); null on failure. */
function indirectSegments(io: IoCtx, req: DataView, nseg: number): Seg[] | null {
  const npages = Math.ceil(nseg / SEGS_PER_INDIRECT_FRAME);
  const grefs = Array.from({ length: npages }, (_, k) => req.getUint32(IND.indirect_grefs + k * IND.indirect_grefs_stride, true));
  const pages = mapPages(io, grefs, true);
  if (typeof pages === 'number') return null;
  const segs: Seg[] = [];
  for (let n = 0; n < nseg; n++) {
    const bytes = io.env.frameBytes(pages[Math.floor(n / SEGS_PER_INDIRECT_FRAME)]!.map.mfn, false);
    segs.push(segAt(new DataView(bytes.buffer, bytes.byteOffset), (n % SEGS_PER_INDIRECT_FRAME) * SEG.size));
  }
  unmapPages(io, pages);
  return segs;
}

/** xen_vbd_translate: may this range be accessed (`write`: changed)? */
function inside(io: IoCtx, write: boolean, sector: bigint, n: bigint): boolean {
  if (write && io.readonly) return false;
  const end = sector + n;
  return n === 0n || (end <= 0xffffffffffffffffn && end <= BigInt(io.disk.sectors));
}

function discard(io: IoCtx, req: DataView): Response {
  const id = req.getBigUint64(DISC.id, true);
  const sector = req.getBigUint64(DISC.sector_number, true);
  const n = req.getBigUint64(DISC.nr_sectors, true);
  if (!inside(io, true, sector, n)) return { id, op: BLKIF_OP_DISCARD, status: BLKIF_RSP_ERROR };
  io.stats.dsReq++;
  if (n > 0n) io.disk.discard(Number(sector) * SECTOR, Number(n) * SECTOR);
  return { id, op: BLKIF_OP_DISCARD, status: BLKIF_RSP_OKAY };
}
