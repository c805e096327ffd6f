/**
 * xenconsoled as a dom0 driver: one ConsoleBackend (console.ts) per
 * domain, on the console page the toolstack set up (start_info.console),
 * and the console event channel, which it binds when the domain is
 * introduced. Output is drained when the guest kicks the channel and when
 * one of its vCPUs is descheduled (a guest that wrote without kicking is
 * read at latest then, as xenconsoled's ring polling would), then the
 * guest is kicked back (out_cons moved) and the bytes go to the domain's
 * console and into the trace.
 */
import type { Domain } from '../xen/domain.js';
import type { BackendDriver, Dom0Env } from './backend.js';
import { ConsoleBackend } from './console.js';

type Console = { dom: number; port: number; be: ConsoleBackend };

export class ConsoleDriver implements BackendDriver {
  readonly name = 'console';
  private readonly consoles = new Map<number, Console>();

  constructor(private readonly env: Dom0Env) {}

  /** xenconsoled discovers domain `d`: bind its console channel, attach to its page. */
  attach(d: Domain): void {
    const port = this.env.bindInterdomain(this, d.id, d.consolePort);
    if (port < 0) throw new Error(`console: cannot bind domain ${d.id}'s console port ${d.consolePort}: ${port}`);
    this.consoles.set(d.id, { dom: d.id, port, be: new ConsoleBackend(this.env.frame(d.consoleMfn)) });
  }

  notify(port: number): void {
    for (const c of this.consoles.values()) if (c.port === port) this.drain(c);
  }

  descheduled(dom: number): void {
    const c = this.consoles.get(dom);
    if (c !== undefined) this.drain(c);
  }

  private drain(c: Console): void {
    const d = this.env.domain(c.dom);
    if (d === undefined) return;
    const bytes = c.be.drain();
    if (bytes.length === 0) return;
    // Like xenconsoled: out_cons moved, so kick the guest's console channel.
    this.env.notify(c.port, false);
    for (const b of bytes) d.console.push(b);
    this.env.emitFor(c.dom, () => ({ kind: 'console', text: Buffer.from(bytes).toString('latin1'), source: 'ring' }));
  }

  snapshot(): Array<[number, boolean]> {
    return [...this.consoles.values()].map((c) => [c.dom, c.be.corrupt]);
  }

  restore(state: unknown): void {
    for (const [dom, corrupt] of state as Array<[number, boolean]>) {
      const c = this.consoles.get(dom);
      if (c === undefined) throw new RangeError(`console snapshot: no console for domain ${dom}`);
      c.be.corrupt = corrupt;
    }
  }
}
