/**
 * A kernel's symbol file for gdb (`xenrr symbols`, and what `xenrr
 * gdbserver` offers gdb for a stripped kernel): an ELF holding no code,
 * only what a debugger needs to name and unwind the running kernel:
 *
 * - the kernel's allocated sections, as NOBITS (symbol-elf.ts);
 * - function and object symbols with sizes, from the symbol table given
 *   (the kernel's own .symtab, its kallsyms, a System.map); an nm-style
 *   list's sizes run to the next symbol, as kallsyms_lookup has them (the
 *   last one's to its section's end), and stop at the end of the symbol's
 *   section; where several names share an address, the first listed (the
 *   one Linux prints) has the size, the others size 0 (gdb prefers a sized
 *   symbol);
 * - the kernel's GNU build-id, so gdb can find its -dbg package's vmlinux;
 * - .debug_frame converted from the kernel's ORC tables (orc-cfi.ts), so
 *   that `bt` unwinds as the kernel's own unwinder does.
 */
import { parseElf, SectionFlag, SectionType, SegmentFlag, SymbolType, type ElfFile, type ElfSymbol } from '../../sim/elf.js';
import { readOrc } from './orc.js';
import { orcDebugFrame } from './orc-cfi.js';
import type { SymbolTable } from './symbol-table.js';
import { note, writeSymbolElf, type OutSection, type OutSymbol } from './symbol-elf.js';

const NT_GNU_BUILD_ID = 3;

export type SymbolFileInfo = { bytes: Uint8Array; symbols: number; functions: number; unwindRows: number; buildId: string | null };

/** The kernel's allocated sections; without section headers, one a loadable segment. */
function sectionsOf(f: ElfFile): OutSection[] {
  const secs = f.sections.filter((s) => (s.flags & SectionFlag.ALLOC) !== 0n && s.size > 0);
  if (secs.length > 0) return secs.map((s) => ({ name: s.name, addr: s.addr, size: s.size, flags: s.flags, align: s.addralign }));
  return f.loadSegments.filter((p) => p.memsz > 0).map((p, k) => {
    const x = (p.flags & SegmentFlag.X) !== 0;
    const w = (p.flags & SegmentFlag.W) !== 0;
    return { name: x ? `.text.${k}` : w ? `.data.${k}` : `.rodata.${k}`, addr: p.vaddr, size: p.memsz, flags: SectionFlag.ALLOC | (x ? SectionFlag.EXECINSTR : 0n) | (w ? SectionFlag.WRITE : 0n), align: 4096 };
  });
}

/** Index of the section holding `a` (or ending at it, for end markers), -1 when none. */
function sectionFinder(secs: OutSection[]): (a: bigint) => number {
  const order = secs.map((s, i) => ({ s, i })).sort((x, y) => (x.s.addr < y.s.addr ? -1 : x.s.addr > y.s.addr ? 1 : 0));
  return (a) => {
    let at = -1;
    for (const { s, i } of order) {
      if (s.addr > a) break;
      if (a < s.addr + BigInt(s.size)) return i;
      if (a === s.addr + BigInt(s.size)) at = i;
    }
    return at;
  };
}

/** The symbols as they go into the file (see the header comment for sizes and aliases). */
function symbolsOf(t: SymbolTable, secs: OutSection[]): OutSymbol[] {
  const find = sectionFinder(secs);
  const nmList = t.source !== '.symtab';
  const out: OutSymbol[] = [];
  let lastAddr = -1n;
  for (const s of t.list()) {
    if (s.name === '' || s.type === SymbolType.SECTION || s.type === SymbolType.FILE || (!nmList && s.shndx === 0)) continue;
    const k = find(s.value);
    const room = k >= 0 ? secs[k]!.addr + BigInt(secs[k]!.size) - s.value : s.size;
    let size = s.size < room ? s.size : room;
    if (nmList) {
      // The list's last address runs to its section's end; a later name at one address is an alias.
      if (s.value === lastAddr) size = 0n;
      else if (size === 0n) size = room;
      lastAddr = s.value;
    }
    out.push({ name: s.name, value: s.value, size, type: typeOf(s, k >= 0 ? secs[k]! : undefined), bind: s.bind, section: k });
  }
  return out;
}

/** Code in an executable section is a function, anything else in a section an object, the rest stays as it is. */
function typeOf(s: ElfSymbol, sec: OutSection | undefined): number {
  if (s.type !== SymbolType.OBJECT && s.type !== SymbolType.FUNC && s.type !== SymbolType.NOTYPE) return s.type;
  if (sec === undefined) return s.type === SymbolType.FUNC ? SymbolType.NOTYPE : s.type;
  if (s.type === SymbolType.NOTYPE) return s.type;
  return (sec.flags & SectionFlag.EXECINSTR) !== 0n && s.type === SymbolType.FUNC ? SymbolType.FUNC : SymbolType.OBJECT;
}

/** The symbol file of kernel `elf` (an ELF, as loaded) with the names of `table`. */
export function symbolFile(elf: Uint8Array, table: SymbolTable): SymbolFileInfo {
  const f = parseElf(elf);
  const sections = sectionsOf(f);
  const symbols = symbolsOf(table, sections);
  const extras = [];
  const id = f.notes.find((n) => n.name === 'GNU' && n.type === NT_GNU_BUILD_ID);
  if (id !== undefined) extras.push({ name: '.note.gnu.build-id', type: SectionType.NOTE, data: note('GNU', NT_GNU_BUILD_ID, id.desc), align: 4 });
  const rows = readOrc(f) ?? [];
  if (rows.length > 0) {
    const last = rows[rows.length - 1]!.ip;
    const k = sectionFinder(sections)(last);
    const end = k >= 0 ? sections[k]!.addr + BigInt(sections[k]!.size) : last + 1n;
    extras.push({ name: '.debug_frame', type: SectionType.PROGBITS, data: orcDebugFrame(rows, end), align: 8 });
  }
  const bytes = writeSymbolElf({ entry: f.header.entry, sections, symbols, extras });
  return {
    bytes, symbols: symbols.length, functions: symbols.filter((s) => s.type === SymbolType.FUNC).length, unwindRows: rows.length,
    buildId: id === undefined ? null : Buffer.from(id.desc).toString('hex'),
  };
}
