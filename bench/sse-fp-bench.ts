/**
 * SSE floating-point library throughput: millions of scalar operations per
 * second through the register-level entry points an instruction handler
 * calls (arithSs/arithSd, cvt*), on operands cycling through 1024 random
 * normal values, round-to-nearest and round-toward-zero (directed modes take
 * the error-term path). Best of 150 runs of 100k operations each: short runs,
 * so that on a shared host some of them run undisturbed.
 */
import { MX, MXCSR_DEFAULT, OP, RC, arithSd, arithSs, cvtsd2si, cvtsd2ss, cvtsi2ss, cvtss2sd } from '../sim/cpu/sse/index.js';
import type { Row } from './cpu-bench.js';

const N = 1024;
const OPS = 100_000;
const RUNS = 150;

/** Deterministic operands: f32 pairs in s32[4i], s32[4i+1]; f64 at s64[4i..4i+3]; int64 at ints[2i..2i+1]. */
function operands(): { s32: Uint32Array; s64: Uint32Array; ints: Uint32Array } {
  let x = 0x12345678;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const s32 = new Uint32Array(4 * N);
  const s64 = new Uint32Array(4 * N);
  const ints = new Uint32Array(2 * N);
  for (let i = 0; i < N; i++) {
    // exponents kept mid-range so results stay normal: the common case
    for (let j = 0; j < 2; j++) s32[4 * i + j] = ((next() & 0x80000000) | ((0x70 + (next() % 32)) << 23) | (next() & 0x7fffff)) >>> 0;
    for (let j = 0; j < 2; j++) {
      s64[4 * i + 2 * j] = next();
      s64[4 * i + 2 * j + 1] = ((next() & 0x80000000) | ((0x3e0 + (next() % 64)) << 20) | (next() & 0xfffff)) >>> 0;
    }
    ints[2 * i] = next();
    ints[2 * i + 1] = next();
  }
  return { s32, s64, ints };
}

type Body = (reg: Uint32Array, src: Uint32Array, k: number, mx: number) => number;

/** A fresh loop closure per case: its own feedback, so the call to body stays monomorphic. */
function makeLoop(body: Body): (reg: Uint32Array, src: Uint32Array, mx: number) => number {
  return (reg, src, mx) => {
    let sink = 0;
    for (let i = 0; i < OPS; i++) sink |= body(reg, src, (i & (N - 1)) * 4, mx);
    return sink;
  };
}

function mops(body: Body, src: Uint32Array, mx: number): number {
  const reg = new Uint32Array(8);
  const loop = makeLoop(body);
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < RUNS; run++) {
    const t0 = process.hrtime.bigint();
    sink |= loop(reg, src, mx);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  if (sink === -1) process.stdout.write('');
  return OPS / best / 1e6;
}

/** Loads the first operand from src into reg before each op, so every op sees fresh inputs. */
const ss = (op: number): Body => (reg, src, k, mx) => {
  reg[0] = src[k]!;
  return arithSs(op, reg, 0, src, k + 1, mx);
};
const sd = (op: number): Body => (reg, src, k, mx) => {
  reg[0] = src[k]!;
  reg[1] = src[k + 1]!;
  return arithSd(op, reg, 0, src, k + 2, mx);
};

export function benchSseFp(): Row[] {
  const { s32, s64, ints } = operands();
  // square roots of the same values made positive (a negative operand is the invalid fast path)
  const sqrt32 = s32.map((v) => v & 0x7fffffff);
  const sqrt64 = s64.map((v, i) => (i & 1 ? v & 0x7fffffff : v));
  // and below 2^31, so that cvtsd2si converts rather than overflows
  const toInt = s64.map((v, i) => (i & 1 ? v & 0x41ffffff : v));
  const rn = MXCSR_DEFAULT;
  const rz = MXCSR_DEFAULT | (RC.ZERO << MX.RC_SHIFT);
  const cases: Array<[string, Body, Uint32Array]> = [
    ['addss', ss(OP.ADD), s32],
    ['mulss', ss(OP.MUL), s32],
    ['divss', ss(OP.DIV), s32],
    ['sqrtss', ss(OP.SQRT), sqrt32],
    ['addsd', sd(OP.ADD), s64],
    ['mulsd', sd(OP.MUL), s64],
    ['divsd', sd(OP.DIV), s64],
    ['sqrtsd', sd(OP.SQRT), sqrt64],
    ['cvtss2sd', (reg, src, k, mx) => cvtss2sd(reg, 0, src, k, mx), s32],
    ['cvtsd2ss', (reg, src, k, mx) => cvtsd2ss(reg, 0, src, k, mx), s64],
    ['cvtsi2ss r64', (reg, src, k, mx) => cvtsi2ss(reg, 0, src, k >> 1, 1, mx), ints],
    ['cvtsd2si r32', (_reg, src, k, mx) => cvtsd2si(src, k, 0, 0, mx), toInt],
  ];
  return cases.map(([name, body, src]) => ({
    op: name,
    'RN M ops/s': mops(body, src, rn).toFixed(1),
    'RZ M ops/s': mops(body, src, rz).toFixed(1),
  }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of benchSseFp()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
