/**
 * Protocol checks over an event stream, in one pass: ring index invariants
 * and lost wake-ups (rings.ts), xenbus state machines (xenbus.ts), grant
 * leaks (grants.ts). Feed events in order with `see`, then `finish` with
 * the run's stop reason; violations come out in the order found (sorted by
 * seq by `checkEvents`).
 */
import type { SimEvent } from '../../sim/events.js';
import type { TraceReader } from '../../trace/reader.js';
import { GrantChecks } from './grants.js';
import { type RingRef, Sleepers, type Violation } from './report.js';
import { RingChecks } from './rings.js';
import { Devices } from './xenbus.js';

export class ProtocolChecker {
  readonly violations: Violation[] = [];
  private readonly sleepers = new Sleepers();
  private readonly devices: Devices;
  private readonly rings: RingChecks;
  private readonly grants: GrantChecks;
  /** ring pages by `front:gref` */
  private readonly ringPages = new Map<string, RingRef>();
  private readonly stopped = new Set<number>();
  events = 0;

  constructor() {
    const out = (v: Violation): void => void this.violations.push(v);
    this.devices = new Devices(out, (d, side, _old, e) => this.grants.stateChanged(d, side, e));
    this.rings = new RingChecks(out, this.sleepers, (f, b) => this.devices.closing(f, b));
    this.grants = new GrantChecks(out, (a, b) => this.devices.between(a, b), (f, g) => this.ringPages.get(`${f}:${g}`));
  }

  see(e: SimEvent): void {
    this.events++;
    if (e.kind === 'ring' && e.gref !== 0) this.ringPages.set(`${e.frontDom}:${e.gref}`, { kind: e.ring, front: e.frontDom, back: e.backDom, gref: e.gref, port: e.port });
    if (e.kind === 'domain_state' && e.state !== 'running') this.stopped.add(e.dom);
    this.sleepers.see(e);
    this.devices.see(e);
    this.grants.see(e);
    this.rings.see(e);
  }

  /** The end of the stream; `stop` is the recorder's stop reason (all-stopped, deadlock, budget, ...). */
  finish(stop: string): Violation[] {
    this.rings.finish(stop, (dom) => !this.stopped.has(dom));
    this.violations.sort((a, b) => a.seq - b.seq);
    return this.violations;
  }
}

/** Check every event of a trace. */
export function checkTrace(reader: TraceReader, progress?: (events: number) => void): Violation[] {
  const c = new ProtocolChecker();
  for (let i = 0; i < reader.index.chunks.length; i++) {
    for (const e of reader.chunk(i)) c.see(e);
    progress?.(c.events);
  }
  return c.finish(reader.complete ? reader.index.stopReason : 'incomplete');
}

/** Check a list of events (tests, hand-built streams). */
export function checkEvents(events: Iterable<SimEvent>, stop = 'all-stopped'): Violation[] {
  const c = new ProtocolChecker();
  for (const e of events) c.see(e);
  return c.finish(stop);
}
