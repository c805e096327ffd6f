/**
 * Code breakpoints (Machine.setBreakpoints): a vCPU stops before executing
 * an instruction at a breakpoint address exactly as often as it arrives
 * there (counted by stepping it one instruction at a time), translated
 * blocks included, and a run resumed at every stop emits exactly the
 * uninterrupted run's events, as does stopping before every instruction
 * (haltAt's late form).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMachine } from '../replay/scenario-run.js';
import { eventJson } from '../trace/columns.js';
import type { Cpu } from './cpu/cpu.js';
import type { Block } from './cpu/decode.js';
import { parseElf } from './elf.js';
import type { SimEvent } from './events.js';
import type { Machine } from './machine.js';
import { parseScenario } from './scenario.js';
import { corpusBuilt, corpusKernel } from './xen/test-domain.js';

const file = fileURLToPath(new URL('../corpus/scenarios/pingpong.json', import.meta.url));
const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
const sym = (name: string): bigint => parseElf(readFileSync(corpusKernel('pingpong'))).symbols.find((s) => s.name === name)!.value;

function regs(m: Machine): string {
  return m.domains.map((d) => d.vcpus.map((v) => `${v.cpu.rip}:${v.cpu.icount}:${[...v.cpu.r].join(',')}`).join('|')).join('/');
}

/** Run to the end, resuming at every breakpoint stop; the stops as `dNvM@icount@rip`. */
function runHits(m: Machine, max: number): string[] {
  const hits: string[] = [];
  for (;;) {
    m.run(max);
    const v = m.breakIn;
    if (v === null) return hits;
    expect(m.pausedIn).toBe(v);
    hits.push(`d${v.domId}v${v.id}@${v.cpu.icount}@${v.cpu.rip.toString(16)}`);
    v.cpu.bpSkip = true;
  }
}

describe.skipIf(!corpusBuilt)('code breakpoints', () => {
  it('stop at every arrival, before the instruction, and the run goes on exactly as without them', () => {
    const addrs = [sym('evtchn_send'), sym('ping_event') + 4n, sym('pong_event')];
    const plain: SimEvent[] = [];
    const a = buildMachine(scenario, { sink: (e) => plain.push(e) });
    a.run(scenario.maxInsns);

    const evs: SimEvent[] = [];
    const b = buildMachine(scenario, { sink: (e) => evs.push(e) });
    b.setBreakpoints(addrs.map((addr) => ({ addr })));
    const hits = runHits(b, scenario.maxInsns);
    expect(evs.map(eventJson)).toEqual(plain.map(eventJson));
    expect(regs(b)).toBe(regs(a));

    // The oracle: step dom1's vCPU one instruction at a time (each stop just before its next instruction).
    const stepped: SimEvent[] = [];
    const c = buildMachine(scenario, { sink: (e) => stepped.push(e) });
    const v = c.domains[0]!.vcpus[0]!;
    const want = new Set(addrs);
    const arrivals: string[] = [];
    const upTo = 100_000;
    for (let n = 0; n <= upTo; n++) {
      c.haltAt(1, 0, n, true);
      if (c.run(scenario.maxInsns).stop !== 'paused') break;
      expect(v.cpu.icount).toBe(n);
      if (want.has(v.cpu.rip)) arrivals.push(`d1v0@${n}@${v.cpu.rip.toString(16)}`);
    }
    c.haltAt(1, 0, Number.MAX_SAFE_INTEGER);
    c.run(scenario.maxInsns);
    expect(arrivals.length).toBeGreaterThan(200);
    // Late stops, as breakpoint stops, leave the run as it was.
    expect(stepped.map(eventJson)).toEqual(plain.map(eventJson));
    expect(hits.filter((h) => h.startsWith('d1v0@') && Number(h.split('@')[1]) <= upTo)).toEqual(arrivals);
    expect(hits.some((h) => h.startsWith('d2v0@'))).toBe(true);
  });

  it('a breakpoint on one vCPU stops only that vCPU; none left stops nothing', () => {
    const m = buildMachine(scenario);
    m.setBreakpoints([{ addr: sym('evtchn_send'), dom: 2, vcpu: 0 }]);
    const hits = runHits(m, scenario.maxInsns);
    expect(hits.length).toBeGreaterThan(900);
    expect(hits.every((h) => h.startsWith('d2v0@'))).toBe(true);
    const n = buildMachine(scenario);
    n.setBreakpoints([{ addr: sym('evtchn_send') }]);
    n.setBreakpoints([]);
    expect(runHits(n, scenario.maxInsns)).toEqual([]);
  });

  it('translated regions stop at a breakpoint inside a block or at a block of theirs as the interpreter does', () => {
    const pv = corpusKernel('compute-sha256');
    const s = parseScenario({ name: 'sha', maxInsns: 3_000_000, domains: [{ name: 'sha', kernel: pv, memoryMiB: 32 }] }, pv);
    // Find translated blocks: break in the middle of a long one, and at the start of one
    // its region holds that is not where the region was entered from (a low threshold
    // makes regions of several blocks within this short run).
    const JIT = 256;
    const warm = buildMachine(s, { jitThreshold: JIT });
    warm.run(s.maxInsns);
    const blocks = [...(warm.domains[0]!.vcpus[0]!.cpu as unknown as { blocks: Map<number, Block> }).blocks.values()];
    const byRuns = blocks.filter((b) => b.region !== null).sort((x, y) => y.runs - x.runs);
    const hot = byRuns.filter((b) => b.insns.length >= 6)[0]!;
    const member = byRuns.find((b) => b.region!.insns[0] !== b.insns[0])!;
    const at = (i: { startLo: number; startHi: number }): bigint => (BigInt(i.startHi) << 32n) | BigInt(i.startLo);
    for (const addr of [at(hot.insns[3]!), at(member.insns[0]!)]) {
      const count = (jit: boolean): { hits: number; regs: string } => {
        const m = buildMachine(s, { jitThreshold: jit ? JIT : 0 });
        m.setBreakpoints([{ addr }]);
        const hits = runHits(m, s.maxInsns);
        // regions ran with the breakpoint set (they were all dropped when it was set)
        if (jit) expect((m.domains[0]!.vcpus[0]!.cpu as Cpu).translatedBlocks).toBeGreaterThan(0);
        return { hits: hits.length, regs: regs(m) };
      };
      const jit = count(true);
      expect(jit.hits).toBeGreaterThan(1000);
      expect(jit).toEqual(count(false));
      expect(jit.regs).toBe(regs(warm));
    }
  });

  it('read and access watches stop after exactly the instructions objdump says touch the variable, and change nothing', () => {
    // The oracle: the instructions that name `received` in objdump's disassembly, loads and stores.
    const lines = execFileSync('objdump', ['-d', '--no-show-raw-insn', corpusKernel('pingpong')], { encoding: 'utf8' }).split('\n').filter((l) => l.includes('<received>'));
    const at = (l: string): bigint => BigInt(`0x${l.trim().split(':')[0]}`);
    const stores = new Set(lines.filter((l) => /\tmov\s+%\w+,/.test(l)).map(at));
    const loads = new Set(lines.map(at).filter((a) => !stores.has(a)));
    expect(loads.size).toBeGreaterThan(3);
    expect(stores.size).toBeGreaterThan(0);
    const upTo = 60_000;
    const want = (set: Set<bigint>): number[] => {
      const c = buildMachine(scenario);
      const v = c.domains[0]!.vcpus[0]!;
      const out: number[] = [];
      for (let n = 0; n < upTo; n++) {
        c.haltAt(1, 0, n, true);
        if (c.run(scenario.maxInsns).stop !== 'paused') break;
        if (set.has(v.cpu.rip)) out.push(n + 1);
      }
      return out;
    };
    const plain: SimEvent[] = [];
    buildMachine(scenario, { sink: (e) => plain.push(e) }).run(scenario.maxInsns);
    const stops = (write: boolean): number[] => {
      const evs: SimEvent[] = [];
      const m = buildMachine(scenario, { sink: (e) => evs.push(e) });
      const v = m.domains[0]!.vcpus[0]!;
      const pa = v.cpu.mmu.peekPhys(Number(sym('received')), 0);
      m.setDataWatches([{ pfn: Math.floor(pa / 4096), off: pa % 4096, len: 8, write }]);
      const out: number[] = [];
      for (;;) {
        m.run(scenario.maxInsns);
        if (m.watchIn === null) break;
        expect(m.watchIn).toBe(v);
        expect(m.watchHit).toBe(0);
        if (v.cpu.icount <= upTo) out.push(v.cpu.icount);
      }
      expect(evs.map(eventJson)).toEqual(plain.map(eventJson));
      return out;
    };
    const reads = stops(false);
    expect(reads.length).toBeGreaterThan(100);
    expect(reads).toEqual(want(loads));
    expect(stops(true)).toEqual(want(new Set([...loads, ...stores])));
  });
});
