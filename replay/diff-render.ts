/**
 * The text form of a diff report, as `xenrr diff` prints it.
 */
import type { DiffReport, EventView, KindCounts, Region } from './diff.js';
import type { FieldValue } from './normalize.js';
import type { Parting } from './parting.js';

const where = (v: EventView): string => (v.dom < 0 ? 'xen' : `d${v.dom}v${v.vcpu < 0 ? '-' : v.vcpu}`);
const us = (t: number): string => `${(t / 1000).toFixed(3)}us`;
const event = (tag: string, v: EventView): string => `  ${tag} ${String(v.seq).padStart(8)} ${us(v.time).padStart(13)} ${where(v).padEnd(6)} ${v.at.padEnd(28)} ${v.summary}`;
const value = (v: FieldValue | null): string => (v === null ? '(none)' : typeof v === 'string' ? JSON.stringify(v) : String(v));
const range = (r: { from: number; to: number }): string => (r.to === r.from ? `at ${r.from} (none)` : r.to - r.from === 1 ? `${r.from} (1)` : `${r.from}..${r.to - 1} (${r.to - r.from})`);

function counts(c: KindCounts): string {
  const parts: string[] = [];
  if (c.deleted) parts.push(`${c.deleted} only in a`);
  if (c.inserted) parts.push(`${c.inserted} only in b`);
  if (c.changed) parts.push(`${c.changed} changed`);
  return parts.join(', ');
}

function regionLine(r: Region): string {
  const kinds = Object.entries(r.byKind).map(([k, c]) => `${k} ${[c.deleted ? `-${c.deleted}` : '', c.inserted ? `+${c.inserted}` : '', c.changed ? `~${c.changed}` : ''].filter(Boolean).join('')}`);
  return `  a ${range(r.a).padEnd(20)} b ${range(r.b).padEnd(20)} ${kinds.join(', ')}`;
}

/** The instruction-level parting, as `xenrr diff` prints it under the first divergence. */
export function partingLines(p: Parting): string[] {
  const v = `d${p.dom}v${p.vcpu}`;
  const from = p.from.a === p.from.b ? `icount ${p.from.a}` : `icount ${p.from.a} in a, ${p.from.b} in b`;
  const head = p.outcome === 'parted' ? `execution parts in ${v}, ${p.steps} instructions after its last common event (${from}):`
    : p.outcome === 'ended' ? `${v} ran the same ${p.steps} instructions after its last common event (${from}), then one run stopped:`
    : `${v} ran the same ${p.steps} instructions after its last common event (${from}) without parting (step limit):`;
  const out = [head];
  if (p.common !== null && p.commonInsn !== null) {
    const same = p.commonInsn.a === p.commonInsn.b;
    out.push(`  both executed  ${p.common.padEnd(28)} ${same ? p.commonInsn.a : `a: ${p.commonInsn.a}   b: ${p.commonInsn.b}`}`);
  }
  for (const [tag, s] of [['a', p.a], ['b', p.b]] as const) out.push(s === null ? `  then ${tag}         stopped` : `  then ${tag} at      ${s.at.padEnd(28)} ${s.insn}`);
  for (const [tag, s] of [['a', p.a], ['b', p.b]] as const) if (s !== null) out.push(`  stack ${tag}        ${s.stack.join(' <- ')}`);
  return out;
}

/** `regions`: how many regions to list (the JSON report has them all, up to its own cap). */
export function renderDiff(r: DiffReport, opts: { regions?: number } = {}): string {
  const maxRegions = opts.regions ?? 20;
  const out: string[] = [
    `a  ${r.a.path}: ${r.a.events} events${r.a.complete ? '' : ' (incomplete)'}`,
    `b  ${r.b.path}: ${r.b.events} events${r.b.complete ? '' : ' (incomplete)'}`,
    `identical prefix: ${r.skipped.events} events (${r.skipped.chunks} chunks, skipped by hash); aligned ${r.compared.a} / ${r.compared.b} events after it, ${r.matched} matched`,
  ];
  if (r.ignore.length > 0) out.push(`ignored fields: ${r.ignore.join(', ')}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  if (r.equal) {
    out.push('EQUIVALENT: no semantic difference');
    return `${out.join('\n')}\n`;
  }
  out.push(`DIFFERENT: ${r.regionCount} region${r.regionCount === 1 ? '' : 's'}; ${counts(r.totals)}`);
  const f = r.firstDivergence;
  if (f !== null) {
    const a0 = f.a[0];
    const b0 = f.b[0];
    out.push('', `first divergence at a#${a0?.seq ?? r.regions[0]?.a.from ?? '?'} / b#${b0?.seq ?? r.regions[0]?.b.from ?? '?'}:`);
    if (f.context.length > 0) {
      out.push(`  common events before it (seq in a / b):`);
      for (const c of f.context) out.push(`  = ${`${c.a.seq}/${c.b.seq}`.padStart(8)} ${us(c.a.time).padStart(13)} ${where(c.a).padEnd(6)} ${c.a.at.padEnd(28)} ${c.a.summary}`);
    }
    // A side with no event of its own in the first region goes on with a common event (or ends).
    const g = r.regions[0];
    const none = (side: 'a' | 'b', other: 'a' | 'b', events: number): string =>
      g === undefined ? '' : g[side].from >= events ? `  ${side} (none: ${side} ends here)` : `  ${side} (none: ${side}#${g[side].from} matches ${other}#${g[other].to})`;
    const withStack = (tag: string, v: EventView): void => {
      out.push(event(tag, v));
      if (v.stack.length > 1) out.push(`${' '.repeat(33)}stack ${v.stack.join(' <- ')}`);
    };
    for (const v of f.a) withStack('a', v);
    if (f.a.length === 0) out.push(none('a', 'b', r.a.events));
    for (const v of f.b) withStack('b', v);
    if (f.b.length === 0) out.push(none('b', 'a', r.b.events));
    if (f.changes.length > 0) out.push(`  differs in: ${f.changes.map((c) => `${c.field} ${value(c.a)} -> ${value(c.b)}`).join(', ')}`);
    // A console event holds a piece of a line: the whole line, as each run printed it.
    for (const [tag, l] of [['a', f.consoleLine.a], ['b', f.consoleLine.b]] as const) {
      if (l !== null) out.push(`  console line ${tag}: ${l.source === 'console_io' ? `(d${l.dom})` : `[d${l.dom}]`} ${JSON.stringify(l.text).slice(1, -1)}`);
    }
  }
  if (r.parting) out.push('', ...partingLines(r.parting));
  out.push('', 'by kind          only in a  only in b    changed');
  for (const [k, c] of Object.entries(r.byKind).sort(([x], [y]) => (x < y ? -1 : 1))) {
    out.push(`  ${k.padEnd(14)} ${String(c.deleted).padStart(9)}  ${String(c.inserted).padStart(9)}  ${String(c.changed).padStart(9)}`);
  }
  const listed = r.regions.slice(0, maxRegions);
  out.push('', `regions (seq ranges; -only in a, +only in b, ~changed)${r.regionCount > listed.length ? `, first ${listed.length} of ${r.regionCount}` : ''}:`);
  for (const g of listed) out.push(regionLine(g));
  return `${out.join('\n')}\n`;
}
