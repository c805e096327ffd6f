/**
 * Host-CPU oracle: runs x86-64 instruction snippets natively (via the C
 * helper native-runner.c) so the interpreter can be checked against real
 * hardware.
 *
 * Each case starts with the given 16 GPRs and flags (only FLAGS_MASK bits),
 * the code at CODE_BASE (rest of that RWX page is 0xCC), and the data region
 * DATA_BASE..+DATA_SIZE filled with fillData(seed). The pages immediately
 * below and above both regions are unmapped.
 *
 * Fault trap numbers are the CPU vectors as Linux reports them (0 #DE,
 * 1 #DB, 3 #BP with ripOffset after the int3, 6 #UD, 12 #SS, 13 #GP,
 * 14 #PF with the page-fault error code in err and the address in cr2,
 * 17 #AC), plus the runner's own codes below.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildNative } from './build-native.js';
import { fpuHex, parseFpuHex, type OracleFpu } from './fpu-image.js';

export type { OracleFpu } from './fpu-image.js';

export const CODE_BASE = 0x50000000;
export const DATA_BASE = 0x60000000;
export const DATA_SIZE = 8192;
/** CF PF AF ZF SF DF OF */
export const FLAGS_MASK = 0xcd5;
export const MAX_CODE = 64;

/** Runner-specific trap numbers (negative, never produced by the CPU). */
export const RunnerTrap = {
  /** The child process died during the case (no state available). */
  childDied: -1,
  /** The case ran longer than ~0.5-1 s (regs are wherever it was). */
  timeout: -2,
  /** The case made a system call (syscall / int 0x80); blocked by seccomp.
   *  ripOffset is after the instruction; rcx/r11 already clobbered. */
  syscall: -3,
} as const;

export type OracleCase = {
  regs: bigint[]; // 16 values, u64
  rflags: number; // only bits of FLAGS_MASK are honoured (set via popfq)
  code: Uint8Array; // instruction bytes placed at CODE_BASE; at most 64 bytes
  seed: number; // u32: data region initial contents = fillData(seed)
  /** x87/SSE state to start from (else: fninit, MXCSR 0x1f80, XMM zero); the result then reports the final one */
  fpu?: OracleFpu;
};

export type OracleFault = { trapno: number; err: number; ripOffset: number; cr2: bigint };

export type OracleResult = {
  fault: null | OracleFault;
  regs: bigint[]; // 16 final values (at the fault, taken from the signal ucontext, if it faulted)
  rflags: number; // final flags & FLAGS_MASK
  mem: Array<[offset: number, value: number]>; // bytes of the data region that differ from fillData(seed), ascending offset
  /** the x87/SSE state at the end (or the fault), when the case gave one */
  fpu?: OracleFpu;
};

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SOURCE = `${ROOT}sim/cpu/oracle/native-runner.c`;
const BINARY = `${ROOT}build/oracle/native-runner`;
const U64 = (1n << 64n) - 1n;

let built: string | null = null;

/** True if a `gcc` is on PATH. */
export function gccAvailable(): boolean {
  const r = spawnSync('gcc', ['--version'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Builds the runner if it is missing or older than its source; returns its path. */
export function ensureRunner(): string {
  if (built === null) {
    buildNative(SOURCE, BINARY, 'host-cpu oracle');
    built = BINARY;
  }
  return built;
}

/** The data region's initial contents for `seed` (xorshift32, byte = low 8 bits). */
export function fillData(seed: number): Uint8Array {
  const out = new Uint8Array(DATA_SIZE);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < DATA_SIZE; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

function hex2(b: number): string {
  return b < 16 ? `0${b.toString(16)}` : b.toString(16);
}

function encodeCase(c: OracleCase, index: number): string {
  if (c.regs.length !== 16) throw new Error(`oracle case ${index}: need 16 registers, got ${c.regs.length}`);
  if (c.code.length > MAX_CODE) throw new Error(`oracle case ${index}: code is ${c.code.length} bytes (max ${MAX_CODE})`);
  let s = '';
  for (const r of c.regs) s += `${(r & U64).toString(16)} `;
  s += `${((c.rflags & FLAGS_MASK) >>> 0).toString(16)} ${(c.seed >>> 0).toString(16)} `;
  if (c.code.length === 0) s += '-';
  for (const b of c.code) s += hex2(b);
  return c.fpu === undefined ? s : `${s} F:${fpuHex(c.fpu)}`;
}

function decodeResult(line: string, index: number): OracleResult {
  const t = line.split(' ');
  if (t.length < 21) throw new Error(`oracle: malformed result ${index}: ${line}`);
  const regs: bigint[] = [];
  for (let i = 4; i < 20; i++) regs.push(BigInt(`0x${t[i]}`));
  const mem: Array<[number, number]> = [];
  let fpu: OracleFpu | undefined;
  for (let i = 21; i < t.length; i++) {
    const m = t[i] as string;
    if (m.startsWith('F:')) {
      fpu = parseFpuHex(m.slice(2));
      continue;
    }
    const colon = m.indexOf(':');
    mem.push([parseInt(m.slice(0, colon), 16), parseInt(m.slice(colon + 1), 16)]);
  }
  const fault: OracleFault | null =
    t[0] === '-'
      ? null
      : {
          trapno: parseInt(t[0] as string, 10),
          err: parseInt(t[1] as string, 16),
          ripOffset: Number(BigInt(t[2] as string)),
          cr2: BigInt(`0x${t[3]}`),
        };
  return { fault, regs, rflags: parseInt(t[20] as string, 16), mem, ...(fpu !== undefined ? { fpu } : {}) };
}

let hostMask: number | null = null;

/** The host CPU's MXCSR_MASK (0xffff on Intel, 0x2ffff on AMD CPUs with misaligned-SSE mode), measured once. */
export function hostMxcsrMask(): number {
  if (hostMask === null) {
    const zero: OracleFpu = { fcw: 0x37f, fsw: 0, ftw: 0, fop: 0, fip: 0n, fdp: 0n, mxcsr: 0x1f80, st: new Array(8).fill(0n), xmm: new Array(16).fill(0n) };
    const [r] = runNative([{ regs: new Array(16).fill(0n), rflags: 0, code: new Uint8Array(0), seed: 1, fpu: zero }]);
    hostMask = r?.fpu?.mxcsrMask ?? 0xffff;
  }
  return hostMask;
}

/** Runs every case natively (each from a fresh state); one result per case, same order. */
export function runNative(cases: OracleCase[]): OracleResult[] {
  if (cases.length === 0) return [];
  const bin = ensureRunner();
  const input = cases.map(encodeCase).join('\n') + '\n';
  const r = spawnSync(bin, [], { input, maxBuffer: 1 << 30, encoding: 'latin1' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`native-runner failed (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
  const lines = r.stdout.split('\n');
  if (lines.length !== cases.length + 1) {
    throw new Error(`native-runner: expected ${cases.length} results, got ${lines.length - 1}: ${r.stderr}`);
  }
  const out: OracleResult[] = new Array(cases.length);
  for (let i = 0; i < cases.length; i++) out[i] = decodeResult(lines[i] as string, i);
  return out;
}
