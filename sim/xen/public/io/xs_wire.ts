/**
 * public/io/xs_wire.h: the xenstore wire protocol and the shared ring page
 * a domain talks to xenstored through (start_info.store_mfn, event channel
 * start_info.store_evtchn).
 *
 * A message is an xsd_sockmsg header followed by `len` payload bytes
 * (len <= XENSTORE_PAYLOAD_MAX), usually NUL-terminated strings. A reply
 * echoes type (or carries XS_ERROR with an error name such as "ENOENT\0"),
 * req_id and tx_id. XS_WATCH_EVENT messages arrive unsolicited on the
 * response ring: payload "path\0token\0".
 */

/** enum xsd_sockmsg_type (Xen 4.17 values). */
export const XS_CONTROL = 0;
export const XS_DEBUG = XS_CONTROL;
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_GET_PERMS = 3;
export const XS_WATCH = 4;
export const XS_UNWATCH = 5;
export const XS_TRANSACTION_START = 6;
export const XS_TRANSACTION_END = 7;
export const XS_INTRODUCE = 8;
export const XS_RELEASE = 9;
export const XS_GET_DOMAIN_PATH = 10;
export const XS_WRITE = 11;
export const XS_MKDIR = 12;
export const XS_RM = 13;
export const XS_SET_PERMS = 14;
/** Only from xenstored: a watch fired. */
export const XS_WATCH_EVENT = 15;
/** Only from xenstored: payload is an error name from xsd_errors. */
export const XS_ERROR = 16;
export const XS_IS_DOMAIN_INTRODUCED = 17;
export const XS_RESUME = 18;
export const XS_SET_TARGET = 19;
/* 20 was XS_RESTRICT, removed; the value is invalid. */
export const XS_RESET_WATCHES = 21;
export const XS_DIRECTORY_PART = 22;
/** Number of valid types in 4.17 (newer Xen adds types 23-26). */
export const XS_TYPE_COUNT = 23;
/** Never a valid type. */
export const XS_INVALID = 0xffff;

/** Legacy XS_WRITE mode strings. */
export const XS_WRITE_NONE = 'NONE';
export const XS_WRITE_CREATE = 'CREATE';
export const XS_WRITE_CREATE_EXCL = 'CREATE|EXCL';

/**
 * The error names xenstored sends in XS_ERROR replies, in upstream order,
 * with the (Linux host) errno each stands for. The name is the wire format;
 * the number is what a client library turns it into.
 */
export const xsd_errors = [
  { errnum: 22, errstring: 'EINVAL' },
  { errnum: 13, errstring: 'EACCES' },
  { errnum: 17, errstring: 'EEXIST' },
  { errnum: 21, errstring: 'EISDIR' },
  { errnum: 2, errstring: 'ENOENT' },
  { errnum: 12, errstring: 'ENOMEM' },
  { errnum: 28, errstring: 'ENOSPC' },
  { errnum: 5, errstring: 'EIO' },
  { errnum: 39, errstring: 'ENOTEMPTY' },
  { errnum: 38, errstring: 'ENOSYS' },
  { errnum: 30, errstring: 'EROFS' },
  { errnum: 16, errstring: 'EBUSY' },
  { errnum: 11, errstring: 'EAGAIN' },
  { errnum: 106, errstring: 'EISCONN' },
  { errnum: 7, errstring: 'E2BIG' },
  { errnum: 1, errstring: 'EPERM' },
] as const;

/** struct xsd_sockmsg: written by whoever sends the message. */
export const xsd_sockmsg = {
  size: 16,
  type: 0, // u32: XS_*
  req_id: 4, // u32: chosen by the client, echoed in the reply
  tx_id: 8, // u32: transaction id, 0 = none
  len: 12, // u32: payload bytes that follow
} as const;

/** Field order of an XS_WATCH_EVENT payload. */
export const XS_WATCH_PATH = 0;
export const XS_WATCH_TOKEN = 1;

export const XENSTORE_RING_SIZE = 1024;

/**
 * struct xenstore_domain_interface (start of the xenstore page). Two byte
 * rings with free-running u32 indices; byte i at buf[i & 1023]
 * (MASK_XENSTORE_IDX). Messages may wrap and may be split across kicks.
 * - req: the guest writes bytes, write barrier, stores req_prod, kicks the
 *   event channel; xenstored reads and stores req_cons.
 * - rsp: xenstored writes bytes and rsp_prod and kicks; the guest reads
 *   and stores rsp_cons (and kicks if xenstored may be waiting for room).
 * - server_features (XENSTORE_SERVER_FEATURE_*): written by xenstored.
 * - connection: the guest sets XENSTORE_RECONNECT to ask for a reset;
 *   xenstored sets XENSTORE_CONNECTED when done.
 * - error (XENSTORE_ERROR_*): written by xenstored when it gives up on a
 *   misbehaving ring.
 */
export const xenstore_domain_interface = {
  size: 2076,
  req: 0, // char[1024]
  req_sizeof: 1024,
  rsp: 1024, // char[1024]
  rsp_sizeof: 1024,
  req_cons: 2048, // u32, xenstored-written
  req_prod: 2052, // u32, guest-written
  rsp_cons: 2056, // u32, guest-written
  rsp_prod: 2060, // u32, xenstored-written
  server_features: 2064, // u32
  connection: 2068, // u32
  error: 2072, // u32
} as const;

/** Largest payload of one message. */
export const XENSTORE_PAYLOAD_MAX = 4096;
/** Longer paths get an error reply. */
export const XENSTORE_ABS_PATH_MAX = 3072;
export const XENSTORE_REL_PATH_MAX = 2048;
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
/** E.g. a payload longer than XENSTORE_PAYLOAD_MAX. */
export const XENSTORE_ERROR_PROTO = 3;
