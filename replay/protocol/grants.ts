/**
 * Grant leaks, from the GRANTS events (a domain's grant entries and grant
 * mappings as it writes a xenbus state key, and as it stops) and the
 * grant-table hypercalls:
 * - a frontend that went Closed still granting its backend a page the
 *   backend does not map, and still grants it (the same reference, the
 *   same frame) when it shuts down: gnttab_end_foreign_access was never
 *   called. Reported at the Closed write; a frontend may end its grants
 *   after going Closed (Linux 6.1's blkfront_closing writes Closed and
 *   frees the ring in blkfront_remove), so only its stop proves the leak;
 * - a backend going Closed while it still maps one of its frontend's
 *   grants (GNTTABOP_map_grant_ref without GNTTABOP_unmap_grant_ref);
 * - a domain that shuts down (not a crash) still mapping grants, or still
 *   granting, unmapped, pages to a peer it had a device with that closed.
 * Each leak is reported once, at the first of these moments.
 */
import type { Decoded, SimEvent } from '../../sim/events.js';
import { XenbusStateClosed } from '../../sim/xen/public/io/xenbus.js';
import { at, related, type Related, type RingRef, type Violation, who } from './report.js';
import { type Device, deviceName, type Side } from './xenbus.js';

const GTF_reading = 8;
const GTF_writing = 16;
type GrantsEvent = Extract<SimEvent, { kind: 'grants' }>;

export class GrantChecks {
  /** each domain's last GRANTS event */
  private readonly last = new Map<number, GrantsEvent>();
  /** successful maps by `dom:handle` (the latest) */
  private readonly maps = new Map<string, SimEvent>();
  /** xenstore writes whose value is a number, by `dom:value` (the latest): where a grant ref was published */
  private readonly published = new Map<string, Extract<SimEvent, { kind: 'xenstore' }>>();
  private readonly reported = new Set<string>();
  /** grants a frontend still held, unmapped, as it went Closed: `dom:ref` -> its entry then, the Closed write, how, to whom */
  private readonly atClosed = new Map<string, { x: Decoded; e: SimEvent; how: string; peer: number }>();

  constructor(
    private readonly out: (v: Violation) => void,
    private readonly devicesBetween: (a: number, b: number) => Device[],
    /** the ring whose page a grant ref of `front` is, if any */
    private readonly ringOf: (front: number, gref: number) => RingRef | undefined,
  ) {}

  see(e: SimEvent): void {
    if (e.kind === 'grants') this.last.set(e.dom, e);
    else if (e.kind === 'hypercall' && e.subName === 'GNTTABOP_map_grant_ref' && e.result === 0) {
      for (const op of ops(e.decoded)) if (op.status === 0 && op.handle !== undefined) this.maps.set(`${e.dom}:${String(op.handle)}`, e);
    } else if (e.kind === 'xenstore' && e.op === 'WRITE' && e.result === 'OK' && /^\d+$/.test(e.value)) this.published.set(`${e.dom}:${e.value}`, e);
    else if (e.kind === 'domain_state' && e.state === 'shutdown') this.stopped(e);
  }

  /** A device end changed state (Devices.changed); Closed is when its grants must be settled. */
  stateChanged(d: Device, side: Side, e: Extract<SimEvent, { kind: 'xenstore' }>): void {
    if (d.state[side] !== XenbusStateClosed) return;
    d.closedAt ??= e;
    const g = this.last.get(e.dom);
    if (g === undefined || g.seq > e.seq) return;
    if (side === 'front' && d.back >= 0) {
      for (const x of unmapped(g, d.back)) this.atClosed.set(`${e.dom}:${String(x.ref)}`, { x, e, how: `went Closed on ${deviceName(d)}`, peer: d.back });
    }
    if (side === 'back') this.mapped(e, g, d.front, `went Closed on ${deviceName(d)}`);
  }

  private stopped(e: Extract<SimEvent, { kind: 'domain_state' }>): void {
    const g = this.last.get(e.dom);
    if (g === undefined) return;
    // Grants held since a Closed and never ended: reported at that Closed.
    for (const [key, c] of this.atClosed) {
      if (!key.startsWith(`${e.dom}:`)) continue;
      this.atClosed.delete(key);
      const now = unmapped(g, c.peer).find((x) => x.ref === c.x.ref && x.frame === c.x.frame);
      if (now !== undefined) this.granted(c.e, [now], c.peer, c.how, ` and still did when it shut down (${e.reason})`);
    }
    this.mapped(e, g, -1, `shut down (${e.reason})`);
    const peers = new Set(g.granted.map((x) => Number(x.domid)));
    for (const p of peers) if (this.devicesBetween(e.dom, p).some((d) => d.closedAt !== null)) this.granted(e, unmapped(g, p), p, `shut down (${e.reason}) after its device with d${p} closed`);
  }

  /** Report grants `xs` of `e.dom` to `peer`, which nobody maps (`also`: what the message adds after the fact). */
  private granted(e: SimEvent, xs: Decoded[], peer: number, how: string, also = ''): void {
    for (const x of xs) {
      const ref = Number(x.ref);
      const key = `granted:${e.dom}:${ref}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const pub = this.published.get(`${e.dom}:${ref}`);
      const ring = this.ringOf(e.dom, ref);
      const rel: Related[] = pub ? [related(pub, `grant ref ${ref} published as ${pub.path}`)] : [];
      this.out(at(e, 'grant-leak', `${who(e)} ${how} still granting d${peer} grant ref ${ref}${ring ? ` (the ${ring.kind} ring page)` : ''}, which d${peer} does not map${also}: the grant was never ended (gnttab_end_foreign_access)`, { related: rel, ...(ring ? { ring } : {}) }));
    }
  }

  /** Mappings `e.dom` holds of `granter`'s grants (-1: anyone's). */
  private mapped(e: SimEvent, g: GrantsEvent, granter: number, how: string): void {
    for (const m of g.mapped) {
      const dom = Number(m.dom);
      if (granter >= 0 && dom !== granter) continue;
      const key = `mapped:${e.dom}:${String(m.handle)}`;
      if (this.reported.has(key)) continue;
      this.reported.add(key);
      const map = this.maps.get(`${e.dom}:${String(m.handle)}`);
      const ring = this.ringOf(dom, Number(m.ref));
      const rel: Related[] = map ? [related(map, `d${e.dom} mapped d${dom}'s grant ref ${String(m.ref)} (handle ${String(m.handle)})`)] : [];
      this.out(at(e, 'grant-leak', `${who(e)} ${how} still mapping d${dom}'s grant ref ${String(m.ref)}${ring ? ` (the ${ring.kind} ring page)` : ''} (handle ${String(m.handle)}): GNTTABOP_map_grant_ref without GNTTABOP_unmap_grant_ref`, { related: rel, ...(ring ? { ring } : {}) }));
    }
  }
}

/** `g`'s grants to `peer` that nobody maps (no GTF_reading/GTF_writing), past the reserved entries. */
function unmapped(g: GrantsEvent, peer: number): Decoded[] {
  return g.granted.filter((x) => Number(x.domid) === peer && (Number(x.flags) & (GTF_reading | GTF_writing)) === 0 && Number(x.ref) >= 8);
}

/** The ops of a map or unmap call: its `ops` list for a batch (flattened `ops[i].x` keys in a trace), else the call's own fields. */
export function ops(d: Decoded): Decoded[] {
  if (Array.isArray(d.ops)) return d.ops as Decoded[];
  const list: Decoded[] = [];
  for (const k in d) {
    const m = /^ops\[(\d+)\]\.(.*)$/.exec(k);
    if (m !== null) (list[Number(m[1])] ??= {})[m[2]!] = d[k]!;
  }
  return list.length > 0 ? list : [d];
}
