/**
 * The SSE floating-point library against the host CPU: hundreds of thousands
 * of generated cases (cases.ts) run natively by fp-oracle.c and through the
 * library; results, MXCSR, the #XM decision, GPR and EFLAGS results must be
 * bit-exact. XENRR_SSE_SCALE multiplies the case counts (default 1);
 * XENRR_SSE_SEED (default 0) draws a different set, for wider searches.
 */
import { describe, expect, it } from 'vitest';
import { gccAvailable } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';
import { genCases, opSpecs, type OpSpec } from './cases.js';
import { CASE_WORDS, RES, fpOp, fpOpNames, runFpOracle } from './oracle.js';

const HAVE_GCC = gccAvailable();
if (!HAVE_GCC) console.warn('SSE FP oracle tests skipped: gcc not found on PATH (needed to build fp-oracle.c)');
const SCALE = Number(process.env.XENRR_SSE_SCALE ?? 1);
const SEED = Number(process.env.XENRR_SSE_SEED ?? 0);
const EFLAGS_CHECKED = 0x8d5;

const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

/** Per-op seed, so one op's cases do not move when another op's count changes. */
function seedOf(name: string): number {
  let h = (0x811c9dc5 ^ Math.imul(SEED, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h || 1;
}

function describeCase(name: string, c: Uint32Array, got: Uint32Array, want: Uint32Array): string {
  const w = (u: Uint32Array, i: number, n: number): string => Array.from(u.subarray(i, i + n), hex).join(' ');
  return `${name} mxcsr=${hex(c[1]!)} a=[${w(c, 4, 4)}] b=[${w(c, 8, 4)}]\n` +
    `   host:  x0=[${w(got, 0, 4)}] mxcsr=${hex(got[4]!)} trap=${got[5]} rax=${hex(got[7]!)}${hex(got[6]!)} fl=${hex(got[8]! & EFLAGS_CHECKED)}\n` +
    `   model: x0=[${w(want, 0, 4)}] mxcsr=${hex(want[4]!)} trap=${want[5]} rax=${hex(want[7]!)}${hex(want[6]!)} fl=${hex(want[8]! & EFLAGS_CHECKED)}`;
}

function check(specs: OpSpec[]): { total: number; perOp: string[]; bad: string[]; badCount: number } {
  const total = specs.reduce((n, s) => n + s.count, 0);
  const buf = new Uint32Array(total * CASE_WORDS);
  let at = 0;
  for (const s of specs) {
    genCases(new Rng(seedOf(s.name)), s, fpOp(s.name), buf, at);
    at += s.count * CASE_WORDS;
  }
  const host = runFpOracle(buf);
  const want = new Uint32Array(CASE_WORDS);
  const bad: string[] = [];
  let badCount = 0;
  const perOp: string[] = [];
  at = 0;
  for (const s of specs) {
    let traps = 0;
    for (let k = 0; k < s.count; k++, at += CASE_WORDS) {
      const c = buf.subarray(at, at + CASE_WORDS);
      const got = host.subarray(at, at + CASE_WORDS);
      want.fill(0);
      s.model(c[1]!, c[2]!, c.subarray(4, 8), c.subarray(8, 12), want);
      if (got[RES.TRAP] !== 0) traps++;
      let same = true;
      for (let i = 0; i < 8; i++) if (got[i] !== want[i]) same = false;
      if ((got[RES.RFLAGS]! & EFLAGS_CHECKED) !== (want[RES.RFLAGS]! & EFLAGS_CHECKED)) same = false;
      if (!same) {
        badCount++;
        if (bad.length < 25) bad.push(describeCase(s.name, c, got, want));
      }
    }
    perOp.push(`${s.name} ${s.count} (${traps} #XM)`);
  }
  return { total, perOp, bad, badCount };
}

describe.skipIf(!HAVE_GCC)('SSE floating point vs the host CPU', () => {
  it('the oracle knows every op the generator produces', () => {
    const names = fpOpNames();
    for (const s of opSpecs(1)) expect(names).toContain(s.name);
    expect(opSpecs(1).length).toBe(names.length);
  });

  let grand = 0;
  for (const family of ['arith32', 'arith64', 'cmp', 'comis', 'cvt']) {
    it(`${family}: bit-exact results, MXCSR flags and #XM`, () => {
      const r = check(opSpecs(SCALE).filter((s) => s.family === family));
      grand += r.total;
      console.log(`sse ${family}: ${r.total} cases, ${r.badCount} mismatches; ${r.perOp.join(', ')}` + (family === 'cvt' ? `\nsse total: ${grand} cases` : ''));
      expect(r.bad.join('\n')).toBe('');
    });
  }
});
