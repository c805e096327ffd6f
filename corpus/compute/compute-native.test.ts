/**
 * Checks the compute corpus produced by corpus/build.mjs: every guest has a
 * flat ELF and a non-empty expected output (its native run exited 0, i.e. all
 * built-in self-checks passed), and the expected outputs agree with values
 * computed independently here (known vectors, BigInt, node:crypto).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, 'build', 'corpus');
const GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format', 'simd', 'matmul', 'fpconv'] as const;
const OK_LINE: Record<(typeof GUESTS)[number], string> = {
  sort: 'sort: ok',
  crc32: 'crc: ok',
  sha256: 'sha256: ok',
  bignum: 'bignum: ok',
  format: 'format: ok',
  simd: 'simd: ok',
  matmul: 'matmul: ok',
  fpconv: 'fpconv: ok',
};

const expected = new Map<string, string>();

function out(name: string): string {
  const s = expected.get(name);
  if (s === undefined) throw new Error(`no expected output for ${name}`);
  return s;
}

/** The text after `prefix` on the first line starting with it. */
function field(text: string, prefix: string): string {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  if (line === undefined) throw new Error(`no line starting with ${JSON.stringify(prefix)}`);
  return line.slice(prefix.length);
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  for (const g of GUESTS) expected.set(g, readFileSync(join(OUT, `${g}.expected`), 'utf8'));
});

describe('compute corpus build', () => {
  for (const g of GUESTS) {
    it(`${g}: has an ELF and a passing expected output`, () => {
      expect(statSync(join(OUT, `${g}.elf`)).size).toBeGreaterThan(0);
      const text = out(g);
      expect(text.length).toBeGreaterThan(0);
      expect(text.endsWith(`${OK_LINE[g]}\n`)).toBe(true);
      expect(text).not.toMatch(/^FAIL/m);
    });
  }
});

describe('sha256', () => {
  /** gen(len, seed) from sha256.c. */
  function gen(len: number, seed: number): Uint8Array {
    const b = new Uint8Array(len);
    let x = seed >>> 0;
    for (let i = 0; i < len; i++) {
      x = (x ^ (x << 13)) >>> 0;
      x = (x ^ (x >>> 17)) >>> 0;
      x = (x ^ (x << 5)) >>> 0;
      b[i] = x & 0xff;
    }
    return b;
  }
  const sha = (d: Uint8Array | string): string => createHash('sha256').update(d).digest('hex');

  it('prints the standard vectors', () => {
    const text = out('sha256');
    expect(text).toContain('sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n');
    expect(text).toContain('sha256("") = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n');
    expect(field(text, 'sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") = ')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('agrees with node:crypto on generated messages and the digest chain', () => {
    const text = out('sha256');
    for (const len of [1, 55, 56, 63, 64, 65, 127, 1000, 50000]) {
      expect(field(text, `sha256(gen len=${len}) = `)).toBe(sha(gen(len, len + 1)));
    }
    let d = new Uint8Array(32);
    for (let i = 0; i < 1000; i++) {
      const input = new Uint8Array(36);
      input.set(d);
      new DataView(input.buffer).setUint32(32, i);
      d = new Uint8Array(createHash('sha256').update(input).digest());
    }
    expect(field(text, 'sha256(chain 1000) = ')).toBe(Buffer.from(d).toString('hex'));
  });
});

describe('crc32', () => {
  function buffer(): Uint8Array {
    const b = new Uint8Array(256 * 1024);
    let x = 1;
    for (let i = 0; i < b.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      b[i] = (x >>> 16) & 0xff;
    }
    return b;
  }
  function crc32(d: Uint8Array): number {
    let c = 0xffffffff;
    for (const byte of d) {
      c ^= byte;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  }
  function adler32(d: Uint8Array): number {
    let a = 1;
    let b = 0;
    for (const byte of d) {
      a = (a + byte) % 65521;
      b = (b + a) % 65521;
    }
    return ((b << 16) | a) >>> 0;
  }
  const hex32 = (v: number): string => v.toString(16).padStart(8, '0');

  it('prints the check vectors', () => {
    const text = out('crc32');
    expect(text).toContain('crc32("123456789") = cbf43926\n');
    expect(text).toContain('crc32c("123456789") = e3069283\n');
    expect(text).toContain('crc16-ccitt("123456789") = 000029b1\n');
    expect(text).toContain('adler32("123456789") = 091e01de\n');
    expect(text).toContain('crc64-xz("123456789") = 995dc9bbdf1939fa\n');
  });

  it('agrees with an independent CRC-32 and Adler-32 of the buffer', () => {
    const text = out('crc32');
    const buf = buffer();
    expect(field(text, '  crc32 = ')).toBe(hex32(crc32(buf)));
    expect(field(text, '  adler32 = ')).toBe(hex32(adler32(buf)));
    expect(field(text, '  block 1 crc32=')).toBe(hex32(crc32(buf.subarray(4096, 8192))));
    expect(field(text, '  crc32[1..1+WINDOW] table=').slice(0, 8)).toBe(hex32(crc32(buf.subarray(1, 1 + 40001))));
  });
});

describe('bignum', () => {
  const fact = (n: number): bigint => {
    let f = 1n;
    for (let k = 2n; k <= BigInt(n); k++) f *= k;
    return f;
  };
  const digitSum = (s: string): number => [...s].reduce((a, c) => a + Number(c), 0);
  const summary = (s: string): string =>
    `digits=${s.length} digitsum=${digitSum(s)} head=${s.slice(0, 40)} tail=${s.slice(-40)}`;

  it('prints factorials and powers matching BigInt', () => {
    const text = out('bignum');
    expect(field(text, '100! = ')).toBe(
      '93326215443944152681699238856266700490715968264381621468592963895217599993229915608941463976156518286253697920827223758251185210916864000000000000000000000000',
    );
    const f1500 = fact(1500).toString();
    const block = text.split('1500! =\n')[1]!.split('1500!: ')[0]!.replace(/\n/g, '');
    expect(block).toBe(f1500);
    expect(field(text, '1500!: ')).toBe(summary(f1500));
    const p = (3n ** 12000n).toString();
    expect(field(text, '3^12000: ')).toBe(summary(p));
    expect(field(text, '1500!*3^12000: ')).toBe(summary((fact(1500) * 3n ** 12000n).toString()));
    expect(field(text, '2^256 = ')).toBe((1n << 256n).toString());
    let [a, b] = [0n, 1n];
    for (let i = 0; i < 10000; i++) [a, b] = [b, a + b];
    expect(field(text, 'F(10000): ')).toBe(summary(a.toString()));
    expect(field(text, 'largest 64-bit prime = ')).toBe('18446744073709551557');
    for (const m of [1000000007n, 998244353n, 18446744073709551557n]) {
      expect(field(text, `  product mod ${m} = `)).toBe(((fact(1500) * 3n ** 12000n) % m).toString());
    }
  });

  it('prints a division table with C semantics at every width', () => {
    const rows = out('bignum')
      .split('\n')
      .filter((l) => / \/ .* = .* r /.test(l));
    expect(rows.length).toBe(33);
    // C division truncates toward zero; BigInt division does too.
    const sdiv = (a: bigint, b: bigint, bits: number): [bigint, bigint] => {
      const x = BigInt.asIntN(bits, a);
      const y = BigInt.asIntN(bits, b);
      return [BigInt.asIntN(bits, x / y), BigInt.asIntN(bits, x % y)];
    };
    for (const row of rows) {
      const m = /^ {2}(-?\d+) \/ (-?\d+) = (-?\d+) r (-?\d+); i32 (-?\d+) r (-?\d+); i16 (-?\d+) r (-?\d+); i8 (-?\d+) r (-?\d+); u64 (\d+)$/.exec(
        row,
      );
      expect(m, row).not.toBeNull();
      const [a, b] = [BigInt(m![1]!), BigInt(m![2]!)];
      const got = m!.slice(3).map(BigInt);
      const want = [
        ...sdiv(a, b, 64),
        ...sdiv(a, b, 32),
        ...sdiv(a, b, 16),
        ...sdiv(a, b | 1n, 8),
        BigInt.asUintN(64, a) / BigInt.asUintN(64, b),
      ];
      expect(got, row).toEqual(want);
    }
  });
});

describe('format', () => {
  it('prints limits, pointers and padded fields', () => {
    const text = out('format');
    expect(text).toContain('limits: -9223372036854775808 9223372036854775807 18446744073709551615\n');
    expect(text).toContain('limits: -2147483648 2147483647 4294967295 -32768 255\n');
    expect(text).toContain('pointers: (nil) 0x100000 0xffffffff80000000\n');
    expect(text).toContain('strings: [     right] [left      ] [tr] [(null)]\n');
    expect(text).toContain('hex: [abc] [ABC] [00000abc] [abc     ] [0xffff800000000000] [010] [1010101]\n');
    expect(text).toContain('truncated: "overflo" needed 14\n');
  });

  it('prints powers of three in decimal, hex and octal', () => {
    const text = out('format');
    for (let e = 0; e <= 40; e += 4) {
      const p = BigInt.asUintN(64, 3n ** BigInt(e));
      const line = `3^${String(e).padEnd(2)} = ${p.toString().padStart(20)} = ${p.toString(16).padStart(16)} = ${p.toString(8).padStart(27)}`;
      expect(text).toContain(`${line}\n`);
    }
  });

  it('prints the table of signed values', () => {
    const text = out('format');
    for (let i = -3; i < 20; i++) {
      const n = BigInt(i);
      const n3 = BigInt.asUintN(32, n * n * n);
      const hex = n3 === 0n ? '0' : `0x${n3.toString(16)}`;
      const line = `${String(i).padEnd(6)}|${String(n * n).padStart(8)}|${hex.padStart(10)}|${String(-(n ** 7n)).padStart(18)}|`;
      expect(text).toContain(line);
    }
  });
});

describe('sort', () => {
  it('prints ordered samples and a checksum', () => {
    const text = out('sort');
    const lines = text.split('\n').filter((l) => / min=[0-9a-f]{16} mid=/.test(l));
    expect(lines).toHaveLength(8);
    for (const l of lines) {
      const m = / min=([0-9a-f]{16}) mid=([0-9a-f]{16}) max=([0-9a-f]{16})/.exec(l)!;
      const [min, mid, max] = [m[1]!, m[2]!, m[3]!].map((h) => BigInt(`0x${h}`));
      expect(min! <= mid! && mid! <= max!, l).toBe(true);
    }
    expect(text).toMatch(/^sort checksum=0x[0-9a-f]{16}$/m);
  });
});

describe('simd', () => {
  /** The guest's arrays: fill() in simd.c over rt.c's xorshift64*. */
  function arrays(): { wa: Int16Array; ba: Uint8Array; bb: Uint8Array } {
    const N = 4096;
    const M = (1n << 64n) - 1n;
    let st = 0x5eed5eedn;
    const wa = new Int16Array(N);
    const ba = new Uint8Array(N);
    const bb = new Uint8Array(N);
    for (let i = 0; i < N; i++) {
      st ^= st >> 12n;
      st = (st ^ (st << 25n)) & M;
      st ^= st >> 27n;
      const x = (st * 0x2545f4914f6cdd1dn) & M;
      wa[i] = Number(x & 0xffffn);
      ba[i] = Number((x >> 32n) & 0xffn);
      bb[i] = Number((x >> 40n) & 0x3fn);
    }
    for (let i = 0; i < N; i += 97) ba[i] = bb[i] = 0;
    for (let i = 5; i < N; i += 89) ba[i] = 0xff;
    return { wa, ba, bb };
  }
  const u64 = (v: number): string => BigInt.asUintN(64, BigInt(v)).toString();

  it('agrees with sums, extremes, saturating mixes and absolute differences computed here', () => {
    const text = out('simd');
    const { wa, ba, bb } = arrays();
    expect(field(text, 'sum16=')).toBe(u64(wa.reduce((s, v) => s + v, 0)));
    expect(field(text, 'min8=')).toBe(String(Math.min(...ba)));
    expect(field(text, 'max8=')).toBe(String(Math.max(...ba)));
    expect(field(text, 'min16=')).toBe(u64(Math.min(...wa)));
    expect(field(text, 'max16=')).toBe(u64(Math.max(...wa)));
    expect(field(text, 'mix=')).toBe(String(ba.reduce((s, v, i) => s + Math.min(255, v + bb[i]!), 0)));
    expect(field(text, 'sad=')).toBe(String(ba.reduce((s, v, i) => s + Math.abs(v - bb[i]!), 0)));
  });

  it('really is SSE2 code: the loops compiled to integer SIMD', () => {
    const dis = execFileSync('objdump', ['-d', '--no-show-raw-insn', join(OUT, 'simd.elf')], { encoding: 'utf8' });
    const used = new Set([...dis.matchAll(/\t([a-z0-9]+)\s/g)].map((m) => m[1]));
    const want = ['movdqa', 'movaps', 'pxor', 'pand', 'paddd', 'paddw', 'psubw', 'paddq', 'punpcklwd', 'punpckhwd', 'punpcklbw', 'punpcklqdq',
      'psrad', 'psrlq', 'psrldq', 'pcmpeqb', 'pcmpgtd', 'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'psadbw', 'pmaddwd', 'pmuludq', 'pmovmskb',
      'pshufd', 'packuswb', 'movd', 'movq'];
    expect(want.filter((m) => !used.has(m))).toEqual([]);
  });
});
