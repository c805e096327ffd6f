/**
 * Watchpoints against a recorded pingpong: the change found is exactly one
 * instruction (memory after it holds the new bytes, one step back the old),
 * forward and backward searches agree, and a change Xen makes (an event
 * channel's pending bit, set by the other domain's EVTCHNOP_send) is placed
 * at that domain's hypercall.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { disassemble } from '../sim/cpu/disasm.js';
import { parseScenario } from '../sim/scenario.js';
import { shared_info } from '../sim/xen/public/xen.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { UsageError } from './cli/errors.js';
import { parseWatch, watchPoint, watchReport } from './cli/watch.js';
import { record } from './record.js';
import { ReplaySession, type WatchHit, type WatchSpec } from './session.js';
import { symbolize } from './symbols.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/watch-test`;
const TRACE = `${DIR}/pingpong.xrr`;
/** the same run without checkpoints: every backward watch scans from the start */
const PLAIN = `${DIR}/pingpong-plain.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const open = (): ReplaySession => ReplaySession.open(TraceReader.open(TRACE));
const u64 = (b: Uint8Array): bigint => new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  const scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  await record(scenario, TRACE, { checkpointEvery: 2000 });
  await record(scenario, PLAIN, { checkpointEvery: 0 });
});

/** The hit's instruction, disassembled from the guest at the cursor. */
function insn(s: ReplaySession, hit: WatchHit): string {
  const a = hit.at!;
  return disassemble(s.readMemory(a.dom, a.vcpu, a.rip, 15)!, a.rip, () => null, 1)[0]!.text;
}

describe.skipIf(!built)('watchpoints', () => {
  it('finds the instruction that changes a variable, forward and back, and leaves the cursor just after it', () => {
    const s = open();
    const sym = s.symbolAddress(1, 'received')!;
    expect(sym.size).toBe(8);
    const w: WatchSpec = { dom: 1, vcpu: 0, va: sym.addr, len: 8 };
    const first = s.watch(w, { dom: 1, vcpu: 0, icount: 0 }, 'forward')!;
    expect([u64(first.before), u64(first.after)]).toEqual([0n, 1n]);
    expect(first.how).toBe('instruction');
    expect(first.at!.dom).toBe(1);
    expect(symbolize(s.symbols, 1, first.at!.rip)).toMatch(/^ping_event\+/);
    expect(insn(s, first)).toMatch(/^mov\s+%r\w+,/);
    // Exactly that instruction: after it the new value, one instruction back the old one.
    expect(s.readMemory(1, 0, sym.addr, 8)).toEqual(first.after);
    expect(s.position.vcpus.find((v) => v.dom === 1)!.icount).toBe(first.at!.icount);
    s.stepBack(1, 0);
    expect(s.readMemory(1, 0, sym.addr, 8)).toEqual(first.before);

    const second = s.watch(w, first.at!, 'forward')!;
    expect([u64(second.before), u64(second.after)]).toEqual([1n, 2n]);
    expect(second.at!.icount).toBeGreaterThan(first.at!.icount);
    // Backward from a change's own point finds it; from just before, the one before (none for the first).
    expect(s.watch(w, second.at!, 'backward')).toEqual(second);
    // Going back, the cursor stops just before the instruction (as gdb's reverse-continue): the old value.
    expect(s.position.vcpus.find((v) => v.dom === 1)!.icount).toBe(second.at!.icount - 1);
    expect(s.readMemory(1, 0, sym.addr, 8)).toEqual(second.before);
    expect(s.watch(w, { ...second.at!, icount: second.at!.icount - 1 }, 'backward')).toEqual(first);
    expect(s.watch(w, { ...first.at!, icount: first.at!.icount - 1 }, 'backward')).toBeNull();
    const last = s.watch(w, { dom: 1, vcpu: 0, icount: Number.MAX_SAFE_INTEGER }, 'backward')!;
    expect([u64(last.before), u64(last.after)]).toEqual([999n, 1000n]);
    expect(s.watch(w, last.at!, 'forward')).toBeNull();
  });

  it("places Xen's write of an event channel's pending bit at the other domain's EVTCHNOP_send", () => {
    const s = open();
    // Late enough that dom1 mapped shared_info: after its first event arrived.
    const received = s.symbolAddress(1, 'received')!;
    const from = s.watch({ dom: 1, vcpu: 0, va: received.addr, len: 8 }, { dom: 1, vcpu: 0, icount: 0 }, 'forward')!.at!;
    const si = u64(s.readMemory(1, 0, s.symbolAddress(1, 'HYPERVISOR_shared_info')!.addr, 8)!);
    const w: WatchSpec = { dom: 1, vcpu: 0, va: si + BigInt(shared_info.evtchn_pending), len: 8 };
    const set = s.watch(w, from, 'forward')!;
    expect(u64(set.after) & ~u64(set.before)).not.toBe(0n);
    expect(set.at!.dom).toBe(2);
    expect(insn(s, set)).toBe('syscall');
    const e = s.event()!;
    expect([e.kind, e.dom, e.kind === 'hypercall' ? e.subName : '']).toEqual(['hypercall', 2, 'EVTCHNOP_send']);
    // And dom1 clears it again with a locked bit instruction in its upcall handler.
    const cleared = s.watch(w, set.at!, 'forward')!;
    expect(u64(cleared.before) & ~u64(cleared.after)).not.toBe(0n);
    expect(cleared.at!.dom).toBe(1);
    expect(insn(s, cleared)).toMatch(/^lock btr/);
  });

  it('going back walks checkpoint stretches to a change far behind, and finds what a scan from the start finds', () => {
    const s = open();
    expect(s.reader.index.checkpoints.length).toBeGreaterThan(4);
    const plain = ReplaySession.open(TraceReader.open(PLAIN));
    // `rounds` is written once, early (ping reads it from xenstore): every stretch after it holds no change.
    const rounds = s.symbolAddress(1, 'rounds')!;
    const w: WatchSpec = { dom: 1, vcpu: 0, va: rounds.addr, len: 8 };
    const end = { dom: 1, vcpu: 0, icount: Number.MAX_SAFE_INTEGER };
    const once = s.watch(w, end, 'backward')!;
    expect(u64(once.after)).toBe(1000n);
    expect(s.watch(w, { dom: 1, vcpu: 0, icount: 0 }, 'forward')).toEqual(once);
    expect(plain.watch(w, end, 'backward')).toEqual(once);
    // And from points between checkpoints, for a variable that changes all the time.
    const received = s.symbolAddress(1, 'received')!;
    for (const icount of [60_000, 123_457, 200_001]) {
      const r: WatchSpec = { dom: 1, vcpu: 0, va: received.addr, len: 8 };
      const hit = s.watch(r, { dom: 1, vcpu: 0, icount }, 'backward');
      expect(hit?.at?.icount, `icount ${icount}`).toBeLessThanOrEqual(icount);
      expect(hit, `icount ${icount}`).toEqual(plain.watch(r, { dom: 1, vcpu: 0, icount }, 'backward'));
    }
  });

  it('parses --watch and --to as a user writes them, and rejects bad ones with one line', () => {
    const s = open();
    const received = s.symbolAddress(1, 'received')!;
    expect(parseWatch(s, '1.0:received').spec).toEqual({ dom: 1, vcpu: 0, va: received.addr, len: 8 });
    expect(parseWatch(s, '1.0:received+4:4').spec).toEqual({ dom: 1, vcpu: 0, va: received.addr + 4n, len: 4 });
    expect(parseWatch(s, '2.0:0x10a800').spec).toEqual({ dom: 2, vcpu: 0, va: 0x10a800n, len: 8 });
    for (const bad of ['received', '1.0:', '1.0:nosuchsymbol', '1:0x10', '9.0:0x1000']) expect(() => parseWatch(s, bad)).toThrow(UsageError);
    expect(() => watchPoint(s, 'icount:3.1:5', { dom: 1, vcpu: 0, va: 0n, len: 8 }, false)).toThrow('--to icount:3.1:5: no vCPU 3.1 in this trace (it has 1.0, 2.0)');
    expect(() => s.watch({ dom: 1, vcpu: 0, va: 0x10a800n, len: 65 }, { dom: 1, vcpu: 0, icount: 0 }, 'forward')).toThrow(/1\.\.64 bytes/);
    expect(() => s.watch({ dom: 1, vcpu: 0, va: 0x7fff00000000n, len: 8 }, { dom: 1, vcpu: 0, icount: 1000 }, 'forward')).toThrow(/not mapped/);
    const w = parseWatch(s, '1.0:received').spec;
    expect(watchPoint(s, undefined, w, false)).toEqual({ dom: 1, vcpu: 0, icount: 0 });
    expect(watchPoint(s, 'icount:2.0:500', w, true)).toEqual({ dom: 2, vcpu: 0, icount: 500 });
    const e = s.eventAt(2005)!;
    expect(watchPoint(s, '2005', w, false)).toEqual({ dom: e.dom, vcpu: e.vcpu, icount: e.icount });
    expect(() => watchPoint(s, 'later', w, false)).toThrow(UsageError);
    // The report names the instruction and the values.
    const hit = s.watch(w, { dom: 1, vcpu: 0, icount: 0 }, 'forward');
    const text = watchReport(s, 'received', w, { dom: 1, vcpu: 0, icount: 0 }, false, hit);
    expect(text).toMatch(/0 -> 1 as a little-endian number/);
    expect(text).toMatch(/ping_event\+0x[0-9a-f]+\s+mov\s/);
  });
});
