/**
 * One ABI source (design.md, "Xen PV ABI"): the behaviour code takes every
 * sub-op number, struct offset and size, and ABI constant from sim/xen/public,
 * whose definitions layout.test.ts checks against Xen's own headers. A
 * literal in their place is a second, unchecked copy of the ABI.
 *
 * This scans the hypercall families, the PV execution model, the builder,
 * FIFO event channels, runstates, the machine, and every dom0 service and backend (sim/services/**) for the
 * shapes such copies take, and for local definitions that reuse a public
 * name. What matches but is not ABI is allow-listed below with the reason;
 * an allow-list entry that no longer matches anything fails too.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ABI from './xen/public/index.js';

const SIM = fileURLToPath(new URL('.', import.meta.url));

function tree(dir: string): string[] {
  return readdirSync(join(SIM, dir)).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(join(SIM, p)).isDirectory()) return tree(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

/** Files under the rule, relative to sim/. */
const FILES = [
  ...tree('xen/hypercall'),
  ...tree('services'),
  ...['pv-host', 'bounce', 'domain', 'xen', 'rings', 'builder', 'vcpu', 'evtchn-fifo', 'runstate'].map((f) => `xen/${f}.ts`),
  'machine.ts',
];

const NUM = '(?:0x[0-9a-fA-F]+|\\d+)';
/** The shapes of a literal ABI number. */
const RULES: Array<[string, RegExp]> = [
  ['sub-op case label', new RegExp(`\\bcase\\s+-?${NUM}\\s*:`)],
  ['bigint offset on an address', new RegExp(`\\+\\s*${NUM}n\\b`)],
  ['sub-op / selector compared with a number', new RegExp(`\\b(nr|cmd|op|type|which|space|virq|reason|operation)\\s*(===|!==|==|!=|<=|>=|<|>)\\s*${NUM}\\b`)],
  ['literal struct offset in a DataView access', new RegExp(`\\.(get|set)(Big)?(Ui|I)nt(8|16|32|64)\\(\\s*${NUM}\\s*[,)]`)],
  ['literal field offset added in a DataView access', new RegExp(`\\.(get|set)(Big)?(Ui|I)nt(8|16|32|64)\\(\\s*[\\w.]+\\s*\\+\\s*${NUM}\\b`)],
  ['literal struct size in a guest read', new RegExp(`\\.read\\([^,()]+,\\s*${NUM}\\)`)],
  ['literal array stride', new RegExp(`BigInt\\(\\s*${NUM}\\s*\\*`)],
];

/** Matches that are not ABI: file, a substring of the line, and why. */
const ALLOW: Array<{ file: string; line: string; why: string }> = [
  { file: 'xen/hypercall/mm.ts', line: 'xen.frames.mem.read(src * 4096, 4096)', why: 'a whole 4 KiB page (MMUEXT_COPY_PAGE), not a struct' },
  { file: 'services/xenstored.ts', line: 'max + 1n', why: 'strtol overflow arithmetic' },
  { file: 'xen/builder.ts', line: 'dv.getBigUint64(0, true)', why: "an ELF note's descriptor, read as a number (ELF, not Xen ABI)" },
  { file: 'xen/builder.ts', line: 'BigInt(dv.getUint32(0, true))', why: "an ELF note's descriptor, read as a number (ELF, not Xen ABI)" },
  { file: 'xen/builder.ts', line: '(start >> shift) + 1n', why: 'page-table span arithmetic' },
  { file: 'xen/pv-host.ts', line: 'v.guest.u8(at + 1n)', why: "the I/O bitmap's next byte (a port range may straddle two), not a struct" },
];

const strip = (line: string): string => line.replace(/\/\/.*$|^\s*\*.*$|^\s*\/\*.*$/, '');

/** Every rule a line of code breaks. */
function offences(code: string): string[] {
  return RULES.filter(([, re]) => re.test(code)).map(([name]) => name);
}

/** Names exported by sim/xen/public. */
const PUBLIC_NAMES = new Set(Object.keys(ABI));
const DEFINITION = /^\s*(?:export\s+)?(?:const|let|var|function|class)\s+([A-Za-z_$][\w$]*)/;

describe('one ABI source', () => {
  it('the rules catch the shapes an ABI literal takes', () => {
    const bad = [
      'case 6: {',
      'return h.v.guest.putU16(at + 36n, status);',
      'if (nr !== 23) return;',
      'const flags = dv.getUint16(34, true);',
      'f.setUint32(o + 24, 0x80000000, true);',
      'const raw = g.read(arg, 24);',
      'const at = list + BigInt(64 * k);',
    ];
    for (const b of bad) expect(offences(b), b).not.toEqual([]);
    const good = [
      'case EVTCHNOP_alloc_unbound: {',
      'return h.v.guest.putU16(fld(at, CP.status), status);',
      'const flags = dv.getUint16(CP.flags, true);',
      'const raw = g.read(arg, sched_poll.size);',
      'const at = fld(list, MC.size * k);',
    ];
    for (const g of good) expect(offences(g), g).toEqual([]);
  });

  it('behaviour code and services take ABI numbers from sim/xen/public', () => {
    expect(FILES.length).toBeGreaterThan(20);
    const found: string[] = [];
    const used = new Set<number>();
    for (const file of FILES) {
      readFileSync(join(SIM, file), 'utf8').split('\n').forEach((line, k) => {
        const hit = offences(strip(line));
        if (hit.length === 0) return;
        const a = ALLOW.findIndex((x) => x.file === file && line.includes(x.line));
        if (a >= 0) used.add(a);
        else found.push(`sim/${file}:${k + 1}: ${hit.join(', ')}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
    expect(ALLOW.filter((_, i) => !used.has(i)).map((x) => `stale allow-list entry: ${x.file}: ${x.line}`)).toEqual([]);
  });

  it('no local definition reuses a name of sim/xen/public', () => {
    const found: string[] = [];
    for (const file of FILES) {
      readFileSync(join(SIM, file), 'utf8').split('\n').forEach((line, k) => {
        const m = DEFINITION.exec(line);
        if (m && PUBLIC_NAMES.has(m[1]!)) found.push(`sim/${file}:${k + 1}: ${m[1]} is defined here and in sim/xen/public`);
      });
    }
    expect(found).toEqual([]);
  });
});
