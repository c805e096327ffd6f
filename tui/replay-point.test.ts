/**
 * The TUI's replay points on a recorded split-driver run with checkpoints:
 * the session's views whether a point is reached by seeking or by
 * stepping, the code bytes are guest memory from the start of RIP's symbol
 * (the kernel's text where it runs its own code, Xen's stubs in the
 * hypercall page), and `happened` says which of the recording's events lie
 * before a point.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { findImage, type FoundImage } from '../replay/images.js';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import { loadSymbols } from '../replay/symbols.js';
import { parseElf } from '../sim/elf.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { openPoints } from './replay-point.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/tui-test/`;
const PATH = `${DIR}ringpair-points.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/ringpair.elf`);
const json = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `0x${x.toString(16)}` : x));

describe.skipIf(!built)('replay points', () => {
  let reader: TraceReader;
  beforeAll(async () => {
    await initZstd();
    mkdirSync(DIR, { recursive: true });
    const file = `${ROOT}corpus/scenarios/ringpair.json`;
    await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), PATH, { checkpointEvery: 100 });
    reader = TraceReader.open(PATH);
  });
  const open = (): ReturnType<typeof openPoints> => openPoints(ReplaySession.open(reader), loadSymbols(reader.header));

  it('are the session\'s views, reached by seeking or by stepping', () => {
    expect(reader.index.checkpoints.length).toBeGreaterThan(2);
    const points = open();
    const other = ReplaySession.open(reader);
    const e = [...reader.events()][147]!;
    for (const seq of [3, 150, 147]) expect(json(points.at({ seq }).view)).toBe(json(other.seek(seq)));
    // From event 147: steps forward and back (the session's step/stepBack), then a far jump (a seek).
    for (const icount of [e.icount + 1, e.icount + 2, e.icount + 5, e.icount + 3, e.icount - 1, e.icount + 100_000]) {
      const p = points.at({ dom: e.dom, vcpu: e.vcpu, icount });
      expect(json(p.view), `icount ${icount}`).toBe(json(other.seekIcount(e.dom, e.vcpu, icount)));
      expect(p.view.vcpus.find((v) => v.dom === e.dom && v.vcpu === e.vcpu)!.icount).toBe(icount);
    }
  });

  it('say how many of the recording\'s events happened: an event includes itself, an instruction point stops before the instruction\'s events', () => {
    const points = open();
    const evs = [...reader.events()];
    expect(points.at({ seq: 150 }).happened).toBe(151);
    // The first blkif notify: its events carry the icount of the instruction (a syscall) that caused them.
    const ring = evs.find((e) => e.kind === 'ring' && e.ring === 'blkif')!;
    const same = evs.filter((e) => e.dom === ring.dom && e.vcpu === ring.vcpu && e.icount === ring.icount);
    expect(points.at({ dom: ring.dom, vcpu: ring.vcpu, icount: ring.icount }).happened).toBe(same[0]!.seq);
    const after = points.at({ dom: ring.dom, vcpu: ring.vcpu, icount: ring.icount + 1 }).happened;
    expect(after).toBeGreaterThan(same.at(-1)!.seq);
    expect(evs.slice(0, after).filter((e) => e.dom === ring.dom && e.vcpu === ring.vcpu && e.icount > ring.icount)).toEqual([]);
  });

  it('read the code around RIP from guest memory, from the start of its symbol', () => {
    const syms = loadSymbols(reader.header);
    const points = open();
    const elfBytes = (findImage(reader.header, 0) as FoundImage).bytes;
    const elf = parseElf(elfBytes);
    const text = elf.sections.find((s) => s.name === '.text')!;
    const inText = (a: bigint): boolean => a >= text.addr && a < text.addr + BigInt(text.size);
    // Every event of d1 is raised in the hypercall page, whose stubs Xen wrote at boot (the ELF has zeros there).
    const e = [...reader.events()].filter((x) => x.dom === 1)[20]!;
    let p = points.at({ seq: e.seq });
    const stub = p.code.get('d1v0')!;
    expect(syms.get(1)!(stub.addr)).toMatchObject({ name: 'hypercall_page', offset: 0 });
    expect(stub.bytes.some((b) => b !== 0)).toBe(true);
    // A few instructions later d1 is back in its own text: the bytes there are the ELF's.
    for (let k = 1; k < 8 && !inText(p.view.vcpus[0]!.rip); k++) p = points.at({ dom: 1, vcpu: 0, icount: e.icount + k });
    const v = p.view.vcpus.find((x) => x.dom === 1)!;
    expect(inText(v.rip)).toBe(true);
    const c = p.code.get('d1v0')!;
    expect(c.addr).toBe(v.rip - BigInt(syms.get(1)!(v.rip)!.offset));
    expect(c.addr + BigInt(c.bytes.length)).toBe(v.rip + 96n);
    const off = Number(text.offset) + Number(c.addr - text.addr);
    expect(Buffer.from(c.bytes).equals(elfBytes.subarray(off, off + c.bytes.length))).toBe(true);
  });

  it('run a watch typed as the prompt takes it: where the frontend ring\'s private producer first moves', () => {
    const points = open();
    const r = points.watch('1.0:front:4', { dom: 1, vcpu: 0, icount: 0 }, false);
    expect(r.at?.dom).toBe(1);
    expect(r.message).toMatch(/^front 0x0 -> 0x[0-9a-f]+ by d1v0 \w+\+0x[0-9a-f]+$/);
    const addr = points.session.symbolAddress(1, 'front')!.addr;
    const now = (): string => `0x${points.session.readMemory(1, 0, addr, 4)!.reduceRight((v, x) => (v << 8n) | BigInt(x), 0n).toString(16)}`;
    // Forward, the session is just after the change (the new value); back from there, just before it (the old one).
    expect(now()).toBe(r.message.split(' ')[3]);
    const back = points.watch('1.0:front:4', r.at!, true);
    expect(back.at).toEqual({ ...r.at!, icount: r.at!.icount - 1 });
    expect(now()).toBe('0x0');
    expect(points.watch('1.0:front:4', back.at!, true).message).toBe('front: no change before this point');
    expect(() => points.watch('1.0:no_such_symbol', { dom: 1, vcpu: 0, icount: 0 }, false)).toThrow(/no symbol/);
  });

  it('run to code breakpoints typed as the prompt takes them, both ways; the point shows the vCPU about to execute it', () => {
    const points = open();
    expect(points.checkBreak('evtchn_send')).toBeNull();
    expect(points.checkBreak('1:no_such_symbol')).toMatch(/^break 1:no_such_symbol: no symbol 'no_such_symbol'/);
    const first = points.run(['evtchn_send'], { seq: 0 }, false);
    expect(first.message).toMatch(/^breakpoint at evtchn_send\+0x0: d\dv0 about to execute it$/);
    const a = first.at!;
    const p = points.at(a);
    expect(p.view.vcpus.find((v) => v.dom === a.dom)!.rip).toBe(points.session.symbolAddress(a.dom, 'evtchn_send')!.addr);
    expect(p.happened).toBe(first.happened);
    const second = points.run(['evtchn_send'], a, false);
    expect(second.happened).toBeGreaterThan(first.happened);
    expect(points.run(['evtchn_send'], second.at!, true).at).toEqual(a);
    expect(points.run(['evtchn_send'], a, true)).toMatchObject({ at: null, message: 'no breakpoint before this point' });
  });
});
