/**
 * Pure text layout for the panes: every line is cut or padded to the pane
 * width here, so a frame is exactly what these functions return and tests
 * can compare frames as strings.
 */
import { consoleLineText, type ConsoleLine } from '../replay/console-text.js';
import type { Decoded, SimEvent } from '../sim/events.js';
import { summary } from '../replay/format.js';
import type { MachineView } from '../replay/session.js';
import { fpuItems } from '../replay/session-view.js';
import type { DisasmLine } from '../sim/cpu/disasm.js';
import type { RingRow } from './rings.js';

/** Cut or pad to exactly `w` columns (a cut line ends in `~`). */
export function fit(s: string, w: number): string {
  const flat = s.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '⏎' : '·'));
  if (w <= 0) return '';
  return flat.length > w ? `${flat.slice(0, w - 1)}~` : flat.padEnd(w);
}

export const KIND_SHORT: Record<SimEvent['kind'], string> = {
  hypercall: 'hcall', evtchn_send: 'send', evtchn_deliver: 'deliver', exception: 'exc', timer: 'timer', sched: 'sched',
  console: 'console', xenstore: 'xs', ring: 'ring', domain_state: 'domain', input: 'input', milestone: 'mark', grants: 'grants', net: 'net',
};

/** Ink colour names per kind; undefined = the terminal's default. */
export const KIND_COLOUR: Record<SimEvent['kind'], string | undefined> = {
  hypercall: 'cyan', evtchn_send: 'yellow', evtchn_deliver: 'yellow', exception: 'red', timer: 'gray', sched: 'gray',
  console: 'green', xenstore: 'magenta', ring: 'blue', domain_state: 'redBright', input: 'green', milestone: undefined, grants: 'blue', net: 'blueBright',
};

/** NO_COLOR (any value, per no-color.org) turns colour off. */
export const colourEnabled = (env: NodeJS.ProcessEnv = process.env): boolean => env.NO_COLOR === undefined || env.NO_COLOR === '';

export const whereOf = (e: { dom: number; vcpu: number }): string => (e.dom < 0 ? 'xen' : `d${e.dom}v${e.vcpu < 0 ? '-' : e.vcpu}`);
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

export const TIMELINE_HEADER = ' seq     time(us) where kind    symbol             summary';

/** One timeline row: marker, seq, virtual time in µs, dom/vCPU, kind, symbol, summary. */
export function timelineRow(e: SimEvent, sym: string, mark: string, w: number): string {
  const t = (e.time / 1000).toFixed(3).padStart(12);
  return fit(`${mark}${String(e.seq).padStart(7)}${t} ${whereOf(e).padEnd(5)}${KIND_SHORT[e.kind].padEnd(8)}${fit(sym, 18)} ${summary(e)}`, w);
}

/** Every field of an event as `key=value`, nested records flattened to `a.b`, lists to `a[0]`. */
export function eventFields(e: SimEvent, sym: string, stack: string[] = []): string[] {
  const out: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'bigint') out.push(`${prefix}=${hex(v)}`);
    else if (v instanceof Uint8Array) out.push(`${prefix}=${v.length} bytes ${Buffer.from(v.subarray(0, 64)).toString('hex')}${v.length > 64 ? '…' : ''}`);
    else if (Array.isArray(v)) {
      if (v.length === 0) out.push(`${prefix}=[]`);
      else if (v.every((x) => typeof x !== 'object')) out.push(`${prefix}=[${v.map((x) => (typeof x === 'bigint' ? hex(x) : String(x))).join(',')}]`);
      else v.forEach((x, i) => walk(`${prefix}[${i}]`, x));
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) out.push(`${prefix}={}`);
      for (const [k, x] of entries) walk(prefix === '' ? k : `${prefix}.${k}`, x);
    } else out.push(`${prefix}=${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  };
  const { seq, time, dom, vcpu, icount, rip, kind, stack: raw, ...rest } = e;
  out.push(`seq=${seq}`, `time=${time}ns`, `dom=${dom}`, `vcpu=${vcpu}`, `icount=${icount}`, `rip=${hex(rip)}`);
  if (sym !== '' && !sym.startsWith('0x')) out.push(`at=${sym}`);
  out.push(`kind=${kind}`);
  walk('', rest);
  // The guest call stack of the hypercall it was raised in, symbolized when the caller could.
  if (raw !== undefined) {
    // One item per frame, so a deep stack wraps instead of being cut.
    const frames = stack.length === raw.length ? stack : raw.map(hex);
    out.push(...frames.map((f, i) => (i === 0 ? `stack=${f}` : `<- ${f}`)));
  }
  return out;
}

/** Pack `key=value` items into lines of width `w` (an item longer than a line gets its own, cut). */
export function pack(items: string[], w: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const it of items) {
    if (cur !== '' && cur.length + 2 + it.length > w) {
      lines.push(cur);
      cur = '';
    }
    cur = cur === '' ? it : `${cur}  ${it}`;
  }
  if (cur !== '') lines.push(cur);
  return lines.map((l) => fit(l, w));
}

/** At most `h` lines: the rest is summarized in the last one. */
export function clip(lines: string[], h: number, w: number): string[] {
  if (lines.length <= h) return [...lines, ...Array<string>(Math.max(0, h - lines.length)).fill(fit('', w))];
  return [...lines.slice(0, h - 1), fit(`... ${lines.length - h + 1} more lines`, w)];
}

const REGS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const FLAGS: Array<[number, string]> = [[0, 'CF'], [2, 'PF'], [6, 'ZF'], [7, 'SF'], [9, 'IF'], [10, 'DF'], [11, 'OF']];
/** Disassembly lines shown at most, and the fewest worth giving the registers' fixed layout up for. */
const CODE_MAX = 9;
const CODE_MIN = 5;

/**
 * The state pane's lines for one vCPU of a machine view, at most `h`: a
 * head line, the instructions around RIP (`code(n)` gives up to n of them;
 * none when the view has no code), the registers, the event channels, and
 * a summary of the rings when there is room. The registers take one
 * fixed-width column per 21 characters when that leaves room for
 * CODE_MIN instructions (or all there are), else they are packed as
 * `rax=0x1d`.
 */
export function stateLines(v: MachineView, dom: number, vcpu: number, sym: (rip: bigint) => string, w: number, h = Infinity, code: (n: number) => string[] = () => []): string[] {
  const list = (ps: number[]): string => (ps.length === 0 ? '-' : ps.join(','));
  const evt = `evtchn ${v.ports.map((p) => `d${p.dom} pending ${list(p.pending)} masked ${list(p.masked)}`).join(' | ')}`;
  const rings = `rings  ${v.rings.map((r) => `${r.kind}@d${r.dom} req ${r.reqProd} rsp ${r.rspProd}`).join(' | ') || '-'}`;
  const c = v.vcpus.find((x) => x.dom === dom && x.vcpu === vcpu);
  if (c === undefined) return [`no vCPU d${dom}v${vcpu} at seq ${v.seq}`, evt, rings].slice(0, Math.max(1, h)).map((l) => fit(l, w));
  const head = `d${dom}v${vcpu} ${c.state} ${c.kernelMode ? 'kernel' : 'user'} icount=${c.icount} rip=${hex(c.rip)} ${sym(c.rip)}`;
  const flags = FLAGS.filter(([b]) => (c.rflags >> b) & 1).map(([, n]) => n);
  const cells = REGS.map((r) => `${r.padStart(3)} ${(c.regs[r] ?? 0n).toString(16).padStart(16, '0')}`);
  cells.push(`rflags ${hex(c.rflags)} ${flags.join(' ')}`);
  const per = Math.max(1, Math.floor((w + 1) / 21));
  const fixed: string[] = [];
  for (let i = 0; i < cells.length; i += per) fixed.push(cells.slice(i, i + per).join(' '));
  const packed = pack([...REGS.map((r) => `${r}=${hex(c.regs[r] ?? 0n)}`), `rflags=${hex(c.rflags)} ${flags.join(' ')}`.trimEnd()], w);
  // x87/SSE state once the guest has used it: one packed block after the registers.
  const fpu = pack(fpuItems(c.fpu), w);
  fixed.push(...fpu);
  packed.push(...fpu);
  const room = h - 2;
  const avail = code(CODE_MAX).length;
  let regs = fixed;
  let n = Math.min(avail, room - fixed.length);
  if (n < Math.min(CODE_MIN, avail)) {
    regs = packed;
    n = Math.max(Math.min(avail, 1), Math.min(avail, room - packed.length));
  }
  const dis = n > 0 ? code(n) : [];
  const out = [head, ...dis, ...regs, evt];
  if (out.length < h) out.push(rings);
  return out.map((l) => fit(l, w));
}

/**
 * Disassembly lines, gdb style: `=> 0x10440a <+0x40a>  syscall`, the
 * current instruction marked; offsets are from RIP's symbol (`fn`), other
 * symbols are named.
 */
export function codeLines(lines: DisasmLine[], cur: number, fn: string | null, symOf: (a: bigint) => string | null): string[] {
  const labels = lines.map((l) => {
    const s = symOf(l.addr);
    if (s === null) return '';
    return fn !== null && (s === fn || s.startsWith(`${fn}+`)) ? `<+${s === fn ? '0x0' : s.slice(fn.length + 1)}>` : `<${s}>`;
  });
  const lw = Math.max(0, ...labels.map((x) => x.length));
  return lines.map((l, i) => `${i === cur ? '=>' : '  '} ${hex(l.addr)}${lw === 0 ? '' : ` ${labels[i]!.padEnd(lw)}`}  ${l.text}`);
}

/** A decoded slot as `req[36] id=0x7e024 status=0` (strings quoted, nested fields flattened). */
export function slotText(d: Decoded): string {
  const parts: string[] = [];
  const walk = (prefix: string, v: unknown): void => {
    if (typeof v === 'bigint') parts.push(`${prefix}=${hex(v)}`);
    else if (typeof v === 'string') parts.push(`${prefix}=${JSON.stringify(v)}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(`${prefix}[${i}]`, x));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(prefix === '' ? k : `${prefix}.${k}`, x);
    else parts.push(`${prefix}=${String(v)}`);
  };
  const { dir, idx, ...rest } = d;
  walk('', rest);
  return `${dir === undefined ? '' : String(dir)}${idx === undefined ? '' : `[${String(idx)}]`} ${parts.join(' ')}`.trim();
}

/** The rings pane: per ring a head line and the last slots of its latest event, sharing `h` lines. */
export function ringLines(rows: RingRow[], h: number, w: number): string[] {
  if (rows.length === 0) return [fit('(no rings known up to here)', w)];
  const per = Math.max(0, Math.min(4, Math.floor((h - rows.length) / rows.length)));
  const out: string[] = [];
  for (const r of rows) {
    // A ring served by xenrr's xenstored for the domain it runs in (a Linux dom0's own xenstore ring): name the daemon.
    const back = r.kind === 'xenstore' && r.backDom === r.frontDom ? 'xenstored' : `d${r.backDom}`;
    const ends = r.backDom < 0 ? `d${r.frontDom}` : `d${r.frontDom}->${back}`;
    const id = r.kind === 'console' || r.kind === 'xenstore' || r.gref < 0 ? (r.port >= 0 ? ` port ${r.port}` : '') : ` gref ${r.gref} port ${r.port}`;
    const cons = (n: number | null): string => (n === null ? '' : ` ${r.consName} ${n}`);
    const tail = r.seq !== null ? `  @${r.seq}` : r.before !== undefined ? `  (no traffic since event ${r.before})` : '  (no traffic yet)';
    out.push(fit(`${r.kind} ${ends}${id}  req prod ${r.reqProd}${cons(r.reqCons)}  rsp prod ${r.rspProd}${cons(r.rspCons)}${tail}`, w));
    for (const d of r.slots.slice(-per)) out.push(fit(`  ${slotText(d)}`, w));
  }
  return out;
}

/** The console pane's lines: each domain's last lines (`[name] ` its PV console, `(dN) ` its console_io), sharing `h` lines. */
export function consoleLines(byDom: Map<number, ConsoleLine[]>, names: Map<number, string>, h: number, w: number): string[] {
  if (byDom.size === 0) return [fit('(no console output up to here)', w)];
  const per = Math.max(1, Math.floor(h / byDom.size));
  const out: string[] = [];
  for (const lines of byDom.values()) for (const l of lines.slice(-per)) out.push(fit(consoleLineText(l, names), w));
  return out;
}
