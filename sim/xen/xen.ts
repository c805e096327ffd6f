/**
 * The hypervisor's shared state and the primitives every hypercall family
 * uses: domains, machine frames, virtual time, event-channel delivery,
 * domain shutdown/crash, and the event stream.
 *
 * Virtual time: the machine has one clock in ns. It advances by one ns per
 * retired guest instruction (a 1 GHz virtual CPU; the TSC runs at the same
 * rate, so tsc == system time) and jumps forward when every vCPU is idle.
 */
import type { Decoded, EventPos, EventSink, LazyBody, SimEventBody } from '../events.js';
import { Domain, DomState, EvtState, NR_EVTCHN_PORTS, type Port } from './domain.js';
import { fifoClearPending, fifoIsMasked, fifoIsPending, fifoSetPending, fifoUnmask } from './evtchn-fifo.js';
import type { Frames } from './frames.js';
import { PageTypes } from './page-types.js';
import { RUNSTATE_running } from './public/vcpu.js';
import { Errno, shared_info, vcpu_time_info as VTI, VIRQ_TIMER } from './public/xen.js';
import { runstateChange, runstateOf, updateRunstateArea, writeViaKernelTables } from './runstate.js';
import { VcpuState, type Vcpu } from './vcpu.js';

const SI_PENDING = shared_info.evtchn_pending;
const SI_MASK = shared_info.evtchn_mask;

export class Xen {
  readonly domains = new Map<number, Domain>();
  /** machine clock, ns, at the start of the current slice */
  clock = 0;
  /** the vCPU executing right now (time inside its slice counts retired instructions) */
  running: Vcpu | null = null;
  private sliceStartIcount = 0;
  /** the vCPU whose hypercall is being handled and its guest call stack (set by the PV host around the call) */
  hcStack: { v: Vcpu; stack: bigint[] } | undefined = undefined;
  private seq = 0;
  /** wallclock at boot (seconds since the epoch), from the scenario */
  bootWallclock = 1767225600;
  /**
   * Xen's wallclock at system time 0 once dom0 set it (XENPF_settime):
   * seconds and ns; null until then (shared_info holds bootWallclock).
   */
  wallclock: { sec: number; nsec: number } | null = null;
  /** Set by the machine: `dom` notified its port `port` (`p`), whose other end is a dom0 backend. */
  onBackendKick: (dom: Domain, port: number, p: Port) => void = () => {};
  /** Set by the machine: `dom` closed its port `port` (`p`), whose other end was a dom0 backend. */
  onBackendClosed: (dom: Domain, port: number, p: Port) => void = () => {};
  /** Set by the machine: `dom` shut down, crashed or was destroyed. */
  onDomainDown: (dom: Domain) => void = () => {};
  /** Set by the machine: `dom` notified through `port`, bound to `toDom`'s `toPort` (rings are inspected here, before the peer runs). */
  onNotify: (dom: Domain, port: number, toDom: number, toPort: number) => void = () => {};
  /**
   * Set by the machine: vCPU `v` of `d` is about to block or poll (rings
   * are inspected here, listened to or not); returns, built only when
   * called, the shared indices of `d`'s blkif/netif rings for the sched
   * event (sched event `rings`).
   */
  onSleep: (d: Domain, v: Vcpu, what: 'block' | 'poll') => () => Decoded[] = () => () => [];
  /** Set by the machine: `d` is about to stop (shutdown, crash, destroy): report its grant table. */
  onStop: (d: Domain) => void = () => {};
  /** Set by the machine: a hypercall event named `name` was emitted (listened to or not). */
  onHypercall: (name: string) => void = () => {};
  /**
   * Set by whoever runs the machine: console text as a domain writes it
   * (its PV console ring drained, or console_io), heard whether or not
   * anyone listens to events (what `run` prints live, lean).
   */
  onConsole: ((dom: number, source: 'ring' | 'console_io', text: string) => void) | null = null;
  /** Likewise: a domain crashed (domain_crash), with the RIP of its vCPU on the CPU then (0: none was). */
  onCrash: (dom: number, text: string, rip: bigint) => void = () => {};

  /** page types and references of every machine frame */
  readonly pages: PageTypes;

  /** `sink`: who consumes the events; null: nobody (see `listening`). */
  constructor(readonly frames: Frames, private readonly sink: EventSink | null) {
    this.pages = new PageTypes(frames);
  }

  /**
   * Whether anyone consumes events. When not, `emit` numbers and counts
   * them but builds nothing, and what exists only to describe an event (a
   * hypercall's caller and guest stack) need not be computed. Nothing the
   * guests can see depends on it: a run ends in the same state either way.
   */
  get listening(): boolean {
    return this.sink !== null;
  }

  /** The seq the next event gets; snapshots read it and restore it. */
  get nextSeq(): number {
    return this.seq;
  }
  set nextSeq(n: number) {
    this.seq = n;
  }

  /** Current virtual time in ns. */
  now(): number {
    const r = this.running;
    return r === null ? this.clock : this.clock + (r.cpu.retired() - this.sliceStartIcount);
  }

  /** The machine starts a slice of `v`. */
  beginSlice(v: Vcpu): void {
    this.running = v;
    this.sliceStartIcount = v.cpu.icount;
  }

  /** Context switch in: `v` takes the CPU (runstate running; its runstate area is rewritten). */
  scheduleIn(v: Vcpu): void {
    v.onCpu = true;
    runstateChange(v, RUNSTATE_running, this.now());
    updateRunstateArea(v);
  }

  /** Context switch out: `v` leaves the CPU, runnable, blocked or offline as its state (and its domain's pause) says. */
  scheduleOut(v: Vcpu): void {
    v.onCpu = false;
    runstateChange(v, this.runstateOf(v), this.now());
    updateRunstateArea(v);
  }

  private runstateOf(v: Vcpu): number {
    return runstateOf(v, (this.domains.get(v.domId)?.pauseCount ?? 0) > 0);
  }

  /**
   * The toolstack paused `d` or unpaused it (pauseCount went 0 -> 1 or
   * 1 -> 0): domain_pause's vcpu_sleep_sync takes a vCPU on the CPU off it,
   * and runnable vCPUs turn offline; domain_unpause's vcpu_wake makes them
   * runnable again.
   */
  pauseChanged(d: Domain): void {
    const now = this.now();
    for (const v of d.vcpus) {
      if (v.onCpu) this.scheduleOut(v);
      else runstateChange(v, this.runstateOf(v), now);
    }
  }

  /**
   * update_vcpu_system_time: the vcpu_time_info in `v`'s vcpu_info (and in
   * the area of VCPUOP_register_vcpu_time_memory_area) with the current
   * system time and TSC (the secondary copy written as `via`'s kernel sees
   * memory, as updateRunstateArea does). The TSC runs at 1 GHz, so tsc_to_system_mul is
   * 2^31 with shift 1. The version is odd while the record is rewritten.
   */
  updateTime(v: Vcpu, via: Vcpu = v): void {
    const mem = this.frames.mem;
    const ma = v.timeInfoMa;
    const f = mem.frame(Math.floor(ma / 4096))!;
    const o = ma % 4096;
    const now = BigInt(this.now());
    const version = f.getUint32(o + VTI.version, true);
    f.setUint32(o + VTI.version, (version + 1) | 1, true);
    f.setBigUint64(o + VTI.tsc_timestamp, now, true);
    f.setBigUint64(o + VTI.system_time, now, true);
    f.setUint32(o + VTI.tsc_to_system_mul, 0x80000000, true);
    f.setInt8(o + VTI.tsc_shift, 1);
    f.setUint8(o + VTI.flags, 0);
    f.setUint32(o + VTI.version, ((version + 1) | 1) + 1, true);
    if (v.timeInfoVa !== 0n && via.kernelCr3 !== 0) writeViaKernelTables(via, v.timeInfoVa, mem.read(ma, VTI.size));
  }

  /** The slice ended: fold the instructions it retired into the clock. */
  endSlice(): void {
    const r = this.running;
    if (r !== null) this.clock += r.cpu.icount - this.sliceStartIcount;
    this.running = null;
  }

  /**
   * Append an event to the stream, stamped with the vCPU's position (and the
   * hypercall's stack, inside one). Unheard (no sink), it only takes its seq
   * and, for a hypercall, is counted by name; a lazy `body` is then never built.
   */
  emit(v: Vcpu | null, dom: number, body: SimEventBody | LazyBody): void {
    const seq = this.seq++;
    if (typeof body !== 'function' && body.kind === 'hypercall') this.onHypercall(body.name);
    if (this.sink === null) return;
    const b = typeof body === 'function' ? body() : body;
    const cpu = v?.cpu;
    const p = this.pos;
    p.seq = seq;
    p.time = this.now();
    p.dom = dom;
    p.vcpu = v?.id ?? -1;
    p.icount = cpu ? cpu.retired() : 0;
    p.ripLo = cpu ? cpu.ripLo : 0;
    p.ripHi = cpu ? cpu.ripHi : 0;
    // Only that vCPU's own events carry it (a wake-up it causes is the other vCPU's).
    p.stack = v !== null && v === this.hcStack?.v ? this.hcStack.stack : undefined;
    this.sink({ seq, time: p.time, dom, vcpu: p.vcpu, icount: p.icount, rip: cpu ? cpu.rip : 0n, stack: p.stack, ...b }, p);
  }

  /** The position handed to the sink with each event (one object, rewritten per event). */
  private readonly pos: EventPos = { seq: 0, time: 0, dom: 0, vcpu: 0, icount: 0, ripLo: 0, ripHi: 0, stack: undefined };

  domain(id: number): Domain | undefined {
    return this.domains.get(id);
  }

  // ---- event channels (2-level ABI) ---------------------------------------

  private siView(d: Domain): DataView {
    return this.frames.mem.frame(d.sharedInfoMfn)!;
  }

  /** test_and_set on a shared_info bitmap; returns the old bit. */
  private testAndSet(d: Domain, base: number, port: number): boolean {
    const v = this.siView(d);
    const off = base + (port >> 3);
    const b = v.getUint8(off);
    const bit = 1 << (port & 7);
    v.setUint8(off, b | bit);
    return (b & bit) !== 0;
  }

  private testBit(d: Domain, base: number, port: number): boolean {
    return (this.siView(d).getUint8(base + (port >> 3)) & (1 << (port & 7))) !== 0;
  }

  /** evtchn_port_is_pending / is_masked, in the domain's ABI. */
  isPending(d: Domain, port: number): boolean {
    return d.fifo ? fifoIsPending(this, d, port) : this.testBit(d, SI_PENDING, port);
  }
  isMasked(d: Domain, port: number): boolean {
    return d.fifo ? fifoIsMasked(this, d, port) : this.testBit(d, SI_MASK, port);
  }
  /** The 2-level pending bit in shared_info (what a switch to FIFO carries over). */
  isPending2l(d: Domain, port: number): boolean {
    return this.testBit(d, SI_PENDING, port);
  }
  clearMask(d: Domain, port: number): void {
    const v = this.siView(d);
    const off = SI_MASK + (port >> 3);
    v.setUint8(off, v.getUint8(off) & ~(1 << (port & 7)));
  }

  /**
   * Ports pending and unmasked in `d`'s shared_info that notify vCPU `vcpu`
   * (unbound port numbers notify vCPU 0), ascending: what an upcall delivers.
   */
  pendingPorts(d: Domain, vcpu: number): number[] {
    if (d.fifo) {
      const out: number[] = [];
      for (let port = 1; port < d.ports.length; port++) {
        const p = d.ports[port];
        if (p && p.vcpu === vcpu && this.isPending(d, port) && !this.isMasked(d, port)) out.push(port);
      }
      return out;
    }
    const si = this.siView(d);
    const out: number[] = [];
    // 32 ports at a time (little-endian words: bit b of word w is port 32w + b).
    const WORD = Uint32Array.BYTES_PER_ELEMENT;
    for (let w = 0; w < NR_EVTCHN_PORTS / 32; w++) {
      const bits = si.getUint32(SI_PENDING + WORD * w, true) & ~si.getUint32(SI_MASK + WORD * w, true);
      if (bits === 0) continue;
      for (let b = 0; b < 32; b++) {
        const port = w * 32 + b;
        if ((bits & (1 << b)) !== 0 && (d.port(port)?.vcpu ?? 0) === vcpu) out.push(port);
      }
    }
    return out;
  }

  /**
   * evtchn_set_pending: mark `port` pending in `d`; unless masked, set the
   * selector bit and upcall_pending of the bound vCPU and kick it. Pollers
   * waiting on the port wake either way.
   */
  setPending(d: Domain, port: number): void {
    if (!d.alive) return;
    const p = d.port(port);
    const v = d.vcpus[p?.vcpu ?? 0] ?? d.vcpus[0];
    if (v === undefined) return;
    if (d.fifo) {
      if (p !== null && fifoSetPending(this, d, v, p, port)) this.checkPollers(d, port);
      return;
    }
    if (this.testAndSet(d, SI_PENDING, port)) return;
    if (!this.isMasked(d, port) && !v.setPendingSel(port >> 6)) this.markEventsPending(v);
    this.checkPollers(d, port);
  }

  /** EVTCHNOP_unmask: clear the mask and re-raise the port if it is pending. */
  unmask(d: Domain, port: number): void {
    const p = d.port(port);
    if (d.fifo) {
      const w = d.vcpus[p?.vcpu ?? 0] ?? d.vcpus[0];
      if (p !== null && w !== undefined) fifoUnmask(this, d, w, p, port);
      return;
    }
    this.clearMask(d, port);
    const v = d.vcpus[p?.vcpu ?? 0] ?? d.vcpus[0];
    if (v !== undefined && this.isPending(d, port) && !v.setPendingSel(port >> 6)) this.markEventsPending(v);
  }

  markEventsPending(v: Vcpu): void {
    if (!v.upcallPending) {
      v.upcallPending = true;
      this.kick(v);
    }
  }

  /**
   * vcpu_kick -> vcpu_unblock: a vCPU blocked in SCHEDOP_block or
   * SCHEDOP_poll wakes when an event is marked pending for it (a poller also
   * when one of its ports becomes pending, checkPollers).
   */
  kick(v: Vcpu): void {
    if (v.state === VcpuState.BLOCKED || v.state === VcpuState.POLLING) this.wake(v, 'event');
  }

  private checkPollers(d: Domain, port: number): void {
    for (const v of d.vcpus) if (v.state === VcpuState.POLLING && v.pollPorts.includes(port)) this.wake(v, `port ${port}`);
  }

  wake(v: Vcpu, why: string): void {
    if (v.state === VcpuState.RUNNABLE || v.state === VcpuState.DOWN) return;
    this.account(v, VcpuState.RUNNABLE);
    v.pollPorts = [];
    v.pollDeadline = -1;
    this.emit(v, v.domId, { kind: 'sched', what: 'wake', until: 0 });
    void why;
  }

  /**
   * Scheduler state change (and its runstate, runstate.ts). A vCPU leaving RUNNABLE is
   * descheduled, which stops its periodic timer; one becoming RUNNABLE is
   * scheduled again, which re-arms it (firing at once if a period passed).
   */
  account(v: Vcpu, next: VcpuState): void {
    const now = this.now();
    const was = v.state;
    v.state = next;
    // The vCPU on the CPU stays "running" until the scheduler switches away from it.
    if (!v.onCpu) runstateChange(v, this.runstateOf(v), now);
    if (was === VcpuState.RUNNABLE && next !== VcpuState.RUNNABLE) v.periodicDeadline = -1;
    else if (was !== VcpuState.RUNNABLE && next === VcpuState.RUNNABLE) this.periodicWork(v);
  }

  /**
   * vcpu_periodic_timer_work: if a period has passed since the last tick,
   * raise VIRQ_TIMER now; then arm the timer for last tick + period. The
   * machine calls it again at that exact virtual time.
   */
  periodicWork(v: Vcpu): void {
    const d = this.domains.get(v.domId);
    if (v.periodicPeriod === 0 || d === undefined || !d.alive) {
      v.periodicDeadline = -1;
      return;
    }
    const now = this.now();
    if (now >= v.periodicLast + v.periodicPeriod) {
      v.periodicLast = now;
      this.emit(v, d.id, { kind: 'timer', deadline: now });
      this.raiseVirq(d, v.id, VIRQ_TIMER);
    }
    v.periodicDeadline = v.periodicLast + v.periodicPeriod;
  }

  /** vcpu_set_periodic_timer: a new period (0 stops); applies to the last tick already taken. */
  setPeriodic(v: Vcpu, period: number): void {
    v.periodicDeadline = -1;
    v.periodicPeriod = period;
    if (period !== 0) this.periodicWork(v);
  }

  /**
   * Deliver on a channel from `from` (EVTCHNOP_send semantics): to the
   * peer's port, or to the service behind it. Returns a Xen errno or 0.
   */
  send(from: Domain, port: number, v: Vcpu | null): number {
    const p = from.port(port);
    if (p === null) return -Errno.EINVAL;
    let toDom = from.id;
    let toPort = port;
    switch (p.state) {
      case EvtState.INTERDOMAIN:
        toDom = p.remoteDom;
        toPort = p.remotePort;
        break;
      case EvtState.IPI:
        break;
      case EvtState.UNBOUND:
        this.onNotify(from, port, -1, -1);
        this.emit(v, from.id, { kind: 'evtchn_send', port, toDom: -1, toPort: -1, virq: -1 });
        return 0; // no peer yet: silently dropped, as Xen does (binding raises the port, so nothing is lost)
      default:
        return -Errno.EINVAL;
    }
    const peer = p.service === null ? this.domains.get(toDom) : undefined;
    // The ring traffic this notify announces first, then the notify (the mask as it arrives: before setPending).
    this.onNotify(from, port, toDom, toPort);
    this.emit(v, from.id, () => this.sendBody(port, toDom, toPort, -1, peer));
    if (p.service !== null) {
      this.onBackendKick(from, port, p);
      return 0;
    }
    if (peer !== undefined) this.setPending(peer, toPort);
    return 0;
  }

  /**
   * An evtchn_send event's body; `masked` when the destination port of
   * `to` (absent: a service) is masked in its ABI (2-level or FIFO).
   */
  sendBody(port: number, toDom: number, toPort: number, virq: number, to: Domain | undefined): Extract<SimEventBody, { kind: 'evtchn_send' }> {
    const body: Extract<SimEventBody, { kind: 'evtchn_send' }> = { kind: 'evtchn_send', port, toDom, toPort, virq };
    if (to !== undefined && to.alive && this.isMasked(to, toPort)) body.masked = true;
    return body;
  }

  /** Raise a VIRQ bound in `d` (for vCPU `vcpu`), if bound. */
  raiseVirq(d: Domain, vcpu: number, virq: number): void {
    for (let port = 1; port < d.ports.length; port++) {
      const p = d.ports[port];
      if (p && p.state === EvtState.VIRQ && p.virq === virq && p.vcpu === vcpu) {
        this.emit(d.vcpus[vcpu] ?? null, d.id, () => this.sendBody(port, d.id, port, virq, d));
        this.setPending(d, port);
        return;
      }
    }
  }

  /** A service notifies the guest side of its channel. */
  serviceNotify(d: Domain, port: number): void {
    this.setPending(d, port);
  }

  /** Close a port (its pending bit cleared); an interdomain peer becomes unbound again (EVTCHNOP_close). */
  closePort(d: Domain, port: number): void {
    const p = d.port(port);
    if (p === null) return;
    if (p.state === EvtState.INTERDOMAIN && p.service !== null) this.onBackendClosed(d, port, p);
    else if (p.state === EvtState.INTERDOMAIN) {
      const peer = this.domains.get(p.remoteDom);
      const q = peer?.port(p.remotePort);
      if (q && q.state === EvtState.INTERDOMAIN && q.remoteDom === d.id && q.remotePort === port) {
        q.state = EvtState.UNBOUND;
        q.remotePort = 0;
      }
    }
    // evtchn_free: "clear pending event to avoid unexpected behavior on re-bind".
    if (d.fifo) fifoClearPending(this, d, port);
    else {
      const v = this.siView(d);
      v.setUint8(SI_PENDING + (port >> 3), v.getUint8(SI_PENDING + (port >> 3)) & ~(1 << (port & 7)));
    }
    d.ports[port] = null;
  }

  /**
   * do_settime: the wallclock at system time 0 becomes sec.nsec, and every
   * domain's shared_info says so (update_domain_wallclock_time: wc_version
   * odd while the fields change).
   */
  setWallclock(sec: number, nsec: number): void {
    this.wallclock = { sec, nsec };
    for (const d of this.domains.values()) this.writeWallclock(d);
  }

  /** update_domain_wallclock_time for `d` (no per-domain time offset here). */
  writeWallclock(d: Domain): void {
    const si = this.siView(d);
    const w = this.wallclock ?? { sec: this.bootWallclock, nsec: 0 };
    const ver = si.getUint32(shared_info.wc_version, true);
    si.setUint32(shared_info.wc_version, (ver + 1) | 1, true);
    si.setUint32(shared_info.wc_sec, w.sec >>> 0, true);
    si.setUint32(shared_info.wc_nsec, w.nsec, true);
    si.setUint32(shared_info.wc_sec_hi, Math.floor(w.sec / 2 ** 32) >>> 0, true);
    si.setUint32(shared_info.wc_version, ((ver + 1) | 1) + 1, true);
  }

  // ---- domain life ---------------------------------------------------------

  shutdown(d: Domain, reason: string): void {
    if (!d.alive) return;
    this.onStop(d);
    d.state = reason === 'crash' ? DomState.CRASHED : DomState.SHUTDOWN;
    d.shutdownReason = reason;
    for (const v of d.vcpus) {
      if (v.state !== VcpuState.DOWN) this.account(v, VcpuState.DOWN);
      v.cpu.requestExit();
    }
    this.emit(this.running?.domId === d.id ? this.running : null, d.id, { kind: 'domain_state', state: d.state, reason });
    this.onDomainDown(d);
  }

  /**
   * domain_kill (xl destroy): the vCPUs stop, every event channel closes
   * (interdomain peers become unbound, dom0 backends told), the grant
   * mappings it holds are released (`releaseMappings`,
   * gnttab_release_mappings); dom0's drivers then see it down.
   */
  destroy(d: Domain, releaseMappings: (d: Domain) => void): void {
    if (d.state === DomState.DESTROYED) return;
    const wasAlive = d.alive;
    if (wasAlive) this.onStop(d);
    d.state = DomState.DESTROYED;
    for (const v of d.vcpus) {
      if (v.state !== VcpuState.DOWN) this.account(v, VcpuState.DOWN);
      v.cpu.requestExit();
    }
    for (let port = 1; port < d.ports.length; port++) if (d.ports[port]) this.closePort(d, port);
    releaseMappings(d);
    this.emit(null, d.id, { kind: 'domain_state', state: d.state, reason: '' });
    if (wasAlive) this.onDomainDown(d);
  }

  /** domain_crash: what Xen does to a guest that broke the rules. */
  crash(d: Domain, why: string): void {
    const v = this.running?.domId === d.id ? this.running : null;
    const text = `domain ${d.id} crashed: ${why}`;
    this.onCrash(d.id, text, v?.cpu.rip ?? 0n);
    this.emit(v, d.id, { kind: 'milestone', text });
    this.shutdown(d, 'crash');
  }
}

export { NR_EVTCHN_PORTS };
