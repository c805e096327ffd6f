/**
 * Known answers for the SSE floating-point library, independent of the host
 * (each one measured on real hardware while writing it; sse.test.ts checks
 * hundreds of thousands more against the host CPU), and operand aliasing.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../oracle/rng.js';
import * as P from './packed.js';
import { FLAGS, MX, XM, res } from './index.js';

const RN = 0x1f80;
const RZ = 0x7f80;
const RU = 0x5f80;
const FTZ = 0x8000;
const DAZ = 0x40;
const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

/** Runs op on a copy of a (xmm0) and b (xmm1); returns [x0 hex..., flags/XM]. */
function run(f: (d: Uint32Array, s: Uint32Array) => number, a: number[], b: number[]): string[] {
  const d = Uint32Array.from([...a, 0, 0, 0, 0].slice(0, 4));
  const s = Uint32Array.from([...b, 0, 0, 0, 0].slice(0, 4));
  const r = f(d, s);
  return [...Array.from(d, hex), `fl=${hex(r & FLAGS)}`, r & XM ? 'XM' : '-'];
}
const ss = (op: number, mx: number) => (d: Uint32Array, s: Uint32Array): number => P.arithSs(op, d, 0, s, 0, mx);

describe('SSE floating point: known answers', () => {
  it('overflow: masked gives infinity with OE|PE; unmasked gives OE alone when exact, nothing written', () => {
    expect(run(ss(P.OP.MUL, RN), [0x7f000000], [0x7f000000])).toEqual(['7f800000', '00000000', '00000000', '00000000', 'fl=00000028', '-']);
    expect(run(ss(P.OP.MUL, RN & ~MX.OM), [0x7f000000], [0x7f000000])).toEqual(['7f000000', '00000000', '00000000', '00000000', 'fl=00000008', 'XM']);
    expect(run(ss(P.OP.MUL, RZ), [0x7f000000], [0x7f000000])[0]).toBe('7f7fffff');
  });

  it('underflow: tininess after rounding; FTZ flushes even exact tiny results; unmasked UE faults on exact ones', () => {
    // 2^-126 * (1 - 2^-24): exact 24-bit value below 2^-126 is tiny; denormal rounding is a tie to 2^-126
    expect(run(ss(P.OP.MUL, RN), [0x00800000], [0x3f7fffff])).toEqual(['00800000', '00000000', '00000000', '00000000', 'fl=00000030', '-']);
    expect(run(ss(P.OP.MUL, RN | FTZ), [0x00800000], [0x3f7fffff])[0]).toBe('00000000');
    // (1 - 2^-26) * 2^-126 rounds to 2^-126 with unbounded exponent: not tiny, only PE, not flushed
    const sd2ss = (mx: number) => (d: Uint32Array, s: Uint32Array): number => P.cvtsd2ss(d, 0, s, 0, mx);
    expect(run(sd2ss(RN | FTZ), [0], [0xf8000000, 0x380fffff])).toEqual(['00800000', '00000000', '00000000', '00000000', 'fl=00000020', '-']);
    // denormal + denormal: exact; FTZ flushes it with UE|PE (and DE for the operands)
    expect(run(ss(P.OP.ADD, RN | FTZ), [1], [1])).toEqual(['00000000', '00000000', '00000000', '00000000', 'fl=00000032', '-']);
    expect(run(ss(P.OP.ADD, RN & ~MX.UM), [1], [1])).toEqual(['00000001', '00000000', '00000000', '00000000', 'fl=00000012', 'XM']);
  });

  it('NaNs: first operand wins and is quieted; the default NaN is negative; min/max return the second operand', () => {
    expect(run(ss(P.OP.ADD, RN), [0x7f800001], [0x7fc12345])[0]).toBe('7fc00001');
    expect(run(ss(P.OP.ADD, RN), [0x7f800000], [0xff800000])).toEqual(['ffc00000', '00000000', '00000000', '00000000', 'fl=00000001', '-']);
    expect(run(ss(P.OP.MIN, RN), [0x7fc00000], [0x00000001])).toEqual(['00000001', '00000000', '00000000', '00000000', 'fl=00000001', '-']);
    expect(run(ss(P.OP.MIN, RN | DAZ), [0x7fc00000], [0x00000001])[0]).toBe('00000000');
    // a NaN hides the other operand's denormal; a zero divisor hides the dividend's
    expect(run(ss(P.OP.ADD, RN), [1], [0x7fc00000])[4]).toBe('fl=00000000');
    expect(run(ss(P.OP.DIV, RN), [1], [0])[4]).toBe('fl=00000004');
  });

  it('packed: an unmasked pre-computation flag in one lane reports only the lanes\' pre-computation flags', () => {
    const ps = (mx: number) => (d: Uint32Array, s: Uint32Array): number => P.arithPs(P.OP.ADD, d, 0, s, 0, mx);
    expect(run(ps(RN & ~MX.DM), [1, 0x3f800000], [0x3f800000, 0x30800000])).toEqual(['00000001', '3f800000', '00000000', '00000000', 'fl=00000002', 'XM']);
    expect(run(ps(RN & ~MX.PM), [0x3f800000, 1, 0x7f000000], [0x30800000, 0x3f800000, 0x7f000000])).toEqual(['3f800000', '00000001', '7f000000', '00000000', 'fl=0000002a', 'XM']);
  });

  it('conversions: integer indefinite with IE, RC rounding, DAZ without DE', () => {
    const sd2si = (mx: number): string => {
      const r = P.cvtsd2si(Uint32Array.of(0xffe00000, 0x41dfffff), 0, 0, 0, mx);
      return `${hex(res[0]!)} ${hex(r)}`;
    };
    expect(sd2si(RN)).toBe('80000000 00000001'); // 2147483647.5 rounds to 2^31
    expect(sd2si(RZ)).toBe('7fffffff 00000020');
    const ss2si = (mx: number): string => {
      const r = P.cvtss2si(Uint32Array.of(1), 0, 0, 0, mx);
      return `${hex(res[0]!)} ${hex(r)}`;
    };
    expect(ss2si(RU)).toBe('00000001 00000020');
    expect(ss2si(RU | DAZ)).toBe('00000000 00000000');
    const si2ss = (v: bigint): string => {
      const s = Uint32Array.of(Number(v & 0xffffffffn), Number(v >> 32n));
      const d = new Uint32Array(4);
      P.cvtsi2ss(d, 0, s, 0, 1, RN);
      return hex(d[0]!);
    };
    expect(si2ss(0x7fffffffffffffffn)).toBe('5f000000');
    expect(si2ss((1n << 62n) + (1n << 38n) + 1n)).toBe('5e800001'); // above a binary32 tie only by the last bit
  });
});

describe('SSE floating point: aliased operands', () => {
  it('every register form gives the same result when source and destination are one register', () => {
    const forms: Array<[string, (d: Uint32Array, di: number, s: Uint32Array, si: number, mx: number) => number]> = [
      ['addps', (d, di, s, si, mx) => P.arithPs(P.OP.ADD, d, di, s, si, mx)],
      ['divpd', (d, di, s, si, mx) => P.arithPd(P.OP.DIV, d, di, s, si, mx)],
      ['sqrtsd', (d, di, s, si, mx) => P.arithSd(P.OP.SQRT, d, di, s, si, mx)],
      ['cmpps', (d, di, s, si, mx) => P.cmpPs(2, d, di, s, si, mx)],
      ['cmppd', (d, di, s, si, mx) => P.cmpPd(4, d, di, s, si, mx)],
      ['cvtps2pd', P.cvtps2pd],
      ['cvtpd2ps', P.cvtpd2ps],
      ['cvtss2sd', P.cvtss2sd],
      ['cvtsd2ss', P.cvtsd2ss],
      ['cvtdq2ps', P.cvtdq2ps],
      ['cvtdq2pd', P.cvtdq2pd],
      ['cvtps2dq', (d, di, s, si, mx) => P.cvtps2dq(0, d, di, s, si, mx)],
      ['cvttpd2dq', (d, di, s, si, mx) => P.cvtpd2dq(1, d, di, s, si, mx)],
    ];
    const r = new Rng(7);
    for (const [name, f] of forms) {
      for (let k = 0; k < 200; k++) {
        const file = new Uint32Array(64);
        for (let i = 0; i < 64; i++) file[i] = r.below(3) ? ((r.below(2) << 31) | ((0x70 + r.below(32)) << 23) | (r.next() & 0x7fffff)) >>> 0 : r.next();
        const reg = 4 * r.below(16);
        const copy = file.slice(reg, reg + 4);
        const alone = file.slice(reg, reg + 4);
        const want = f(alone, 0, copy, 0, RN);
        const got = f(file, reg, file, reg, RN);
        expect([name, got, Array.from(file.subarray(reg, reg + 4))]).toEqual([name, want, Array.from(alone)]);
      }
    }
  });
});
