/**
 * Test support for sse.test.ts: random SSE floating-point cases aimed at the
 * corners of IEEE arithmetic and x86's exception rules, and the library's
 * answer for each, in the oracle's result layout (oracle.ts).
 *
 * Operands mix fixed boundary values (signed zeros, smallest and largest
 * denormals and normals, infinities, QNaN/SNaN with payloads), values with
 * few significant bits (exact results and ties), operand pairs whose
 * exponents put the result near overflow, the denormal range or total
 * cancellation, integers and near-integers for conversions, and raw random
 * bit patterns; MXCSR mixes all four rounding modes, DAZ, FTZ, masks and
 * pre-set flags. Deterministic: everything comes from the seeded Rng.
 */
import type { Rng } from '../oracle/rng.js';
import { f32Pair, f32Val, f64Pair, f64Val, floatForInt32, floatForInt64, int32, int64 } from './case-values.js';
import { res } from './bits.js';
import { FLAGS, XM } from './mxcsr.js';
import { COMIS_FLAGS } from './cmp.js';
import * as P from './packed.js';
import { CASE_WORDS } from './oracle.js';

/** What a generator fills: the xmm0 image (a), the xmm1 image / integer source (b). */
type Gen = (r: Rng, a: Uint32Array, b: Uint32Array) => void;

// ---- the op table --------------------------------------------------------

/** Our answer for one case: writes the expected result (oracle layout) into o. */
type Model = (mx: number, fl: number, a: Uint32Array, b: Uint32Array, o: Uint32Array) => void;

const D = new Uint32Array(4);

/** Result of an op that writes xmm0: copy a, run f on it, map flags/XM. */
function xmmModel(f: (d: Uint32Array, s: Uint32Array, mx: number) => number, raxFromB = false): Model {
  return (mx, fl, a, b, o) => {
    const rax = raxFromB ? b : a;
    D.set(a);
    const r = f(D, b, mx);
    o.set(D, 0);
    o[4] = mx | (r & FLAGS);
    o[5] = r & XM ? 19 : 0;
    o[6] = rax[0]!;
    o[7] = rax[1]!;
    o[8] = fl;
  };
}

/** Result of cvt*2si: rax = a[0..1] before, the integer after unless XM. */
function gprModel(f: (b: Uint32Array, mx: number) => number, is64: number): Model {
  return (mx, fl, a, b, o) => {
    const r = f(b, mx);
    o.set(a, 0);
    o[4] = mx | (r & FLAGS);
    o[5] = r & XM ? 19 : 0;
    o[6] = r & XM ? a[0]! : res[0]!;
    o[7] = r & XM ? a[1]! : is64 ? res[1]! : 0;
    o[8] = fl;
  };
}

/** Result of comis*: EFLAGS from res[0] unless XM. */
function comisModel(f: (a: Uint32Array, b: Uint32Array, mx: number) => number): Model {
  return (mx, fl, a, b, o) => {
    const r = f(a, b, mx);
    o.set(a, 0);
    o[4] = mx | (r & FLAGS);
    o[5] = r & XM ? 19 : 0;
    o[6] = a[0]!;
    o[7] = a[1]!;
    o[8] = r & XM ? fl : (fl & ~COMIS_FLAGS) | res[0]!;
  };
}

export type OpSpec = { name: string; family: string; count: number; gen: Gen; model: Model };

const ps = (kind: string): Gen => (r, a, b) => {
  for (let j = 0; j < 4; j++) [a[j], b[j]] = f32Pair(r, kind);
};
const pd = (kind: string): Gen => (r, a, b) => {
  f64Pair(r, kind, a, b, 0);
  f64Pair(r, kind, a, b, 2);
};
const scalarFill = (r: Rng, a: Uint32Array, b: Uint32Array): void => {
  for (let j = 0; j < 4; j++) {
    a[j] = r.next();
    b[j] = r.next();
  }
};
const ss = (kind: string): Gen => (r, a, b) => {
  scalarFill(r, a, b);
  [a[0], b[0]] = f32Pair(r, kind);
};
const sd = (kind: string): Gen => (r, a, b) => {
  scalarFill(r, a, b);
  f64Pair(r, kind, a, b, 0);
};

/** Every op the oracle runs, with its generator and our model; counts = cases per op. */
export function opSpecs(scale: number): OpSpec[] {
  const n = (k: number): number => Math.max(1, Math.round(k * scale));
  const specs: OpSpec[] = [];
  const arith = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
  arith.forEach((op, code) => {
    const kind = op;
    specs.push({ name: `${op}ps`, family: 'arith32', count: n(4000), gen: ps(kind), model: xmmModel((d, s, mx) => P.arithPs(code, d, 0, s, 0, mx)) });
    specs.push({ name: `${op}ss`, family: 'arith32', count: n(12000), gen: ss(kind), model: xmmModel((d, s, mx) => P.arithSs(code, d, 0, s, 0, mx)) });
    specs.push({ name: `${op}pd`, family: 'arith64', count: n(6000), gen: pd(kind), model: xmmModel((d, s, mx) => P.arithPd(code, d, 0, s, 0, mx)) });
    specs.push({ name: `${op}sd`, family: 'arith64', count: n(12000), gen: sd(kind), model: xmmModel((d, s, mx) => P.arithSd(code, d, 0, s, 0, mx)) });
  });
  for (let p = 0; p < 8; p++) {
    specs.push({ name: `cmpps_${p}`, family: 'cmp', count: n(800), gen: ps('cmp'), model: xmmModel((d, s, mx) => P.cmpPs(p, d, 0, s, 0, mx)) });
    specs.push({ name: `cmpss_${p}`, family: 'cmp', count: n(1500), gen: ss('cmp'), model: xmmModel((d, s, mx) => P.cmpSs(p, d, 0, s, 0, mx)) });
    specs.push({ name: `cmppd_${p}`, family: 'cmp', count: n(1000), gen: pd('cmp'), model: xmmModel((d, s, mx) => P.cmpPd(p, d, 0, s, 0, mx)) });
    specs.push({ name: `cmpsd_${p}`, family: 'cmp', count: n(1500), gen: sd('cmp'), model: xmmModel((d, s, mx) => P.cmpSd(p, d, 0, s, 0, mx)) });
  }
  for (const [name, signal] of [['comiss', 1], ['ucomiss', 0]] as const) {
    specs.push({ name, family: 'comis', count: n(6000), gen: ss('cmp'), model: comisModel((a, b, mx) => P.comiss(a, 0, b, 0, signal, mx)) });
  }
  for (const [name, signal] of [['comisd', 1], ['ucomisd', 0]] as const) {
    specs.push({ name, family: 'comis', count: n(6000), gen: sd('cmp'), model: comisModel((a, b, mx) => P.comisd(a, 0, b, 0, signal, mx)) });
  }
  const intSrc = (is64: number): Gen => (r, a, b) => {
    scalarFill(r, a, b);
    if (is64) int64(r, b, 0);
    else b[0] = int32(r);
  };
  for (const is64 of [0, 1]) {
    const sfx = is64 ? 'q' : 'l';
    specs.push({ name: `cvtsi2ss_${sfx}`, family: 'cvt', count: n(8000), gen: intSrc(is64), model: xmmModel((d, s, mx) => P.cvtsi2ss(d, 0, s, 0, is64, mx), true) });
    specs.push({ name: `cvtsi2sd_${sfx}`, family: 'cvt', count: n(is64 ? 8000 : 2000), gen: intSrc(is64), model: xmmModel((d, s, mx) => P.cvtsi2sd(d, 0, s, 0, is64, mx), true) });
    for (const trunc of [0, 1]) {
      const t = trunc ? 'cvtt' : 'cvt';
      specs.push({
        name: `${t}ss2si_${sfx}`, family: 'cvt', count: n(8000),
        gen: (r, a, b) => { scalarFill(r, a, b); b[0] = floatForInt32(r); },
        model: gprModel((b, mx) => P.cvtss2si(b, 0, is64, trunc, mx), is64),
      });
      specs.push({
        name: `${t}sd2si_${sfx}`, family: 'cvt', count: n(8000),
        gen: (r, a, b) => { scalarFill(r, a, b); floatForInt64(r, b, 0); },
        model: gprModel((b, mx) => P.cvtsd2si(b, 0, is64, trunc, mx), is64),
      });
    }
  }
  const f32s: Gen = (r, a, b) => { scalarFill(r, a, b); for (let j = 0; j < 4; j++) b[j] = f32Val(r); };
  const f64s: Gen = (r, a, b) => { scalarFill(r, a, b); f64Val(r, b, 0); f64Val(r, b, 2); };
  const i32s: Gen = (r, a, b) => { scalarFill(r, a, b); for (let j = 0; j < 4; j++) b[j] = int32(r); };
  const near32s: Gen = (r, a, b) => { scalarFill(r, a, b); for (let j = 0; j < 4; j++) b[j] = floatForInt32(r); };
  const near64s: Gen = (r, a, b) => { scalarFill(r, a, b); floatForInt64(r, b, 0); floatForInt64(r, b, 2); };
  specs.push({ name: 'cvtss2sd', family: 'cvt', count: n(6000), gen: f32s, model: xmmModel((d, s, mx) => P.cvtss2sd(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtsd2ss', family: 'cvt', count: n(12000), gen: f64s, model: xmmModel((d, s, mx) => P.cvtsd2ss(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtps2pd', family: 'cvt', count: n(4000), gen: f32s, model: xmmModel((d, s, mx) => P.cvtps2pd(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtpd2ps', family: 'cvt', count: n(8000), gen: f64s, model: xmmModel((d, s, mx) => P.cvtpd2ps(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtdq2ps', family: 'cvt', count: n(6000), gen: i32s, model: xmmModel((d, s, mx) => P.cvtdq2ps(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtdq2pd', family: 'cvt', count: n(2000), gen: i32s, model: xmmModel((d, s, mx) => P.cvtdq2pd(d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtps2dq', family: 'cvt', count: n(6000), gen: near32s, model: xmmModel((d, s, mx) => P.cvtps2dq(0, d, 0, s, 0, mx)) });
  specs.push({ name: 'cvttps2dq', family: 'cvt', count: n(6000), gen: near32s, model: xmmModel((d, s, mx) => P.cvtps2dq(1, d, 0, s, 0, mx)) });
  specs.push({ name: 'cvtpd2dq', family: 'cvt', count: n(6000), gen: near64s, model: xmmModel((d, s, mx) => P.cvtpd2dq(0, d, 0, s, 0, mx)) });
  specs.push({ name: 'cvttpd2dq', family: 'cvt', count: n(6000), gen: near64s, model: xmmModel((d, s, mx) => P.cvtpd2dq(1, d, 0, s, 0, mx)) });
  return specs;
}

/** A random MXCSR: any RC, DAZ/FTZ a quarter of the time each, masks mostly all set, sometimes pre-set flags. */
export function genMxcsr(r: Rng): number {
  let mx = (r.below(4) << 13) | (r.below(4) === 0 ? 0x40 : 0) | (r.below(4) === 0 ? 0x8000 : 0);
  const m = r.below(8);
  if (m < 5) mx |= 0x1f80;
  else if (m < 7) mx |= 0x1f80 & ~(0x80 << r.below(6));
  else mx |= (r.next() & 0x3f) << 7;
  if (r.below(8) === 0) mx |= r.next() & 0x3f;
  return mx;
}

/** Fills `count` cases of `spec` (op number `op`) into buf from word offset `at`. */
export function genCases(r: Rng, spec: OpSpec, op: number, buf: Uint32Array, at: number): void {
  const a = new Uint32Array(4);
  const b = new Uint32Array(4);
  for (let k = 0; k < spec.count; k++) {
    const c = at + k * CASE_WORDS;
    spec.gen(r, a, b);
    buf[c] = op;
    buf[c + 1] = genMxcsr(r);
    buf[c + 2] = r.next() & 0x8d5;
    buf[c + 3] = 0;
    buf.set(a, c + 4);
    buf.set(b, c + 8);
  }
}
