/**
 * Dom0 as the machine runs it: the registry of backend drivers
 * (backend.ts), dom0's event-channel table and grant maptrack, its
 * xenstore connection, and the calls from the hypervisor into the drivers.
 *
 * Dom0's ports. A guest offers a channel by allocating an unbound port for
 * remote domain 0; a driver binds it (bindInterdomain, Xen's
 * evtchn_bind_interdomain with dom0 as the binder), which makes the
 * guest's port INTERDOMAIN with remote port = dom0's new port and records
 * the driver's name in it (Port.service), so the guest's EVTCHNOP_send
 * reaches the driver (`kick`). Dom0's port numbers are the lowest free,
 * from 1, in binding order.
 *
 * The store pump. Anything that may have changed the store (a driver's
 * request, a guest's request handled by the xenstore driver) is followed by
 * `pump`: the drivers move pending traffic (xenstored's rings), then the
 * watch events queued for domain 0 go to the drivers that registered them,
 * in queue order, until nothing moves. Watch callbacks that make requests
 * only queue more work for the loop, never recurse into it.
 */
import type { Decoded, LazyBody, RingKind, SimEventBody } from '../events.js';
import type { Domain, GrantMapping, Port } from '../xen/domain.js';
import { EvtState, NR_EVTCHN_PORTS } from '../xen/domain.js';
import { copyGrant } from '../xen/hypercall/gnttab-copy.js';
import { mapGrant, unmapGrant } from '../xen/hypercall/gnttab-map.js';
import { grantReport } from '../xen/hypercall/gnttab-report.js';
import { GNTMAP_device_map, GNTMAP_readonly, GNTST_okay } from '../xen/public/grant_table.js';
import { Errno } from '../xen/public/xen.js';
import type { RingTracker } from '../xen/rings.js';
import type { Xen } from '../xen/xen.js';
import type { BackendDriver, Dom0Env, GrantMap } from './backend.js';
import { Dom0XsClient, splitToken } from './dom0-xs.js';
import type { XenStore, XsRecord } from './xenstored.js';

/** One of dom0's event-channel ports: the guest port at the other end, and the driver that bound it. */
type Dom0Port = { dom: number; port: number; driver: string; bound: boolean };

export type Dom0State = {
  ports: (Dom0Port | null)[];
  maptrack: (GrantMapping | null)[];
  reqId: number;
  drivers: Array<[string, unknown]>;
};

/** Rounds of the store pump before it gives up on a livelock (each round is a full pass). */
const MAX_PUMP_ROUNDS = 1024;
/** A xenbus device's `state` key, frontend or backend (data/ is where our corpus drivers keep theirs). */
export const XENBUS_STATE = /^\/local\/domain\/\d+\/(?:device|backend|data)\/.+\/state$/;
/** A xenstore record's path, absolute (a relative one is under the requester's home). */
const absolute = (dom: number, path: string): string => (path.startsWith('/') ? path : `/local/domain/${dom}/${path}`);
/** A successful write of a xenbus `state` key by `dom`. */
const stateWrite = (dom: number, rec: XsRecord): boolean => rec.op === 'WRITE' && rec.result === 'OK' && XENBUS_STATE.test(absolute(dom, rec.path));

export class Dom0 implements Dom0Env {
  readonly xs: Dom0XsClient;
  private readonly drivers: BackendDriver[] = [];
  private readonly ports: (Dom0Port | null)[] = [null];
  private readonly grantee = { id: 0, maptrack: [] as (GrantMapping | null)[] };
  private pumping = false;
  /** While the machine is being built (the toolstack creating domains), nothing is traced. */
  quiet = true;

  constructor(
    private readonly xen: Xen,
    private readonly store: XenStore,
    private readonly tracker: RingTracker,
  ) {
    this.xs = new Dom0XsClient(store, (rec, changed) => {
      if (!this.quiet) {
        // A backend's xenbus state change: the mappings dom0 holds as it makes it (grant leak checks).
        if (stateWrite(0, rec)) this.reportGrants(0, true);
        this.xen.emit(null, 0, () => ({ kind: 'xenstore', ...rec }));
      }
      if (changed) this.pump();
    });
  }

  register(d: BackendDriver): void {
    if (this.drivers.some((x) => x.name === d.name)) throw new Error(`dom0: a driver named ${d.name} is registered already`);
    this.drivers.push(d);
  }

  domain(id: number): Domain | undefined {
    return this.xen.domain(id);
  }

  now(): number {
    return this.xen.now();
  }

  // ---- event channels ----------------------------------------------------

  bindInterdomain(driver: BackendDriver, dom: number, remotePort: number): number {
    const peer = this.xen.domain(dom);
    if (peer === undefined || !peer.alive) return -Errno.ESRCH;
    const rp = peer.port(remotePort);
    if (rp === null || rp.state !== EvtState.UNBOUND || rp.remoteDom !== 0) return -Errno.EINVAL;
    // With a guest dom0 these are its ports too (xenconsoled's are dom0's on a real host): a port
    // number free in both tables, held in the guest's as a placeholder its kernel never allocates.
    const host = dom === 0 ? undefined : this.xen.domain(0);
    let local = 1;
    while (local < NR_EVTCHN_PORTS && ((this.ports[local] ?? null) !== null || (host !== undefined && host.port(local) !== null))) local++;
    if (local >= NR_EVTCHN_PORTS) return -Errno.ENOSPC;
    this.ports[local] = { dom, port: remotePort, driver: driver.name, bound: true };
    Object.assign(rp, { state: EvtState.INTERDOMAIN, remoteDom: 0, remotePort: local, service: driver.name });
    if (host !== undefined) host.ports[local] = { ...rp, remoteDom: dom, remotePort, virq: -1, fifoPending: false };
    return local;
  }

  close(port: number): void {
    const p = this.ports[port];
    if (p === undefined || p === null) return;
    const rp = p.bound ? this.xen.domain(p.dom)?.port(p.port) : null;
    if (rp && rp.state === EvtState.INTERDOMAIN && rp.remoteDom === 0 && rp.remotePort === port) Object.assign(rp, { state: EvtState.UNBOUND, remotePort: 0, service: null });
    this.ports[port] = null;
    const host = p.dom === 0 ? undefined : this.xen.domain(0);
    if (host !== undefined && host.port(port)?.service === p.driver) host.ports[port] = null;
  }

  notify(port: number, record: boolean): void {
    const p = this.ports[port];
    if (p === undefined || p === null) return;
    const d = p.bound ? this.xen.domain(p.dom) : undefined;
    // The destination's mask as the notification arrives (before setPending), as for a guest's send.
    if (record) this.emit(() => this.xen.sendBody(port, p.bound ? p.dom : -1, p.bound ? p.port : -1, -1, d));
    if (d !== undefined) this.xen.setPending(d, p.port);
  }

  // ---- grants ------------------------------------------------------------

  mapGrant(dom: number, ref: number, readonly: boolean): GrantMap | number {
    const r = mapGrant(this.xen, this.grantee, null, 0n, GNTMAP_device_map | (readonly ? GNTMAP_readonly : 0), ref, dom);
    return r.status === GNTST_okay ? { handle: r.handle, mfn: Number(r.bus >> 12n) } : r.status;
  }

  unmapGrant(m: GrantMap): number {
    return unmapGrant(this.xen, this.grantee, null, 0n, BigInt(m.mfn) << 12n, 0n, m.handle);
  }

  copyGrant(dom: number, ref: number, off: number, buf: Uint8Array, at: number, len: number, toGrant: boolean): number {
    return copyGrant(this.xen, 0, dom, ref, off, buf, at, len, toGrant);
  }

  frame(mfn: number): DataView {
    // Its holder writes through the view whenever it runs, unseen by dirty tracking: report the frame dirty at every checkpoint.
    const mem = this.xen.frames.mem;
    mem.pin(mfn);
    return mem.frame(mfn)!;
  }

  frameBytes(mfn: number, write: boolean): Uint8Array {
    const mem = this.xen.frames.mem;
    if (write && mem.codeMark[mfn]) mem.codeWritten(mfn);
    const f = mem.frame(mfn)!;
    return new Uint8Array(f.buffer, f.byteOffset, 4096);
  }

  // ---- the trace ---------------------------------------------------------

  emit(body: SimEventBody | LazyBody): void {
    if (!this.quiet) this.xen.emit(null, 0, body);
  }

  emitFor(dom: number, body: SimEventBody | LazyBody): void {
    const r = this.xen.running;
    this.xen.emit(r !== null && r.domId === dom ? r : null, dom, body);
  }

  guestXenstore(dom: number, rec: XsRecord): void {
    // A frontend's xenbus state change: what the domain grants and maps as it makes it (grant leak checks).
    if (stateWrite(dom, rec)) this.reportGrants(dom);
    this.emitFor(dom, () => ({ kind: 'xenstore', ...rec }));
    if (rec.op === 'WRITE' && rec.result === 'OK') this.tracker.learn(dom, rec.path.startsWith('/') ? rec.path : `/local/domain/${dom}/${rec.path}`, rec.value);
  }

  consoleOutput(dom: number, bytes: Uint8Array): void {
    const text = (): string => Buffer.from(bytes).toString('latin1');
    if (this.xen.onConsole !== null) this.xen.onConsole(dom, 'ring', text());
    this.emitFor(dom, () => ({ kind: 'console', text: text(), source: 'ring' }));
  }

  /**
   * A GRANTS event for domain `dom`: its grant entries and mappings now (a
   * guest's table, read only when someone listens); for dom0, which grants
   * nothing, the device mappings its backends hold.
   */
  reportGrants(dom: number, services = false): void {
    // Domain 0 is xenrr's services (their grant maps), or a guest dom0 (its own grant table and maptrack).
    if (dom === 0 && (services || this.xen.domain(0) === undefined)) {
      return this.emit(() => {
        const mapped: Decoded[] = [];
        this.grantee.maptrack.forEach((m, handle) => void (m !== null && mapped.push({ handle, dom: m.dom, ref: m.ref, flags: m.flags })));
        return { kind: 'grants', granted: [], mapped };
      });
    }
    const d = this.xen.domain(dom);
    if (d !== undefined) this.emitFor(dom, () => ({ kind: 'grants', ...grantReport(this.xen, d) }));
  }

  ringAdd(r: { kind: Exclude<RingKind, 'console' | 'xenstore'>; frontDom: number; port: number; gref: number; mfns: number[]; entries: number }): void {
    this.tracker.add({ kind: r.kind, frontDom: r.frontDom, backDom: 0, port: r.port, gref: r.gref, mfn: r.mfns[0]!, mfns: [...r.mfns], entries: r.entries });
  }

  ringRemove(frontDom: number, port: number): void {
    this.tracker.remove(frontDom, port);
  }

  ringCheck(frontDom: number, port: number, notifying: boolean): void {
    // What dom0 wrote since the last look: dom0's event, seen at its notify or as its handler returns.
    this.tracker.check(0, notifying ? 'notify' : 'deschedule', 0, frontDom, port);
  }

  // ---- calls from the machine -----------------------------------------------

  /** Guest `d` notified its port `port`, bound to dom0 port p.remotePort. */
  kick(d: Domain, port: number, p: Port): void {
    const mine = this.ports[p.remotePort];
    if (mine === undefined || mine === null || !mine.bound || mine.dom !== d.id || mine.port !== port) return;
    this.driverNamed(mine.driver)?.notify(p.remotePort);
    this.pump();
  }

  /** Guest `d` closed its port bound to dom0 port p.remotePort: dom0's end is unbound now. */
  peerClosed(d: Domain, port: number, p: Port): void {
    const mine = this.ports[p.remotePort];
    if (mine === undefined || mine === null || mine.dom !== d.id || mine.port !== port) return;
    mine.bound = false;
    this.driverNamed(mine.driver)?.peerClosed?.(p.remotePort);
    this.pump();
  }

  /** The earliest deadline of any driver (backend.ts `deadline`), or -1. */
  nextDeadline(): number {
    let t = -1;
    for (const d of this.drivers) {
      const x = d.deadline?.() ?? -1;
      if (x >= 0 && (t < 0 || x < t)) t = x;
    }
    return t;
  }

  /** The machine's timer point: drivers whose deadline passed do their work, in registration order; then the store pump. */
  fireTimers(now: number): void {
    let fired = false;
    for (const d of this.drivers) {
      const x = d.deadline?.() ?? -1;
      if (x < 0 || x > now) continue;
      d.timer?.(now);
      fired = true;
    }
    if (fired) this.pump();
  }

  descheduled(dom: number): void {
    for (const d of this.drivers) d.descheduled?.(dom);
  }

  domainDown(dom: number): void {
    for (const d of this.drivers) d.domainDown?.(dom);
    this.pump();
  }

  /** Move the store's pending traffic until nothing moves (see the file comment). */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let round = 0; round < MAX_PUMP_ROUNDS; round++) {
        let moved = false;
        for (const d of this.drivers) if (d.pump?.() === true) moved = true;
        const events = this.store.takeWatchEvents(0);
        for (const e of events) {
          const [path, token] = latin1Strings(e.payload);
          const [name, own] = splitToken(token ?? '');
          this.driverNamed(name)?.watch?.(path ?? '', own);
        }
        if (!moved && events.length === 0) break;
      }
    } finally {
      this.pumping = false;
    }
  }

  private driverNamed(name: string): BackendDriver | undefined {
    return this.drivers.find((d) => d.name === name);
  }

  // ---- snapshots ---------------------------------------------------------------

  snapshot(): Dom0State {
    return {
      ports: this.ports.map((p) => (p === null ? null : { ...p })),
      maptrack: this.grantee.maptrack.map((m) => (m === null ? null : { ...m })),
      reqId: this.xs.nextReqId,
      drivers: this.drivers.map((d) => [d.name, d.snapshot()]),
    };
  }

  restore(s: Dom0State): void {
    this.ports.length = 0;
    for (const p of s.ports) this.ports.push(p === null ? null : { ...p });
    this.grantee.maptrack.length = 0;
    for (const m of s.maptrack) this.grantee.maptrack.push(m === null ? null : { ...m });
    this.xs.nextReqId = s.reqId;
    const names = this.drivers.map((d) => d.name).join(',');
    if (s.drivers.map(([n]) => n).join(',') !== names) throw new RangeError(`dom0 snapshot has drivers ${s.drivers.map(([n]) => n).join(',')}, this machine ${names}`);
    s.drivers.forEach(([, st], i) => this.drivers[i]!.restore(st));
  }
}

/** The NUL-terminated strings of a watch event's payload ("path\0token\0"). */
function latin1Strings(p: Uint8Array): string[] {
  const out: string[] = [];
  let s = '';
  for (const c of p) {
    if (c === 0) (out.push(s), (s = ''));
    else s += String.fromCharCode(c);
  }
  return out;
}
