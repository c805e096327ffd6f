/**
 * xenstored's transport as a dom0 driver: one XsRingServer (xs-ring.ts)
 * per domain on its xenstore page (start_info.store_mfn), and the store
 * event channel, which xenstored binds when the domain is introduced.
 *
 * A guest's kick services every connection until none moves (a request
 * from one domain can fire watches for any other, in any order of domain
 * ids); `pump` (after anything else changed the store, e.g. a backend's
 * request) services the connections that have watch events queued. After
 * moving either index of a ring, xenstored kicks that guest.
 */
import type { Domain } from '../xen/domain.js';
import type { BackendDriver, Dom0Env } from './backend.js';
import { XS_DOM0_RING_CONN, type XenStore } from './xenstored.js';
import { XsRingServer, type XsRingState } from './xs-ring.js';

type Conn = { dom: number; port: number; ring: XsRingServer };
/** The store connection of domain `dom`'s ring: its domid, or for a guest dom0 a key apart from dom0's services. */
const connKey = (dom: number): number => (dom === 0 ? XS_DOM0_RING_CONN : dom);
/** Passes over every connection per kick before giving up on a ring that keeps moving. */
const MAX_ROUNDS = 64;

export class XenstoreDriver implements BackendDriver {
  readonly name = 'xenstore';
  private readonly conns = new Map<number, Conn>();

  constructor(private readonly env: Dom0Env, private readonly store: XenStore) {}

  /** The domain is introduced to xenstored: bind its store channel, attach to its page. */
  attach(d: Domain): void {
    const port = this.env.bindInterdomain(this, d.id, d.storePort);
    if (port < 0) throw new Error(`xenstore: cannot bind domain ${d.id}'s store port ${d.storePort}: ${port}`);
    this.conns.set(connKey(d.id), { dom: d.id, port, ring: new XsRingServer(this.store, d.id, d.privileged, this.env.frame(d.storeMfn), connKey(d.id)) });
  }

  notify(): void {
    for (let busy = true, rounds = 0; busy && rounds < MAX_ROUNDS; rounds++) {
      busy = false;
      for (const c of this.conns.values()) if (this.service(c)) busy = true;
    }
  }

  pump(): boolean {
    let moved = false;
    for (let rounds = 0; rounds < MAX_ROUNDS; rounds++) {
      const pending = this.store.eventsPending().filter((key) => this.conns.has(key));
      let busy = false;
      for (const key of pending) if (this.service(this.conns.get(key)!)) busy = true;
      if (!busy) break;
      moved = true;
    }
    return moved;
  }

  /** One pass over connection `c`; whether it moved an index. */
  private service(c: Conn): boolean {
    if (!this.env.domain(c.dom)?.alive) return false;
    const r = c.ring.service();
    for (const rec of r.records) this.env.guestXenstore(c.dom, rec);
    if (!r.produced && !r.consumed) return false;
    this.env.notify(c.port, false);
    return true;
  }

  snapshot(): Array<[number, XsRingState]> {
    return [...this.conns.values()].map((c) => [c.dom, c.ring.snapshot()]);
  }

  restore(state: unknown): void {
    for (const [dom, ring] of state as Array<[number, XsRingState]>) {
      const c = this.conns.get(connKey(dom));
      if (c === undefined) throw new RangeError(`xenstore snapshot: no connection for domain ${dom}`);
      c.ring.restore(ring);
    }
  }
}
