/**
 * Host-CPU oracle for the SSE floating-point library: runs cases through the
 * native helper fp-oracle.c (built on demand into build/oracle/), which
 * executes the real instruction with the case's MXCSR and reports the result,
 * MXCSR and whether it trapped. Test-only; nothing in sim/ imports this.
 *
 * A case is CASE_WORDS uint32: op, mxcsr, rflags, 0, a[4], b[4]; a result is
 * CASE_WORDS uint32: x0[4], mxcsr, trap, rax lo, rax hi, rflags, 0, 0, 0
 * (see the header of fp-oracle.c for what each means).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildNative } from '../oracle/build-native.js';

export const CASE_WORDS = 12;
/** Result word offsets. */
export const RES = { X0: 0, MXCSR: 4, TRAP: 5, RAX_LO: 6, RAX_HI: 7, RFLAGS: 8 } as const;

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = `${ROOT}sim/cpu/sse/fp-oracle.c`;
const BINARY = `${ROOT}build/oracle/fp-oracle`;

let built: string | null = null;
let names: string[] | null = null;

/** Builds fp-oracle if it is missing or older than its source; returns its path. */
export function ensureFpOracle(): string {
  if (built === null) {
    buildNative(SOURCE, BINARY, 'fp oracle');
    built = BINARY;
  }
  return built;
}

/** The oracle's op names in op-number order. */
export function fpOpNames(): readonly string[] {
  if (names === null) names = execFileSync(ensureFpOracle(), ['--list'], { encoding: 'utf8' }).trim().split('\n');
  return names;
}

/** Op number of `name`; throws if the oracle does not know it. */
export function fpOp(name: string): number {
  const i = fpOpNames().indexOf(name);
  if (i < 0) throw new Error(`fp oracle: no op named ${name}`);
  return i;
}

/** Runs every case (CASE_WORDS each) natively; returns the results, CASE_WORDS each, same order. */
export function runFpOracle(cases: Uint32Array): Uint32Array {
  if (cases.length % CASE_WORDS !== 0) throw new Error('fp oracle: case buffer is not a whole number of cases');
  const input = Buffer.from(cases.buffer, cases.byteOffset, cases.byteLength);
  const r = spawnSync(ensureFpOracle(), [], { input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`fp-oracle failed (status ${r.status}, signal ${r.signal}): ${r.stderr.toString()}`);
  const out = r.stdout as Buffer;
  if (out.length !== input.length) throw new Error(`fp-oracle: expected ${input.length} result bytes, got ${out.length}`);
  const res = new Uint32Array(cases.length);
  new Uint8Array(res.buffer).set(out);
  return res;
}
