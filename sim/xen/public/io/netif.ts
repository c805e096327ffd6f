/**
 * public/io/netif.h: the PV network device's two rings (see ./ring.ts):
 * tx (guest transmits: frontend requests, backend responses) and rx (guest
 * receives: the frontend posts empty granted buffers as requests, the
 * backend fills them and answers with responses).
 *
 * A packet spans several slots: the first request/response carries the
 * flags (NETTXF_* / NETRXF_*), *_extra_info makes the next slots
 * netif_extra_info, *_more_data continues the packet in the next slot. On
 * tx the first slot's size is the whole packet; on rx each slot's status is
 * its fragment length. An rx response must land in the slot of the request
 * it answers (Linux netfront ignores the id). Notifications: always conditional
 * on the peer's req_event / rsp_event; the frontend's rx requests are only
 * noticed without a kick if it did not advertise feature-rx-notify.
 */

/** Slots a backend must accept for one packet. */
export const XEN_NETIF_NR_SLOTS_MIN = 18;
export const XEN_NETIF_MAX_TX_SIZE = 0xffff;

/** netif_tx_request.flags. */
export const _NETTXF_csum_blank = 0;
export const NETTXF_csum_blank = 1 << 0;
export const _NETTXF_data_validated = 1;
export const NETTXF_data_validated = 1 << 1;
export const _NETTXF_more_data = 2;
export const NETTXF_more_data = 1 << 2;
export const _NETTXF_extra_info = 3;
export const NETTXF_extra_info = 1 << 3;

/** struct netif_tx_request (frontend-written). */
export const netif_tx_request = {
  size: 12,
  gref: 0, // grant_ref_t of the buffer page
  offset: 4, // u16: start in the page
  flags: 6, // u16: NETTXF_*
  id: 8, // u16: echoed in the response
  size_: 10, // u16 `size`: packet size (first slot) or fragment size
} as const;

export const XEN_NETIF_EXTRA_TYPE_NONE = 0;
export const XEN_NETIF_EXTRA_TYPE_GSO = 1;
export const XEN_NETIF_EXTRA_TYPE_MCAST_ADD = 2;
export const XEN_NETIF_EXTRA_TYPE_MCAST_DEL = 3;
export const XEN_NETIF_EXTRA_TYPE_HASH = 4;
export const XEN_NETIF_EXTRA_TYPE_MAX = 5;
export const _XEN_NETIF_EXTRA_FLAG_MORE = 0;
export const XEN_NETIF_EXTRA_FLAG_MORE = 1;
export const XEN_NETIF_GSO_TYPE_NONE = 0;
export const XEN_NETIF_GSO_TYPE_TCPV4 = 1;
export const XEN_NETIF_GSO_TYPE_TCPV6 = 2;

/** struct netif_extra_info: overlays a tx request or rx response slot. */
export const netif_extra_info = {
  size: 8,
  type: 0, // u8: XEN_NETIF_EXTRA_TYPE_*
  flags: 1, // u8: XEN_NETIF_EXTRA_FLAG_*
  u: 2,
  u_gso_size: 2, // u16: MSS
  u_gso_type: 4, // u8: XEN_NETIF_GSO_TYPE_*
  u_gso_features: 6, // u16
  u_mcast_addr: 2, // u8[6]
  u_hash_type: 2, // u8
  u_hash_algorithm: 3, // u8
  u_hash_value: 4, // u8[4]
} as const;

/** struct netif_tx_response (backend-written). */
export const netif_tx_response = {
  size: 4,
  id: 0, // u16
  status: 2, // i16: NETIF_RSP_*
} as const;

/** struct netif_rx_request (frontend-written). */
export const netif_rx_request = {
  size: 8,
  id: 0, // u16
  pad: 2,
  gref: 4, // grant_ref_t of an empty page for the backend to fill
} as const;

/** netif_rx_response.flags. */
export const _NETRXF_data_validated = 0;
export const NETRXF_data_validated = 1 << 0;
export const _NETRXF_csum_blank = 1;
export const NETRXF_csum_blank = 1 << 1;
export const _NETRXF_more_data = 2;
export const NETRXF_more_data = 1 << 2;
export const _NETRXF_extra_info = 3;
export const NETRXF_extra_info = 1 << 3;
export const _NETRXF_gso_prefix = 4;
export const NETRXF_gso_prefix = 1 << 4;

/** struct netif_rx_response (backend-written). */
export const netif_rx_response = {
  size: 8,
  id: 0, // u16
  offset: 2, // u16: data start in the page
  flags: 4, // u16: NETRXF_*
  status: 6, // i16: bytes received (> 0) or NETIF_RSP_*
} as const;

/** Ring slots: a tx slot is 12 bytes, an rx slot 8. */
export const netif_tx_sring_entry = { size: 12, req: 0, rsp: 0 } as const;
export const netif_rx_sring_entry = { size: 8, req: 0, rsp: 0 } as const;
/** Entries of one-page rings (__CONST_RING_SIZE(netif_tx / netif_rx, 4096)); frontends' names. */
export const NET_TX_RING_SIZE = 256;
export const NET_RX_RING_SIZE = 256;

export const NETIF_RSP_DROPPED = -2;
export const NETIF_RSP_ERROR = -1;
export const NETIF_RSP_OKAY = 0;
/** No response: the slot held an extra_info. */
export const NETIF_RSP_NULL = 1;
