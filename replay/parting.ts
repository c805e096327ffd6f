/**
 * Where two runs part at the instruction level: the diff names the first
 * divergent *event*, but a bug sits in the code that ran before it (a notify
 * skipped because a check returned 0 sits in the check, not in the caller
 * that skipped the send). So both runs are replayed to the last event the
 * divergent vCPU had in common and single-stepped together, comparing where
 * each instruction leaves the vCPU as function+offset (addresses move
 * between builds, offsets inside an unchanged function do not). The first
 * step after which they are at different places is where execution parts;
 * its function is where the builds behave differently.
 *
 * Stepping uses Machine.haltAt, which pauses inside a slice, so both
 * machines run exactly as their recordings did (other vCPUs included).
 */
import { disassemble } from '../sim/cpu/disasm.js';
import type { Machine } from '../sim/machine.js';
import { guestStack } from '../sim/xen/guest-stack.js';
import type { Vcpu } from '../sim/xen/vcpu.js';
import type { TraceReader } from '../trace/reader.js';
import { UsageError } from './cli/errors.js';
import type { DiffReport } from './diff.js';
import { vcpuOf } from './session-seek.js';
import { openSession, type ReplaySession } from './session.js';
import { stackText, symbolize, type Symbols } from './symbols.js';

/** A machine of one run with vCPU `dom`.`vcpu` stopped at exactly `icount` retired instructions. */
export type MachineAt = (dom: number, vcpu: number, icount: number) => Machine;

/** Where a run went: location, its instruction (AT&T), the call stack there, the vCPU's count. */
export type PartingSide = { at: string; insn: string; stack: string[]; icount: number };
export type Parting = {
  dom: number;
  vcpu: number;
  /** instructions of that vCPU stepped together from its last common event */
  steps: number;
  /** each run's instruction count at that event */
  from: { a: number; b: number };
  /** the last place both runs executed an instruction at (function+offset), null: parted at once */
  common: string | null;
  /** that instruction as each run has it (they differ when the builds' code differs there) */
  commonInsn: { a: string; b: string } | null;
  /** where each run went next; null when that run's vCPU could not go on (stopped, or the run ended) */
  a: PartingSide | null;
  b: PartingSide | null;
  /** parted: the locations differ; ended: a run ended first; limit: no parting within the step limit */
  outcome: 'parted' | 'ended' | 'limit';
};

const DEFAULT_STEPS = 2_000_000;
/** events read back from the divergence to find the vCPU's last common event */
const LOOKBACK = 100_000;

/** The icount of the last event of `dom`.`vcpu` before `seq` (0: none in the look-back window, i.e. its start). */
function lastIcount(r: TraceReader, dom: number, vcpu: number, seq: number): number {
  let ic = 0;
  for (const e of r.events(Math.max(0, seq - LOOKBACK))) {
    if (e.seq >= seq) break;
    if (e.dom === dom && e.vcpu === vcpu) ic = e.icount;
  }
  return ic;
}

/** One more instruction of `v` (the machine runs whatever the recording ran meanwhile); false if it never comes. */
function step(m: Machine, v: Vcpu, dom: number, vcpu: number): boolean {
  const before = v.cpu.icount;
  m.haltAt(dom, vcpu, before + 1);
  m.run();
  return v.cpu.icount === before + 1;
}

/**
 * Lockstep the divergent vCPU of `report`'s first divergence in both runs.
 * Null when there is no divergence, it is Xen's own event, or the vCPU has
 * no symbols in one of the runs (nothing to compare locations by).
 */
export function findParting(
  report: DiffReport,
  runs: { a: { reader: TraceReader; symbols: Symbols; machineAt: MachineAt }; b: { reader: TraceReader; symbols: Symbols; machineAt: MachineAt } },
  maxSteps = DEFAULT_STEPS,
): Parting | null {
  const f = report.firstDivergence;
  const g = report.regions[0];
  const first = f?.a[0] ?? f?.b[0];
  if (f === null || g === undefined || first === undefined || first.dom < 0 || first.vcpu < 0) return null;
  const { dom, vcpu } = first;
  const { a, b } = runs;
  if (!a.symbols.has(dom) || !b.symbols.has(dom)) return null;
  const from = { a: lastIcount(a.reader, dom, vcpu, g.a.from), b: lastIcount(b.reader, dom, vcpu, g.b.from) };
  const ma = a.machineAt(dom, vcpu, from.a);
  const mb = b.machineAt(dom, vcpu, from.b);
  const va = vcpuOf(ma, dom, vcpu);
  const vb = vcpuOf(mb, dom, vcpu);
  if (va === undefined || vb === undefined) return null;
  const where = (v: Vcpu, s: Symbols): string => symbolize(s, dom, v.cpu.rip);
  // Call sites seen while stepping, by callee: a frameless leaf (which
  // leaves rbp to its caller's frame) still gets its caller in the stack.
  const callSite = new Map<string, string>();
  const fn = (loc: string): string => loc.replace(/\+0x[0-9a-f]+$/, '');
  /** The instruction at `rip`, read through the vCPU's page tables. */
  const insn = (v: Vcpu, s: Symbols, rip: bigint): string => {
    let bytes: Uint8Array | null = null;
    for (let n = 15; n > 0 && bytes === null; n--) bytes = v.guest.read(rip, n);
    const name = (x: bigint): string | null => (s.get(dom)?.(x) ? symbolize(s, dom, x) : null);
    return bytes === null ? '(unreadable)' : (disassemble(bytes, rip, name, 1)[0]?.text ?? '(undecodable)');
  };
  const side = (v: Vcpu, s: Symbols): PartingSide => {
    const at = where(v, s);
    // The frame-pointer walk starts at the current frame: its return address is [rbp + 8].
    const frames = stackText(s, dom, guestStack(v, v.cpu.rip, v.cpu.getReg(5)).slice(1));
    const site = callSite.get(fn(at));
    const stack = site !== undefined && fn(frames[0] ?? '') !== fn(site) ? [at, site, ...frames] : [at, ...frames];
    return { at, insn: insn(v, s, v.cpu.rip), stack, icount: v.cpu.icount };
  };
  let common: string | null = null;
  let ripA = 0n;
  let ripB = 0n;
  const commonInsn = (): Parting['commonInsn'] => (common === null ? null : { a: insn(va, a.symbols, ripA), b: insn(vb, b.symbols, ripB) });
  for (let k = 0; k <= maxSteps; k++) {
    const la = where(va, a.symbols);
    const lb = where(vb, b.symbols);
    if (la !== lb) return { dom, vcpu, steps: k, from, common, commonInsn: commonInsn(), a: side(va, a.symbols), b: side(vb, b.symbols), outcome: 'parted' };
    if (k === maxSteps) break;
    if (common !== null && la.endsWith('+0x0') && fn(common) !== fn(la)) callSite.set(fn(la), common);
    common = la;
    ripA = va.cpu.rip;
    ripB = vb.cpu.rip;
    const okA = step(ma, va, dom, vcpu);
    const okB = step(mb, vb, dom, vcpu);
    if (!okA || !okB) return { dom, vcpu, steps: k, from, common, commonInsn: commonInsn(), a: okA ? side(va, a.symbols) : null, b: okB ? side(vb, b.symbols) : null, outcome: 'ended' };
  }
  return { dom, vcpu, steps: maxSteps, from, common, commonInsn: commonInsn(), a: side(va, a.symbols), b: side(vb, b.symbols), outcome: 'limit' };
}

/**
 * findParting over two trace files, replaying each through a ReplaySession
 * (checkpoints make the way to the start point short). Null with a reason
 * when it cannot run: an image missing or not the recorded one.
 */
export function partingOfTraces(
  report: DiffReport,
  a: { path: string; reader: TraceReader; symbols: Symbols; overrides?: Map<string, string> },
  b: { path: string; reader: TraceReader; symbols: Symbols; overrides?: Map<string, string> },
  maxSteps = DEFAULT_STEPS,
): { parting: Parting | null; note: string | null } {
  let sa: ReplaySession;
  let sb: ReplaySession;
  try {
    sa = openSession(a.path, a.overrides ?? new Map());
    sb = openSession(b.path, b.overrides ?? new Map());
  } catch (e) {
    if (e instanceof UsageError) return { parting: null, note: `no instruction-level comparison: ${e.message}` };
    throw e;
  }
  const at = (s: ReplaySession): MachineAt => (dom, vcpu, icount) => {
    s.seekIcount(dom, vcpu, icount);
    return s.machine;
  };
  try {
    return { parting: findParting(report, { a: { ...a, machineAt: at(sa) }, b: { ...b, machineAt: at(sb) } }, maxSteps), note: null };
  } finally {
    sa.reader.close();
    sb.reader.close();
  }
}
