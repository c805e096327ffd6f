/**
 * public/io/blkif.h: the PV block device ring (DEFINE_RING_TYPES(blkif,
 * blkif_request, blkif_response); see ./ring.ts for the generic rules).
 *
 * The frontend writes requests and the backend responses. Notifications
 * follow the generic hold-off: the frontend notifies after publishing
 * requests when req_event says so (the backend keeps req_event up to date
 * with RING_FINAL_CHECK_FOR_REQUESTS), and the backend notifies after
 * responses when rsp_event says so.
 *
 * Sector numbers (sector_number, first_sect, last_sect) count 512-byte
 * sectors unless the frontend negotiated feature-large-sector-size, in
 * which case they count the backend's "sector-size". A segment covers
 * sectors first_sect..last_sect (inclusive) of one granted 4 KiB frame.
 */

export const BLKIF_OP_READ = 0;
export const BLKIF_OP_WRITE = 1;
/** Optional (feature-barrier): orders all earlier writes before all later ones. */
export const BLKIF_OP_WRITE_BARRIER = 2;
/** Optional (feature-flush-cache): make completed writes durable. */
export const BLKIF_OP_FLUSH_DISKCACHE = 3;
export const BLKIF_OP_RESERVED_1 = 4;
/** Optional (feature-discard): uses blkif_request_discard. */
export const BLKIF_OP_DISCARD = 5;
/** Optional (feature-max-indirect-segments): uses blkif_request_indirect. */
export const BLKIF_OP_INDIRECT = 6;

/** Segments that fit in one blkif_request. */
export const BLKIF_MAX_SEGMENTS_PER_REQUEST = 11;
export const BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST = 8;

/** struct blkif_request_segment (frontend-written). */
export const blkif_request_segment = {
  size: 8,
  gref: 0, // grant_ref_t of the data frame
  first_sect: 4, // u8, inclusive
  last_sect: 5, // u8, inclusive
} as const;

/** struct blkif_request (frontend-written). */
export const blkif_request = {
  size: 112,
  operation: 0, // u8: BLKIF_OP_*
  nr_segments: 1, // u8
  handle: 2, // blkif_vdev_t (u16)
  id: 8, // u64: opaque, echoed in the response
  sector_number: 16, // u64
  seg: 24, // blkif_request_segment[11]
  seg_stride: 8,
} as const;

/** Flag in blkif_request_discard.flag. */
export const BLKIF_DISCARD_SECURE = 1;

/** struct blkif_request_discard: a blkif_request slot with operation = DISCARD. */
export const blkif_request_discard = {
  size: 32,
  operation: 0,
  flag: 1, // u8: BLKIF_DISCARD_SECURE or 0
  handle: 2,
  id: 8,
  sector_number: 16,
  nr_sectors: 24, // u64
} as const;

/**
 * struct blkif_request_indirect: operation = INDIRECT, indirect_op = READ
 * or WRITE; the segments live in granted pages full of
 * blkif_request_segment (512 per page).
 */
export const blkif_request_indirect = {
  size: 64,
  operation: 0,
  indirect_op: 1, // u8
  nr_segments: 2, // u16
  id: 8,
  sector_number: 16,
  handle: 24, // u16
  indirect_grefs: 28, // grant_ref_t[8]
  indirect_grefs_stride: 4,
} as const;

/** struct blkif_response (backend-written). */
export const blkif_response = {
  size: 16,
  id: 0, // u64: from the request
  operation: 8, // u8: from the request
  status: 10, // i16: BLKIF_RSP_*
} as const;

export const BLKIF_RSP_EOPNOTSUPP = -2;
export const BLKIF_RSP_ERROR = -1;
export const BLKIF_RSP_OKAY = 0;

/** union blkif_sring_entry: one ring slot. */
export const blkif_sring_entry = { size: 112, req: 0, rsp: 0 } as const;

/**
 * Entries of a one-page blkif ring (__CONST_RING_SIZE(blkif, 4096)). The
 * name is the one frontends use; Xen's header does not define it.
 */
export const BLK_RING_SIZE = 32;

/** The "info" bits a backend publishes for a virtual disk. */
export const VDISK_CDROM = 0x1;
export const VDISK_REMOVABLE = 0x2;
export const VDISK_READONLY = 0x4;
