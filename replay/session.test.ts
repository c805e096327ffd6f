/**
 * The replay cursor against a recorded pingpong: instruction steps forward
 * and back land where a fresh seek by instruction count lands, continue and
 * reverse continue stop at the events a linear scan of the trace finds, and
 * a seek by instruction count reads no chunk and few checkpoints.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { parseElf } from '../sim/elf.js';
import { parseScenario } from '../sim/scenario.js';
import type { TraceEvent } from '../trace/columns.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { record } from './record.js';
import { ReplaySession, type MachineView } from './session.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/session-test`;
const TRACE = `${DIR}/pingpong.xrr`;
/** the same run without checkpoints: every forward move can run the cursor machine on */
const PLAIN = `${DIR}/pingpong-plain.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
/** The view as comparable text (bigints in hex). */
const text = (v: MachineView): string => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));
const open = (): ReplaySession => ReplaySession.open(TraceReader.open(TRACE));
const isSend = (e: TraceEvent): boolean => e.kind === 'evtchn_send';
const pingHypercall = (e: TraceEvent): boolean => e.kind === 'hypercall' && e.dom === 1;

let events: TraceEvent[] = [];

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  await record(scenario, TRACE, { checkpointEvery: 1500 });
  await record(scenario, PLAIN, { checkpointEvery: 0 });
  events = [...TraceReader.open(TRACE).events()];
});

describe.skipIf(!built)('replay cursor', () => {
  it('starts at the start, before any event', () => {
    const s = open();
    expect(s.position).toEqual({ seq: 0, atEvent: false, time: 0, vcpus: [{ dom: 1, vcpu: 0, icount: 0 }, { dom: 2, vcpu: 0, icount: 0 }] });
    expect(s.event()).toBe(null);
    expect(s.view().seq).toBe(0);
  });

  it('stepping N instructions lands exactly where a fresh seek to icount+N does', () => {
    const s = open();
    const other = open();
    const start = 40_000;
    s.seekIcount(2, 0, start);
    const rips = new Set<bigint>();
    for (let i = 1; i <= 40; i++) {
      const v = s.step(2, 0);
      expect(v.vcpus.find((x) => x.dom === 2)!.icount).toBe(start + i);
      rips.add(v.vcpus.find((x) => x.dom === 2)!.rip);
      if (i % 8 === 0) expect(text(v), `step ${i}`).toBe(text(other.seekIcount(2, 0, start + i)));
    }
    expect(rips.size).toBeGreaterThan(5);
    // a multi-instruction step is the same as single ones
    expect(text(other.seekIcount(2, 0, start + 30))).not.toBe(text(s.view()));
    expect(text(other.step(2, 0, 10))).toBe(text(s.view()));
  });

  it('steps forward run the cursor machine on, and it stays faithful to the recording', () => {
    const s = ReplaySession.open(TraceReader.open(PLAIN));
    s.seekIcount(1, 0, 25_000);
    const before = s.stats.resumed;
    for (let i = 0; i < 30; i++) s.step(i % 3 === 0 ? 2 : 1, 0);
    expect(s.stats.resumed - before).toBe(30);
    // run on to the end: the same final machine as a fresh replay to the end
    const end = s.continue(() => false).view;
    expect(s.stats.resumed - before).toBe(31);
    expect(end.seq).toBe(events.length);
    expect(text(end)).toBe(text(ReplaySession.open(TraceReader.open(PLAIN)).seek(Number.MAX_SAFE_INTEGER)));
    // an event after an instruction count, reached by running on, as a fresh seek shows it
    s.seekIcount(2, 0, 70_000);
    const r = s.continue(isSend);
    expect(s.stats.resumed - before).toBe(32);
    expect(text(r.view)).toBe(text(open().seek(r.event!.seq)));
  });

  it('a machine handed out (and changed) is not run on by the session', () => {
    const s = open();
    s.seekIcount(2, 0, 45_000);
    const m = s.machine;
    // a debugger writing a register of the handed-out machine
    const cpu = m.domains[1]!.vcpus[0]!.cpu;
    for (let r = 0; r < 16; r++) if (r !== 4) cpu.setReg(r, 0x1234n);
    expect(s.position.vcpus[1]!.icount).toBe(45_000);
    expect(text(s.step(2, 0))).toBe(text(open().seekIcount(2, 0, 45_001)));
  });

  it('a step from an event lands where a seek to the next instruction count does', () => {
    const s = open();
    const e = events.find((x) => x.seq >= 6000 && x.kind === 'hypercall')!;
    s.seek(e.seq);
    expect(text(s.step(e.dom, e.vcpu, 3))).toBe(text(open().seekIcount(e.dom, e.vcpu, e.icount + 3)));
  });

  it('step then reverse step returns to identical registers and machine state', () => {
    const s = open();
    const before = text(s.seekIcount(1, 0, 30_000));
    const after = text(s.step(1, 0));
    expect(after).not.toBe(before);
    expect(text(s.stepBack(1, 0))).toBe(before);
    // many back and forth, across slices of the other domain
    for (let i = 0; i < 25; i++) s.step(1, 0);
    for (let i = 0; i < 25; i++) s.stepBack(1, 0);
    expect(text(s.view())).toBe(before);
    expect(s.position.vcpus[0]!.icount).toBe(30_000);
  });

  it('reverse step at the start stays at the start', () => {
    const s = open();
    const v = s.stepBack(1, 0);
    expect(s.position.seq).toBe(0);
    expect(v.vcpus.every((x) => x.icount === 0)).toBe(true);
  });

  it('seek to an event puts the cursor at it; an instruction count between events', () => {
    const s = open();
    const e = events[4321]!;
    s.seek(4321);
    expect(s.position.seq).toBe(4321);
    expect(s.position.atEvent).toBe(true);
    expect(s.event()).toEqual(e);
    expect(s.position.vcpus.find((x) => x.dom === e.dom && x.vcpu === e.vcpu)!.icount).toBe(e.icount);
    if (e.vcpu >= 0) expect(s.register(e.dom, e.vcpu, 'rip')).toBe(e.rip);
    expect(s.register(1, 0, 'rax')).toBe(s.view().vcpus[0]!.regs.rax);
    expect(s.register(1, 0, 'xmm0')).toBe(0n);
    expect(s.register(1, 0, 'mxcsr')).toBe(0x1f80n);
    expect(() => s.register(1, 0, 'xmm16')).toThrow(/unknown register/);
    expect(() => s.step(7, 0)).toThrow(/no vCPU 7\.0/);
    s.seekIcount(2, 0, 50_000);
    const p = s.position;
    expect(p.atEvent).toBe(false);
    expect(s.event()).toEqual(events[p.seq - 1]);
    expect(events[p.seq - 1]!.time).toBeLessThanOrEqual(p.time);
  });

  it('at an instruction count, the events before the cursor are exactly those the recording had by then', () => {
    const s = open();
    let checked = 0;
    for (let t = 1000; t < 120_000; t += 2777) {
      for (const dom of [1, 2]) {
        const p = (s.seekIcount(dom, 0, t), s.position);
        const at = new Map(p.vcpus.map((x) => [`${x.dom}.${x.vcpu}`, x.icount]));
        const prev = events.slice(Math.max(0, p.seq - 40), p.seq).filter((e) => e.vcpu >= 0);
        for (const e of prev) expect(e.icount, `event ${e.seq} before the cursor at d${dom} icount ${t}`).toBeLessThanOrEqual(at.get(`${e.dom}.${e.vcpu}`)!);
        const next = events[p.seq];
        if (next !== undefined && next.vcpu >= 0) expect(next.icount, `event ${next.seq} after the cursor at d${dom} icount ${t}`).toBeGreaterThanOrEqual(at.get(`${next.dom}.${next.vcpu}`)!);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('continue stops at the next matching event after the cursor, as a linear scan finds it', () => {
    const s = open();
    s.seek(2000);
    let from = 2000;
    for (let k = 0; k < 4; k++) {
      const want = events.find((e) => e.seq > from && pingHypercall(e))!;
      const r = s.continue(pingHypercall);
      expect(r.event).toEqual(want);
      expect(r.view.seq).toBe(want.seq);
      expect(s.position).toMatchObject({ seq: want.seq, atEvent: true });
      expect(r.view.vcpus.find((x) => x.dom === 1)!.icount).toBe(want.icount);
      from = want.seq;
    }
    // from an instruction-count position the next event counts too
    s.seekIcount(2, 0, 50_000);
    const next = s.position.seq;
    expect(s.continue(() => true).event!.seq).toBe(next);
    // nothing matches: to the end of the run
    const end = s.continue(() => false);
    expect(end.event).toBe(null);
    expect(end.view.seq).toBe(events.length);
    expect(s.position.atEvent).toBe(false);
  });

  it('reverse continue stops at the last matching event before the cursor, across chunks', () => {
    const s = open();
    s.seek(events.length - 5);
    let before = events.length - 5;
    for (let k = 0; k < 3; k++) {
      const want = events.findLast((e) => e.seq < before && isSend(e))!;
      const r = s.reverseContinue(isSend);
      expect(r.event!.seq).toBe(want.seq);
      expect(r.view.seq).toBe(want.seq);
      before = want.seq;
    }
    // the first event of dom 2: far back, in the first chunk
    const first = events.find((e) => e.dom === 2)!;
    expect(first.seq).toBeLessThan(8192);
    expect(s.reverseContinue((e) => e.dom === 2 && e.seq <= first.seq).event!.seq).toBe(first.seq);
    // nothing matches: to the start
    const r = s.reverseContinue(() => false);
    expect(r.event).toBe(null);
    expect(s.position).toMatchObject({ seq: 0, atEvent: false, time: 0 });
  });

  it('reads guest memory by virtual address through the vCPU page tables', () => {
    const s = open();
    const v = s.seekIcount(1, 0, 20_000).vcpus[0]!;
    const elf = parseElf(readFileSync(`${ROOT}build/corpus/pv/pingpong.elf`));
    const textSec = elf.section('.text')!;
    expect(v.rip >= textSec.addr && v.rip < textSec.addr + BigInt(textSec.size)).toBe(true);
    const off = Number(v.rip - textSec.addr);
    expect([...s.readMemory(1, 0, v.rip, 16)!]).toEqual([...textSec.data.subarray(off, off + 16)]);
    expect(s.readMemory(1, 0, 0x7ffffffff000n, 8)).toBe(null);
  });

  it('a seek by instruction count decodes no chunk and only the checkpoints a binary search visits', () => {
    const reader = TraceReader.open(TRACE);
    const chunk = vi.spyOn(reader, 'chunk');
    const s = ReplaySession.open(reader);
    const n = reader.index.checkpoints.length;
    expect(n).toBeGreaterThan(5);
    const last = events.findLast((e) => e.dom === 1)!;
    const v = s.seekIcount(1, 0, last.icount - 100);
    expect(v.vcpus[0]!.icount).toBe(last.icount - 100);
    expect(chunk).not.toHaveBeenCalled();
    expect(s.stats.checkpointReads).toBeLessThanOrEqual(Math.ceil(Math.log2(n + 1)) + 1);
  });

  it('verify still matches after the cursor has moved around', () => {
    const s = open();
    s.seek(5000);
    s.step(1, 0);
    expect(s.verify().divergence).toBe(null);
  });
});
