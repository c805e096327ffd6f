/**
 * Replay sessions: re-execute a recorded run from its header and compare it
 * with the trace (verify), or rebuild the machine at any point (seek) from
 * the nearest checkpoint plus re-execution. This is the API `xenrr replay`
 * and the TUI use.
 *
 * Verification re-encodes the live events into batches with the trace's
 * own chunk boundaries and compares chunk hashes (recording is
 * deterministic, so equal runs give equal bytes); only a chunk whose hash
 * differs is decoded and compared event by event to name the first mismatch.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { SimEvent } from '../sim/events.js';
import { Machine } from '../sim/machine.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { restoreMachine } from '../sim/snapshot.js';
import { EvtState } from '../sim/xen/domain.js';
import { BatchBuilder, canonical, eventJson, type TraceEvent } from '../trace/columns.js';
import { TraceReader } from '../trace/reader.js';
import { EventBatchMsg } from '../trace/schema.js';
import { UsageError } from './cli/errors.js';
import { loadSymbols, type Symbols } from './symbols.js';

export type Divergence = {
  seq: number;
  /** what the trace recorded, and what re-execution produced (null: one run ended first) */
  expected: TraceEvent | null;
  actual: TraceEvent | null;
  /** field-by-field differences */
  fields: Array<{ field: string; expected: string; actual: string }>;
  /** the last common events before the divergence */
  context: TraceEvent[];
};

export type VerifyResult = { events: number; divergence: Divergence | null; warnings: string[] };

export type VcpuView = { dom: number; vcpu: number; regs: Record<string, bigint>; rip: bigint; rflags: number; kernelMode: boolean; state: string; icount: number };
export type MachineView = {
  seq: number;
  time: number;
  vcpus: VcpuView[];
  ports: Array<{ dom: number; pending: number[]; masked: number[]; bound: number[] }>;
  rings: Array<{ kind: string; dom: number; reqProd: number; rspProd: number }>;
  console: Array<{ dom: number; name: string; tail: string }>;
};

const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const CONTEXT = 10;

/** Differences between two events, by top-level field (nested ones compared as JSON). */
export function fieldDiff(a: TraceEvent | null, b: TraceEvent | null): Divergence['fields'] {
  if (a === null || b === null) return [];
  const ja = JSON.parse(eventJson(a)) as Record<string, unknown>;
  const jb = JSON.parse(eventJson(b)) as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ja), ...Object.keys(jb)])].sort();
  return keys.filter((k) => JSON.stringify(ja[k]) !== JSON.stringify(jb[k])).map((k) => ({ field: k, expected: JSON.stringify(ja[k]) ?? '-', actual: JSON.stringify(jb[k]) ?? '-' }));
}

export class ReplaySession {
  readonly scenario: Scenario;
  readonly symbols: Symbols;
  readonly warnings: string[] = [];
  private readonly specs: Array<Scenario['domains'][number] & { id: number; seed: number; image: Uint8Array }>;

  private constructor(readonly reader: TraceReader, overrides: Map<string, string>) {
    const h = reader.header;
    const json = JSON.parse(h.scenarioJson) as Record<string, unknown>;
    this.scenario = parseScenario(json, h.scenarioFile);
    this.specs = this.scenario.domains.map((dom, k) => {
      const img = h.images[k];
      const path = overrides.get(dom.name) ?? img?.path ?? '';
      if (!existsSync(path)) throw new UsageError(`image for domain '${dom.name}' not found: ${path} (give it with --image ${dom.name}=PATH)`);
      const bytes = readFileSync(path);
      const sha = createHash('sha256').update(bytes).digest();
      if (img !== undefined && !sha.equals(Buffer.from(img.sha256))) {
        if (!overrides.has(dom.name)) throw new UsageError(`image for domain '${dom.name}' differs from the recorded one: ${path} (sha256 ${sha.toString('hex').slice(0, 16)}..., recorded ${Buffer.from(img.sha256).toString('hex').slice(0, 16)}...)`);
        this.warnings.push(`domain '${dom.name}' runs ${path}, not the recorded image: expect a divergence`);
      }
      return { ...dom, id: k + 1, seed: h.seed, image: bytes };
    });
    this.symbols = loadSymbols(h, overrides);
  }

  static open(reader: TraceReader, overrides: Map<string, string> = new Map()): ReplaySession {
    return new ReplaySession(reader, overrides);
  }

  /** A machine at the start of the recorded run. */
  private fresh(sink: (e: SimEvent) => void): Machine {
    return new Machine(this.specs, sink, { quantum: this.scenario.quantum, wallclock: this.scenario.wallclock });
  }

  /** Re-execute the whole run and compare it with the trace. */
  verify(progress?: (events: number) => void): VerifyResult {
    const chunks = this.reader.index.chunks;
    let ci = 0;
    let batch: BatchBuilder | null = null;
    let live: SimEvent[] = [];
    let prevHash = new Uint8Array(0);
    let lastTime = 0;
    let matched = 0;
    let context: TraceEvent[] = [];
    let divergence: Divergence | null = null;
    let machine: Machine | null = null;
    const diverge = (d: Divergence): void => {
      divergence = d;
      machine?.halt();
    };
    const compareChunk = (): void => {
      const b = batch!;
      const raw = EventBatchMsg.encode(b.message(prevHash)).finish();
      const hash = createHash('sha256').update(raw).digest().subarray(0, 16);
      const want = chunks[ci]!;
      if (Buffer.from(hash).equals(Buffer.from(want.hash))) {
        prevHash = hash;
        matched += b.count;
        context = live.slice(-CONTEXT).map(canonical);
        ci++;
        batch = null;
        live = [];
        progress?.(matched);
        return;
      }
      // This chunk differs: find the first differing event.
      const recorded = this.reader.chunk(ci);
      for (let k = 0; k < Math.max(recorded.length, live.length); k++) {
        const exp = recorded[k] ?? null;
        const act = live[k] === undefined ? null : canonical(live[k]!);
        if (exp !== null && act !== null && eventJson(exp) === eventJson(act)) {
          context = [...context, act].slice(-CONTEXT);
          matched++;
          continue;
        }
        diverge({ seq: want.firstSeq + k, expected: exp, actual: act, fields: fieldDiff(exp, act), context });
        return;
      }
      // Same events, different bytes (e.g. the previous-hash link): treat as a match.
      prevHash = hash;
      ci++;
      batch = null;
      live = [];
    };
    machine = this.fresh((e) => {
      if (divergence !== null) return;
      if (ci >= chunks.length) {
        if (this.reader.complete) diverge({ seq: e.seq, expected: null, actual: canonical(e), fields: [], context });
        return;
      }
      batch ??= new BatchBuilder(e.seq, lastTime);
      batch.add(e);
      live.push(e);
      lastTime = e.time;
      if (batch.count === chunks[ci]!.count) compareChunk();
    });
    machine.run(this.scenario.maxInsns);
    if (divergence === null && batch !== null) compareChunk();
    if (divergence === null && ci < chunks.length) {
      const rest = this.reader.chunk(ci);
      const k = batch === null ? 0 : (batch as BatchBuilder).count;
      diverge({ seq: chunks[ci]!.firstSeq + k, expected: rest[k] ?? null, actual: null, fields: [], context });
    }
    const warnings = [...this.warnings];
    if (!this.reader.complete) warnings.push(`the recording is incomplete: verified its ${matched} events`);
    return { events: matched, divergence, warnings };
  }

  /**
   * The machine as it was when event `seq` was emitted: the nearest
   * checkpoint at or before it, then re-execution. Past the end: the end.
   */
  seek(seq: number): MachineView {
    let view: MachineView | null = null;
    let m: Machine;
    const sink = (e: SimEvent): void => {
      if (view === null && e.seq >= seq) {
        view = this.view(m, e.seq, e.time);
        m.halt();
      }
    };
    m = this.startNear(seq, sink);
    m.run(this.scenario.maxInsns);
    return view ?? this.view(m, m.nextSeq, m.xen.clock);
  }

  /** The machine when vCPU `vcpu` of domain `dom` has retired exactly `icount` instructions. */
  seekIcount(dom: number, vcpu: number, icount: number): MachineView {
    // The last event of that vCPU at or before icount bounds the checkpoint.
    let bound = 0;
    for (const e of this.reader.events()) {
      if (e.dom === dom && e.vcpu === vcpu && e.icount > icount) break;
      bound = e.seq;
    }
    const m = this.startNear(bound, () => {});
    m.haltAt(dom, vcpu, icount);
    m.run(this.scenario.maxInsns);
    return this.view(m, m.nextSeq, m.xen.clock);
  }

  /** A machine restored from the last checkpoint at or before `seq` (or the start). */
  private startNear(seq: number, sink: (e: SimEvent) => void): Machine {
    const m = this.fresh(sink);
    const cps = this.reader.index.checkpoints.filter((c) => c.seq <= seq);
    if (cps.length > 0) {
      const i = this.reader.index.checkpoints.indexOf(cps[cps.length - 1]!);
      restoreMachine(m, this.reader.checkpoint(i) as Parameters<typeof restoreMachine>[1]);
    }
    return m;
  }

  private view(m: Machine, seq: number, time: number): MachineView {
    const xen = m.xen;
    return {
      seq,
      time,
      vcpus: m.domains.flatMap((d) =>
        d.vcpus.map((v) => ({
          dom: d.id, vcpu: v.id, icount: v.cpu.retired(), rip: v.cpu.rip, rflags: v.cpu.rflags, kernelMode: v.kernelMode, state: v.state,
          regs: Object.fromEntries(REG_NAMES.map((n, i) => [n, v.cpu.getReg(i)])),
        })),
      ),
      ports: m.domains.map((d) => {
        const bound: number[] = [];
        for (let p = 1; p < d.ports.length; p++) if (d.ports[p] && d.ports[p]!.state !== EvtState.CLOSED) bound.push(p);
        return { dom: d.id, bound, pending: bound.filter((p) => xen.isPending(d, p)), masked: bound.filter((p) => xen.isMasked(d, p)) };
      }),
      rings: m.ringState(),
      console: m.domains.map((d) => ({ dom: d.id, name: d.name, tail: Buffer.from(d.console.slice(-2000)).toString('latin1') })),
    };
  }
}

/** Open a trace for replay with one-line errors. */
export function openSession(path: string, overrides: Map<string, string>): ReplaySession {
  return ReplaySession.open(TraceReader.open(path), overrides);
}
