/**
 * Writing a symbol-only ELF64 x86-64 file: what `objcopy --only-keep-debug`
 * leaves of a kernel, from what we know of it. The kernel's allocated
 * sections are there as SHT_NOBITS (addresses and sizes, no bytes: gdb
 * reads memory from the target), so that gdb places every symbol in a
 * section; then the symbol table, the GNU build-id note (gdb finds a
 * matching separate debug file by it), and optional unallocated sections
 * (.debug_frame).
 *
 * Layout: ELF header, section contents, section header table. Symbols are
 * written locals first (sh_info of .symtab is the first global), as the ELF
 * specification requires.
 */
import { EM_X86_64, ElfType, SectionIndex, SectionType, SymbolBind } from '../../sim/elf.js';

/** An allocated section of the kernel, kept as NOBITS. */
export type OutSection = { name: string; addr: bigint; size: number; flags: bigint; align: number };
/** A symbol; `section` indexes the OutSection list (-1: absolute). */
export type OutSymbol = { name: string; value: bigint; size: bigint; type: number; bind: number; section: number };
/** A section with contents: a note, debug information (not loaded: no flags, address 0), or test data. */
export type OutExtra = { name: string; type: number; data: Uint8Array; align: number; addr?: bigint; flags?: bigint };

export type SymbolElf = { entry: bigint; sections: OutSection[]; symbols: OutSymbol[]; extras: OutExtra[] };

const EHDR = 64;
const SHDR = 64;
const SYM = 24;

/** A string table: NUL first, each name once. */
class StrTab {
  private readonly parts: Buffer[] = [Buffer.alloc(1)];
  private readonly at = new Map<string, number>([['', 0]]);
  private size = 1;

  add(s: string): number {
    const hit = this.at.get(s);
    if (hit !== undefined) return hit;
    const b = Buffer.from(`${s}\0`, 'utf8');
    const off = this.size;
    this.parts.push(b);
    this.at.set(s, off);
    this.size += b.length;
    return off;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }
}

/** The note `name` (e.g. "GNU") of `type` with `desc`, as an SHT_NOTE section's contents. */
export function note(name: string, type: number, desc: Uint8Array): Uint8Array {
  const n = Buffer.from(`${name}\0`, 'latin1');
  const pad = (x: number): number => (x + 3) & ~3;
  const b = Buffer.alloc(12 + pad(n.length) + pad(desc.length));
  b.writeUInt32LE(n.length, 0);
  b.writeUInt32LE(desc.length, 4);
  b.writeUInt32LE(type, 8);
  n.copy(b, 12);
  b.set(desc, 12 + pad(n.length));
  return b;
}

export function writeSymbolElf(e: SymbolElf): Uint8Array {
  const shstr = new StrTab();
  const str = new StrTab();
  // Section indices: 0 null, 1.. the kernel's, then the extras, .symtab, .strtab, .shstrtab.
  const firstExtra = 1 + e.sections.length;
  const symtabIdx = firstExtra + e.extras.length;
  const syms = [...e.symbols.filter((s) => s.bind === SymbolBind.LOCAL), ...e.symbols.filter((s) => s.bind !== SymbolBind.LOCAL)];
  const firstGlobal = 1 + syms.findIndex((s) => s.bind !== SymbolBind.LOCAL);
  const symtab = Buffer.alloc(SYM * (syms.length + 1));
  syms.forEach((s, i) => {
    const o = SYM * (i + 1);
    symtab.writeUInt32LE(str.add(s.name), o);
    symtab[o + 4] = (s.bind << 4) | s.type;
    symtab.writeUInt16LE(s.section < 0 ? SectionIndex.ABS : s.section + 1, o + 6);
    symtab.writeBigUInt64LE(BigInt.asUintN(64, s.value), o + 8);
    symtab.writeBigUInt64LE(s.size, o + 16);
  });
  const strtab = str.bytes();

  type Hdr = { name: number; type: number; flags: bigint; addr: bigint; data: Uint8Array | null; size: number; link: number; info: number; align: number; entsize: number };
  const hdrs: Hdr[] = [
    { name: 0, type: SectionType.NULL, flags: 0n, addr: 0n, data: null, size: 0, link: 0, info: 0, align: 0, entsize: 0 },
    ...e.sections.map((s): Hdr => ({ name: shstr.add(s.name), type: SectionType.NOBITS, flags: s.flags, addr: s.addr, data: null, size: s.size, link: 0, info: 0, align: s.align, entsize: 0 })),
    ...e.extras.map((x): Hdr => ({ name: shstr.add(x.name), type: x.type, flags: x.flags ?? 0n, addr: x.addr ?? 0n, data: x.data, size: x.data.length, link: 0, info: 0, align: x.align, entsize: 0 })),
    { name: shstr.add('.symtab'), type: SectionType.SYMTAB, flags: 0n, addr: 0n, data: symtab, size: symtab.length, link: symtabIdx + 1, info: firstGlobal > 0 ? firstGlobal : syms.length + 1, align: 8, entsize: SYM },
    { name: shstr.add('.strtab'), type: SectionType.STRTAB, flags: 0n, addr: 0n, data: strtab, size: strtab.length, link: 0, info: 0, align: 1, entsize: 0 },
  ];
  const shstrIdx = hdrs.length;
  const shstrName = shstr.add('.shstrtab');
  const shstrtab = shstr.bytes();
  hdrs.push({ name: shstrName, type: SectionType.STRTAB, flags: 0n, addr: 0n, data: shstrtab, size: shstrtab.length, link: 0, info: 0, align: 1, entsize: 0 });

  // Contents after the ELF header, each at its alignment; the header table last, 8-aligned.
  let off = EHDR;
  const offsets = hdrs.map((h) => {
    if (h.data === null) return h.type === SectionType.NULL ? 0 : off;
    off = Math.ceil(off / Math.max(1, h.align)) * Math.max(1, h.align);
    const at = off;
    off += h.data.length;
    return at;
  });
  const shoff = Math.ceil(off / 8) * 8;
  const out = Buffer.alloc(shoff + SHDR * hdrs.length);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], 0); // ELFCLASS64, little-endian, version 1, System V ABI
  out.writeUInt16LE(ElfType.EXEC, 16);
  out.writeUInt16LE(EM_X86_64, 18);
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(BigInt.asUintN(64, e.entry), 24);
  out.writeBigUInt64LE(0n, 32); // no program headers
  out.writeBigUInt64LE(BigInt(shoff), 40);
  out.writeUInt16LE(EHDR, 52);
  out.writeUInt16LE(56, 54);
  out.writeUInt16LE(SHDR, 58);
  out.writeUInt16LE(hdrs.length, 60);
  out.writeUInt16LE(shstrIdx, 62);
  hdrs.forEach((h, i) => {
    if (h.data !== null) out.set(h.data, offsets[i]!);
    const o = shoff + SHDR * i;
    out.writeUInt32LE(h.name, o);
    out.writeUInt32LE(h.type, o + 4);
    out.writeBigUInt64LE(h.flags, o + 8);
    out.writeBigUInt64LE(BigInt.asUintN(64, h.addr), o + 16);
    out.writeBigUInt64LE(BigInt(offsets[i]!), o + 24);
    out.writeBigUInt64LE(BigInt(h.size), o + 32);
    out.writeUInt32LE(h.link, o + 40);
    out.writeUInt32LE(h.info, o + 44);
    out.writeBigUInt64LE(BigInt(h.align), o + 48);
    out.writeBigUInt64LE(BigInt(h.entsize), o + 56);
  });
  return out;
}
