/**
 * Running a recorded pingpong to code breakpoints and watchpoints, both
 * ways: continuing forward stop by stop finds exactly the breakpoint stops a
 * plain run with the breakpoints set makes; going back from the end finds
 * them again in reverse, across checkpoint stretches; steps forward and back
 * return to identical registers; a watch found by a run is the change the
 * watch search finds.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMachine } from './scenario-run.js';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { record } from './record.js';
import { ReplaySession, type Breakpoint, type RunRequest, type RunStop } from './session.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/break-test`;
const TRACE = `${DIR}/pingpong.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
let scenario: Scenario;
const open = (): ReplaySession => ReplaySession.open(TraceReader.open(TRACE));

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  await record(scenario, TRACE, { checkpointEvery: 2000 });
});

const req = (direction: 'forward' | 'backward', breakpoints: Breakpoint[], more: Partial<RunRequest> = {}): RunRequest => ({ direction, breakpoints, watches: [], step: null, skip: true, ...more });
const where = (s: RunStop): string => ('at' in s && s.at !== null ? `d${s.at.dom}v${s.at.vcpu}@${s.at.icount}` : s.why);

/** Every breakpoint stop of a plain run, in order. */
function allStops(bps: Breakpoint[]): string[] {
  const m = buildMachine(scenario);
  m.setBreakpoints(bps);
  const out: string[] = [];
  for (;;) {
    m.run(scenario.maxInsns);
    const v = m.breakIn;
    if (v === null) return out;
    out.push(`d${v.domId}v${v.id}@${v.cpu.icount}`);
    v.cpu.bpSkip = true;
  }
}

/** Registers of one vCPU in a view, as a string. */
function regsOf(s: ReplaySession, dom: number, vcpu: number): string {
  const v = s.view().vcpus.find((x) => x.dom === dom && x.vcpu === vcpu)!;
  return `${v.icount} ${v.rip.toString(16)} ${v.rflags.toString(16)} ${Object.values(v.regs).map((r) => r.toString(16)).join(' ')}`;
}

describe.skipIf(!built)('running to breakpoints and watchpoints', () => {
  it('continues stop by stop through every breakpoint stop, then back from the end through the last ones', () => {
    const s = open();
    const send = s.symbolAddress(1, 'evtchn_send')!.addr;
    const bps = [{ addr: send }];
    const want = allStops(bps);
    expect(want.length).toBeGreaterThan(1500);
    const got: string[] = [];
    for (;;) {
      const r = s.run(req('forward', bps));
      if (r.stop.why === 'end') break;
      expect(r.stop.why).toBe('breakpoint');
      const at = (r.stop as { at: { dom: number; vcpu: number } }).at;
      expect(s.register(at.dom, at.vcpu, 'rip')).toBe(send);
      got.push(where(r.stop));
    }
    expect(got).toEqual(want);
    // Back from the end: the last stops, latest first.
    const back: string[] = [];
    for (let k = 0; k < 12; k++) back.push(where(s.run(req('backward', bps)).stop));
    expect(back).toEqual(want.slice(-12).reverse());
    expect(s.stats.checkpointReads).toBeGreaterThan(0);
  });

  it('going back from a point finds the stop before it, and forward again the same stop', () => {
    const s = open();
    const bps = [{ addr: s.symbolAddress(2, 'pong_event')!.addr, dom: 2 }];
    const want = allStops(bps);
    // From the 40th stop back: the 39th, 38th...; then forward: the 39th again.
    for (let k = 0; k < 40; k++) s.run(req('forward', bps));
    expect(where(s.run(req('backward', bps)).stop)).toBe(want[38]);
    expect(where(s.run(req('backward', bps)).stop)).toBe(want[37]);
    expect(where(s.run(req('forward', bps)).stop)).toBe(want[38]);
    // All the way back: the start.
    for (let k = 0; k < 38; k++) s.run(req('backward', bps));
    expect(s.run(req('backward', bps)).stop.why).toBe('start');
  });

  it('steps forward and back to identical registers; a breakpoint of another vCPU interrupts a step', () => {
    const s = open();
    const bps = [{ addr: s.symbolAddress(1, 'ping_event')!.addr, dom: 1 }];
    s.run(req('forward', bps));
    const seen = [regsOf(s, 1, 0)];
    for (let k = 0; k < 60; k++) {
      const r = s.run(req('forward', [], { step: { dom: 1, vcpu: 0 } }));
      expect(r.stop.why).toBe('step');
      seen.push(regsOf(s, 1, 0));
    }
    for (let k = 59; k >= 0; k--) {
      const r = s.run(req('backward', bps, { step: { dom: 1, vcpu: 0 } }));
      expect(['step', 'breakpoint']).toContain(r.stop.why);
      expect(regsOf(s, 1, 0)).toBe(seen[k]);
    }
    // Stepping dom2's vCPU until it waits for dom1, which then reaches ping_event: that stop ends the step.
    let other: RunStop | null = null;
    for (let k = 0; k < 100_000 && other === null; k++) {
      const r = s.run(req('forward', bps, { step: { dom: 2, vcpu: 0 } }));
      if (r.stop.why !== 'step') other = r.stop;
    }
    expect(other?.why).toBe('breakpoint');
    expect(where(other!)).toMatch(/^d1v0@/);
  });

  it('a watch in a run stops where the watch search finds the change, both ways', () => {
    const s = open();
    const sym = s.symbolAddress(1, 'received')!;
    const w = { dom: 1, vcpu: 0, va: sym.addr, len: 8 };
    const bps = [{ addr: s.symbolAddress(2, 'evtchn_send')!.addr, dom: 2 }];
    // Past a few changes, then: forward to the next change; compare with watch().
    for (let k = 0; k < 3; k++) expect(s.run(req('forward', [], { watches: [w] })).stop.why).toBe('watch');
    const p = s.position.vcpus.find((v) => v.dom === 1)!;
    const r = s.run(req('forward', [], { watches: [w] }));
    expect(r.stop.why).toBe('watch');
    const hit = (r.stop as Extract<RunStop, { why: 'watch' }>).hit;
    const t = open().watch(w, { dom: 1, vcpu: 0, icount: p.icount }, 'forward')!;
    expect({ ...hit.at, insns: hit.insns }).toEqual({ ...t.at, insns: t.insns });
    // Back: the change just found (the cursor is right after it), then the one before.
    const b1 = s.run(req('backward', [], { watches: [w] }));
    expect(where(b1.stop)).toBe(`d1v0@${hit.at!.icount - 1}`);
    expect(s.readMemory(1, 0, sym.addr, 8)).toEqual(hit.before);
    // With a breakpoint too: whichever is later wins, here dom2's send (it runs between dom1's receives).
    const b2 = s.run(req('backward', bps, { watches: [w] }));
    expect(b2.stop.why).toBe('breakpoint');
    expect(where(b2.stop)).toMatch(/^d2v0@/);
  });

  it('read watches stop after each read, forward as the core sees them, and back just before the last ones', () => {
    const s = open();
    const sym = s.symbolAddress(1, 'received')!;
    const acc = [{ dom: 1, vcpu: 0, va: sym.addr, len: 8, write: false }];
    // The core's own stops, on a plain run.
    const m = buildMachine(scenario);
    const pa = m.domains[0]!.vcpus[0]!.cpu.mmu.peekPhys(Number(sym.addr), 0);
    m.setDataWatches([{ pfn: Math.floor(pa / 4096), off: pa % 4096, len: 8, write: false }]);
    const want: string[] = [];
    for (;;) {
      m.run(scenario.maxInsns);
      const v = m.watchIn;
      if (v === null) break;
      want.push(`d${v.domId}v${v.id}@${v.cpu.icount}`);
    }
    expect(want.length).toBeGreaterThan(1000);
    const got: string[] = [];
    for (let k = 0; k < 30; k++) {
      const r = s.run(req('forward', [], { accesses: acc }));
      expect(r.stop.why).toBe('access');
      got.push(where(r.stop));
    }
    expect(got).toEqual(want.slice(0, 30));
    // Back: just before the instruction of each of the previous reads.
    const before = (x: string): string => x.replace(/@(\d+)$/, (_, n: string) => `@${Number(n) - 1}`);
    expect(where(s.run(req('backward', [], { accesses: acc })).stop)).toBe(before(want[29]!));
    expect(where(s.run(req('backward', [], { accesses: acc })).stop)).toBe(before(want[28]!));
    s.run(req('forward', [], { step: { dom: 1, vcpu: 0 } }));
    expect(where(s.run(req('forward', [], { accesses: acc })).stop)).toBe(want[29]);
  });
});
