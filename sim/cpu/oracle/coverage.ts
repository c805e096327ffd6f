/**
 * Opcode coverage report (`npm run coverage:opcodes`): every entry of the
 * opcode table, whether the host oracle checks it, and why not when it
 * cannot (privileged or host-dependent instructions are covered by unit tests
 * through the host interface instead); then the valid forms the core does
 * not implement, which stop a run (and what the decoder recognizes beyond
 * the table); then every result the comparison masks (undefined.ts), with
 * the forms it covers and the manuals' wording.
 */
import { ENTRIES } from '../decode.js';
import { entryName, ORACLE_ENTRIES } from './gen.js';
import { usesFpu } from './gen-fpu.js';
import { RuleKind, RULES } from './undefined.js';

/** How the oracle checks forms whose effect is nothing visible. */
const HINTS = new Set(['lfence', 'mfence', 'sfence', 'pause', 'prefetchnta', 'prefetcht0', 'prefetcht1', 'prefetcht2', 'prefetch', 'prefetchw', 'prefetchwt1', 'clflush', 'clflushopt', 'clwb']);

export function coverageReport(): string {
  const lines: string[] = [];
  const byFamily = new Map<string, number>();
  for (const e of ENTRIES) byFamily.set(e.fn.name, (byFamily.get(e.fn.name) ?? 0) + 1);
  const mnemonics = new Set(ENTRIES.map((e) => e.mn));
  const oracleMn = new Set(ORACLE_ENTRIES.map((e) => e.mn));
  const unimpl = ENTRIES.filter((e) => e.unimpl !== undefined);
  lines.push(`opcode table: ${ENTRIES.length} forms (${mnemonics.size} mnemonics, ${byFamily.size} handlers), ${unimpl.length} of them valid but not implemented`);
  lines.push(`checked against the host CPU: ${ORACLE_ENTRIES.length} forms (${oracleMn.size} mnemonics)`);
  const fpu = ORACLE_ENTRIES.filter(usesFpu);
  lines.push(`  of which ${fpu.length} x87/SSE forms, from random XMM/MXCSR/x87 states (registers, MXCSR, FCW/FSW/FTW compared too):`);
  for (const e of fpu) lines.push(`    ${entryName(e).padEnd(34)}${HINTS.has(e.mn) ? ' no effect: checked for faults and for changing nothing' : ''}`);
  for (const e of ORACLE_ENTRIES) if (!usesFpu(e) && HINTS.has(e.mn)) lines.push(`    ${entryName(e).padEnd(34)} no effect: checked for faults and for changing nothing`);
  lines.push('not checkable from user mode (unit-tested through the host interface):');
  for (const e of ENTRIES) if (e.noOracle !== undefined) lines.push(`  ${entryName(e).padEnd(34)} ${e.noOracle}`);
  lines.push('valid but not implemented: a guest executing one stops the run with its name (the host oracle checks each is valid):');
  const classes = new Map<string, string[]>();
  for (const e of unimpl) classes.set(e.unimpl!, [...(classes.get(e.unimpl!) ?? []), e.mn]);
  for (const [k, mns] of classes) lines.push(`  ${k} (${mns.length} forms): ${[...new Set(mns)].join(' ')}`);
  lines.push('  recognized by the decoder beyond the table: the 0f 38 and 0f 3a maps (SSSE3, SSE4, ...), VEX (AVX) and EVEX (AVX-512)');
  lines.push('not compared with the host (sim/cpu/oracle/undefined.ts; the simulator still produces one fixed value):');
  for (const r of RULES) {
    const forms = ENTRIES.filter((e) => r.forms.includes(e.mn) && e.noOracle === undefined).length;
    const when = r.kind === RuleKind.VENDOR ? `vendor-specific, compared only on ${r.follows} hosts` : r.kind;
    lines.push(`  ${r.id.padEnd(18)} ${when}; ${forms} forms (${r.forms.join(' ')}): ${r.what}`);
    lines.push(`  ${''.padEnd(18)} ${r.source}`);
  }
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('coverage.ts')) process.stdout.write(`${coverageReport()}\n`);
