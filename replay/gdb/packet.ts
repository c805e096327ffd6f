/**
 * gdb remote serial protocol framing: `$payload#cs` packets with a modulo-256
 * checksum in two hex digits, `+`/`-` acknowledgements (until
 * QStartNoAckMode), `}`-escapes (byte XOR 0x20) for `$ # } *`, and a bare
 * 0x03 byte as an interrupt request. gdb never run-length encodes what it
 * sends; we do not encode replies either.
 */

export type Incoming = { kind: 'packet'; data: Buffer } | { kind: 'interrupt' } | { kind: 'ack' } | { kind: 'nack' } | { kind: 'bad'; data: Buffer };

const DOLLAR = 0x24;
const HASH = 0x23;
const ESC = 0x7d;
const STAR = 0x2a;

/** Splits a byte stream into packets, acks and interrupts (a packet's bytes may arrive in pieces). */
export class PacketReader {
  private buf = Buffer.alloc(0);

  /** Feed bytes; returns what is complete so far. A packet with a wrong checksum comes back as `bad` (answer `-`). */
  push(bytes: Buffer): Incoming[] {
    this.buf = this.buf.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buf, bytes]);
    const out: Incoming[] = [];
    let i = 0;
    while (i < this.buf.length) {
      const c = this.buf[i]!;
      if (c === 0x2b) {
        out.push({ kind: 'ack' });
        i++;
      } else if (c === 0x2d) {
        out.push({ kind: 'nack' });
        i++;
      } else if (c === 0x03) {
        out.push({ kind: 'interrupt' });
        i++;
      } else if (c === DOLLAR) {
        const end = this.buf.indexOf(HASH, i + 1);
        if (end < 0 || end + 2 >= this.buf.length) break;
        const raw = this.buf.subarray(i + 1, end);
        let sum = 0;
        for (const b of raw) sum = (sum + b) & 0xff;
        const want = parseInt(this.buf.subarray(end + 1, end + 3).toString('latin1'), 16);
        out.push(sum === want ? { kind: 'packet', data: unescape(raw) } : { kind: 'bad', data: Buffer.from(raw) });
        i = end + 3;
      } else i++; // noise between packets
    }
    this.buf = this.buf.subarray(i);
    return out;
  }
}

function unescape(raw: Buffer): Buffer {
  if (!raw.includes(ESC)) return Buffer.from(raw);
  const out: number[] = [];
  for (let k = 0; k < raw.length; k++) out.push(raw[k] === ESC && k + 1 < raw.length ? raw[++k]! ^ 0x20 : raw[k]!);
  return Buffer.from(out);
}

/** A payload as a packet on the wire, escaping the bytes the framing reserves. */
export function frame(payload: string | Buffer): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : payload;
  const out: number[] = [DOLLAR];
  let sum = 0;
  for (const b of data) {
    const bytes = b === DOLLAR || b === HASH || b === ESC || b === STAR ? [ESC, b ^ 0x20] : [b];
    for (const x of bytes) {
      out.push(x);
      sum = (sum + x) & 0xff;
    }
  }
  return Buffer.concat([Buffer.from(out), Buffer.from(`#${sum.toString(16).padStart(2, '0')}`, 'latin1')]);
}

/** Bytes as hex, and back (null: not hex). */
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export function fromHex(s: string): Buffer | null {
  return /^([0-9a-fA-F]{2})*$/.test(s) ? Buffer.from(s, 'hex') : null;
}
