/**
 * xenbus devices as the trace shows them: the `state` keys each end writes
 * (frontend .../device/<type>/<id>/state, backend .../backend/<type>/
 * <front>/<id>/state; our corpus drivers use data/<type>/<id> and
 * data/<type>-back/<front>/<id>), the frontend's backend-id, and writes in
 * a transaction taking effect at its commit.
 *
 * State machine (public/io/xenbus.h, with blkif.h's "STATE DIAGRAMS" and
 * the shortcuts Linux's xenbus drivers take): either end may go Closing or
 * Closed from anywhere; Initialising -> InitWait | Initialised; InitWait ->
 * Initialised | Connected; Initialised -> Connected; Closing -> Closed;
 * Closed -> Initialising (a frontend starting over) | InitWait (a backend
 * re-probed); Connected <-> Reconfiguring -> Reconfigured -> Connected. The
 * first state the trace shows of an end is taken as it is (xl create's
 * writes, and dom0's backends' while the domains were built, are not
 * traced). A
 * frontend may also go Initialising -> Connected (netfront does; blkif.h
 * lets it skip InitWait-dependent setup). Anything else is a violation: a
 * backend going Initialising -> Connected, any move back to an earlier
 * setup state, Closing -> Connected...
 *
 * Readiness: a backend goes Connected only once its frontend is Initialised
 * or Connected (it needs the frontend's ring-ref and event-channel); a
 * frontend goes Connected only once its backend is (vbd: Connected, as
 * blkif.h's diagram has it; other devices: at least InitWait).
 */
import type { SimEvent } from '../../sim/events.js';
import {
  XenbusStateClosed, XenbusStateClosing, XenbusStateConnected, XenbusStateInitialised, XenbusStateInitialising, XenbusStateInitWait,
  XenbusStateReconfigured, XenbusStateReconfiguring, XenbusStateUnknown,
} from '../../sim/xen/public/io/xenbus.js';
import { at, related, type Violation, who } from './report.js';

export const STATE_NAMES = ['Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured'];
const stateName = (s: number): string => STATE_NAMES[s] ?? `state ${s}`;

export type Side = 'front' | 'back';
/** One device: its frontend and backend domains and each end's state (Unknown until written). */
export type Device = { type: string; id: string; front: number; back: number; state: Record<Side, number>; frontDir: string; closedAt: SimEvent | null };

const FRONT = /^\/local\/domain\/(\d+)\/(?:device|data)\/([^/]+)\/([^/]+)\/([^/]+)$/;
const BACK = /^\/local\/domain\/(\d+)\/(?:backend\/([^/]+)|data\/([^/]+)-back)\/(\d+)\/([^/]+)\/([^/]+)$/;

/** Legal moves between different states; Closing and Closed are reachable from anywhere. */
const NEXT: Record<number, number[]> = {
  [XenbusStateInitialising]: [XenbusStateInitWait, XenbusStateInitialised],
  [XenbusStateInitWait]: [XenbusStateInitialised, XenbusStateConnected],
  [XenbusStateInitialised]: [XenbusStateConnected],
  [XenbusStateConnected]: [XenbusStateReconfiguring],
  [XenbusStateClosing]: [],
  [XenbusStateClosed]: [XenbusStateInitialising, XenbusStateInitWait],
  [XenbusStateReconfiguring]: [XenbusStateReconfigured, XenbusStateConnected],
  [XenbusStateReconfigured]: [XenbusStateConnected],
};

export class Devices {
  readonly byKey = new Map<string, Device>();
  /** writes inside open transactions, by `dom:tx`, applied at a successful commit */
  private readonly pending = new Map<string, Array<{ e: Extract<SimEvent, { kind: 'xenstore' }> }>>();

  constructor(
    private readonly out: (v: Violation) => void,
    /** a state change took effect: (device, side, old state, the write's event) */
    private readonly changed: (d: Device, side: Side, old: number, e: Extract<SimEvent, { kind: 'xenstore' }>) => void,
  ) {}

  private device(front: number, type: string, id: string): Device {
    const key = `${front}/${type}/${id}`;
    let d = this.byKey.get(key);
    if (d === undefined) this.byKey.set(key, (d = { type, id, front, back: -1, state: { front: XenbusStateUnknown, back: XenbusStateUnknown }, frontDir: `/local/domain/${front}/`, closedAt: null }));
    return d;
  }

  /** Whether any device between these domains has an end closing or closed. */
  closing(front: number, back: number): boolean {
    for (const d of this.byKey.values()) if (d.front === front && d.back === back && (d.state.front >= XenbusStateClosing || d.state.back >= XenbusStateClosing)) return true;
    return false;
  }

  /** Devices between `a` and `b` (either way round). */
  between(a: number, b: number): Device[] {
    return [...this.byKey.values()].filter((d) => (d.front === a && d.back === b) || (d.front === b && d.back === a));
  }

  see(e: SimEvent): void {
    if (e.kind !== 'xenstore' || e.result !== 'OK') return;
    if (e.op === 'TRANSACTION_END') {
      const key = `${e.dom}:${e.txId}`;
      const writes = this.pending.get(key) ?? [];
      this.pending.delete(key);
      if (e.value === 'T') for (const w of writes) this.apply(w.e);
      return;
    }
    if (e.op !== 'WRITE') return;
    if (e.txId !== 0) {
      const key = `${e.dom}:${e.txId}`;
      this.pending.set(key, [...(this.pending.get(key) ?? []), { e }]);
      return;
    }
    this.apply(e);
  }

  private apply(e: Extract<SimEvent, { kind: 'xenstore' }>): void {
    const f = FRONT.exec(e.path);
    if (f !== null && !f[2]!.endsWith('-back') && Number(f[1]) === e.dom) {
      const d = this.device(Number(f[1]), f[2]!, f[3]!);
      d.frontDir = e.path.slice(0, e.path.length - f[4]!.length - 1);
      if (f[4] === 'backend-id' && /^\d+$/.test(e.value)) d.back = Number(e.value);
      else if (f[4] === 'backend') d.back = Number(/^\/local\/domain\/(\d+)\//.exec(e.value)?.[1] ?? d.back);
      else if (f[4] === 'state') this.state(d, 'front', e);
      return;
    }
    const b = BACK.exec(e.path);
    if (b !== null && b[6] === 'state' && Number(b[1]) === e.dom) {
      const d = this.device(Number(b[4]), b[2] ?? b[3]!, b[5]!);
      d.back = Number(b[1]);
      this.state(d, 'back', e);
    }
  }

  private state(d: Device, side: Side, e: Extract<SimEvent, { kind: 'xenstore' }>): void {
    const to = /^\d+$/.test(e.value) ? Number(e.value) : -1;
    const from = d.state[side];
    if (to === from) return;
    const other: Side = side === 'front' ? 'back' : 'front';
    const peer = d.state[other];
    const why: string[] = [];
    if (to < XenbusStateInitialising || to > XenbusStateReconfigured) why.push(`"${e.value}" is no XenbusState`);
    // A first sight (Unknown) may follow states written before the trace began: xl create's, and the backends' while it built the domains.
    else if (from !== XenbusStateUnknown && to !== XenbusStateClosing && to !== XenbusStateClosed && !(NEXT[from] ?? []).includes(to) && !(side === 'front' && from <= XenbusStateInitialising && to === XenbusStateConnected)) {
      why.push(from === XenbusStateInitialising && to === XenbusStateConnected
        ? `a backend goes Initialising -> InitWait (or Initialised) -> Connected; it skipped ${stateName(XenbusStateInitWait)}`
        : `${stateName(from)} -> ${stateName(to)} is not a xenbus transition`);
    }
    if (to === XenbusStateConnected && peer !== XenbusStateUnknown) {
      if (side === 'back' && peer !== XenbusStateInitialised && peer !== XenbusStateConnected) {
        why.push(`connected before the frontend is ready: d${d.front} is ${stateName(peer)}, not Initialised (its ring-ref and event-channel are not yet published)`);
      }
      const ready = d.type === 'vbd' ? [XenbusStateConnected] : [XenbusStateInitWait, XenbusStateInitialised, XenbusStateConnected];
      if (side === 'front' && !ready.includes(peer)) {
        why.push(`connected before the backend is ready: d${d.back} is ${stateName(peer)}${d.type === 'vbd' ? ' (blkif.h: the frontend connects after the backend has)' : ''}`);
      }
    }
    d.state[side] = to < 0 ? from : to;
    if (why.length > 0) {
      this.out(at(e, 'xenbus', `${who(e)} (${side}end of ${d.type} ${d.id}) went ${stateName(from)} -> ${stateName(to)}: ${why.join('; ')}`, { device: deviceName(d) }));
    }
    if (to >= 0) this.changed(d, side, from, e);
  }
}

export const deviceName = (d: Device): string => `${d.type} ${d.id} of d${d.front}${d.back >= 0 ? ` (backend d${d.back})` : ''}`;
export { related };
