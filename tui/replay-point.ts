/**
 * The replayed machine at a point of the recording, as the state and rings
 * panes want it: the session's view at an event or at an instruction count
 * of one vCPU, plus the guest code around each vCPU's RIP (read through that
 * vCPU's page tables, for the disassembly), plus how many of the
 * recording's events have happened there (where the timeline is).
 *
 * Steps of a few instructions go through ReplaySession.step / stepBack,
 * which keep a snapshot near the cursor, so that holding `s` re-executes
 * from there instead of from the last trace checkpoint.
 */
import type { MachineView, ReplaySession } from '../replay/session.js';
import type { Symbols } from '../replay/symbols.js';
import { le, parseWatch } from '../replay/cli/watch.js';
import { parseBreak } from '../replay/cli/break.js';
import { symbolize } from '../replay/symbols.js';
import { whereOf } from './text.js';

/** Guest bytes from `addr` (the enclosing symbol's start when known) to a little past RIP; empty when unmapped. */
export type CodeBytes = { addr: bigint; bytes: Uint8Array };
/**
 * `happened`: how many of the recording's events have been emitted at this
 * point (an event point includes its own event).
 */
export type Point = { view: MachineView; code: Map<string, CodeBytes>; happened: number };
/** An event (the machine as it was when event `seq` was emitted), or an instruction count of one vCPU (`late`: about to execute the next). */
export type PointTarget = { seq: number } | { dom: number; vcpu: number; icount: number; late?: boolean };

/** Where a watch stopped: the instruction point after the change (null: none, or between slices) and a line saying what changed. */
export type WatchResult = { at: { dom: number; vcpu: number; icount: number } | null; message: string };
/** Where a run to code breakpoints stopped (null: an end of the recording), a line saying so, and how many events happened before it. */
export type RunResult = { at: { dom: number; vcpu: number; icount: number; late: true } | null; message: string; happened: number };

/** What the panes ask for; tests give a fake. Throws with a one-line reason. */
export interface PointSource {
  at(t: PointTarget): Point;
  /** Run a watch typed as `replay --watch` takes it (DOM.VCPU:WHERE[:LEN]) from an instruction point. */
  watch?(text: string, from: { dom: number; vcpu: number; icount: number }, backward: boolean): WatchResult;
  /** Why a code breakpoint typed as `replay --break` takes it cannot be (null: it can). */
  checkBreak?(text: string): string | null;
  /** Run forward or back from a point to the next / last stop at those code breakpoints. */
  run?(breaks: readonly string[], from: PointTarget, backward: boolean): RunResult;
}

/** Keys of Point.code: `d1v0`. */
export const vcpuKey = (dom: number, vcpu: number): string => whereOf({ dom, vcpu });

/** Bytes read past RIP (a few instructions), and how far before it decoding may start. */
const AFTER = 96;
const MAX_BEFORE = 16384;
/** Instruction moves this short are steps (the session keeps a snapshot near the cursor for them). */
const STEP = 64;

export class SessionPoints implements PointSource {
  /**
   * `codeStart(dom, rip)` is where disassembly should start for a RIP: the
   * start of its symbol (x86 does not decode backwards), or RIP itself.
   */
  constructor(
    readonly session: ReplaySession,
    private readonly codeStart: (dom: number, rip: bigint) => bigint = (_d, rip) => rip,
  ) {}

  at(t: PointTarget): Point {
    const s = this.session;
    let view: MachineView;
    if ('seq' in t) view = s.seek(t.seq);
    else if (t.late === true) view = s.seekIcount(t.dom, t.vcpu, t.icount, { late: true });
    else {
      const now = s.position.vcpus.find((v) => v.dom === t.dom && v.vcpu === t.vcpu)?.icount;
      const d = now === undefined ? Infinity : t.icount - now;
      if (d >= 0 && d <= STEP) view = s.step(t.dom, t.vcpu, d);
      else if (d < 0 && d >= -STEP && t.icount >= 0) view = s.stepBack(t.dom, t.vcpu, -d);
      else view = s.seekIcount(t.dom, t.vcpu, t.icount);
    }
    const code = new Map<string, CodeBytes>();
    for (const v of view.vcpus) code.set(vcpuKey(v.dom, v.vcpu), this.code(v.dom, v.vcpu, v.rip));
    return { view, code, happened: s.position.atEvent ? view.seq + 1 : view.seq };
  }

  watch(text: string, from: { dom: number; vcpu: number; icount: number }, backward: boolean): WatchResult {
    const s = this.session;
    const { spec, label } = parseWatch(s, text);
    const hit = s.watch(spec, from, backward ? 'backward' : 'forward');
    if (hit === null) return { at: null, message: `${label}: no change ${backward ? 'before this point' : 'after this point'}` };
    // Up to 8 bytes read as the little-endian number they usually are.
    const val = (b: Uint8Array): string => (b.length <= 8 ? `0x${le(b).toString(16)}` : Buffer.from(b).toString('hex'));
    const change = `${label} ${val(hit.before)} -> ${val(hit.after)}`;
    if (hit.at === null) return { at: null, message: `${change} between slices (Xen)` };
    const a = hit.at;
    const where = `${whereOf({ dom: a.dom, vcpu: a.vcpu })} ${symbolize(s.symbols, a.dom, a.rip)}`;
    const when = hit.how === 'instruction' ? '' : hit.how === 'slice-start' ? ' (or Xen at its slice start)' : ' (or dom0 at its slice end)';
    // As gdb: forward stops after the instruction, backward just before it.
    return { at: { dom: a.dom, vcpu: a.vcpu, icount: backward ? a.icount - 1 : a.icount }, message: `${change} by ${where}${when}` };
  }

  checkBreak(text: string): string | null {
    try {
      parseBreak(this.session, text);
      return null;
    } catch (e) {
      return (e as Error).message.replace(/^--break /, 'break ');
    }
  }

  run(breaks: readonly string[], from: PointTarget, backward: boolean): RunResult {
    const s = this.session;
    const bps = breaks.flatMap((b) => parseBreak(s, b));
    if ('seq' in from) s.seek(from.seq);
    else s.seekIcount(from.dom, from.vcpu, from.icount, { late: from.late === true });
    const { stop } = s.run({ direction: backward ? 'backward' : 'forward', breakpoints: bps, watches: [], step: null, skip: true });
    const happened = s.position.seq;
    if (stop.why === 'end' || stop.why === 'start') return { at: null, message: `no breakpoint ${backward ? 'before' : 'after'} this point`, happened };
    if (stop.at === null) return { at: null, message: 'stopped between slices', happened };
    const a = stop.at;
    const rip = s.register(a.dom, a.vcpu, 'rip');
    return { at: { ...a, late: true }, message: `breakpoint at ${symbolize(s.symbols, a.dom, rip)}: ${whereOf({ dom: a.dom, vcpu: a.vcpu })} about to execute it`, happened };
  }

  /** Guest memory from the code start (when shortly before RIP) to RIP + AFTER; from RIP alone when that range is not all mapped. */
  private code(dom: number, vcpu: number, rip: bigint): CodeBytes {
    const start = this.codeStart(dom, rip);
    const from = start <= rip && rip - start <= BigInt(MAX_BEFORE) ? start : rip;
    const read = (a: bigint): Uint8Array | null => this.session.readMemory(dom, vcpu, a, Number(rip - a) + AFTER);
    const whole = read(from);
    if (whole !== null) return { addr: from, bytes: whole };
    return { addr: rip, bytes: (from !== rip ? read(rip) : null) ?? new Uint8Array(0) };
  }
}

/** The replay behind the TUI's state panes: disassembly starts at the symbol enclosing RIP. */
export function openPoints(session: ReplaySession, symbols: Symbols): SessionPoints {
  return new SessionPoints(session, (dom, rip) => {
    const s = symbols.get(dom)?.(rip);
    return s ? rip - BigInt(s.offset) : rip;
  });
}
