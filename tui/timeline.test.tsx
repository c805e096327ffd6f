/**
 * The timeline and its keys, on a 40-event synthetic trace in chunks of 8,
 * with exact frames (trailing spaces trimmed from each line).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { KEY, openApp, type Harness } from './harness.js';
import { reduce, initialState } from './keys.js';
import { TimelineSource } from './source.js';
import { colourEnabled } from './text.js';
import { writeSynthetic } from './test-trace.js';

const DIR = fileURLToPath(new URL('../build/tui-test/', import.meta.url));
const TRACE = `${DIR}timeline.xrr`;
let h: Harness | null = null;
const open = async (rows = 12): Promise<Harness> => (h = await openApp(TRACE, { rows }));
const trimmed = (x: Harness): string[] => x.lines().map((l) => l.trimEnd());
const HINTS = '? help  / search  f filter  : goto  b c s w  Tab pane  q quit';
/** the seq in the first column of each timeline row */
const seqs = (x: Harness): number[] => trimmed(x).slice(1, -1).filter((l) => /^[ *] *\d+ /.test(l)).map((l) => Number(l.slice(1, 8)));

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  writeSynthetic(TRACE, 40, 8);
});
afterEach(() => {
  h?.unmount();
  h = null;
});

describe('timeline', () => {
  it('opens by reading the index only, then decodes just the chunks on screen', async () => {
    const src = new TimelineSource(TraceReader.open(TRACE));
    expect(src.decoded).toBe(0);
    expect(src.count).toBe(40);
    h = await openApp(TRACE, { source: src });
    // 10 rows from seq 0 span chunks 0 and 1.
    expect(src.decoded).toBe(2);
  });

  it('shows seq, time, dom/vCPU, kind, symbol and summary at 80x24', async () => {
    const x = await open(24);
    expect(trimmed(x)).toEqual([
      ' seq     time(us) where kind    symbol             summary',
      '       0       0.500 d1v0 hcall   0x400000           SCHEDOP_yield -> 0',
      '       1       1.500 d2v0 hcall   0x400010           SCHEDOP_yield -> 0',
      '       2       2.500 d1v0 hcall   0x400020           EVTCHNOP_send port=3 -> 0',
      '       3       3.500 d2v0 hcall   0x400030           EVTCHNOP_send port=4 -> 0',
      '       4       4.500 d1v0 send    0x400040           send port=3 -> dom2:4',
      '       5       5.500 d2v0 send    0x400050           send port=4 -> dom1:3',
      '       6       6.500 d1v0 deliver 0x400060           upcall ports=[3]',
      '       7       7.500 d2v0 deliver 0x400070           upcall ports=[4]',
      '       8       8.500 d1v0 console 0x400080           console "line 8 of d1\\n"',
      '       9       9.500 d2v0 console 0x400090           console "line 9 of d2\\n"',
      '      10      10.500 d1v0 xs      0x4000a0           XS_READ /local/domain/1/na~',
      '      11      11.500 d2v0 xs      0x4000b0           XS_READ /local/domain/2/na~',
      '      12      12.500 d1v0 exc     0x4000c0           #14 err=0x2 cr2=0xdead000 ~',
      '      13      13.500 d2v0 timer   0x4000d0           timer deadline=18000',
      '      14      14.500 d1v0 ring    0x4000e0           blkif dom1->dom0 req 14->1~',
      '      15      15.500 d2v0 ring    0x4000f0           blkif dom2->dom0 req 15->1~',
      '      16      16.500 d1v0 hcall   0x400100           SCHEDOP_yield -> 0',
      '      17      17.500 d2v0 hcall   0x400110           SCHEDOP_yield -> 0',
      '      18      18.500 d1v0 hcall   0x400120           EVTCHNOP_send port=3 -> 0',
      '      19      19.500 d2v0 hcall   0x400130           EVTCHNOP_send port=4 -> 0',
      '      20      20.500 d1v0 send    0x400140           send port=3 -> dom2:4',
      '      21      21.500 d2v0 send    0x400150           send port=4 -> dom1:3',
      `0/40  ${HINTS}`,
    ]);
    expect(x.lines()).toHaveLength(24);
    expect(x.lines().every((l) => l.length <= 80)).toBe(true);
  });

  it('↓ ↑ PgDn PgUp End Home move the selection and scroll the window', async () => {
    const x = await open();
    await x.press(KEY.down, KEY.down);
    expect(x.status()).toBe(`2/40  ${HINTS}`);
    await x.press(KEY.up);
    expect(x.status()).toBe(`1/40  ${HINTS}`);
    await x.press(KEY.pageDown);
    expect(x.status()).toBe(`11/40  ${HINTS}`);
    expect(seqs(x)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await x.press(KEY.pageUp);
    expect(x.status()).toBe(`1/40  ${HINTS}`);
    expect(seqs(x)[0]).toBe(1);
    await x.press(KEY.end);
    expect(x.status()).toBe(`39/40  ${HINTS}`);
    expect(seqs(x)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
    await x.press(KEY.down);
    expect(x.status()).toBe(`39/40  ${HINTS}`);
    await x.press(KEY.home);
    expect(x.status()).toBe(`0/40  ${HINTS}`);
    expect(seqs(x)[0]).toBe(0);
  });

  it('f filters by domain, kind and hypercall name; a bad filter says why; empty clears', async () => {
    const x = await open();
    await x.press('f');
    expect(x.status()).toBe('filter: █');
    await x.type('dom=2');
    expect(trimmed(x)).toEqual([
      ' seq     time(us) where kind    symbol             summary',
      '       1       1.500 d2v0 hcall   0x400010           SCHEDOP_yield -> 0',
      '       3       3.500 d2v0 hcall   0x400030           EVTCHNOP_send port=4 -> 0',
      '       5       5.500 d2v0 send    0x400050           send port=4 -> dom1:3',
      '       7       7.500 d2v0 deliver 0x400070           upcall ports=[4]',
      '       9       9.500 d2v0 console 0x400090           console "line 9 of d2\\n"',
      '      11      11.500 d2v0 xs      0x4000b0           XS_READ /local/domain/2/na~',
      '      13      13.500 d2v0 timer   0x4000d0           timer deadline=18000',
      '      15      15.500 d2v0 ring    0x4000f0           blkif dom2->dom0 req 15->1~',
      '      17      17.500 d2v0 hcall   0x400110           SCHEDOP_yield -> 0',
      '      19      19.500 d2v0 hcall   0x400130           EVTCHNOP_send port=4 -> 0',
      `1/40 [dom=2]  ${HINTS}`,
    ]);
    await x.press(KEY.down);
    expect(x.status()).toBe(`3/40 [dom=2]  ${HINTS}`);
    await x.press('f', ...Array<string>(5).fill(KEY.backspace));
    await x.type('kind=console');
    expect(seqs(x)).toEqual([8, 9, 24, 25]);
    await x.press('f', ...Array<string>(12).fill(KEY.backspace));
    await x.type('name=SCHEDOP_yield dom=1');
    expect(seqs(x)).toEqual([0, 16, 32]);
    await x.press('f', ...Array<string>(30).fill(KEY.backspace));
    await x.type('bogus');
    expect(x.status()).toBe("16/40 [name=SCHEDOP_yield dom=1]  unknown filter 'bogus' (use dom=N, vcpu=N, ki~");
    await x.press('f', ...Array<string>(30).fill(KEY.backspace));
    await x.type('');
    expect(x.status()).toBe('16/40  filter cleared');
    expect(seqs(x)).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });

  it('/ searches the summaries; n/N go to the next/previous match; Esc cancels a prompt', async () => {
    const x = await open();
    await x.press('/', 'l', 'i');
    expect(x.status()).toBe('/li█');
    await x.press(KEY.esc);
    expect(x.status()).toBe(`0/40  ${HINTS}`);
    await x.press('/');
    await x.type('line 2');
    expect(x.status()).toBe(`24/40  ${HINTS}`);
    await x.press('n');
    expect(x.status()).toBe(`25/40  ${HINTS}`);
    await x.press('n');
    expect(x.status()).toBe('25/40  no later match for line 2');
    await x.press('N');
    expect(x.status()).toBe(`24/40  ${HINTS}`);
    await x.press('/');
    await x.type('no such thing');
    expect(x.status()).toBe('24/40  not found: no such thing');
  });

  it(': goes to a sequence number or to a virtual time', async () => {
    const x = await open();
    await x.press(':');
    await x.type('30');
    expect(x.status()).toBe(`30/40  ${HINTS}`);
    expect(seqs(x).at(-1)).toBe(30);
    await x.press(':');
    await x.type('t20000');
    expect(x.status()).toBe(`20/40  ${HINTS}`);
    await x.press(':');
    await x.type('999');
    expect(x.status()).toBe(`39/40  ${HINTS}`);
    // Keys arriving in one read (a paste) with the Enter inside.
    await x.press(':', '12\r');
    expect(x.status()).toBe(`12/40  ${HINTS}`);
    // ... and keys after the Enter still count.
    await x.press(':', '13\r\t');
    expect(x.status()).toBe(`13/40  ${HINTS}`);
    expect(trimmed(x)[6]).toBe('── detail: event 13 ────────────────────────────────────────────────────────────');
    await x.press(KEY.tab, KEY.tab, KEY.tab, KEY.tab);
    await x.press(':');
    await x.type('abc');
    expect(x.status()).toBe("13/40  go to: give a sequence number or t<ns>, not 'abc'");
  });

  it('b toggles a breakpoint (marked *); c/C continue and reverse-continue to its hits', async () => {
    const x = await open();
    await x.press(':');
    await x.type('4');
    await x.press('b');
    expect(x.status()).toBe('4/40 bp:1  breakpoint on port d1:3');
    // Hits: d1's sends on port 3, d2's sends to d1:3, d1's deliveries of port 3.
    expect(trimmed(x).filter((l) => l.startsWith('*')).map((l) => Number(l.slice(1, 8)))).toEqual([4, 5, 6]);
    await x.press('c');
    expect(x.status()).toBe(`5/40 bp:1  ${HINTS}`);
    await x.press('c', 'c');
    expect(x.status()).toBe(`20/40 bp:1  ${HINTS}`);
    await x.press('C');
    expect(x.status()).toBe(`6/40 bp:1  ${HINTS}`);
    await x.press(KEY.home, 'C');
    expect(x.status()).toBe('0/40 bp:1  no breakpoint hit before this event');
    await x.press(':');
    await x.type('20');
    await x.press('b');
    expect(x.status()).toBe('20/40  removed port d1:3');
    await x.press('c');
    expect(x.status()).toBe('20/40  no breakpoints: press b on an event, or B for a code address');
  });

  it('v/V go to the next/previous event of the selected vCPU', async () => {
    const x = await open();
    await x.press('v', 'v');
    expect(x.status()).toBe(`4/40  ${HINTS}`);
    await x.press(KEY.down, 'v');
    expect(x.status()).toBe(`7/40  ${HINTS}`);
    await x.press('V', 'V');
    expect(x.status()).toBe(`3/40  ${HINTS}`);
    await x.press(KEY.home, 'V');
    expect(x.status()).toBe('0/40  no earlier event of d1v0');
    // Several keys in one read apply one by one.
    await x.press('vv\t');
    expect(x.status()).toBe(`4/40  ${HINTS}`);
    expect(trimmed(x)[6]).toBe('── detail: event 4 ─────────────────────────────────────────────────────────────');
  });

  it('follows a resize', async () => {
    const x = await open(12);
    await x.press(':');
    await x.type('15');
    await x.rerender({ rows: 6, columns: 60 });
    expect(trimmed(x)).toEqual([
      ' seq     time(us) where kind    symbol             summary',
      '      12      12.500 d1v0 exc     0x4000c0           #14 er~',
      '      13      13.500 d2v0 timer   0x4000d0           timer ~',
      '      14      14.500 d1v0 ring    0x4000e0           blkif ~',
      '      15      15.500 d2v0 ring    0x4000f0           blkif ~',
      '15/40  ? help  / search  f filter  : goto  b c s w  Tab pan~',
    ]);
  });

  it('q quits; NO_COLOR turns colour off', () => {
    const src = new TimelineSource(TraceReader.open(TRACE));
    expect(reduce(src, initialState(src), 'q', {}, 10).quit).toBe(true);
    expect(colourEnabled({ NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({})).toBe(true);
  });
});
