/**
 * `xenrr replay <trace> --watch D.V:WHERE[:LEN] [--to POINT] [--reverse]`:
 * where guest memory changes next (or, reversed, last changed), by which
 * vCPU and instruction. WHERE is an address (0x...) or a symbol of that
 * domain's image, optionally +OFFSET; LEN defaults to the symbol's size
 * (8 for an address).
 */
import { disassemble } from '../../sim/cpu/disasm.js';
import type { TraceEvent } from '../../trace/columns.js';
import { MAX_WATCH } from '../session-watch.js';
import type { IcountPoint, ReplaySession, WatchHit, WatchSpec } from '../session.js';
import { guestStack } from '../../sim/xen/guest-stack.js';
import { stackText, symbolize } from '../symbols.js';
import { UsageError } from './errors.js';
import { line } from './trace-cmds.js';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
const bytesHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** `dom`.`vcpu` as a vCPU of the trace, or a one-line error naming `what` and the vCPUs there are. */
export function checkVcpu(session: ReplaySession, dom: number, vcpu: number, what: string): void {
  const all = session.position.vcpus;
  if (!all.some((v) => v.dom === dom && v.vcpu === vcpu)) throw new UsageError(`${what}: no vCPU ${dom}.${vcpu} in this trace (it has ${all.map((v) => `${v.dom}.${v.vcpu}`).join(', ')})`);
}

/** The watch a `--watch` argument names. */
export function parseWatch(session: ReplaySession, arg: string): { spec: WatchSpec; label: string } {
  const m = /^(\d+)\.(\d+):([^:]+)(?::(\d+))?$/.exec(arg);
  if (!m) throw new UsageError(`--watch expects DOM.VCPU:ADDRESS[:LEN] (ADDRESS: 0x..., or SYMBOL[+OFFSET]), got '${arg}'`);
  const [dom, vcpu] = [Number(m[1]), Number(m[2])];
  checkVcpu(session, dom, vcpu, `--watch ${arg}`);
  const where = m[3]!;
  let va: bigint;
  let len = m[4] === undefined ? 8 : Number(m[4]);
  if (/^(0x[0-9a-f]+|\d+)$/i.test(where)) va = BigInt(where);
  else {
    const s = /^([A-Za-z_.$][\w.$]*)(?:\+(0x[0-9a-f]+|\d+))?$/i.exec(where);
    const sym = s === null ? null : session.symbolAddress(dom, s[1]!);
    if (s === null || sym === null) throw new UsageError(`--watch: no symbol '${where}' in domain ${dom}'s image`);
    const off = s[2] === undefined ? 0n : BigInt(s[2]);
    va = sym.addr + off;
    if (m[4] === undefined && off === 0n && sym.size > 0) len = Math.min(sym.size, MAX_WATCH);
  }
  return { spec: { dom, vcpu, va, len }, label: where };
}

/** The instruction point `--to` names for a watch: an icount point, or an event's (just before the instruction that raised it). */
export function watchPoint(session: ReplaySession, to: string | undefined, spec: WatchSpec, reverse: boolean): IcountPoint {
  if (to === undefined) return { dom: spec.dom, vcpu: spec.vcpu, icount: reverse ? Number.MAX_SAFE_INTEGER : 0 };
  const m = /^icount:(\d+)\.(\d+):(\d+)$/.exec(to);
  if (m) {
    checkVcpu(session, Number(m[1]), Number(m[2]), `--to ${to}`);
    return { dom: Number(m[1]), vcpu: Number(m[2]), icount: Number(m[3]) };
  }
  if (!/^\d+$/.test(to)) throw new UsageError(`--to expects SEQ or icount:DOM.VCPU:N, got '${to}'`);
  const e = session.eventAt(Number(to));
  if (e === null) throw new UsageError(`--to ${to}: no such event in this trace`);
  if (e.dom < 0 || e.vcpu < 0) throw new UsageError(`--to ${to}: event ${to} is Xen's own; watch from a vCPU's event or an icount point`);
  return { dom: e.dom, vcpu: e.vcpu, icount: e.icount };
}

const HOW: Record<WatchHit['how'], string> = {
  instruction: 'by this instruction (or Xen acting for it)',
  'slice-start': 'by this instruction, the first of its slice (or Xen starting the slice: a timer, an upcall frame)',
  'slice-end': "by this instruction, the last of its slice (or a dom0 backend at the slice's end)",
  'between-slices': 'between slices, with no vCPU running (Xen: timers)',
};

/** The hit as a person reads it. The session's cursor is at the hit (and is handed out: the session rebuilds it on its next move). */
export function watchReport(session: ReplaySession, label: string, w: WatchSpec, from: IcountPoint, reverse: boolean, hit: WatchHit | null): string {
  const at = from.icount === Number.MAX_SAFE_INTEGER ? 'the end of the run' : `d${from.dom}v${from.vcpu} icount ${from.icount}`;
  const head = `watch d${w.dom}v${w.vcpu} ${label} (${hex(w.va)}, ${w.len} bytes), ${reverse ? 'last change at or before' : 'first change after'} ${at}`;
  if (hit === null) return `${head}\n  no change ${reverse ? 'since the start of the run' : 'until the end of the run'}\n`;
  const out = [head, `  ${bytesHex(hit.before)} -> ${bytesHex(hit.after)}${w.len <= 8 ? `   (${le(hit.before)} -> ${le(hit.after)} as a little-endian number)` : ''}`];
  const a = hit.at;
  if (a === null) out.push(`  ${HOW[hit.how]}`);
  else {
    const syms = session.symbols;
    const bytes = session.readMemory(a.dom, a.vcpu, a.rip, 15) ?? new Uint8Array(0);
    const name = (x: bigint): string | null => (syms.get(a.dom)?.(x) ? symbolize(syms, a.dom, x) : null);
    const insn = disassemble(bytes, a.rip, name, 1)[0]?.text ?? '(unreadable)';
    out.push(`  d${a.dom}v${a.vcpu} icount ${a.icount - 1} -> ${a.icount}: ${hex(a.rip)} ${symbolize(syms, a.dom, a.rip)}  ${insn}`, `  ${HOW[hit.how]}`);
    // The frame-pointer walk from where the vCPU is (just after the instruction, or just before it going back).
    const v = session.machine.domains.find((d) => d.id === a.dom)?.vcpus[a.vcpu];
    if (v !== undefined) out.push(`  stack ${[symbolize(syms, a.dom, a.rip), ...stackText(syms, a.dom, guestStack(v, a.rip, v.cpu.getReg(5)).slice(1))].join(' <- ')}`);
    const e: TraceEvent | null = session.event();
    if (e !== null) out.push(`  last event: ${line(e, syms).trim()}`);
  }
  return `${out.join('\n')}\n`;
}

/** Bytes as the little-endian number they hold. */
export function le(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return v;
}

/** JSON form: hex strings for bytes and addresses. */
export function watchJson(w: WatchSpec, from: IcountPoint, reverse: boolean, hit: WatchHit | null): string {
  return `${JSON.stringify({ watch: { ...w, va: hex(w.va) }, from, direction: reverse ? 'backward' : 'forward', hit: hit === null ? null : { before: bytesHex(hit.before), after: bytesHex(hit.after), how: hit.how, at: hit.at === null ? null : { ...hit.at, rip: hex(hit.at.rip) } } }, null, 2)}\n`;
}
