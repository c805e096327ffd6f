import { describe, expect, it } from 'vitest';
import { ConsoleBackend } from './console.js';

const IN_CONS = 3072, IN_PROD = 3076, OUT_CONS = 3080, OUT_PROD = 3084, PAST_INTERFACE = 3088;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** The guest side: writes out[] then out_prod, as XTF's pv console writer does. */
function guestWrite(page: DataView, s: string): void {
  const prod = page.getUint32(OUT_PROD, true), b = enc(s);
  b.forEach((c, i) => page.setUint8(1024 + ((prod + i) & 2047), c));
  page.setUint32(OUT_PROD, (prod + b.length) >>> 0, true);
}
function page(outStart = 0, inStart = 0): DataView {
  const p = new DataView(new ArrayBuffer(4096));
  p.setUint8(PAST_INTERFACE, 0xa5); // not Xen 4.17's xencons_interface: the backend must leave it alone
  p.setUint32(OUT_CONS, outStart, true), p.setUint32(OUT_PROD, outStart, true);
  p.setUint32(IN_CONS, inStart, true), p.setUint32(IN_PROD, inStart, true);
  return p;
}

describe('ConsoleBackend', () => {
  it('drains output, writing nothing past xencons_interface', () => {
    const p = page();
    const c = new ConsoleBackend(p);
    expect(c.drain()).toHaveLength(0);
    guestWrite(p, 'Hello World\r\n');
    expect(dec(c.drain())).toBe('Hello World\r\n');
    expect(p.getUint32(OUT_CONS, true)).toBe(13);
    expect(c.drain()).toHaveLength(0);
    expect(c.corrupt).toBe(false);
    expect(p.getUint8(PAST_INTERFACE)).toBe(0xa5);
  });

  it('drains across the end of out[] and the u32 index wrap, a full ring included', () => {
    const p = page(0xffffffff - 1000);
    const c = new ConsoleBackend(p);
    const a = 'x'.repeat(1500);
    guestWrite(p, a);
    expect(dec(c.drain())).toBe(a);
    const full = Array.from({ length: 2048 }, (_, i) => String.fromCharCode(0x41 + (i % 26))).join('');
    guestWrite(p, full);
    expect(dec(c.drain())).toBe(full);
    expect(p.getUint32(OUT_CONS, true)).toBe((0xffffffff - 1000 + 1500 + 2048) >>> 0);
  });

  it('ignores a corrupt out ring as xenconsoled does: nothing copied, indices untouched', () => {
    const p = page(100);
    const c = new ConsoleBackend(p);
    p.setUint32(OUT_PROD, 100 + 2049, true);
    expect(c.drain()).toHaveLength(0);
    expect(c.corrupt).toBe(true);
    expect(p.getUint32(OUT_CONS, true)).toBe(100);
    p.setUint32(OUT_PROD, 50, true); // prod behind cons
    expect(c.drain()).toHaveLength(0);
    expect(c.corrupt).toBe(true);
    p.setUint32(OUT_PROD, 100, true);
    guestWrite(p, 'ok');
    expect(dec(c.drain())).toBe('ok');
    expect(c.corrupt).toBe(false);
  });

  it('puts input into in[] as far as it fits, wrapping', () => {
    const p = page(0, 0xfffffff0);
    const c = new ConsoleBackend(p);
    expect(c.input(enc('a'.repeat(1000)))).toBe(1000);
    expect(c.input(enc('b'.repeat(100)))).toBe(24);
    expect(c.input(enc('c'))).toBe(0);
    expect(p.getUint32(IN_PROD, true)).toBe((0xfffffff0 + 1024) >>> 0);
    const at = (i: number): number => p.getUint8((0xfffffff0 + i) & 1023);
    expect([at(0), at(999), at(1000), at(1023)]).toEqual([0x61, 0x61, 0x62, 0x62]);
    p.setUint32(IN_CONS, (0xfffffff0 + 1000) >>> 0, true);
    expect(c.input(enc('dd'))).toBe(2);
    expect(at(1024)).toBe(0x64);
  });

  it('refuses input on a corrupt in ring', () => {
    const p = page(0, 10);
    const c = new ConsoleBackend(p);
    p.setUint32(IN_PROD, 10 + 1025, true);
    expect(c.input(enc('x'))).toBe(0);
    expect(c.corrupt).toBe(true);
    expect(p.getUint32(IN_PROD, true)).toBe(1035);
  });
});
