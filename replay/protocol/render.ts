/**
 * Protocol violations as text (`xenrr check --protocol`, the TUI's detail
 * pane) and as JSON, with RIPs and call stacks symbolized.
 */
import { stackText, symbolize, type Symbols } from '../symbols.js';
import { CHECKS, type Violation, who } from './report.js';

const us = (ns: number): string => `${(ns / 1000).toFixed(3)}us`;
/** Where the event happened, as `dump` shows it: inside a hypercall, its caller. */
const where = (v: Violation, syms: Symbols): string => (v.dom < 0 ? '' : symbolize(syms, v.dom, v.stack?.[0] ?? v.rip));

/** The lines describing one violation: a head line, then indented details. */
export function violationLines(v: Violation, syms: Symbols): string[] {
  const out = [`${v.check}  #${v.seq}  ${us(v.time)}  ${who(v)}  ${where(v, syms)}`.trimEnd(), `  ${v.message}`];
  if (v.ring) out.push(`  ring    ${v.ring.kind} front d${v.ring.front} back d${v.ring.back} gref ${v.ring.gref} port ${v.ring.port}`);
  if (v.device) out.push(`  device  ${v.device}`);
  if (v.stack) out.push(`  stack   ${stackText(syms, v.dom, v.stack).join(' <- ')}`);
  for (const r of v.related) {
    out.push(`  see #${r.seq} ${who(r)}: ${r.what}`);
    if (r.stack && !(v.stack && r.stack.length === v.stack.length && r.stack.every((x, i) => x === v.stack![i]))) out.push(`          stack ${stackText(syms, r.dom, r.stack).join(' <- ')}`);
  }
  return out;
}

/** The whole report: every violation, then a count by check. */
export function renderReport(vs: Violation[], events: number, syms: Symbols): string {
  if (vs.length === 0) return `no protocol violations in ${events} events\n`;
  const lines = vs.flatMap((v) => [...violationLines(v, syms), '']);
  const counts = CHECKS.map((c) => [c, vs.filter((v) => v.check === c).length] as const).filter(([, n]) => n > 0);
  lines.push(`${vs.length} protocol violation${vs.length === 1 ? '' : 's'} in ${events} events: ${counts.map(([c, n]) => `${n} ${c}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** A violation as plain JSON: addresses in hex, stacks symbolized. */
export function violationJson(v: Violation, syms: Symbols): Record<string, unknown> {
  return {
    check: v.check, seq: v.seq, time: v.time, dom: v.dom, vcpu: v.vcpu, rip: `0x${v.rip.toString(16)}`,
    at: v.dom >= 0 ? where(v, syms) : null, message: v.message,
    ...(v.ring ? { ring: v.ring } : {}), ...(v.device ? { device: v.device } : {}),
    stack: v.stack ? stackText(syms, v.dom, v.stack) : [],
    related: v.related.map((r) => ({ seq: r.seq, dom: r.dom, vcpu: r.vcpu, what: r.what, stack: r.stack ? stackText(syms, r.dom, r.stack) : [] })),
  };
}
