/**
 * The event stream: everything that crosses the guest/hypervisor boundary,
 * in the order it happened. The machine numbers events (`seq`) and stamps
 * them with virtual time; the trace layer writes them to disk.
 *
 * Every event carries the domain, vCPU, that vCPU's retired-instruction
 * count and the guest RIP at the time. Payloads are decoded (hypercall
 * arguments with the structs read from guest memory) so a dump or a diff
 * needs no knowledge of the ABI.
 */
export type EventBase = {
  seq: number;
  /** virtual time, ns */
  time: number;
  dom: number;
  vcpu: number;
  icount: number;
  rip: bigint;
  /**
   * For a vCPU's events raised by its hypercall (the hypercall itself and
   * what Xen did for it on that vCPU: sends, ring transactions, blocks; not
   * a wake-up of another vCPU): the guest call stack, innermost first: the return address into
   * the hypercall page's caller, then one per frame-pointer frame above it.
   * One array is shared by all events of that hypercall; do not mutate.
   */
  stack?: bigint[];
};

/** Decoded values: numbers, bigints (addresses), strings, or nested records/lists of them. */
export type Decoded = { [k: string]: number | bigint | string | boolean | Decoded | Decoded[] | number[] };

export type SimEventBody =
  /** `caller`: the guest's return address from the hypercall page (0 for iret, which is jumped to) */
  | { kind: 'hypercall'; op: number; name: string; sub: number; subName: string; args: bigint[]; decoded: Decoded; result: number; caller: bigint }
  | { kind: 'evtchn_send'; port: number; toDom: number; toPort: number; virq: number }
  | { kind: 'evtchn_deliver'; ports: number[] }
  | { kind: 'exception'; vector: number; errorCode: number; cr2: bigint; bounced: boolean; handler: bigint }
  | { kind: 'timer'; deadline: number }
  | { kind: 'sched'; what: 'block' | 'wake' | 'yield' | 'poll' | 'idle'; until: number }
  | { kind: 'console'; text: string; source: 'ring' | 'console_io' }
  | { kind: 'xenstore'; op: string; txId: number; path: string; value: string; result: string }
  | { kind: 'domain_state'; state: 'running' | 'shutdown' | 'crashed'; reason: string }
  | { kind: 'ring'; ring: RingKind; frontDom: number; backDom: number; gref: number; port: number;
      reqProdBefore: number; reqProdAfter: number; rspProdBefore: number; rspProdAfter: number;
      /** console/xenstore: the consumer indices; blkif/netif (consumers private): the sring's req_event/rsp_event */
      reqCons: number; rspCons: number;
      /** new requests then responses, decoded: one record per slot */
      slots: Decoded[] }
  | { kind: 'input'; source: string; text: string }
  | { kind: 'milestone'; text: string };

export type RingKind = 'console' | 'xenstore' | 'blkif' | 'netif-tx' | 'netif-rx';

export type SimEvent = EventBase & SimEventBody;

/**
 * An event's position as plain numbers (RIP as uint32 halves): what the
 * machine stamped it with, handed to the sink beside the event so the trace
 * writer reads one object shape for every kind instead of eight. The
 * machine reuses one object: valid only during the sink call.
 */
export type EventPos = { seq: number; time: number; dom: number; vcpu: number; icount: number; ripLo: number; ripHi: number; stack: bigint[] | undefined };

export type EventSink = (e: SimEvent, pos: EventPos) => void;

/**
 * An event body built only when someone listens (Xen.emit calls it at once,
 * or never): for bodies that cost a scan or a decode. Never a hypercall,
 * which is counted by name from its body whether or not anyone listens.
 */
export type LazyBody = () => Exclude<SimEventBody, { kind: 'hypercall' }>;
