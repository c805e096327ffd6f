/**
 * The lower panes (detail, state with disassembly, rings, console),
 * instruction stepping, help, and diff mode, with exact frames on synthetic
 * traces (the replay behind the state pane faked); the state pane also on a
 * recorded guest.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diffTraces } from '../replay/diff.js';
import { findImage, type FoundImage } from '../replay/images.js';
import { record } from '../replay/record.js';
import { ReplaySession, type MachineView } from '../replay/session.js';
import type { Symbolizer } from '../sim/elf.js';
import { loadSymbols } from '../replay/symbols.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { DiffApp } from './diff-app.js';
import { KEY, openApp, tick, writeKeys, type Harness } from './harness.js';
import { openPoints, type CodeBytes, type Point, type PointSource, type PointTarget } from './replay-point.js';
import { TimelineSource } from './source.js';
import { writeSynthetic } from './test-trace.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/tui-test/`;
const TRACE = `${DIR}panes.xrr`;
let h: Harness | null = null;
const trimmed = (x: { lines(): string[] }): string[] => x.lines().map((l) => l.trimEnd());
const TOP5 = [
  ' seq     time(us) where kind    symbol             summary',
  '       0       0.500 d1v0 hcall   0x400000           SCHEDOP_yield -> 0',
  '       1       1.500 d2v0 hcall   0x400010           SCHEDOP_yield -> 0',
  '       2       2.500 d1v0 hcall   0x400020           EVTCHNOP_send port=3 -> 0',
  '       3       3.500 d2v0 hcall   0x400030           EVTCHNOP_send port=4 -> 0',
  '       4       4.500 d1v0 send    0x400040           send port=3 -> dom2:4',
];
const HINTS = '? help  / search  f filter  : goto  b c s w  Tab pane  q quit';

const VIEW: MachineView = {
  seq: 3, time: 3500,
  vcpus: [{ dom: 2, vcpu: 0, regs: { rax: 0x1dn, rbx: 0n, rcx: 0x400030n, rdx: 0n, rsi: 0x2000n, rdi: 4n, rbp: 0n, rsp: 0x7ff0n, r8: 0n, r9: 0n, r10: 0n, r11: 0x246n, r12: 0n, r13: 0n, r14: 0n, r15: 0xffn }, rip: 0x400030n, rflags: 0x246, kernelMode: true, state: 'running', icount: 300 }],
  ports: [{ dom: 1, pending: [3], masked: [], bound: [3] }, { dom: 2, pending: [], masked: [1], bound: [1, 4] }],
  rings: [{ kind: 'console', dom: 2, backDom: 0, gref: 0, port: 1, reqProd: 12, rspProd: 0 }],
  console: [],
};
/**
 * A fake replay: the view above at any event; at an instruction point the
 * vCPU has that count, and `happened(icount)` events have been emitted.
 */
function fakePoints(targets: PointTarget[], code = new Map<string, CodeBytes>(), happened = (_icount: number): number => 0): () => PointSource {
  return () => ({
    at: (t: PointTarget): Point => {
      targets.push(t);
      if ('seq' in t) return { view: { ...VIEW, seq: t.seq }, code, happened: t.seq + 1 };
      return { view: { ...VIEW, seq: happened(t.icount), vcpus: [{ ...VIEW.vcpus[0]!, icount: t.icount }] }, code, happened: happened(t.icount) };
    },
  });
}
/** A hypercall page stub of d2 at 0x500000 (symbol `stub`), the vCPU just after its syscall. */
const STUB = Uint8Array.from([0x51, 0x41, 0x53, 0xb8, 0x20, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3, 0xe8, 0xed, 0xff, 0xff, 0xff, 0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, 0xcc]);
const stubSym: Symbolizer = (a) => (a >= 0x500000n && a < 0x500040n ? { name: 'stub', offset: Number(a - 0x500000n), symbol: null as never } : null);
const AT_STUB: MachineView = { ...VIEW, vcpus: [{ ...VIEW.vcpus[0]!, rip: 0x50000an }] };

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  writeSynthetic(TRACE, 40, 8);
});
afterEach(() => {
  h?.unmount();
  h = null;
});

describe('lower panes', () => {
  it('Enter shows every field of the selected event, and hides it again', async () => {
    const x = (h = await openApp(TRACE));
    await x.press(KEY.down, KEY.down, KEY.down, KEY.enter);
    expect(trimmed(x)).toEqual([
      ...TOP5,
      '── detail: event 3 ─────────────────────────────────────────────────────────────',
      'seq=3  time=3500ns  dom=2  vcpu=0  icount=300  rip=0x400030  kind=hypercall',
      'op=32  sub=4  name="event_channel_op"  subName="EVTCHNOP_send"  result=0',
      'args=[0x4,0x2000,0x0,0x0,0x0]  decoded.port=4  caller=0x0',
      '',
      `3/40  ${HINTS}`,
    ]);
    await x.press(KEY.enter);
    expect(trimmed(x)).toHaveLength(12);
    expect(trimmed(x)[10]).toBe('       9       9.500 d2v0 console 0x400090           console "line 9 of d2\\n"');
  });

  it('Tab cycles detail, state, rings, console and none; the state pane seeks the selected event', async () => {
    const seeks: PointTarget[] = [];
    const x = (h = await openApp(TRACE, { openPoints: fakePoints(seeks) }));
    await x.press(KEY.down, KEY.down, KEY.down, KEY.tab);
    expect(trimmed(x)[6]).toBe('── detail: event 3 ─────────────────────────────────────────────────────────────');
    await x.press(KEY.tab);
    await x.settled();
    expect(trimmed(x)).toEqual([
      ...TOP5,
      '── state of d2v0 at event 3 ────────────────────────────────────────────────────',
      'd2v0 running kernel icount=300 rip=0x400030 0x400030',
      'rax=0x1d  rbx=0x0  rcx=0x400030  rdx=0x0  rsi=0x2000  rdi=0x4  rbp=0x0',
      'rsp=0x7ff0  r8=0x0  r9=0x0  r10=0x0  r11=0x246  r12=0x0  r13=0x0  r14=0x0',
      '... 2 more lines',
      `3/40  ${HINTS}`,
    ]);
    expect(seeks).toEqual([{ seq: 3 }]);
    await x.rerender({ rows: 24 });
    expect(trimmed(x).slice(12, 23)).toEqual([
      '── state of d2v0 at event 3 ────────────────────────────────────────────────────',
      'd2v0 running kernel icount=300 rip=0x400030 0x400030',
      'rax 000000000000001d rbx 0000000000000000 rcx 0000000000400030',
      'rdx 0000000000000000 rsi 0000000000002000 rdi 0000000000000004',
      'rbp 0000000000000000 rsp 0000000000007ff0  r8 0000000000000000',
      ' r9 0000000000000000 r10 0000000000000000 r11 0000000000000246',
      'r12 0000000000000000 r13 0000000000000000 r14 0000000000000000',
      'r15 00000000000000ff rflags 0x246 PF ZF IF',
      'evtchn d1 pending 3 masked - | d2 pending - masked 1',
      'rings  console@d2 req 12 rsp 0',
      '',
    ]);
    await x.press(KEY.tab);
    await x.settled();
    expect(trimmed(x).slice(12)).toEqual([
      '── rings at event 3 ────────────────────────────────────────────────────────────',
      'console d2->d0 port 1  req prod 12  rsp prod 0  (no traffic yet)',
      ...Array<string>(9).fill(''),
      `3/40  ${HINTS}`,
    ]);
    await x.press(KEY.tab);
    expect(trimmed(x).slice(12)).toEqual([
      '── console up to event 3 ───────────────────────────────────────────────────────',
      '(no console output up to here)',
      ...Array<string>(9).fill(''),
      `3/40  ${HINTS}`,
    ]);
    await x.press(KEY.tab);
    expect(trimmed(x)[12]).toBe('      11      11.500 d2v0 xs      0x4000b0           XS_READ /local/domain/2/na~');
    expect(seeks).toEqual([{ seq: 3 }]);
  });

  it('the state pane says "seeking..." until the seek is done, and why it cannot seek', async () => {
    const x = (h = await openApp(TRACE, { openPoints: fakePoints([]), seekDelay: 1e9 }));
    await x.press(KEY.tab, KEY.tab);
    expect(trimmed(x).slice(6, 8)).toEqual(['── state of d1v0 at event 0 ────────────────────────────────────────────────────', 'seeking...']);
    x.unmount();
    const y = (h = await openApp(TRACE, { openPoints: () => { throw new Error("image for domain 'a' not found: /nonexistent/a.elf"); } }));
    await y.press(KEY.tab, KEY.tab);
    await y.settled();
    expect(trimmed(y).slice(6, 8)).toEqual(['── state of d1v0 at event 0 ────────────────────────────────────────────────────', "state unavailable: image for domain 'a' not found: /nonexistent/a.elf"]);
  });

  it('the console pane shows each domain\'s output up to the selected event', async () => {
    const x = (h = await openApp(TRACE));
    await x.press(':');
    await x.type('30');
    await x.press(KEY.tab, KEY.tab, KEY.tab, KEY.tab);
    expect(trimmed(x).slice(6)).toEqual([
      '── console up to event 30 ──────────────────────────────────────────────────────',
      '[a] line 8 of d1',
      '[a] line 24 of d1',
      '[d2] line 9 of d2',
      '[d2] line 25 of d2',
      `30/40  ${HINTS}`,
    ]);
    await x.press(':');
    await x.type('24');
    expect(trimmed(x).slice(7, 10)).toEqual(['[a] line 8 of d1', '[a] line 24 of d1', '[d2] line 9 of d2']);
  });

  it('the console pane shows console_io output as Xen prints it, (dN), joined across writes, in order', async () => {
    const LOG = `${DIR}console-io.xrr`;
    // d1's line 8 arrives on console_io in two writes (events 8 and 24); d2's stay on its PV console.
    writeSynthetic(LOG, 40, 8, (e) => (e.kind === 'console' && e.dom === 1 ? { ...e, source: 'console_io', text: e.seq === 8 ? 'early: ' : 'mapping kernel\n' } : e));
    const x = (h = await openApp(LOG));
    await x.press(':');
    await x.type('30');
    await x.press(KEY.tab, KEY.tab, KEY.tab, KEY.tab);
    expect(trimmed(x).slice(6, 10)).toEqual([
      '── console up to event 30 ──────────────────────────────────────────────────────',
      '(d1) early: mapping kernel',
      '[d2] line 9 of d2',
      '[d2] line 25 of d2',
    ]);
  });

  it('? shows the keys; Esc closes it', async () => {
    const x = (h = await openApp(TRACE));
    await x.press('?');
    expect(trimmed(x)).toEqual([
      '── help ────────────────────────────────────────────────────────────────────────',
      '↑/↓ k/j  move        PgUp/PgDn  page       Home/End g/G  first/last',
      'Enter    detail pane  Tab  next lower pane (detail, state, rings, console)',
      '/        search summaries          n/N  next/previous match',
      'f        filter: dom=N vcpu=N kind=K name=HYPERCALL (empty clears)',
      ':        go to sequence number, or t<ns> for virtual time',
      "b/B      breakpoint: this event's kind / code ADDRESS|SYMBOL  c/C  next/prev hit",
      's/S      step / reverse-step one instruction of this vCPU (state pane)',
      'v/V      next/previous event of this vCPU',
      'w/W      watch memory D.V:ADDRESS|SYMBOL[:LEN]: go to its next / last change',
      '?        this help (Esc closes)       q  quit',
      `0/40  ${HINTS}`,
    ]);
    await x.press(KEY.esc);
    expect(trimmed(x).slice(0, 6)).toEqual(TOP5);
  });
});

describe('disassembly, instruction stepping and rings', () => {
  const withStub = (): TimelineSource => new TimelineSource(TraceReader.open(TRACE), new Map([[2, stubSym]]));
  const stubPoints = (targets: PointTarget[], happened?: (icount: number) => number): (() => PointSource) => {
    const open = fakePoints(targets, new Map([['d2v0', { addr: 0x500000n, bytes: STUB }]]), happened);
    return () => {
      const ps = open();
      return { at: (t) => ({ ...ps.at(t), view: { ...AT_STUB, ...('seq' in t ? { seq: t.seq } : { vcpus: [{ ...AT_STUB.vcpus[0]!, icount: t.icount }] }) } }) };
    };
  };

  it('the state pane shows the instructions around RIP, the current one marked, with packed registers when short of rows', async () => {
    const x = (h = await openApp(TRACE, { source: withStub(), openPoints: stubPoints([]), rows: 24 }));
    await x.press(KEY.down, KEY.down, KEY.down, KEY.tab, KEY.tab);
    await x.settled();
    expect(trimmed(x).slice(12)).toEqual([
      '── state of d2v0 at event 3 ────────────────────────────────────────────────────',
      'd2v0 running kernel icount=300 rip=0x50000a stub+0xa',
      '   0x500003 <+0x3>  mov    $0x20,%eax',
      '   0x500008 <+0x8>  syscall',
      '=> 0x50000a <+0xa>  pop    %r11',
      '   0x50000c <+0xc>  pop    %rcx',
      '   0x50000d <+0xd>  ret',
      'rax=0x1d  rbx=0x0  rcx=0x400030  rdx=0x0  rsi=0x2000  rdi=0x4  rbp=0x0',
      'rsp=0x7ff0  r8=0x0  r9=0x0  r10=0x0  r11=0x246  r12=0x0  r13=0x0  r14=0x0',
      'r15=0xff  rflags=0x246 PF ZF IF',
      'evtchn d1 pending 3 masked - | d2 pending - masked 1',
      `3/40  ${HINTS}`,
    ]);
  });

  it('with more rows: more instructions and one column per register', async () => {
    const x = (h = await openApp(TRACE, { source: withStub(), openPoints: stubPoints([]), rows: 40 }));
    await x.press(KEY.down, KEY.down, KEY.down, KEY.tab, KEY.tab);
    await x.settled();
    expect(trimmed(x).slice(20)).toEqual([
      '── state of d2v0 at event 3 ────────────────────────────────────────────────────',
      'd2v0 running kernel icount=300 rip=0x50000a stub+0xa',
      '   0x500001 <+0x1>   push   %r11',
      '   0x500003 <+0x3>   mov    $0x20,%eax',
      '   0x500008 <+0x8>   syscall',
      '=> 0x50000a <+0xa>   pop    %r11',
      '   0x50000c <+0xc>   pop    %rcx',
      '   0x50000d <+0xd>   ret',
      '   0x50000e <+0xe>   call   500000 <stub>',
      '   0x500013 <+0x13>  mov    0x10(%rip),%rax        # 50002a <stub+0x2a>',
      '   0x50001a <+0x1a>  int3',
      'rax 000000000000001d rbx 0000000000000000 rcx 0000000000400030',
      'rdx 0000000000000000 rsi 0000000000002000 rdi 0000000000000004',
      'rbp 0000000000000000 rsp 0000000000007ff0  r8 0000000000000000',
      ' r9 0000000000000000 r10 0000000000000000 r11 0000000000000246',
      'r12 0000000000000000 r13 0000000000000000 r14 0000000000000000',
      'r15 00000000000000ff rflags 0x246 PF ZF IF',
      'evtchn d1 pending 3 masked - | d2 pending - masked 1',
      'rings  console@d2 req 12 rsp 0',
      `3/40  ${HINTS}`,
    ]);
  });

  it('s/S step one instruction of the selected vCPU: the state pane follows, the status shows the instruction count', async () => {
    const targets: PointTarget[] = [];
    // Up to icount 300 two events of d2 have been emitted (seqs 0, 1), from 301 on eight (0..7).
    const x = (h = await openApp(TRACE, { source: withStub(), openPoints: stubPoints(targets, (n) => (n > 300 ? 8 : 2)), rows: 24 }));
    await x.press(KEY.down, KEY.down, KEY.down, 's');
    await x.settled();
    expect(x.status()).toBe(`icount d2v0:301  ${HINTS}`);
    expect(trimmed(x).slice(12, 14)).toEqual(['── state of d2v0 at icount 301 ─────────────────────────────────────────────────', 'd2v0 running kernel icount=301 rip=0x50000a stub+0xa']);
    await x.press('s');
    await x.settled();
    expect(x.status()).toBe(`icount d2v0:302  ${HINTS}`);
    await x.press('S', 'S', 'S');
    await x.settled();
    expect(x.status()).toBe(`icount d2v0:299  ${HINTS}`);
    // Every point on the way is computed once, in order.
    expect(targets).toEqual([{ dom: 2, vcpu: 0, icount: 301 }, { dom: 2, vcpu: 0, icount: 302 }, { dom: 2, vcpu: 0, icount: 301 }, { dom: 2, vcpu: 0, icount: 300 }, { dom: 2, vcpu: 0, icount: 299 }]);
    // The selection followed the point: the last event of d2v0 before it.
    await x.press(KEY.enter);
    expect(trimmed(x)[12]).toBe('── detail: event 1 ─────────────────────────────────────────────────────────────');
    expect(x.status()).toBe(`icount d2v0:299  ${HINTS}`);
    // After stepping forward past event 7 (d2's send), the selection is there; moving it returns to events.
    await x.press('s', 's', 's');
    await x.settled();
    expect(x.status()).toBe(`icount d2v0:302  ${HINTS}`);
    await x.press(KEY.enter);
    expect(trimmed(x)[12]).toBe('── detail: event 7 ─────────────────────────────────────────────────────────────');
    await x.press(KEY.down);
    expect(x.status()).toBe(`8/40  ${HINTS}`);
  });

  it('w/W run a watch on the replay from the selected event (or point); the state pane goes to the change', async () => {
    const targets: PointTarget[] = [];
    const asked: Array<[string, { dom: number; vcpu: number; icount: number }, boolean]> = [];
    const base = fakePoints(targets);
    const open = (): PointSource => ({
      ...base(),
      watch: (text, from, backward) => {
        asked.push([text, from, backward]);
        return { at: { dom: 2, vcpu: 0, icount: backward ? 250 : 301 }, message: `x 00 -> 01 by d2v0 (${backward ? 'last' : 'next'})` };
      },
    });
    const x = (h = await openApp(TRACE, { openPoints: open, rows: 24 }));
    await x.press(KEY.down, KEY.down, KEY.down, 'w');
    expect(x.status()).toBe('watch DOM.VCPU:ADDRESS|SYMBOL[:LEN] (next change): █');
    await x.type('2.0:0x100');
    await x.settled();
    // From just before the instruction that raised event 3 (d2v0, icount 300).
    expect(asked).toEqual([['2.0:0x100', { dom: 2, vcpu: 0, icount: 300 }, false]]);
    expect(x.status()).toBe('icount d2v0:301  x 00 -> 01 by d2v0 (next)');
    expect(trimmed(x)[12]).toBe('── state of d2v0 at icount 301 ─────────────────────────────────────────────────');
    // W offers the last watch again, and runs it backward from the point.
    await x.press('W');
    expect(x.status()).toBe('watch DOM.VCPU:ADDRESS|SYMBOL[:LEN] (last change): 2.0:0x100█');
    await x.press(KEY.enter);
    await x.settled();
    expect(asked[1]).toEqual(['2.0:0x100', { dom: 2, vcpu: 0, icount: 301 }, true]);
    expect(x.status()).toBe('icount d2v0:250  x 00 -> 01 by d2v0 (last)');
  });

  it('B sets a code breakpoint once the replay accepts it; c/C run the replay to it, from the selected event or point', async () => {
    const asked: Array<[readonly string[], PointTarget, boolean]> = [];
    const base = fakePoints([]);
    const open = (): PointSource => ({
      ...base(),
      checkBreak: (text) => (text === 'nosuch' ? "break nosuch: no symbol 'nosuch' in any domain's image" : null),
      run: (breaks, from, backward) => {
        asked.push([breaks, from, backward]);
        return { at: { dom: 2, vcpu: 0, icount: backward ? 200 : 400, late: true }, message: `breakpoint at f+0x0: d2v0 about to execute it (${backward ? 'back' : 'on'})`, happened: 5 };
      },
    });
    const x = (h = await openApp(TRACE, { openPoints: open, rows: 24 }));
    await x.press(KEY.down, KEY.down, KEY.down, 'B');
    expect(x.status()).toBe('break at [DOM[.VCPU]:]ADDRESS|SYMBOL[+OFF] (one set: removes it): █');
    await x.type('nosuch');
    await x.settled();
    expect(x.status()).toBe("3/40  break nosuch: no symbol 'nosuch' in any domain's image");
    await x.press('B');
    await x.type('2:f');
    await x.settled();
    expect(x.status()).toBe('3/40 bp:1  breakpoint at 2:f (c/C run to it)');
    await x.press('c');
    await x.settled();
    expect(asked).toEqual([[['2:f'], { seq: 3 }, false]]);
    expect(x.status()).toBe('icount d2v0:400 bp:1  breakpoint at f+0x0: d2v0 about to execute it (on)');
    expect(trimmed(x)[12]).toBe('── state of d2v0 at icount 400 ─────────────────────────────────────────────────');
    await x.press('C');
    await x.settled();
    expect(asked[1]).toEqual([['2:f'], { dom: 2, vcpu: 0, icount: 400, late: true }, true]);
    expect(x.status()).toBe('icount d2v0:200 bp:1  breakpoint at f+0x0: d2v0 about to execute it (back)');
    // Typing it again removes it; c then looks for event breakpoints only.
    await x.press('B');
    await x.type('2:f');
    await x.press('c');
    expect(x.status()).toBe('icount d2v0:200  no breakpoints: press b on an event, or B for a code address');
  });

  it('S from an event goes to just before the instruction that caused it; v/V step between the vCPU\'s events', async () => {
    const targets: PointTarget[] = [];
    const x = (h = await openApp(TRACE, { openPoints: fakePoints(targets), rows: 12 }));
    await x.press(KEY.down, KEY.down, KEY.down, 'S');
    expect(x.status()).toBe(`icount d2v0:300  ${HINTS}`);
    await x.press(KEY.home, 'v', 'v');
    expect(x.status()).toBe(`4/40  ${HINTS}`);
    await x.press('V');
    expect(x.status()).toBe(`2/40  ${HINTS}`);
    await x.press(KEY.home, 'V');
    expect(x.status()).toBe('0/40  no earlier event of d1v0');
  });

  it('the rings pane lists each ring\'s indices and its last slots, most recently active first', async () => {
    const x = (h = await openApp(TRACE, { openPoints: fakePoints([]), rows: 24 }));
    await x.press(':');
    await x.type('31');
    await x.press(KEY.tab, KEY.tab, KEY.tab);
    await x.settled();
    expect(trimmed(x).slice(12)).toEqual([
      '── rings at event 31 ───────────────────────────────────────────────────────────',
      'blkif d2->d0 gref 8 port 7  req prod 32 event 31  rsp prod 31 event 31  @31',
      '  id=31 op=0',
      'blkif d1->d0 gref 8 port 7  req prod 31 event 30  rsp prod 30 event 30  @30',
      '  id=30 op=0',
      'console d2->d0 port 1  req prod 12  rsp prod 0  (no traffic yet)',
      ...Array<string>(5).fill(''),
      `31/40  ${HINTS}`,
    ]);
  });
});

const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
const hasObjdump = spawnSync('objdump', ['--version']).status === 0;
describe.skipIf(!built)('state pane on a recorded guest', () => {
  it('shows the vCPU at the event, its code read from guest memory, and steps out of the hypercall page into code objdump agrees on', async () => {
    const path = `${DIR}hello.xrr`;
    const scenario = `${ROOT}corpus/scenarios/hello.json`;
    await record(parseScenario(JSON.parse(readFileSync(scenario, 'utf8')), scenario), path, { checkpointEvery: 20 });
    const reader = TraceReader.open(path);
    const src = new TimelineSource(reader, loadSymbols(reader.header));
    const x = (h = await openApp(path, { source: src, openPoints: () => openPoints(ReplaySession.open(reader), src.symbols), rows: 24 }));
    await x.press(':');
    await x.type('31');
    await x.press(KEY.tab, KEY.tab);
    await x.settled();
    let lines = trimmed(x);
    const ev = src.get(31)!;
    expect(lines[12]).toBe(`── state of d1v0 at event 31 ${'─'.repeat(80)}`.slice(0, 80));
    // XENVER_version is a hypercall: the vCPU is in the hypercall page, just past its syscall. Xen wrote
    // that page at boot (the ELF has zeros there), so these bytes come from guest memory.
    expect(lines[13]).toMatch(new RegExp(`^d1v0 \\w+ kernel icount=${ev.icount} rip=0x[0-9a-f]+ hypercall_page\\+0x[0-9a-f]+$`));
    expect(lines.slice(14, 19).map((l) => l.replace(/^(..) 0x[0-9a-f]+ <\+0x[0-9a-f]+> +/, '$1 '))).toEqual(['   mov    $0x11,%eax', '   syscall', '=> pop    %r11', '   pop    %rcx', '   ret']);
    expect(lines[19]).toMatch(/^rax=0x[0-9a-f]+  rbx=0x[0-9a-f]+  rcx=0x[0-9a-f]+/);
    // Four instructions on (the syscall completes, pop, pop, ret): back in the caller.
    await x.press('s');
    await x.settled();
    await x.press('s');
    await x.settled();
    await x.press('s');
    await x.settled();
    await x.press('s');
    await x.settled();
    lines = trimmed(x);
    expect(x.status()).toBe(`icount d1v0:${ev.icount + 4}  ${HINTS}`);
    expect(lines[12]).toBe(`── state of d1v0 at icount ${ev.icount + 4} ${'─'.repeat(80)}`.slice(0, 80));
    const m = /^d1v0 \w+ kernel icount=(\d+) rip=0x([0-9a-f]+) (\w+)\+0x[0-9a-f]+$/.exec(lines[13]!);
    expect(m?.[1]).toBe(String(ev.icount + 4));
    expect(m?.[3]).not.toBe('hypercall_page');
    const cur = lines.find((l) => l.startsWith('=> '))!;
    expect(cur.startsWith(`=> 0x${m![2]} `)).toBe(true);
    if (hasObjdump) {
      const elf = (findImage(reader.header, 0) as FoundImage).path;
      const out = execFileSync('objdump', ['-d', '-w', `--start-address=0x${m![2]}`, `--stop-address=0x${(BigInt(`0x${m![2]}`) + 16n).toString(16)}`, elf], { encoding: 'utf8' });
      const want = /^\s+[0-9a-f]+:\t(?:[0-9a-f]{2} )+\s*\t(.*)$/m.exec(out)![1]!.replace(/\s+/g, ' ').replace(/# (?:0x)?([0-9a-f]+)(?: <[^>]*>)?$/, '# $1');
      expect(cur.replace(/^=> 0x[0-9a-f]+ <[^>]+> +/, '').replace(/\s+/g, ' ').replace(/# (?:0x)?([0-9a-f]+)(?: <[^>]*>)?$/, '# $1')).toBe(want);
    }
  });
});

describe('diff mode', () => {
  it('shows both timelines aligned, opens on the first divergence, n/N jump between regions', async () => {
    const a = `${DIR}diff-a.xrr`;
    const b = `${DIR}diff-b.xrr`;
    writeSynthetic(a, 40, 8);
    // b: event 10 is missing and event 30's console line differs.
    writeSynthetic(b, 40, 8, (e) => (e.seq === 10 ? null : e.seq === 25 && e.kind === 'console' ? { ...e, text: 'other\n' } : e));
    const [ra, rb] = [TraceReader.open(a), TraceReader.open(b)];
    const report = diffTraces(ra, rb);
    const r = render(<DiffApp a={new TimelineSource(ra)} b={new TimelineSource(rb)} report={report} columns={80} rows={10} colour={false} />);
    await tick();
    const lines = (): string[] => (r.lastFrame() ?? '').split('\n').map((l) => l.trimEnd());
    // The title holds the two paths, whose length depends on the checkout: its shape only.
    expect(lines()[0]).toMatch(/^a: \S+ ?~? \| b: \S+/);
    expect(lines().slice(1)).toEqual([
      '   seq kind    summary                 |    seq kind    summary',
      '     7 deliver upcall ports=[4]               7 deliver upcall ports=[4]',
      '     8 console console "line 8 of d1\\~        8 console console "line 8 of d1\\~',
      '     9 console console "line 9 of d2\\~        9 console console "line 9 of d2\\~',
      '    10 xs      XS_READ /local/domain/~ -',
      '    11 xs      XS_READ /local/domain/~       10 xs      XS_READ /local/domain/~',
      '    12 exc     #14 err=0x2 cr2=0xdead~       11 exc     #14 err=0x2 cr2=0xdead~',
      '    13 timer   timer deadline=18000          12 timer   timer deadline=18000',
      'row 11/40  region 1/2 (first divergence)  ? help  n/N region  ↑↓ PgUp PgDn Home~',
    ]);
    await writeKeys(r, 'n');
    expect(lines()[9]).toBe('row 26/40  region 2/2  ? help  n/N region  ↑↓ PgUp PgDn Home End  q quit');
    expect(lines().slice(1).filter((l) => / ~ /.test(l))).toEqual(['    25 console console "line 25 of d2~ ~     24 console console "other\\n"']);
    await writeKeys(r, 'n');
    expect(lines()[9]).toBe('row 26/40  region 2/2  no later differing region');
    await writeKeys(r, 'N');
    expect(lines()[9]).toBe('row 11/40  region 1/2 (first divergence)  ? help  n/N region  ↑↓ PgUp PgDn Home~');
    // Keys arriving in one read apply one by one.
    await writeKeys(r, 'nn');
    expect(lines()[9]).toBe('row 26/40  region 2/2  no later differing region');
    r.unmount();
  });

  it('? shows the keys of diff mode, and ? or Esc goes back to the timelines', async () => {
    writeSynthetic(`${DIR}help-a.xrr`, 40, 8);
    writeSynthetic(`${DIR}help-b.xrr`, 40, 8, (e) => (e.seq === 10 ? null : e));
    const [ra, rb] = [TraceReader.open(`${DIR}help-a.xrr`), TraceReader.open(`${DIR}help-b.xrr`)];
    const r = render(<DiffApp a={new TimelineSource(ra)} b={new TimelineSource(rb)} report={diffTraces(ra, rb)} columns={80} rows={10} colour={false} />);
    await tick();
    const lines = (): string[] => (r.lastFrame() ?? '').split('\n').map((l) => l.trimEnd());
    const timelines = lines();
    await writeKeys(r, '?');
    expect(lines()).toEqual([
      `── help: diff mode ${'─'.repeat(61)}`,
      '↑/↓ k/j  move        PgUp/PgDn  page       Home/End g/G  first/last',
      'n/N      next/previous differing region (the first is the first divergence)',
      'marks    -  only in a     +  only in b     ~  in both, changed',
      '?        this help (Esc closes)       q  quit',
      '', '', '', '',
      'row 11/40  region 1/1 (first divergence)  ? help  n/N region  ↑↓ PgUp PgDn Home~',
    ]);
    await writeKeys(r, '?');
    expect(lines()).toEqual(timelines);
    await writeKeys(r, '?');
    expect(lines()[0]).toMatch(/^── help: diff mode/);
    await writeKeys(r, '\x1b');
    expect(lines()).toEqual(timelines);
    r.unmount();
  });
});
