/**
 * Machine snapshots, checked by re-execution: for every corpus scenario, a
 * machine restored from a snapshot taken mid-run emits exactly the events
 * the uninterrupted run emitted from that point on, and ends with the same
 * summary. Also: snapshots are canonical (the same state gives the same
 * bytes) and restore is exact (snapshot -> restore -> snapshot is the
 * identity).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildMachine } from '../replay/scenario-run.js';
import type { SimEvent } from './events.js';
import type { Machine, RunSummary } from './machine.js';
import { parseScenario, type Scenario } from './scenario.js';
import { LOP, setLazy } from './cpu/flags.js';
import { bytes, XenStore, XS } from './services/xenstored.js';
import { xlTest } from './services/test-xl.js';
import { encodeXsMsg, XsRingServer } from './services/xs-ring.js';
import { decodeValue, encodeValue, type Json } from './snapshot-codec.js';
import { restoreMachine, snapshotMachine, SnapshotError, type MachineSnapshot } from './snapshot.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}corpus/scenarios/`;
const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
const SCENARIOS = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

const load = (name: string): Scenario => parseScenario(JSON.parse(readFileSync(`${DIR}${name}.json`, 'utf8')), `${DIR}${name}.json`);
const text = (e: SimEvent): string => JSON.stringify(e, (_, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));

/** A machine for `s` whose events land in `events` (cleared of anything emitted while building). */
function machine(s: Scenario): { m: Machine; events: string[] } {
  const events: string[] = [];
  const m = buildMachine(s, { sink: (e) => events.push(text(e)) });
  events.length = 0;
  return { m, events };
}

/** Run to clean point number `k` (0: before the first slice) and snapshot there, twice. */
function snapshotAt(s: Scenario, k: number): { snap: MachineSnapshot; again: MachineSnapshot; summary: RunSummary } {
  const { m } = machine(s);
  let n = 0;
  const summary = m.run(s.maxInsns, () => n++ === k);
  return { snap: snapshotMachine(m), again: snapshotMachine(m), summary };
}

function restored(s: Scenario, snap: MachineSnapshot): { m: Machine; events: string[] } {
  const r = machine(s);
  restoreMachine(r.m, snap);
  return r;
}

const same = (a: MachineSnapshot, b: MachineSnapshot): void => {
  expect(Buffer.from(b.stateJson).equals(Buffer.from(a.stateJson))).toBe(true);
  expect(b.seq).toBe(a.seq);
  expect(b.time).toBe(a.time);
  expect(b.pages.map((p) => p.mfn)).toEqual(a.pages.map((p) => p.mfn));
  expect(b.pages.every((p, i) => Buffer.from(p.data).equals(Buffer.from(a.pages[i]!.data)))).toBe(true);
};

describe.skipIf(!built)('machine snapshots', () => {
  /** The uninterrupted run: its events, summary, and the next seq at each clean point. */
  type Ref = { events: string[]; summary: RunSummary; points: number[] };
  const full = new Map<string, Ref>();
  const reference = (name: string): Ref => {
    let r = full.get(name);
    if (r === undefined) {
      const s = load(name);
      const { m, events } = machine(s);
      const points: number[] = [];
      r = { events, summary: m.run(s.maxInsns, () => void points.push(m.nextSeq)), points };
      full.set(name, r);
    }
    return r;
  };

  for (const name of SCENARIOS) {
    it(`${name}: a machine restored mid-run replays the rest event for event`, () => {
      const s = load(name);
      const a = reference(name);
      expect(a.events.length).toBeGreaterThan(10);
      // The clean point in the middle (for a guest that runs in one slice, the start).
      const k = Math.floor((a.points.length - 1) / 2);
      const { snap, again, summary } = snapshotAt(s, k);
      expect(summary.stop).toBe('paused');
      expect(snap.seq).toBe(a.points[k]);
      expect(snap.seq).toBeLessThan(a.events.length);
      same(snap, again);

      const c = restored(s, snap);
      const end = c.m.run(s.maxInsns);
      expect(c.events.length).toBe(a.events.length - snap.seq);
      const diverged = c.events.findIndex((e, i) => e !== a.events[snap.seq + i]);
      expect(diverged === -1 ? null : { at: snap.seq + diverged, want: a.events[snap.seq + diverged], got: c.events[diverged] }).toBeNull();
      expect(end).toEqual(a.summary);
    });

    it(`${name}: snapshot -> restore -> snapshot is the identity`, () => {
      const s = load(name);
      const a = reference(name);
      const { snap } = snapshotAt(s, Math.floor((a.points.length - 1) / 3));
      same(snap, snapshotMachine(restored(s, snap).m));
    });
  }

  it('pingpong: restoring at many points (including the very start) replays exactly', () => {
    const s = load('pingpong');
    const a = reference('pingpong');
    expect(a.points.length).toBeGreaterThan(1000);
    for (const k of [0, 1, 2, 3, 17, 600, 1234, a.points.length - 2]) {
      const { snap } = snapshotAt(s, k);
      expect(snap.seq).toBe(a.points[k]);
      const c = restored(s, snap);
      const end = c.m.run(s.maxInsns);
      expect(c.events).toEqual(a.events.slice(snap.seq));
      expect(end).toEqual(a.summary);
    }
  });

  it('vCPU state survives exactly, lazy flags included', () => {
    const s = load('timer');
    const { m } = machine(s);
    m.run(s.maxInsns, () => m.instructions > 0);
    const c = m.domains[0]!.vcpus[0]!.cpu;
    // 0x1 - 0x2 as 64-bit SUB: CF SF AF PF set, ZF OF clear (still lazy).
    setLazy(c, LOP.SUB, 8, 1, 0, 2, 0, 0xffffffff, 0xffffffff);
    c.setReg(13, 0x8000000000000001n);
    const r = restored(s, snapshotMachine(m)).m.domains[0]!.vcpus[0]!.cpu;
    expect(r.rflags).toBe(c.rflags);
    expect(r.rflags & 0x8d5).toBe(0x95);
    expect(r.getReg(13)).toBe(0x8000000000000001n);
    expect([r.rip, r.icount, r.cpl, [...r.sreg], r.mmu.cr3Pfn]).toEqual([c.rip, c.icount, c.cpl, [...c.sreg], c.mmu.cr3Pfn]);
  });

  it('x87/SSE state survives exactly; a snapshot from before the FPU existed restores the power-on state', () => {
    const s = load('timer');
    const { m } = machine(s);
    m.run(s.maxInsns, () => m.instructions > 0);
    const v = m.domains[0]!.vcpus[0]!;
    const c = v.cpu;
    c.xmm.forEach((_, k) => (c.xmm[k] = (k * 0x9e3779b9) >>> 0));
    c.mxcsr = 0x7f80 | 0x3f;
    c.x87.forEach((_, k) => (c.x87[k] = (k * 0x3779) & 0xffff));
    v.setCr0Ts(true);
    const snap = snapshotMachine(m);
    const r = restored(s, snap).m.domains[0]!.vcpus[0]!;
    expect([[...r.cpu.xmm], r.cpu.mxcsr, [...r.cpu.x87], r.cpu.ts, r.cr0Ts]).toEqual([[...c.xmm], c.mxcsr, [...c.x87], true, true]);
    // The same snapshot as an older build wrote it: no `fpu` in the vCPU's core state.
    const st = JSON.parse(Buffer.from(snap.stateJson).toString('utf8')) as { domains: Array<{ vcpus: Array<{ cpu: Record<string, unknown> }> }> };
    delete st.domains[0]!.vcpus[0]!.cpu.fpu;
    const old = restored(s, { ...snap, stateJson: new TextEncoder().encode(JSON.stringify(st)) }).m.domains[0]!.vcpus[0]!;
    expect([old.cpu.xmm.every((x) => x === 0), old.cpu.mxcsr, old.cpu.x87[0], old.cpu.ts]).toEqual([true, 0x1f80, 0x37f, true]);
  });

  it('a snapshot taken at the end restores a finished machine', () => {
    const s = load('hello');
    const { m } = machine(s);
    const summary = m.run(s.maxInsns);
    const snap = snapshotMachine(m);
    const c = restored(s, snap);
    expect(c.m.run(s.maxInsns)).toEqual(summary);
    expect(c.events).toEqual([]);
  });

  it('refuses a snapshot of another machine, or a damaged one', () => {
    const { snap } = snapshotAt(load('pingpong'), 100);
    expect(snap.seq).toBeGreaterThan(100);
    expect(() => restoreMachine(machine(load('hello')).m, snap)).toThrow(SnapshotError);
    expect(() => restoreMachine(machine(load('hello')).m, snap)).toThrow(/domains 1:ping\/1 2:pong\/1, this machine has 1:hello\/1/);
    const bad = { ...snap, stateJson: snap.stateJson.subarray(0, snap.stateJson.length - 1) };
    expect(() => restoreMachine(machine(load('pingpong')).m, bad)).toThrow(/not UTF-8 JSON/);
    const short = { ...snap, pages: snap.pages.map((p, i) => (i === 3 ? { mfn: p.mfn, data: p.data.subarray(0, 100) } : p)) };
    expect(() => restoreMachine(machine(load('pingpong')).m, short)).toThrow(/has 100 bytes/);
  });
});

/** The guest end of a xenstore ring page, for the transport test below. */
const REQ_PROD = 2052, RSP_CONS = 2056, RSP_PROD = 2060;
function put(page: DataView, b: Uint8Array): void {
  const prod = page.getUint32(REQ_PROD, true);
  b.forEach((x, i) => page.setUint8((prod + i) & 1023, x));
  page.setUint32(REQ_PROD, prod + b.length, true);
}
function take(page: DataView): string {
  const cons = page.getUint32(RSP_CONS, true), n = page.getUint32(RSP_PROD, true) - cons;
  let out = '';
  for (let i = 0; i < n; i++) out += String.fromCharCode(page.getUint8(1024 + ((cons + i) & 1023)));
  page.setUint32(RSP_CONS, cons + n, true);
  return out;
}
const roundTrip = <T>(v: T): T => decodeValue(JSON.parse(JSON.stringify(encodeValue(v, 'v'))) as Json, 'v') as T;

describe('service snapshots', () => {
  it('xenstored and its ring continue identically from a snapshot (open transaction, queued output, half a request)', () => {
    const store = new XenStore();
    xlTest(store, 1, 'one');
    const page = new DataView(new ArrayBuffer(4096));
    const ring = new XsRingServer(store, 1, false, page);
    const msg = (type: number, p: string, reqId: number, txId = 0): Uint8Array => encodeXsMsg({ type, reqId, txId, payload: bytes(p) });
    put(page, msg(XS.WATCH, 'data\0tok\0', 1));
    put(page, msg(XS.WRITE, `data/big\0${'x'.repeat(600)}`, 2));
    ring.service();
    expect(take(page)).toContain('tok\0');
    put(page, msg(XS.TRANSACTION_START, '\0', 3));
    ring.service();
    expect(take(page)).toMatch(/1\0$/);
    const tx = 1;
    put(page, msg(XS.WRITE, `data/in-tx\0v`, 4, tx));
    // Three 616-byte replies the guest does not read: more than the ring holds.
    for (let i = 0; i < 3; i++) put(page, msg(XS.READ, 'data/big\0', 10 + i));
    ring.service();
    const half = msg(XS.WRITE, 'attr/late\0z', 20);
    put(page, half.subarray(0, 10));
    ring.service();
    expect(ring.error).toBeNull();
    expect(store.eventsPending()).toEqual([]);
    expect(ring.snapshot().out.length).toBeGreaterThan(0);
    expect(ring.snapshot().hdrUsed).toBe(10);

    const store2 = new XenStore();
    store2.restore(roundTrip(store.snapshot()));
    const page2 = new DataView(page.buffer.slice(0));
    const ring2 = new XsRingServer(store2, 1, false, page2);
    ring2.restore(roundTrip(ring.snapshot()));
    expect(encodeValue(store2.snapshot(), 's')).toEqual(encodeValue(store.snapshot(), 's'));
    expect(encodeValue(ring2.snapshot(), 'r')).toEqual(encodeValue(ring.snapshot(), 'r'));

    // Both continue with the same guest actions.
    const rest = (pg: DataView, r: XsRingServer): string[] => {
      const seen = [take(pg)];
      put(pg, half.subarray(10));
      put(pg, msg(XS.TRANSACTION_END, 'T\0', 21, tx));
      seen.push(JSON.stringify(r.service().records), take(pg));
      for (let i = 0; i < 4; i++) seen.push(JSON.stringify(r.service().records), take(pg));
      return seen;
    };
    const a = rest(page, ring);
    const b = rest(page2, ring2);
    expect(b).toEqual(a);
    expect(a.join('')).toContain('attr/late');
    expect(a.join('')).toContain('data/in-tx');
    expect(encodeValue(store2.snapshot(), 's')).toEqual(encodeValue(store.snapshot(), 's'));
  });
});
