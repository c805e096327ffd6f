/**
 * The request dispatcher over a recorded pingpong, packet by packet as gdb
 * sends them: features, the target description and the `g` layout against
 * the replay's own registers, threads, memory with partial reads at the end
 * of a mapping, breakpoint and step replies both ways, monitor output,
 * refused writes and unknown packets.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { record } from '../record.js';
import { ReplaySession } from '../session.js';
import { Dispatcher } from './dispatch.js';
import { fromHex, toHex } from './packet.js';
import { GdbTarget } from './target.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = `${ROOT}build/gdb-unit`;
const TRACE = `${DIR}/pingpong.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), TRACE, { checkpointEvery: 2000 });
});

function open(): { d: Dispatcher; s: ReplaySession; ask: (p: string) => string } {
  const s = ReplaySession.open(TraceReader.open(TRACE));
  const d = new Dispatcher(new GdbTarget(s), (dom) => s.imagePath(dom));
  return { d, s, ask: (p) => d.handle(p).packets.join('|') };
}
const le64 = (hex: string): bigint => fromHex(hex)!.readBigUInt64LE(0);

describe.skipIf(!built)('gdb request dispatch', () => {
  it('offers reverse execution and the breakpoint stop reasons; no acks once asked', () => {
    const { d, ask } = open();
    const f = ask('qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386').split(';');
    for (const x of ['ReverseStep+', 'ReverseContinue+', 'swbreak+', 'hwbreak+', 'qXfer:features:read+', 'QStartNoAckMode+']) expect(f).toContain(x);
    expect(ask('QStartNoAckMode')).toBe('OK');
    expect(d.noAck).toBe(true);
    expect(ask('vCont?')).toBe('vCont;c;C;s;S');
    expect(ask('qAttached')).toBe('1');
    expect(ask('qXfer:exec-file:read::0,1000')).toBe(`l${ROOT}build/corpus/pv/pingpong.elf`);
  });

  it('describes x86-64 as gdb checks it, and lays out g in that order, from the replay\'s registers', () => {
    const { s, ask } = open();
    const xml = ask('qXfer:features:read:target.xml:0,100000').slice(1);
    expect(xml).toContain('<architecture>i386:x86-64</architecture>');
    const regs = [...xml.matchAll(/<reg name="(\w+)" bitsize="(\d+)"[^>]* regnum="(\d+)"/g)].map((m) => ({ name: m[1]!, bits: Number(m[2]), n: Number(m[3]) }));
    expect(regs.slice(0, 18).map((r) => r.name).join(' ')).toBe('rax rbx rcx rdx rsi rdi rbp rsp r8 r9 r10 r11 r12 r13 r14 r15 rip eflags');
    expect(regs.slice(24, 32).map((r) => r.name)).toEqual(['st0', 'st1', 'st2', 'st3', 'st4', 'st5', 'st6', 'st7']);
    // then org.gnu.gdb.i386.sse (xmm0-15, mxcsr) and the segment bases, in gdb's amd64 numbering
    expect(regs.findIndex((r) => r.name === 'xmm0')).toBe(40);
    expect(regs.findIndex((r) => r.name === 'mxcsr')).toBe(56);
    expect(regs.findIndex((r) => r.name === 'fs_base')).toBe(57);
    expect(regs.map((r) => r.n)).toEqual(regs.map((_, k) => k));
    // Windows of the document: m while more follows, l for the last.
    const part = ask('qXfer:features:read:target.xml:0,20');
    expect(part).toBe(`m${xml.slice(0, 0x20)}`);
    expect(ask(`qXfer:features:read:target.xml:${(xml.length - 5).toString(16)},100`)).toBe(`l${xml.slice(-5)}`);
    // g at a breakpoint stop, against the session's view.
    ask(`Z0,${s.symbolAddress(1, 'evtchn_send')!.addr.toString(16)},1`);
    expect(ask('vCont;c')).toMatch(/^T05thread:1;swbreak:;$/);
    const g = ask('g');
    expect(g.length).toBe(regs.reduce((n, r) => n + r.bits / 4, 0));
    const v = s.view().vcpus[0]!;
    let at = 0;
    const field: Record<string, string> = {};
    for (const r of regs) {
      field[r.name] = g.slice(at, at + r.bits / 4);
      at += r.bits / 4;
    }
    for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r15']) expect(le64(field[n]!), n).toBe(v.regs[n]);
    expect(le64(field.rip!)).toBe(v.rip);
    expect(fromHex(field.eflags!)!.readUInt32LE(0)).toBe(v.rflags);
    // the FPU as the guest left it: pingpong never used it, so FNINIT's state (FCW 0x37f, every register empty)
    expect(field.st0).toBe('0'.repeat(20));
    expect(fromHex(field.fctrl!)!.readUInt32LE(0)).toBe(0x37f);
    expect(fromHex(field.ftag!)!.readUInt32LE(0)).toBe(0xffff);
    expect(fromHex(field.mxcsr!)!.readUInt32LE(0)).toBe(0x1f80);
    expect(ask('p10')).toBe(field.rip);
    expect(ask('p7f')).toBe('E00');
  });

  it('lists every vCPU as a thread; Hg picks whose registers and memory gdb reads', () => {
    const { ask } = open();
    expect(ask('qfThreadInfo')).toBe('m1,2');
    expect(ask('qsThreadInfo')).toBe('l');
    expect(fromHex(ask('qThreadExtraInfo,2'))!.toString()).toBe('pong runnable kernel');
    expect(ask('qXfer:threads:read::0,1000')).toContain('<thread id="2" name="d2v0">pong runnable kernel</thread>');
    expect(ask('Hg2')).toBe('OK');
    expect(ask('qC')).toBe('QC2');
    expect(ask('T2')).toBe('OK');
    expect(ask('T9')).toBe('E01');
    expect(ask('Hg9')).toBe('E01');
  });

  it('reads memory through the thread\'s page tables, stopping at the first unmapped page', () => {
    const { s, ask } = open();
    const start = s.symbolAddress(1, '_start')!.addr;
    expect(ask(`m${start.toString(16)},4`)).toBe(toHex(s.readMemory(1, 0, start, 4)!));
    // The last mapped page above the kernel: a read across its end is cut there, one past it fails.
    let page = start & ~0xfffn;
    while (s.readMemory(1, 0, page + 0x1000n, 1) !== null) page += 0x1000n;
    const end = page + 0x1000n;
    expect(ask(`m${(end - 4n).toString(16)},10`)).toHaveLength(8);
    expect(ask(`m${end.toString(16)},10`)).toBe('E14');
  });

  it('steps a thread and its reverse; a step back from the start says so', () => {
    const { ask } = open();
    expect(ask('bs')).toBe('T05thread:1;replaylog:begin;');
    expect(ask('vCont;s:2;c')).toBe('T05thread:2;');
    expect(ask('g').slice(16 * 16, 16 * 16 + 16)).not.toBe('0000100000000000');
    expect(ask('Hc2')).toBe('OK');
    expect(ask('bs')).toBe('T05thread:2;');
    expect(le64(ask('p10'))).toBe(0x100000n);
    expect(ask('?')).toBe('T05thread:2;');
  });

  it('answers monitor commands in console output, refuses writes, and knows nothing of what it does not do', () => {
    const { d, ask } = open();
    const when = ask(`qRcmd,${toHex(Buffer.from('when'))}`).split('|');
    expect(when[1]).toBe('OK');
    expect(fromHex(when[0]!.slice(1))!.toString()).toMatch(/^event 0 of \d+ is next, virtual time 0\.000 us\n {2}d1v0 \(thread 1\) \* icount 0\n/);
    for (const p of ['M100000,1:90', 'X100000,1:\x90', 'P0=0000000000000000', 'G00']) expect(ask(p)).toMatch(/^E\.xenrr replays a recording/);
    expect(ask('Z3,104000,8')).toBe('OK');
    expect(ask('z3,104000,8')).toBe('OK');
    expect(ask('Z2,104000,100')).toMatch(/^E\.watch length 256/);
    expect(ask('qTStatus')).toBe('');
    expect(() => ask('mzz,4')).toThrow();
    expect(ask('vMustReplyEmpty')).toBe('');
    expect(d.handle('D').close).toBe(true);
  });
});
