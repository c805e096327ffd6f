import { describe, expect, it } from 'vitest';
import { consoleLinesOf, consoleLineText, lineAround } from './console-text.js';

describe('console lines from the PV console and console_io', () => {
  it('joins each channel\'s writes into lines, in the order lines complete, and shows them as Xen and run do', () => {
    const lines = consoleLinesOf([
      { dom: 1, source: 'ring', text: 'booting' },
      { dom: 1, source: 'console_io', text: 'early: ' },
      { dom: 2, source: 'console_io', text: 'other\n' },
      { dom: 1, source: 'console_io', text: 'mapping kernel\n(next)' },
      { dom: 1, source: 'ring', text: ' done\r\n' },
    ]);
    const names = new Map([[1, 'linux'], [2, 'peer']]);
    expect(lines.map((l) => consoleLineText(l, names))).toEqual(['(d2) other', '(d1) early: mapping kernel', '[linux] booting done', '(d1) (next)']);
  });

  it('console_io drops what is not printable (as Xen) and breaks lines at 255 characters', () => {
    const lines = consoleLinesOf([{ dom: 3, source: 'console_io', text: `a\x07b\tc\r\n${'x'.repeat(300)}\n` }]);
    expect(lines.map((l) => l.text)).toEqual(['ab\tc', 'x'.repeat(255), 'x'.repeat(45)]);
  });

  it('lineAround: the whole line a piece of console output belongs to, on its domain and channel only', () => {
    let seq = 0;
    const ev = (dom: number, source: string, text: string) => ({ seq: seq++, dom, kind: 'console', source, text });
    const w = [
      ev(0, 'console_io', 'prev line\r\n[    0.0'), // 0
      { seq: seq++, dom: 0, kind: 'hypercall' }, // 1
      ev(1, 'ring', 'other domain\n'), // 2
      ev(0, 'ring', 'same domain, other channel'), // 3
      ev(0, 'console_io', '00000] Linux ver'), // 4
      ev(0, 'console_io', 'sion 6.1'), // 5
      ev(0, 'console_io', '\r\nnext'), // 6
    ];
    const line = '[    0.000000] Linux version 6.1';
    for (const s of [4, 5, 6]) expect(lineAround(w, s)).toBe(line);
    expect(lineAround(w, 0)).toBe('prev line');
    expect(lineAround(w, 2)).toBe('other domain');
    expect(lineAround(w, 1)).toBeNull();
    expect(lineAround(w, 99)).toBeNull();
    // A line the window cuts: what the window holds.
    expect(lineAround(w.slice(4, 6), 5)).toBe('00000] Linux version 6.1');
  });
});
