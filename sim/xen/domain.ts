/**
 * A PV domain: its memory (P2M), vCPUs, shared_info, event channels, grant
 * table and run state. Behaviour lives in the hypercall modules; this is the
 * state they share.
 */
import { createHash } from 'node:crypto';
import {
  EVTCHN_2L_NR_CHANNELS, EVTCHN_FIFO_PRIORITY_DEFAULT, EVTCHNSTAT_closed, EVTCHNSTAT_interdomain, EVTCHNSTAT_ipi, EVTCHNSTAT_pirq, EVTCHNSTAT_unbound, EVTCHNSTAT_virq,
} from './public/event_channel.js';
import type { Vcpu } from './vcpu.js';

/** DESTROYED: killed by the toolstack (xl destroy). */
export const DomState = { RUNNING: 'running', SHUTDOWN: 'shutdown', CRASHED: 'crashed', DESTROYED: 'destroyed' } as const;
export type DomState = (typeof DomState)[keyof typeof DomState];

/** EVTCHNSTAT_* (event_channel.h). */
export const EvtState = {
  CLOSED: EVTCHNSTAT_closed, UNBOUND: EVTCHNSTAT_unbound, INTERDOMAIN: EVTCHNSTAT_interdomain,
  PIRQ: EVTCHNSTAT_pirq, VIRQ: EVTCHNSTAT_virq, IPI: EVTCHNSTAT_ipi,
} as const;

export type Port = {
  state: number;
  /** vCPU notified on delivery */
  vcpu: number;
  /** UNBOUND: the domain allowed to bind; INTERDOMAIN: the peer */
  remoteDom: number;
  remotePort: number;
  virq: number;
  /**
   * INTERDOMAIN with dom0 (remoteDom 0): the name of the dom0 backend
   * driver that bound it (sim/services/backend.ts); dom0 is not a guest,
   * its port table lives with its services. In a guest dom0's own table:
   * the placeholder of such a port (remoteDom the guest it serves), so the
   * guest's kernel never allocates that number
   */
  service: string | null;
  /** FIFO ABI: queue priority; raised while its event-array page was missing; the queue it was last linked on */
  priority: number;
  fifoPending: boolean;
  lastVcpu: number;
  lastPriority: number;
};

/**
 * One grant mapping made by this domain (maptrack entry): GNTMAP_* flags
 * still in effect (host_map and/or device_map, readonly).
 */
export type GrantMapping = { dom: number; ref: number; flags: number };

/** Xen's active_grant_entry: the frame a ref is pinned to, by whom, and the pin counts per kind. */
export type ActiveGrant = { domid: number; mfn: number; hostR: number; hostW: number; devR: number; devW: number };

/** 2-level ABI: 64 words of 64 bits. */
export const NR_EVTCHN_PORTS = EVTCHN_2L_NR_CHANNELS;

export class Domain {
  state: DomState = DomState.RUNNING;
  shutdownReason = '';
  /** the toolstack's pause count (xl pause; domain_pause_by_systemcontroller): not scheduled while > 0 */
  pauseCount = 0;
  readonly vcpus: Vcpu[] = [];
  /** pfn -> mfn */
  p2m: number[] = [];
  maxPages = 0;
  sharedInfoMfn = 0;
  /** start_info facts the builder chose */
  startInfoVa = 0n;
  consoleMfn = 0;
  storeMfn = 0;
  consolePort = 0;
  storePort = 0;
  hypercallPageVa = 0n;
  cmdline = '';
  readonly ports: (Port | null)[] = [null];
  /** grant table: version, frames (MFNs, Xen-owned and shared with the guest), v2 status frames */
  grantVersion = 1;
  grantFrames: number[] = [];
  statusFrames: number[] = [];
  /** max_grant_frames: Xen 4.17's default (opt_max_grant_frames, 64; xl passes -1 for "default") */
  readonly maxGrantFrames = 64;
  /** active grant entries of this domain's table, by ref (pins held by the grantee's maptrack) */
  readonly active = new Map<number, ActiveGrant>();
  readonly maptrack: (GrantMapping | null)[] = [];
  /** VMASST_TYPE_* bits enabled with vm_assist (types below 32), and m2p_strict */
  vmAssist = 0;
  m2pStrict = false;
  /** event-channel ABI: FIFO once EVTCHNOP_init_control succeeded (evtchn-fifo.ts), with its event-array pages (MFNs, referenced) */
  fifo = false;
  fifoPages: number[] = [];
  /** MFN registered with PHYSDEVOP_pirq_eoi_gmfn (a writable reference held), 0 = none */
  pirqEoiMfn = 0;
  /** the PCI CONFIG_ADDRESS latch (d->arch.pci_cf8): what the domain last wrote as a dword to port 0xcf8 */
  pciCf8 = 0;
  /** the CMOS index latch (d->arch.cmos_idx): the last byte written to port 0x70 */
  cmosIdx = 0;
  /** bytes the guest wrote with console_io (the "hypervisor log") */
  readonly log: number[] = [];
  /** bytes drained from the PV console ring */
  readonly console: number[] = [];
  /** pinned page-table frames: mfn -> level */
  readonly pinned = new Map<number, number>();
  /** frames typed as page tables (count > 0), kept by PageTypes in order of first use */
  readonly ptFrames = new Set<number>();

  /**
   * xen_domain_handle_t: the UUID the toolstack gives the domain (libxl's
   * /vm/<uuid>, XENVER_guest_handle). libxl draws a random one; here it is
   * derived from the domain's id and name (an RFC 4122 version-4 layout), so
   * runs stay reproducible.
   */
  readonly handle: Uint8Array;

  constructor(readonly id: number, readonly name: string, readonly privileged: boolean) {
    const h = createHash('sha256').update(`xenrr domain ${id} ${name}`).digest();
    this.handle = new Uint8Array(h.subarray(0, 16));
    this.handle[6] = (this.handle[6]! & 0x0f) | 0x40;
    this.handle[8] = (this.handle[8]! & 0x3f) | 0x80;
  }

  /** The handle as libxl prints it: 8-4-4-4-12 lowercase hex. */
  get uuid(): string {
    const x = Buffer.from(this.handle).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }

  get alive(): boolean {
    return this.state === DomState.RUNNING;
  }

  /** Lowest free port >= 1, or -1 when all NR_EVTCHN_PORTS are in use. */
  allocPort(): number {
    for (let p = 1; p < NR_EVTCHN_PORTS; p++) {
      const cur = this.ports[p];
      if (cur === undefined || cur === null) {
        this.ports[p] = { state: EvtState.UNBOUND, vcpu: 0, remoteDom: 0, remotePort: 0, virq: -1, service: null, priority: EVTCHN_FIFO_PRIORITY_DEFAULT, fifoPending: false, lastVcpu: 0, lastPriority: 0 };
        return p;
      }
    }
    return -1;
  }

  port(p: number): Port | null {
    if (!Number.isInteger(p) || p <= 0 || p >= NR_EVTCHN_PORTS) return null;
    return this.ports[p] ?? null;
  }
}
