/**
 * The symbol file for gdb (symbol-elf.ts, orc.ts, orc-cfi.ts,
 * symbol-file.ts), checked with binutils as the oracle: readelf reads our
 * sections, symbols and build-id note as written, nm sees each symbol's
 * type and size, and readelf's own decoding of the .debug_frame gives the
 * CFA table ORC's rules say it must be. Then Debian's kernel (when `npm run
 * kernels` fetched it): its kallsyms names and ORC tables all arrive.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileTempDir } from '../e2e/temp-dir.js';
import { parseElf, SectionFlag, SectionType, SymbolBind, SymbolType } from '../../sim/elf.js';
import { kernelImage } from './kernel-image.js';
import { readKallsyms } from './kallsyms.js';
import { OrcReg, readOrc, type OrcRow } from './orc.js';
import { orcDebugFrame } from './orc-cfi.js';
import { symbolFile } from './symbol-file.js';
import { note, writeSymbolElf, type OutSection } from './symbol-elf.js';
import { kernelTable, nmTable, symtabTable } from './symbol-table.js';

const dir = fileTempDir('xenrr-symfile-');
const hasBinutils = spawnSync('readelf', ['--version']).status === 0;
function tool(cmd: string, args: string[], bytes: Uint8Array, name: string): string {
  const f = join(dir, name);
  writeFileSync(f, bytes);
  const r = spawnSync(cmd, [...args, f], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const TEXT: OutSection = { name: '.text', addr: 0xffffffff81000000n, size: 0x1000, flags: SectionFlag.ALLOC | SectionFlag.EXECINSTR, align: 16 };
const DATA: OutSection = { name: '.data', addr: 0xffffffff82000000n, size: 0x800, flags: SectionFlag.ALLOC | SectionFlag.WRITE, align: 64 };
const PERCPU: OutSection = { name: '.data..percpu', addr: 0n, size: 0x2000, flags: SectionFlag.ALLOC | SectionFlag.WRITE, align: 4096 };
const T = 0xffffffff81000000n;

/** ORC rows as a kernel stores them: `wide` is the Linux 6.4+ layout (type:3 signal:1). */
function orcSections(rows: OrcRow[], wide: boolean, ipAt: bigint): Array<{ name: string; type: number; data: Uint8Array; align: number; addr: bigint; flags: bigint }> {
  const ips = Buffer.alloc(4 * rows.length);
  const u = Buffer.alloc(6 * rows.length);
  const narrow = { call: 0, regs: 1, 'regs-partial': 2, end: 4, undefined: 0 } as const;
  const wideType = { undefined: 0, end: 1, call: 2, regs: 3, 'regs-partial': 4 } as const;
  rows.forEach((r, i) => {
    ips.writeInt32LE(Number(r.ip - (ipAt + BigInt(4 * i))), 4 * i);
    u.writeInt16LE(r.spOffset, 6 * i);
    u.writeInt16LE(r.bpOffset, 6 * i + 2);
    u.writeUInt16LE(r.spReg | (r.bpReg << 4) | ((wide ? wideType[r.kind] : narrow[r.kind]) << 8), 6 * i + 4);
  });
  return [
    { name: '.orc_unwind_ip', type: SectionType.PROGBITS, data: ips, align: 4, addr: ipAt, flags: SectionFlag.ALLOC },
    { name: '.orc_unwind', type: SectionType.PROGBITS, data: u, align: 2, addr: ipAt + 0x1000n, flags: SectionFlag.ALLOC },
  ];
}

const row = (off: number, kind: OrcRow['kind'], spReg: number, spOffset: number, bpReg = 0, bpOffset = 0): OrcRow => ({ ip: T + BigInt(off), kind, spReg, spOffset, bpReg, bpOffset });
const ROWS: OrcRow[] = [
  row(0x0, 'call', OrcReg.SP, 8),
  row(0x1, 'call', OrcReg.SP, 16, OrcReg.PREV_SP, -16),
  row(0x4, 'call', OrcReg.BP, 16, OrcReg.PREV_SP, -16),
  row(0x10, 'undefined', OrcReg.UNDEFINED, 0),
  row(0x20, 'regs', OrcReg.SP, 0),
  row(0x24, 'regs-partial', OrcReg.SP, 8),
  row(0x30, 'call', OrcReg.SP, 8),
  row(0x31, 'end', OrcReg.UNDEFINED, 0),
  row(0x40, 'call', OrcReg.SP_INDIRECT, 8, OrcReg.BP, -8),
  row(0x50, 'undefined', OrcReg.UNDEFINED, 0),
];

describe('ORC tables', () => {
  it('reads both layouts (up to Linux 6.3 and from 6.4) to the same rows', () => {
    const ipAt = 0xffffffff82000000n;
    for (const wide of [false, true]) {
      const elf = writeSymbolElf({ entry: T, sections: [], symbols: [], extras: orcSections(ROWS, wide, ipAt) });
      expect(readOrc(parseElf(elf)), `wide=${wide}`).toEqual(ROWS);
    }
  });
});

describe.skipIf(!hasBinutils)('.debug_frame from ORC, as readelf decodes it', () => {
  it('gives the CFA, RBP and return-address rules of every row, signal frames through the "S" CIE, no FDE where ORC knows nothing', () => {
    const frames = writeSymbolElf({ entry: T, sections: [TEXT], symbols: [], extras: [{ name: '.debug_frame', type: SectionType.PROGBITS, data: orcDebugFrame(ROWS, T + 0x60n), align: 8 }] });
    const out = tool('readelf', ['--debug-dump=frames-interp'], frames, 'frames.elf');
    const fdes = [...out.matchAll(/FDE cie=([0-9a-f]+) pc=([0-9a-f]+)\.\.([0-9a-f]+)/g)].map((m) => [m[1], BigInt(`0x${m[2]}`) - T, BigInt(`0x${m[3]}`) - T]);
    const cies = [...out.matchAll(/^([0-9a-f]+) [0-9a-f]+ ffffffff CIE "(S?)"/gm)].map((m) => [m[1], m[2]]);
    const signalCie = cies.find((c) => c[1] === 'S')![0];
    const plainCie = cies.find((c) => c[1] === '')![0];
    expect(fdes).toEqual([[plainCie, 0x0n, 0x10n], [signalCie, 0x20n, 0x30n], [plainCie, 0x30n, 0x50n]]);
    // Each table row: location, then the columns readelf shows for that FDE.
    const table = (lo: number): string[] => {
      const block = out.split(/\n\n/).find((b) => new RegExp(`pc=${(T + BigInt(lo)).toString(16)}\\.\\.`).test(b))!;
      return block.split('\n').slice(2).map((l) => l.trim().replace(/^ffffffff81000/, '').replace(/\s+/g, ' '));
    };
    expect(table(0x0)).toEqual(['000 rsp+8 s c-8', '001 rsp+16 c-16 c-8', '004 rbp+16 c-16 c-8']);
    // pt_regs: rax 80, rdx 96, rcx 88, rbx 40, rsi 104, rdi 112, rbp 32, rsp 152, r8..r15 72..0, ip 128; the iret frame: ip 0, sp 24.
    expect(table(0x20)).toEqual([
      '020 rsp+0 c+80 c+96 c+88 c+40 c+104 c+112 c+32 c+152 c+72 c+64 c+56 c+48 c+24 c+16 c+8 c+0 c+128',
      '024 rsp+8 u u u u u u s c+24 u u u u u u u u c+0',
    ]);
    // ORC's end of stack: no return address. SP_INDIRECT (CFA = *RSP + 8) and BP saved at RBP - 8: DWARF expressions.
    expect(table(0x30)).toEqual(['030 rsp+8 s c-8', '031 rsp+8 s u', '040 exp exp c-8']);
  });
});

describe.skipIf(!hasBinutils)('the symbol file', () => {
  const kernelLike = (): Uint8Array => writeSymbolElf({
    entry: T, sections: [TEXT, DATA, PERCPU],
    symbols: [
      { name: 'startup', value: T, size: 0x40n, type: SymbolType.FUNC, bind: SymbolBind.GLOBAL, section: 0 },
      { name: 'helper', value: T + 0x40n, size: 0x20n, type: SymbolType.FUNC, bind: SymbolBind.LOCAL, section: 0 },
      { name: 'counter', value: DATA.addr, size: 8n, type: SymbolType.OBJECT, bind: SymbolBind.GLOBAL, section: 1 },
    ],
    extras: [{ name: '.notes', type: SectionType.NOTE, data: note('GNU', 3, Buffer.from('00112233445566778899aabbccddeeff01234567', 'hex')), align: 4 }, ...orcSections(ROWS, false, DATA.addr + 0x100n)],
  });

  it('keeps a .symtab kernel\'s sections (as NOBITS), symbols, sizes and build-id; readelf and nm read it', () => {
    const k = kernelLike();
    const f = symbolFile(k, symtabTable(k)!);
    expect(f).toMatchObject({ symbols: 3, functions: 2, unwindRows: ROWS.length, buildId: '00112233445566778899aabbccddeeff01234567' });
    const secs = tool('readelf', ['-SW'], f.bytes, 'k.sym.elf');
    expect(secs).toMatch(/\.text\s+NOBITS\s+ffffffff81000000 \S+ 001000 00\s+AX/);
    expect(secs).toMatch(/\.data\.\.percpu\s+NOBITS\s+0000000000000000 \S+ 002000 00\s+WA/);
    expect(secs).toMatch(/\.debug_frame\s+PROGBITS/);
    expect(tool('readelf', ['-n'], f.bytes, 'k.sym.elf')).toMatch(/Build ID: 00112233445566778899aabbccddeeff01234567/);
    expect(tool('nm', ['-nS'], f.bytes, 'k.sym.elf').trim().split('\n')).toEqual([
      'ffffffff81000000 0000000000000040 T startup',
      'ffffffff81000040 0000000000000020 t helper',
      'ffffffff82000000 0000000000000008 B counter',
    ]);
  });

  it('sizes an nm list as kallsyms does: to the next symbol, within the section; an alias sized 0; per-CPU symbols in .data..percpu', () => {
    const k = kernelLike();
    const table = nmTable([
      { addr: T, type: 'T', name: '_text' },
      { addr: T, type: 'T', name: 'startup_64' },
      { addr: T + 0x30n, type: 't', name: 'helper' },
      { addr: T + 0x1000n, type: 'T', name: '_etext' },
      { addr: DATA.addr + 0x10n, type: 'D', name: 'jiffies' },
      { addr: 0x1f80n, type: 'A', name: 'current_task' },
    ], 'kallsyms');
    const out = tool('nm', ['-nS'], symbolFile(k, table).bytes, 'nm.sym.elf').trim().split('\n');
    expect(out).toEqual([
      '0000000000001f80 0000000000000080 B current_task',
      'ffffffff81000000 0000000000000030 T _text',
      'ffffffff81000000 T startup_64',
      'ffffffff81000030 0000000000000fd0 t helper',
      'ffffffff81001000 T _etext',
      'ffffffff82000010 00000000000007f0 B jiffies',
    ]);
  });
});

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KERNEL = `${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`;

describe.skipIf(!existsSync(KERNEL) || !hasBinutils)("Debian's kernel", () => {
  it('every kallsyms name is in the file at its address; every ORC row is unwind data; the kernel\'s build-id', () => {
    const elf = kernelImage(new Uint8Array(readFileSync(KERNEL))).elf;
    const f = symbolFile(elf, kernelTable(elf)!);
    const ks = readKallsyms(elf)!;
    const rows = readOrc(parseElf(elf))!;
    expect(f.symbols).toBe(ks.length);
    expect(f.unwindRows).toBe(rows.length);
    expect(f.buildId).toBe(Buffer.from(parseElf(elf).notes.find((n) => n.name === 'GNU' && n.type === 3)!.desc).toString('hex'));
    const nm = new Map(tool('nm', ['-n'], f.bytes, 'debian.sym.elf').trim().split('\n').map((l) => [l.split(' ')[2]!, BigInt(`0x${l.split(' ')[0]}`)]));
    for (const s of ks) expect(nm.get(s.name), s.name).toBeDefined();
    expect(nm.get('start_kernel')).toBe(ks.find((s) => s.name === 'start_kernel')!.addr);
    // 6.1 keeps the narrow layout: almost every row is a CALL frame based on SP or BP, a few entry-code REGS frames.
    expect(rows.filter((r) => r.kind === 'call').length / rows.length).toBeGreaterThan(0.8);
    expect(rows.some((r) => r.kind === 'regs') && rows.some((r) => r.kind === 'regs-partial') && rows.some((r) => r.kind === 'end')).toBe(true);
  });
});
