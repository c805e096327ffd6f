/**
 * The floating-point compute guests (matmul, fpconv) against what is
 * computed here, independently of any x86 code: every decimal they print
 * is the exact value of the encoding printed beside it, correctly rounded
 * (a BigInt expansion here, rt-float.c there; the native build also checks
 * it against glibc's printf); matmul's products, dot products, axpy and
 * polynomials are recomputed in the same operation order with JS doubles
 * and Math.fround (binary32 operations via binary64 round correctly), digests
 * included; fpconv's IEEE landmarks (signed zeros, default NaN, NaN payloads,
 * directed rounding, FTZ/DAZ, the flags raised) are the standard's answers;
 * and objdump shows the SSE floating-point instructions are really there.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'build', 'corpus');
const M64 = (1n << 64n) - 1n;
const text = new Map<string, string>();

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  for (const g of ['matmul', 'fpconv']) text.set(g, readFileSync(join(OUT, `${g}.expected`), 'utf8'));
});

const out = (g: string): string => text.get(g)!;
/** The text after `prefix` on the first line starting with it. */
function field(t: string, prefix: string): string {
  const line = t.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`no line starting with ${JSON.stringify(prefix)}`);
  return line.slice(prefix.length);
}

// ---- exact decimal of an encoding ----------------------------------------

/** printf("%.{prec-1}e") of m * 2^q (m > 0), correctly rounded, ties to even. */
function exactE(neg: boolean, m: bigint, q: number, prec: number): string {
  let n = q >= 0 ? m << BigInt(q) : m * 5n ** BigInt(-q);
  let d = n.toString();
  let e10 = d.length - 1 + (q < 0 ? q : 0);
  if (d.length > prec) {
    const keep = BigInt(d.slice(0, prec));
    const rest = d.slice(prec);
    const half = rest[0]! > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || (keep & 1n) === 1n));
    n = keep + (half ? 1n : 0n);
    d = n.toString();
    if (d.length > prec) {
      d = d.slice(0, prec);
      e10++;
    }
  }
  d = d.padEnd(prec, '0');
  const ae = Math.abs(e10);
  return `${neg ? '-' : ''}${d[0]}.${d.slice(1)}e${e10 < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
}

/** The guest's text for a binary64 (bits) or binary32 (bits, single). */
function decimal(bits: bigint, single: boolean): string {
  const [fb, eb, bias, prec] = single ? [23, 8, 127, 9] : [52, 11, 1023, 17];
  const neg = (bits >> BigInt(fb + eb)) & 1n ? true : false;
  const e = Number((bits >> BigInt(fb)) & ((1n << BigInt(eb)) - 1n));
  const f = bits & ((1n << BigInt(fb)) - 1n);
  const s = neg ? '-' : '';
  if (e === (1 << eb) - 1) return `${s}${f ? 'nan' : 'inf'}`;
  if (e === 0 && f === 0n) return `${s}0.${'0'.repeat(prec - 1)}e+00`;
  return exactE(neg, e === 0 ? f : f | (1n << BigInt(fb)), (e === 0 ? 1 : e) - bias - fb, prec);
}

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);
const b32 = (x: number): number => ((F32[0] = x), U32[0]!);
const b64 = (x: number): bigint => ((F64[0] = x), U64[0]!);

describe('printed floating-point values', () => {
  for (const g of ['matmul', 'fpconv']) {
    it(`${g}: every decimal is its encoding, exactly rounded, and reads back as it`, () => {
      let n = 0;
      for (const line of out(g).split('\n')) {
        const m = /=(-?(?:\d\.\d+e[+-]\d+|inf|nan)) 0x([0-9a-f]{8}|[0-9a-f]{16})\b/.exec(line);
        if (m === null) continue;
        n++;
        const single = m[2]!.length === 8;
        const bits = BigInt(`0x${m[2]}`);
        expect(m[1], line).toBe(decimal(bits, single));
        if (!/nan|inf/.test(m[1]!)) expect(single ? b32(Number(m[1])) : b64(Number(m[1])), line).toBe(single ? Number(bits) : bits);
      }
      expect(n).toBeGreaterThanOrEqual(g === 'matmul' ? 10 : 18);
    });
  }

  it('the formatter itself: ties to even, carries, denormals, extremes', () => {
    expect(decimal(0x3ff0000000000000n, false)).toBe('1.0000000000000000e+00');
    expect(decimal(0x0000000000000001n, false)).toBe('4.9406564584124654e-324');
    expect(decimal(0x7fefffffffffffffn, false)).toBe('1.7976931348623157e+308');
    expect(decimal(0x3fb999999999999an, false)).toBe('1.0000000000000001e-01');
    expect(decimal(0x3f800001n, true)).toBe('1.00000012e+00');
    expect(decimal(0x00000001n, true)).toBe('1.40129846e-45');
    expect(decimal(0x4b3fffffn, true)).toBe('1.25829110e+07'); // 12582911: "1.25829110" exactly 9 digits
    expect(exactE(false, 125n, 0, 2)).toBe('1.2e+02'); // 125 -> 12|5: tie, 2 is even
    expect(exactE(false, 135n, 0, 2)).toBe('1.4e+02'); // 13|5: tie, to 14
    expect(exactE(false, 995n, 0, 2)).toBe('1.0e+03'); // carry into a new digit
  });
});

// ---- matmul recomputed ------------------------------------------------------

/** rt.c's xorshift64*. */
class Rng {
  private s: bigint;
  constructor(seed: bigint) {
    this.s = seed === 0n ? 0x9e3779b97f4a7c15n : seed;
  }
  next(): bigint {
    let x = this.s;
    x ^= x >> 12n;
    x = (x ^ (x << 25n)) & M64;
    x ^= x >> 27n;
    this.s = x;
    return (x * 0x2545f4914f6cdd1dn) & M64;
  }
}

const fr = Math.fround;
const FNV0 = 0xcbf29ce484222325n;
const fnv = (h: bigint, v: bigint): bigint => ((h ^ v) * 0x100000001b3n) & M64;

function matmulRounds(): { lines: Map<string, string>; all: bigint } {
  const N = 48;
  const V = 1024;
  const lines = new Map<string, string>();
  let all = FNV0;
  const f32line = (x: number): string => `${decimal(BigInt(b32(x)), true)} 0x${b32(x).toString(16).padStart(8, '0')}`;
  const f64line = (x: number): string => `${decimal(b64(x), false)} 0x${b64(x).toString(16).padStart(16, '0')}`;
  const d32 = (xs: number[], h: bigint): bigint => xs.reduce((a, x) => fnv(a, BigInt(b32(x))), h);
  const d64 = (xs: number[], h: bigint): bigint => xs.reduce((a, x) => fnv(a, b64(x)), h);
  for (let round = 0; round < 6; round++) {
    const r = new Rng(0x6d61746d756cn + BigInt(round));
    const rnd32 = (): number => (Number(BigInt.asIntN(32, r.next() >> 32n)) >> 8) * 2 ** -23;
    const rnd64 = (): number => Number(BigInt.asIntN(64, r.next()) >> 11n) * 2 ** -52;
    const fa: number[][] = [], fb: number[][] = [], da: number[][] = [], db: number[][] = [];
    for (let i = 0; i < N; i++) {
      fa.push([]); fb.push([]); da.push([]); db.push([]);
      for (let j = 0; j < N; j++) {
        fa[i]!.push(rnd32()); fb[i]!.push(rnd32()); da[i]!.push(rnd64()); db[i]!.push(rnd64());
      }
    }
    const fx: number[] = [], fy: number[] = [], dx: number[] = [], dy: number[] = [];
    for (let i = 0; i < V; i++) {
      fx.push(rnd32()); fy.push(rnd32()); dx.push(rnd64()); dy.push(rnd64());
    }
    const fc = fa.map((row) => row.map(() => 0));
    const dc = da.map((row) => row.map(() => 0));
    for (let i = 0; i < N; i++)
      for (let k = 0; k < N; k++)
        for (let j = 0; j < N; j++) {
          fc[i]![j] = fr(fc[i]![j]! + fr(fa[i]![k]! * fb[k]![j]!));
          dc[i]![j] = dc[i]![j]! + da[i]![k]! * db[k]![j]!;
        }
    let fd = 0;
    let dd = 0;
    for (let i = 0; i < V; i++) {
      fd = fr(fd + fr(fx[i]! * fy[i]!));
      dd += dx[i]! * dy[i]!;
    }
    for (let i = 0; i < V; i++) {
      fy[i] = fr(fr(fc[1]![2]! * fx[i]!) + fy[i]!);
      dy[i] = dc[1]![2]! * dx[i]! + dy[i]!;
      const x = fy[i]!;
      fy[i] = fr(fr(fr(fr(fr(fr(0.25 * x) - 0.5) * x) + 1.5) * x) - 3);
      const y = dy[i]!;
      dy[i] = ((0.25 * y - 0.5) * y + 1.5) * y - 3;
    }
    const fcs = fc.flat();
    const dcs = dc.flat();
    if (round === 0) {
      for (const [i, j] of [[0, 0], [17, 31], [47, 47]] as const) {
        lines.set(`mm32[${i}][${j}]=`, f32line(fc[i]![j]!));
        lines.set(`mm64[${i}][${j}]=`, f64line(dc[i]![j]!));
      }
      lines.set('mm32=', `0x${d32(fcs, FNV0).toString(16).padStart(16, '0')}`);
      lines.set('mm64=', `0x${d64(dcs, FNV0).toString(16).padStart(16, '0')}`);
      lines.set('dot32=', f32line(fd));
      lines.set('dot64=', f64line(dd));
      lines.set('poly32[5]=', f32line(fy[5]!));
      lines.set('poly64[5]=', f64line(dy[5]!));
      lines.set('poly32=', `0x${d32(fy, FNV0).toString(16).padStart(16, '0')}`);
      lines.set('poly64=', `0x${d64(dy, FNV0).toString(16).padStart(16, '0')}`);
    }
    all = d64(dy, d32(fy, d64(dcs, d32(fcs, all))));
    all = fnv(fnv(all, BigInt(b32(fd))), b64(dd));
  }
  return { lines, all };
}

describe('matmul', () => {
  it('prints the products, dot products and polynomials computed here in the same operation order', () => {
    const t = out('matmul');
    const { lines, all } = matmulRounds();
    for (const [prefix, want] of lines) expect(`${prefix}${field(t, prefix)}`).toBe(`${prefix}${want}`);
    expect(field(t, 'rounds=')).toBe(`0x${all.toString(16).padStart(16, '0')}`);
  });

  it('really is SSE floating point: packed and scalar, single and double', () => {
    const dis = execFileSync('objdump', ['-d', '--no-show-raw-insn', join(OUT, 'matmul.elf')], { encoding: 'utf8' });
    const used = new Set([...dis.matchAll(/\t([a-z0-9]+)\s/g)].map((m) => m[1]));
    const want = ['mulps', 'addps', 'mulpd', 'addpd', 'mulss', 'addss', 'mulsd', 'addsd', 'cvtsi2ss', 'cvtsi2sd'];
    expect(want.filter((m) => !used.has(m))).toEqual([]);
  });
});

describe('fpconv', () => {
  it('prints IEEE 754 answers for the corner cases, with the flags x86 defines (IE 01, DE 02, ZE 04, OE 08, UE 10, PE 20)', () => {
    const t = out('fpconv');
    const want: Record<string, string> = {
      'inf-inf=': '-nan 0xfff8000000000000 flags=0x01', // default NaN
      '0/0=': '-nan 0xfff8000000000000 flags=0x01',
      '1/-0=': '-inf 0xfff0000000000000 flags=0x04',
      'snan+1=': '-nan 0xfffc000000000abc flags=0x01', // quieted, payload kept
      'qnan*snan=': 'nan 0x7ff8000000000000 flags=0x01', // the first operand's NaN, IE for the SNaN
      '0-0 down=': '-0.0000000000000000e+00 0x8000000000000000 flags=0x00',
      'max*max up=': 'inf 0x7ff0000000000000 flags=0x28',
      'max*max zero=': '1.7976931348623157e+308 0x7fefffffffffffff flags=0x28',
      'dmin*0.5=': '0.0000000000000000e+00 0x0000000000000000 flags=0x32', // denormal operand, underflow, inexact
      'nmin*0.5 ftz=': '0.0000000000000000e+00 0x0000000000000000 flags=0x30',
      'dmax+dmin daz=': '0.0000000000000000e+00 0x0000000000000000 flags=0x00',
      '1+2^-53=': '1.0000000000000000e+00 0x3ff0000000000000 flags=0x20', // a tie, to even
      '1+2^-53 up=': '1.0000000000000002e+00 0x3ff0000000000001 flags=0x20',
      'min(nan,1)=': '1.0000000000000000e+00 0x3ff0000000000000 flags=0x01', // minsd: the second operand
      'min(1,nan)=': 'nan 0x7ff8000000000000 flags=0x01',
      'max(-0,+0)=': '0.0000000000000000e+00 0x0000000000000000 flags=0x00',
      'float(dmax)=': 'inf 0x7f800000',
      'float(dmax) flags=': '0x28',
    };
    for (const [prefix, v] of Object.entries(want)) expect(`${prefix}${field(t, prefix)}`).toBe(`${prefix}${v}`);
  });

  it('rounds by MXCSR.RC: down <= toward zero, nearest <= up for the positive sums and integer totals', () => {
    const t = out('fpconv');
    const rows = ['nearest', 'down', 'up', 'zero'].map((m) => {
      const r = /^(-?\d+) sum=(\S+) flags=0x(\w+)$/.exec(field(t, `rint ${m}: `))!;
      return { n: BigInt(r[1]!), sum: Number(r[2]), flags: r[3] };
    });
    const [near, down, up, zero] = rows as [typeof rows[0], typeof rows[0], typeof rows[0], typeof rows[0]];
    expect(down.sum < near.sum && near.sum < up.sum && down.sum <= zero.sum && zero.sum < up.sum).toBe(true);
    expect(down.n < near.n && near.n < up.n && down.n <= zero.n).toBe(true);
    expect(rows.map((r) => r.flags)).toEqual(['20', '20', '20', '20']);
  });

  it('really is SSE floating point: conversions, roots, divisions, min/max, compares, MXCSR', () => {
    const dis = execFileSync('objdump', ['-d', '--no-show-raw-insn', join(OUT, 'fpconv.elf')], { encoding: 'utf8' });
    const used = new Set([...dis.matchAll(/\t([a-z0-9]+)\s/g)].map((m) => m[1]));
    const want = ['cvtdq2ps', 'cvttps2dq', 'cvtps2pd', 'cvtpd2ps', 'cvtdq2pd', 'cvttpd2dq', 'cvtsd2si', 'cvtss2si', 'cvttss2si', 'cvttsd2si',
      'cvtsd2ss', 'cvtss2sd', 'cvtsi2sd', 'sqrtps', 'sqrtpd', 'sqrtsd', 'divps', 'divpd', 'divsd', 'minps', 'maxpd', 'minsd', 'maxsd',
      'cmpltps', 'comisd', 'ucomisd', 'ldmxcsr', 'stmxcsr'];
    expect(want.filter((m) => !used.has(m))).toEqual([]);
  });
});
