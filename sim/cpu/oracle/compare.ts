/**
 * Comparing a native result (host-cpu.ts) with an emulated one (emulate.ts)
 * under the masking rules of undefined.ts, and the batch runner every
 * host-oracle test uses: run the cases natively, emulate each, compare,
 * count what was masked and why.
 */
import { readFileSync } from 'node:fs';
import type { EmulatedResult } from './emulate.js';
import { emulateCase } from './emulate.js';
import { compareFpu } from './fpu-case.js';
import { DATA_BASE, runNative, type OracleCase, type OracleResult } from './host-cpu.js';
import { emptyMask, RuleKind, type Masked, type Rule } from './undefined.js';

let vendorCache: string | null = null;

/** The host CPU's vendor string (GenuineIntel, AuthenticAMD, ...); XENRR_ORACLE_VENDOR overrides it. */
export function hostVendor(): string {
  if (process.env.XENRR_ORACLE_VENDOR) return process.env.XENRR_ORACLE_VENDOR;
  if (vendorCache === null) {
    let v = 'unknown';
    try {
      v = /^vendor_id\s*:\s*(\S+)/m.exec(readFileSync('/proc/cpuinfo', 'latin1'))?.[1] ?? v;
    } catch {
      // not Linux: vendor rules are then masked
    }
    vendorCache = v;
  }
  return vendorCache;
}

/** True for native results that carry no comparable state (runner-side failures). */
export function nativeUnusable(n: OracleResult): boolean {
  // #DB: a popf that set TF single-steps on the host; the core does not model TF.
  return n.fault !== null && (n.fault.trapno < 0 || n.fault.trapno === 1);
}

/** The rules that mask something in this case on a host of `vendor`, merged. */
export function maskFor(emu: EmulatedResult, vendor: string): { mask: Masked; rules: Rule[] } {
  const mask = emptyMask();
  const rules: Rule[] = [];
  for (const { rule, mask: m } of emu.undef) {
    if (rule.kind === RuleKind.VENDOR && rule.follows === vendor) continue;
    rules.push(rule);
    mask.flags |= m.flags;
    for (const [r, bits] of m.regs) mask.regs.set(r, (mask.regs.get(r) ?? 0n) | bits);
    mask.mem.push(...m.mem);
  }
  return { mask, rules };
}

/** The host kernel maps the upper half supervisor-only, so user faults there carry P=1; we map nothing there. */
const KERNEL_HALF = 0xffff800000000000n;
const REG = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const FLAG_NAMES: Array<[number, string]> = [[1, 'CF'], [4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x400, 'DF'], [0x800, 'OF']];
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/**
 * First difference between a native and an emulated result, as one line;
 * null when equal. What undefined.ts masks for `vendor` is not compared.
 */
export function compareResults(native: OracleResult, emu: OracleResult | EmulatedResult, vendor = hostVendor()): string | null {
  const { mask } = 'undef' in emu ? maskFor(emu, vendor) : { mask: emptyMask() };
  const nf = native.fault;
  const ef = emu.fault;
  if ((nf === null) !== (ef === null)) {
    const f = nf ?? ef!;
    return `${nf ? 'host' : 'emulator'} faulted (vector ${f.trapno}, err ${hex(f.err)}, rip+${f.ripOffset}) and the other did not`;
  }
  if (nf && ef) {
    if (nf.trapno !== ef.trapno) return `vector: host ${nf.trapno}, emulator ${ef.trapno}`;
    const pMask = nf.trapno === 14 && nf.cr2 >= KERNEL_HALF ? ~1 : ~0;
    if ((nf.err & pMask) !== (ef.err & pMask)) return `error code for vector ${nf.trapno}: host ${hex(nf.err)}, emulator ${hex(ef.err)}`;
    if (nf.ripOffset !== ef.ripOffset) return `fault rip: host +${nf.ripOffset}, emulator +${ef.ripOffset}`;
    if (nf.trapno === 14 && nf.cr2 !== ef.cr2) return `cr2: host ${hex(nf.cr2)}, emulator ${hex(ef.cr2)}`;
  }
  for (let i = 0; i < 16; i++) {
    const keep = ~(mask.regs.get(i) ?? 0n);
    if ((native.regs[i]! & keep) !== (emu.regs[i]! & keep)) return `${REG[i]}: host ${hex(native.regs[i]!)}, emulator ${hex(emu.regs[i]!)}`;
  }
  const nfl = native.rflags & ~mask.flags;
  const efl = emu.rflags & ~mask.flags;
  if (nfl !== efl) {
    const d = FLAG_NAMES.filter(([b]) => (nfl & b) !== (efl & b)).map(([b, n]) => `${n}=${nfl & b ? 1 : 0}/${efl & b ? 1 : 0}`);
    return `flags (host/emulator): ${d.join(' ')}`;
  }
  const skip = (off: number): boolean => mask.mem.some(([a, len]) => BigInt(DATA_BASE + off) >= a && BigInt(DATA_BASE + off) < a + BigInt(len));
  const nm = new Map(native.mem);
  const em = new Map(emu.mem);
  for (const [off, v] of native.mem) if (em.get(off) !== v && !skip(off)) return `memory DATA+${hex(off)}: host ${hex(v)}, emulator ${em.has(off) ? hex(em.get(off)!) : 'unchanged'}`;
  for (const [off, v] of emu.mem) if (!nm.has(off) && !skip(off)) return `memory DATA+${hex(off)}: host unchanged, emulator ${hex(v)}`;
  return compareFpu(native, emu);
}

export type BatchCase = { name: string; c: OracleCase };
export type BatchResult = {
  /** one line per mismatching case: name, bytes, state, first difference */
  mismatches: string[];
  compared: number;
  /** cases the runner could not use (nativeUnusable), by case name */
  unusable: Map<string, number>;
  /** compared cases per case name */
  comparedBy: Map<string, number>;
  /** cases in which a rule masked something, by rule id */
  masked: Map<string, number>;
  /** one line for the test output: counts, host vendor, what was masked */
  summary: string;
};

const bytesOf = (c: OracleCase): string => Array.from(c.code, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Runs `cases` natively in one batch and compares each with the interpreter. */
export function compareBatch(label: string, cases: readonly BatchCase[], vendor = hostVendor()): BatchResult {
  const native = runNative(cases.map((x) => x.c));
  const r: BatchResult = { mismatches: [], compared: 0, unusable: new Map(), comparedBy: new Map(), masked: new Map(), summary: '' };
  const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);
  let vendorSkipped = 0;
  const faults = new Map<string, number>();
  cases.forEach((x, k) => {
    const n = native[k]!;
    if (n.fault !== null) bump(faults, `#${n.fault.trapno}`);
    if (nativeUnusable(n)) return bump(r.unusable, x.name);
    r.compared++;
    bump(r.comparedBy, x.name);
    const emu = emulateCase(x.c);
    const { rules } = maskFor(emu, vendor);
    for (const rule of rules) {
      bump(r.masked, rule.id);
      if (rule.kind === RuleKind.VENDOR) vendorSkipped++;
    }
    const d = compareResults(n, emu, vendor);
    if (d !== null) {
      const regs = x.c.regs.map((v) => v.toString(16)).join(',');
      r.mismatches.push(`${x.name} [${bytesOf(x.c)}] regs=${regs} fl=${x.c.rflags.toString(16)} seed=${x.c.seed}: ${d}`);
    }
  });
  const masked = [...r.masked].map(([id, k]) => `${id} ${k}`).join(', ');
  const unusable = [...r.unusable.values()].reduce((a, b) => a + b, 0);
  r.summary =
    `${label}: ${cases.length} cases (faulting on the host: ${[...faults].map(([v, k]) => `${k} x ${v}`).join(', ') || 'none'}), ` +
    `${r.compared} compared, ${unusable} unusable, ${r.mismatches.length} mismatches; host ${vendor}` +
    (masked ? `; masked (undefined.ts): ${masked}` : '') +
    (vendorSkipped ? `; ${vendorSkipped} vendor-specific results not compared (the simulator follows GenuineIntel, the vendor its CPUID names)` : '');
  return r;
}
