/**
 * The lower panes (detail, state, console), help, and diff mode, with exact
 * frames on synthetic traces; the state pane also on a recorded guest.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { render } from 'ink-testing-library';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { diffTraces } from '../replay/diff.js';
import { record } from '../replay/record.js';
import { ReplaySession, type MachineView } from '../replay/session.js';
import { loadSymbols } from '../replay/symbols.js';
import { parseScenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { DiffApp } from './diff-app.js';
import { KEY, openApp, tick, type Harness } from './harness.js';
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
const HINTS = '? help  / search  f filter  : goto  b c s  Tab pane  q quit';

const VIEW: MachineView = {
  seq: 3, time: 3500,
  vcpus: [{ dom: 2, vcpu: 0, regs: { rax: 0x1dn, rbx: 0n, rcx: 0x400030n, rdx: 0n, rsi: 0x2000n, rdi: 4n, rbp: 0n, rsp: 0x7ff0n, r8: 0n, r9: 0n, r10: 0n, r11: 0x246n, r12: 0n, r13: 0n, r14: 0n, r15: 0xffn }, rip: 0x400030n, rflags: 0x246, kernelMode: true, state: 'running', icount: 300 }],
  ports: [{ dom: 1, pending: [3], masked: [], bound: [3] }, { dom: 2, pending: [], masked: [1], bound: [1, 4] }],
  rings: [{ kind: 'console', dom: 2, reqProd: 12, rspProd: 0 }],
  console: [],
};
const fakeSession = (seeks: number[]): (() => ReplaySession) => () => ({ seek: (seq: number) => (seeks.push(seq), { ...VIEW, seq }) }) as unknown as ReplaySession;

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

  it('Tab cycles detail, state, console and none; the state pane seeks the selected event', async () => {
    const seeks: number[] = [];
    const x = (h = await openApp(TRACE, { openSession: fakeSession(seeks) }));
    await x.press(KEY.down, KEY.down, KEY.down, KEY.tab);
    expect(trimmed(x)[6]).toBe('── detail: event 3 ─────────────────────────────────────────────────────────────');
    await x.press(KEY.tab);
    await tick();
    expect(trimmed(x)).toEqual([
      ...TOP5,
      '── state of d2v0 at event 3 ────────────────────────────────────────────────────',
      'd2v0 running kernel icount=300 rip=0x400030 0x400030',
      'rax 000000000000001d rbx 0000000000000000 rcx 0000000000400030',
      'rdx 0000000000000000 rsi 0000000000002000 rdi 0000000000000004',
      '... 6 more lines',
      `3/40  ${HINTS}`,
    ]);
    expect(seeks).toEqual([3]);
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
    expect(trimmed(x).slice(12)).toEqual([
      '── console up to event 3 ───────────────────────────────────────────────────────',
      '(no console output up to here)',
      ...Array<string>(9).fill(''),
      `3/40  ${HINTS}`,
    ]);
    await x.press(KEY.tab);
    expect(trimmed(x)[12]).toBe('      11      11.500 d2v0 xs      0x4000b0           XS_READ /local/domain/2/na~');
    expect(seeks).toEqual([3]);
  });

  it('the state pane says "seeking..." until the seek is done, and why it cannot seek', async () => {
    const x = (h = await openApp(TRACE, { openSession: fakeSession([]), seekDelay: 1e9 }));
    await x.press(KEY.tab, KEY.tab);
    expect(trimmed(x).slice(6, 8)).toEqual(['── state of d1v0 at event 0 ────────────────────────────────────────────────────', 'seeking...']);
    x.unmount();
    const y = (h = await openApp(TRACE, { openSession: () => { throw new Error("image for domain 'a' not found: /nonexistent/a.elf"); } }));
    await y.press(KEY.tab, KEY.tab);
    await tick();
    expect(trimmed(y).slice(6, 8)).toEqual(['── state of d1v0 at event 0 ────────────────────────────────────────────────────', "state unavailable: image for domain 'a' not found: /nonexistent/a.elf"]);
  });

  it('the console pane shows each domain\'s output up to the selected event', async () => {
    const x = (h = await openApp(TRACE));
    await x.press(':');
    await x.type('30');
    await x.press(KEY.tab, KEY.tab, KEY.tab);
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

  it('? shows the keys; Esc closes it', async () => {
    const x = (h = await openApp(TRACE));
    await x.press('?');
    expect(trimmed(x)).toEqual([
      '── help ────────────────────────────────────────────────────────────────────────',
      '↑/↓ k/j  move        PgUp/PgDn  page       Home/End g/G  first/last',
      'Enter    detail pane  Tab  next lower pane (detail, state, console, none)',
      '/        search summaries          n/N  next/previous match',
      'f        filter: dom=N vcpu=N kind=K name=HYPERCALL (empty clears)',
      ':        go to sequence number, or t<ns> for virtual time',
      "b        toggle breakpoint on this event's hypercall / port / kind",
      'c/C      continue / reverse-continue to a breakpoint hit',
      's/S      step / reverse-step: next/previous event of this vCPU',
      '?        this help (Esc closes)       q  quit',
      '',
      `0/40  ${HINTS}`,
    ]);
    await x.press(KEY.esc);
    expect(trimmed(x).slice(0, 6)).toEqual(TOP5);
  });
});

const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
describe.skipIf(!built)('state pane on a recorded guest', () => {
  it('shows the registers of the selected event\'s vCPU, symbolized, after a real seek', async () => {
    const path = `${DIR}hello.xrr`;
    await record(parseScenario(JSON.parse((await import('node:fs')).readFileSync(`${ROOT}corpus/scenarios/hello.json`, 'utf8')), `${ROOT}corpus/scenarios/hello.json`), path, { checkpointEvery: 20 });
    const reader = TraceReader.open(path);
    const src = new TimelineSource(reader, loadSymbols(reader.header));
    const x = (h = await openApp(path, { source: src, openSession: () => ReplaySession.open(reader), rows: 24 }));
    await x.press(':');
    await x.type('31');
    await x.press(KEY.tab, KEY.tab);
    await tick();
    const lines = trimmed(x);
    expect(lines[12]).toMatch(/^── state of d1v0 at event 31 ─+$/);
    // XENVER_version is a hypercall: the vCPU is in the hypercall page, seen from the event's caller.
    expect(lines[13]).toMatch(/^d1v0 \w+ kernel icount=\d+ rip=0x[0-9a-f]+ hypercall_page\+0x[0-9a-f]+$/);
    expect(lines[14]).toMatch(/^rax [0-9a-f]{16} rbx [0-9a-f]{16} rcx [0-9a-f]{16}$/);
    expect(lines[20]).toMatch(/^evtchn d1 pending [-\d,]+ masked [-\d,]+$/);
    expect(lines[21]).toMatch(/^rings  console@d1 req \d+ rsp \d+ \| xenstore@d1 req \d+ rsp \d+$/);
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
      'row 11/40  region 1/2 (first divergence)  n/N region  ↑↓ PgUp PgDn Home End  q ~',
    ]);
    r.stdin.write('n');
    await tick();
    expect(lines()[9]).toBe('row 26/40  region 2/2  n/N region  ↑↓ PgUp PgDn Home End  q quit');
    expect(lines().slice(1).filter((l) => / ~ /.test(l))).toEqual(['    25 console console "line 25 of d2~ ~     24 console console "other\\n"']);
    r.stdin.write('n');
    await tick();
    expect(lines()[9]).toBe('row 26/40  region 2/2  no later differing region');
    r.stdin.write('N');
    await tick();
    expect(lines()[9]).toBe('row 11/40  region 1/2 (first divergence)  n/N region  ↑↓ PgUp PgDn Home End  q ~');
    r.unmount();
  });
});
