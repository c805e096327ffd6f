/**
 * Remote-protocol framing: checksums, escapes both ways, packets split
 * across reads or several in one, acks and the interrupt byte, and a bad
 * checksum reported so the server can ask for the packet again.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { frame, fromHex, PacketReader, toHex } from './packet.js';

describe('packet framing', () => {
  it('frames with gdb\'s checksum and reads back what gdb sends', () => {
    expect(frame('OK').toString()).toBe('$OK#9a');
    expect(frame('').toString()).toBe('$#00');
    const r = new PacketReader();
    expect(r.push(Buffer.from('+$qSupported:swbreak+#8b-\x03'))).toEqual([
      { kind: 'ack' },
      { kind: 'packet', data: Buffer.from('qSupported:swbreak+') },
      { kind: 'nack' },
      { kind: 'interrupt' },
    ]);
  });

  it('escapes $ # } * in replies and reads escaped binary data back, whatever the split', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat({ max: 80 }), { maxLength: 4 }), (bytes, cuts) => {
        const wire = frame(Buffer.from(bytes));
        const r = new PacketReader();
        const got = [];
        let at = 0;
        for (const c of [...cuts.map((x) => Math.min(x, wire.length)).sort((a, b) => a - b), wire.length]) {
          got.push(...r.push(wire.subarray(at, Math.max(at, c))));
          at = Math.max(at, c);
        }
        expect(got).toEqual([{ kind: 'packet', data: Buffer.from(bytes) }]);
      }),
    );
    expect(frame('a$b#c}d*e').toString('latin1')).toBe('$a}\x04b}\x03c}]d}\x0ae#51');
  });

  it('reports a packet whose checksum is wrong', () => {
    const r = new PacketReader();
    expect(r.push(Buffer.from('$g#00$g#67'))).toEqual([{ kind: 'bad', data: Buffer.from('g') }, { kind: 'packet', data: Buffer.from('g') }]);
  });

  it('hex both ways, and not-hex refused', () => {
    expect(toHex(Uint8Array.from([0, 0xab, 0x10]))).toBe('00ab10');
    expect(fromHex('00AB10')).toEqual(Buffer.from([0, 0xab, 0x10]));
    expect(fromHex('0g')).toBeNull();
    expect(fromHex('abc')).toBeNull();
  });
});
