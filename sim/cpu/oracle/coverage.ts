/**
 * Opcode coverage report (`npm run coverage:opcodes`): every entry of the
 * opcode table, whether the host oracle checks it, and why not when it
 * cannot (privileged or host-dependent instructions are covered by unit tests
 * through the host interface instead); then every result the comparison
 * masks (undefined.ts), with the forms it covers and the manuals' wording.
 */
import { ENTRIES } from '../decode.js';
import { entryName, ORACLE_ENTRIES } from './gen.js';
import { RuleKind, RULES } from './undefined.js';

export function coverageReport(): string {
  const lines: string[] = [];
  const byFamily = new Map<string, number>();
  for (const e of ENTRIES) byFamily.set(e.fn.name, (byFamily.get(e.fn.name) ?? 0) + 1);
  const mnemonics = new Set(ENTRIES.map((e) => e.mn));
  const oracleMn = new Set(ORACLE_ENTRIES.map((e) => e.mn));
  lines.push(`opcode table: ${ENTRIES.length} forms (${mnemonics.size} mnemonics, ${byFamily.size} handlers)`);
  lines.push(`checked against the host CPU: ${ORACLE_ENTRIES.length} forms (${oracleMn.size} mnemonics)`);
  lines.push('not checkable from user mode (unit-tested through the host interface):');
  for (const e of ENTRIES) if (e.noOracle !== undefined) lines.push(`  ${entryName(e).padEnd(34)} ${e.noOracle}`);
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
