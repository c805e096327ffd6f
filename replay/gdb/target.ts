/**
 * The replay as gdb's remote target. The replay session's cursor is the
 * target's state: registers and memory are read from the machine there,
 * and gdb's resume packets move it with ReplaySession.run (forward or back,
 * a step or a continue) with gdb's breakpoints and watchpoints. Every stop
 * is a late instruction point (the vCPU about to execute its next
 * instruction), so gdb sees a thread exactly as before the instruction at
 * its RIP, both ways; the stopped vCPU becomes the current thread.
 *
 * Nothing here changes the recording: writes are refused by the dispatcher.
 */
import type { Machine } from '../../sim/machine.js';
import type { Vcpu } from '../../sim/xen/vcpu.js';
import type { Breakpoint, ReplaySession, RunStop, WatchSpec } from '../session.js';
import { MAX_WATCH } from '../session-watch.js';
import { Registers } from './regs.js';
import { Threads, type Thread } from './threads.js';

/** gdb's watchpoint kinds (Z2 write, Z3 read, Z4 access). */
export type WatchKind = 'watch' | 'rwatch' | 'awatch';
type Watch = { kind: WatchKind; addr: bigint; len: number; dom: number; vcpu: number };

const SIGTRAP = 5;
const SIGINT = 2;

export class GdbTarget {
  readonly threads: Threads;
  readonly regs: Registers;
  /** thread for registers and memory (Hg), and for legacy step/continue (Hc; -1 all, 0 any) */
  gTid = 1;
  cTid = -1;
  private readonly sw = new Set<bigint>();
  private readonly hw = new Set<bigint>();
  private readonly watches: Watch[] = [];
  /** what the last stop reply said: the signal, and what follows the thread */
  private lastSig = SIGTRAP;
  private lastReason = '';

  /** `interrupted`: whether gdb asked to stop (Ctrl-C) since the resume began; checked at every clean point. */
  constructor(readonly session: ReplaySession, private readonly interrupted: () => boolean = () => false) {
    this.threads = new Threads(session.position.vcpus);
    const m = this.machine;
    this.regs = new Registers(m.domains[0]!.vcpus[0]!.cpu);
  }

  /** The machine at the cursor (read only). */
  get machine(): Machine {
    return this.session.inspect;
  }

  thread(tid: number): Thread | undefined {
    return this.threads.byTid(tid <= 0 ? this.gTid : tid);
  }

  vcpu(tid: number): Vcpu | undefined {
    const t = this.thread(tid);
    return t === undefined ? undefined : this.machine.domains.find((d) => d.id === t.dom)?.vcpus[t.vcpu];
  }

  /** Start at event `seq`: just before the instruction of the vCPU that raised it (Xen's own events: the start). */
  seekEvent(seq: number): void {
    const e = this.session.eventAt(seq);
    if (e === null) throw new RangeError(`no event ${seq} in this trace`);
    if (e.dom < 0 || e.vcpu < 0) this.session.seek(seq);
    else {
      this.session.seekIcount(e.dom, e.vcpu, e.icount, { late: true });
      this.gTid = this.threads.of(e.dom, e.vcpu).tid;
    }
    this.lastReason = '';
    this.lastSig = SIGTRAP;
  }

  /** The stop reply for where the target is (`?`, and after every resume). */
  stopReply(): string {
    return `T${this.lastSig.toString(16).padStart(2, '0')}thread:${this.gTid.toString(16)};${this.lastReason}`;
  }

  // ---- breakpoints and watchpoints (Z/z) -------------------------------------

  /** Z0/Z1 insert, z0/z1 remove. */
  setBreak(hardware: boolean, addr: bigint, on: boolean): void {
    const set = hardware ? this.hw : this.sw;
    if (on) set.add(addr);
    else set.delete(addr);
  }

  /**
   * Z2-Z4: watch `len` bytes at `addr`, through the current thread's page
   * tables (then fixed physically, as `watch -l`): writes that change them
   * (Z2, found by comparing), reads (Z3) or any access (Z4) by any vCPU's
   * instructions (the core reports them; Xen's own reads for a hypercall
   * are not seen). An error message when it cannot be.
   */
  setWatch(kind: WatchKind, addr: bigint, len: number, on: boolean): string | null {
    const i = this.watches.findIndex((w) => w.kind === kind && w.addr === addr && w.len === len);
    if (!on) {
      if (i >= 0) this.watches.splice(i, 1);
      return null;
    }
    if (len < 1 || len > MAX_WATCH) return `watch length ${len}: 1..${MAX_WATCH} bytes`;
    const t = this.thread(this.gTid)!;
    if (i < 0) this.watches.push({ kind, addr, len, dom: t.dom, vcpu: t.vcpu });
    return null;
  }

  private get breakpoints(): Breakpoint[] {
    return [...new Set([...this.sw, ...this.hw])].map((addr) => ({ addr }));
  }

  // ---- resuming ----------------------------------------------------------------

  /**
   * Resume: step thread `stepTid` one instruction (null: continue), forward
   * or backward, stopping early at a breakpoint or watchpoint of any vCPU.
   * Returns the stop reply.
   */
  resume(direction: 'forward' | 'backward', stepTid: number | null): string {
    const t = stepTid === null ? null : this.thread(stepTid);
    const spec = (w: Watch): WatchSpec => ({ dom: w.dom, vcpu: w.vcpu, va: w.addr, len: w.len });
    const writes = this.watches.filter((w) => w.kind === 'watch');
    const reads = this.watches.filter((w) => w.kind !== 'watch');
    const { stop } = this.session.run({
      direction, breakpoints: this.breakpoints, watches: writes.map(spec), accesses: reads.map((w) => ({ ...spec(w), write: w.kind === 'awatch' })),
      step: t === null || t === undefined ? null : { dom: t.dom, vcpu: t.vcpu }, skip: false, interrupted: this.interrupted,
    });
    this.noteStop(stop, writes, reads);
    return this.stopReply();
  }

  private noteStop(stop: RunStop, writes: Watch[], reads: Watch[]): void {
    const at = 'at' in stop ? stop.at : null;
    if (at !== null) this.gTid = this.threads.of(at.dom, at.vcpu).tid;
    this.lastSig = stop.why === 'interrupted' ? SIGINT : SIGTRAP;
    if (stop.why === 'breakpoint') this.lastReason = this.sw.has(stop.addr) ? 'swbreak:;' : 'hwbreak:;';
    else if (stop.why === 'watch' || stop.why === 'access') {
      const w = (stop.why === 'watch' ? writes : reads)[stop.watch]!;
      this.lastReason = `${w.kind}:${w.addr.toString(16)};`;
    } else if (stop.why === 'end') this.lastReason = 'replaylog:end;';
    else if (stop.why === 'start') this.lastReason = 'replaylog:begin;';
    else this.lastReason = '';
  }

  // ---- memory --------------------------------------------------------------------

  /**
   * Up to `len` bytes at guest virtual address `addr` through thread `tid`'s
   * current page tables, stopping at the first unmapped page (null: the
   * first byte is not mapped). A debugger reads whatever is mapped,
   * whatever the access rights; nothing in the machine changes.
   */
  readMemory(tid: number, addr: bigint, len: number): Uint8Array | null {
    const v = this.vcpu(tid);
    if (v === undefined) return null;
    const out: number[] = [];
    const mem = v.cpu.mem;
    for (let a = BigInt.asUintN(64, addr); out.length < len; ) {
      const pa = v.cpu.mmu.peekPhys(Number(a & 0xffffffffn), Number(a >> 32n));
      if (pa < 0) break;
      const n = Math.min(4096 - (pa % 4096), len - out.length);
      const pfn = Math.floor(pa / 4096);
      if (mem.has(pfn)) out.push(...mem.read(pa, n));
      else for (let k = 0; k < n; k++) out.push(0);
      a = BigInt.asUintN(64, a + BigInt(n));
    }
    return out.length === 0 && len > 0 ? null : Uint8Array.from(out);
  }
}
