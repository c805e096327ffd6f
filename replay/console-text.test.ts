import { describe, expect, it } from 'vitest';
import { consoleLinesOf, consoleLineText } from './console-text.js';

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
});
