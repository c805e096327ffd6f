/**
 * The backend model: what dom0 provides a PV guest on real Xen (xenstored,
 * xenconsoled, the toolstack's hotplug work, the kernel's split-driver
 * backends such as blkback) as drivers of one shape, run by the machine in
 * the simulation's single thread.
 *
 * Dom0 is not a simulated guest. Its drivers use the guest ABI from the
 * other side, through `Dom0Env` (dom0.ts): they talk to xenstored over a
 * privileged connection of domain 0 (requests, transactions, watches), bind
 * the event channels guests offer them (EVTCHNOP_bind_interdomain), notify
 * through them, and reach guest memory only through grants mapped with the
 * grant-table code guests use (map_grant_ref for device access), or pages
 * the toolstack set up (the console and xenstore rings of start_info).
 *
 * Ordering: a driver runs only when the machine calls it, at well-defined
 * points of the simulation, so every run (and every replay) interleaves it
 * with the guests identically:
 * - `notify`: inside the guest's EVTCHNOP_send on a port bound to the
 *   driver (the backend's interrupt handler, run to completion);
 * - `watch`: when the store changed under a watch the driver registered
 *   (after the request that changed it, before the guest runs on);
 * - `descheduled`: when a vCPU of a domain ends its slice;
 * - `domainDown`: when a domain shut down or crashed;
 * - `pump`: whenever anything may have changed the store (a driver that
 *   moves xenstore traffic between guests and the store);
 * - `timer`: at the machine's timer point between slices, once virtual
 *   time reached the driver's `deadline` (work it scheduled for later: a
 *   completion chaos delays); slices end at the earliest deadline, and an
 *   idle machine jumps to it, as for a guest's timer.
 * A driver's whole state between those calls is what `snapshot` returns:
 * plain data for sim/snapshot-codec.ts (numbers, strings, byte arrays,
 * arrays, Maps, plain objects), which `restore` takes back on a machine
 * built from the same scenario. Views of guest memory are rebuilt, never
 * snapshotted: memory itself is in the machine snapshot.
 */
import type { LazyBody, RingKind, SimEventBody } from '../events.js';
import type { Domain } from '../xen/domain.js';
import type { XsRecord } from './xenstored.js';

export interface BackendDriver {
  /** Unique, stable name: the ports it binds carry it, snapshots key its state by it ("console", "vbd", ...). */
  readonly name: string;
  /** A guest notified dom0 port `port`, which this driver bound. */
  notify(port: number): void;
  /** A watch this driver registered fired: the changed path and the driver's own token. */
  watch?(path: string, token: string): void;
  /** A vCPU of domain `dom` was descheduled. */
  descheduled?(dom: number): void;
  /** Domain `dom` shut down or crashed. */
  domainDown?(dom: number): void;
  /** The guest closed its end of dom0 port `port`, which this driver bound (it is unbound now). */
  peerClosed?(port: number): void;
  /** The earliest virtual time (ns) the driver has work due, or -1 for none. */
  deadline?(): number;
  /** Virtual time reached `now`, at or past the driver's deadline: do the work due. */
  timer?(now: number): void;
  /** The store may have changed: move pending traffic; true if anything moved. */
  pump?(): boolean;
  /** The driver's state as plain data, and back (restore: on a freshly built machine of the same scenario). */
  snapshot(): unknown;
  restore(state: unknown): void;
}

/** What a xenstore request of dom0 answered: its value (read/directory/transaction id) or a XS error name. */
export type XsAnswer = { ok: true; value: string } | { ok: false; error: string };

/** Dom0's xenstore client (a privileged connection of domain 0; paths absolute or relative to /local/domain/0; values UTF-8). */
export interface Dom0Xs {
  read(path: string, tx?: number): string | null;
  directory(path: string, tx?: number): string[] | null;
  write(path: string, value: string, tx?: number): XsAnswer;
  mkdir(path: string, tx?: number): XsAnswer;
  rm(path: string, tx?: number): XsAnswer;
  /** perms as xenstore writes them: "n0", "r1", ... (first entry: owner and default). */
  setPerms(path: string, perms: string[], tx?: number): XsAnswer;
  /** Watch `path`; `token` comes back to the driver's `watch`. The watch fires once at registration. */
  watch(driver: BackendDriver, path: string, token: string): XsAnswer;
  unwatch(driver: BackendDriver, path: string, token: string): XsAnswer;
  /** A transaction id, then end it (commit false: abort). A commit may answer EAGAIN: retry. */
  transactionStart(): number;
  transactionEnd(tx: number, commit: boolean): XsAnswer;
  /** XS_INTRODUCE (the toolstack, once a domain is built): its store page's frame and event channel. */
  introduce(domid: number, mfn: number, port: number): XsAnswer;
}

/** A granted guest frame mapped for device access: the handle for unmapping, and the machine frame. */
export type GrantMap = { handle: number; mfn: number };

/** What dom0 gives its drivers. */
export interface Dom0Env {
  readonly xs: Dom0Xs;
  domain(id: number): Domain | undefined;
  /** Virtual time now, ns. */
  now(): number;
  /** EVTCHNOP_bind_interdomain from dom0 to `dom`'s unbound port `remotePort`: dom0's new port, or -errno. */
  bindInterdomain(driver: BackendDriver, dom: number, remotePort: number): number;
  /** EVTCHNOP_close of a dom0 port (the guest's end falls back to unbound). */
  close(port: number): void;
  /**
   * EVTCHNOP_send on dom0 port `port`: sets the guest's port pending.
   * `record`: also put the notification in the trace (as an evtchn_send of dom0).
   */
  notify(port: number, record: boolean): void;
  /** map_grant_ref(GNTMAP_device_map [| GNTMAP_readonly]) of `ref` granted by `dom`: the mapping, or a GNTST_* code. */
  mapGrant(dom: number, ref: number, readonly: boolean): GrantMap | number;
  /** unmap_grant_ref of a device mapping; a GNTST_* code. */
  unmapGrant(m: GrantMap): number;
  /**
   * GNTTABOP_copy between page offset `off` of grant `ref` of domain `dom`
   * and dom0's buffer `buf[at..at+len)`: into the grant when `toGrant`.
   * A GNTST_* code (hypercall/gnttab-copy.ts).
   */
  copyGrant(dom: number, ref: number, off: number, buf: Uint8Array, at: number, len: number, toGrant: boolean): number;
  /**
   * A machine frame (a mapped grant's, or a ring page the toolstack set up)
   * whose view the caller keeps and writes through later (rings): pinned
   * dirty for the recorder's checkpoints (PhysMem.pin).
   */
  frame(mfn: number): DataView;
  /**
   * The bytes of machine frame `mfn`, for a device's DMA; `write`: the
   * caller is about to change them (so code decoded from the frame is
   * dropped, as any store to it would).
   */
  frameBytes(mfn: number, write: boolean): Uint8Array;
  /** Put an event in the trace on behalf of dom0 (position: none); a lazy body is built only for a listener (Xen.emit). */
  emit(body: SimEventBody | LazyBody): void;
  /** Tell the trace about a shared ring this driver serves (decoded like every ring), and report what crossed it. */
  ringAdd(r: { kind: Exclude<RingKind, 'console' | 'xenstore'>; frontDom: number; port: number; gref: number; mfns: number[]; entries: number }): void;
  ringRemove(frontDom: number, port: number): void;
  /**
   * Report what crossed the ring since the last look, as dom0's traffic:
   * `notifying` just before dom0's notify on it, else as the driver's
   * handler returns (the ring events' `seen`: notify or deschedule).
   */
  ringCheck(frontDom: number, port: number, notifying: boolean): void;
  /** Put a guest-attributed event in the trace (what a dom0 service observed of domain `dom`: its console output, its xenstore requests). */
  emitFor(dom: number, body: SimEventBody | LazyBody): void;
  /** A xenstore request of guest `dom` was handled (traced, and watched for split-driver rings between guests). */
  guestXenstore(dom: number, rec: XsRecord): void;
  /** What domain `dom` wrote to its PV console, as xenconsoled read it: to the machine's console listener (heard without a sink) and the trace. */
  consoleOutput(dom: number, bytes: Uint8Array): void;
}
