/**
 * ELF64 little-endian x86-64 image parser.
 *
 * `parseElf` reads the file header, program headers, section headers (with
 * names), symbol tables (.symtab and .dynsym) and notes (from PT_NOTE segments
 * and SHT_NOTE sections) out of a Uint8Array. Nothing is copied: segment,
 * section and note payloads are subarray views of the input.
 *
 * Malformed input never produces anything but an `ElfError` whose one-line
 * message says what is wrong and at which file offset.
 *
 * Addresses and symbol values/sizes are bigints (they are 64-bit); file
 * offsets and sizes are numbers (they index the Uint8Array; a value that
 * does not fit a safe integer is an ElfError).
 */

export class ElfError extends Error {
  override readonly name = 'ElfError';

  /** @param offset file offset the problem was found at */
  constructor(
    what: string,
    readonly offset: number,
  ) {
    super(`${what} at 0x${offset.toString(16)}`);
  }
}

/** e_type values. */
export const ElfType = { NONE: 0, REL: 1, EXEC: 2, DYN: 3, CORE: 4 } as const;
export type ElfType = (typeof ElfType)[keyof typeof ElfType];

export const EM_X86_64 = 62;

/** p_type values. */
export const SegmentType = {
  NULL: 0,
  LOAD: 1,
  DYNAMIC: 2,
  INTERP: 3,
  NOTE: 4,
  SHLIB: 5,
  PHDR: 6,
  TLS: 7,
  GNU_EH_FRAME: 0x6474e550,
  GNU_STACK: 0x6474e551,
  GNU_RELRO: 0x6474e552,
  GNU_PROPERTY: 0x6474e553,
} as const;

/** p_flags bits. */
export const SegmentFlag = { X: 1, W: 2, R: 4 } as const;

/** sh_type values. */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  RELA: 4,
  HASH: 5,
  DYNAMIC: 6,
  NOTE: 7,
  NOBITS: 8,
  REL: 9,
  DYNSYM: 11,
  INIT_ARRAY: 14,
  FINI_ARRAY: 15,
  GROUP: 17,
  SYMTAB_SHNDX: 18,
} as const;

/** sh_flags bits. */
export const SectionFlag = { WRITE: 1n, ALLOC: 2n, EXECINSTR: 4n } as const;

/** Symbol type (low nibble of st_info). */
export const SymbolType = {
  NOTYPE: 0,
  OBJECT: 1,
  FUNC: 2,
  SECTION: 3,
  FILE: 4,
  COMMON: 5,
  TLS: 6,
  GNU_IFUNC: 10,
} as const;

/** Symbol binding (high nibble of st_info). */
export const SymbolBind = { LOCAL: 0, GLOBAL: 1, WEAK: 2, GNU_UNIQUE: 10 } as const;

/** Special section indices. */
export const SectionIndex = { UNDEF: 0, LORESERVE: 0xff00, ABS: 0xfff1, COMMON: 0xfff2, XINDEX: 0xffff } as const;

const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const SHDR_SIZE = 64;
const SYM_SIZE = 24;
const PN_XNUM = 0xffff;

/** The ELF file header. */
export interface ElfHeader {
  /** e_type; see ElfType */
  readonly type: number;
  /** e_machine; always EM_X86_64 for a parsed file */
  readonly machine: number;
  /** e_version */
  readonly version: number;
  /** EI_OSABI */
  readonly osAbi: number;
  readonly entry: bigint;
  /** file offset of the program header table (0: none) */
  readonly phoff: number;
  /** file offset of the section header table (0: none) */
  readonly shoff: number;
  readonly flags: number;
  readonly ehsize: number;
  readonly phentsize: number;
  /** program header count, after PN_XNUM extension */
  readonly phnum: number;
  readonly shentsize: number;
  /** section header count, after the extended-numbering extension */
  readonly shnum: number;
  /** section index of the section name table, after extension */
  readonly shstrndx: number;
}

/** One program header and a view of its file contents. */
export interface ProgramHeader {
  readonly index: number;
  /** p_type; see SegmentType */
  readonly type: number;
  /** p_flags; see SegmentFlag */
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: bigint;
  readonly paddr: bigint;
  readonly filesz: number;
  readonly memsz: number;
  readonly align: number;
  /** the filesz bytes at offset */
  readonly data: Uint8Array;
}

/** One section header, its name, and a view of its contents (empty for NOBITS). */
export interface Section {
  readonly index: number;
  readonly name: string;
  /** sh_type; see SectionType */
  readonly type: number;
  /** sh_flags; see SectionFlag */
  readonly flags: bigint;
  readonly addr: bigint;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  readonly data: Uint8Array;
}

/** One symbol table entry. */
export interface ElfSymbol {
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  /** see SymbolType */
  readonly type: number;
  /** see SymbolBind */
  readonly bind: number;
  /** st_other & 3 (default, internal, hidden, protected) */
  readonly visibility: number;
  /** st_shndx; see SectionIndex for the special values */
  readonly shndx: number;
  /** the symbol table it came from (kallsyms and System.map: nm-style lists read outside this parser) */
  readonly table: '.symtab' | '.dynsym' | 'kallsyms' | 'System.map';
  /** index within that table */
  readonly index: number;
}

/** One ELF note (e.g. a Xen ELFNOTE). */
export interface ElfNote {
  /** owner name without its terminating NUL(s), e.g. "Xen" or "GNU" */
  readonly name: string;
  readonly type: number;
  readonly desc: Uint8Array;
  /** file offset of the note header */
  readonly offset: number;
  /** where the note was found first (a note in both is reported once) */
  readonly source: 'segment' | 'section';
}

/** Result of symbolizing an address: the covering function and the offset into it. */
export interface Symbolized {
  readonly name: string;
  readonly offset: number;
  readonly symbol: ElfSymbol;
}

export type Symbolizer = (addr: bigint) => Symbolized | null;

/** Options for createSymbolizer. */
export interface SymbolizerOptions {
  /** also use NOTYPE symbols defined in executable sections (assembly labels); default false */
  readonly includeNoType?: boolean;
  /** also data objects with a size (code can run from them: the hypercall page) */
  readonly includeObjects?: boolean;
  /** sections, used to bound size-0 symbols by the end of their section */
  readonly sections?: readonly Section[];
}

/** A parsed ELF64 file; payloads are views into `bytes`. */
export class ElfFile {
  private symbolizer: Symbolizer | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly header: ElfHeader,
    readonly segments: readonly ProgramHeader[],
    readonly sections: readonly Section[],
    readonly symbols: readonly ElfSymbol[],
    readonly notes: readonly ElfNote[],
  ) {}

  /** PT_LOAD segments in file order. */
  get loadSegments(): ProgramHeader[] {
    return this.segments.filter((s) => s.type === SegmentType.LOAD);
  }

  /** First section with this name. */
  section(name: string): Section | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** A defined symbol with this name, preferring global over weak over local. */
  symbol(name: string): ElfSymbol | undefined {
    let best: ElfSymbol | undefined;
    for (const s of this.symbols) {
      if (s.name !== name || s.shndx === SectionIndex.UNDEF) continue;
      if (best === undefined || bindRank(s.bind) < bindRank(best.bind)) best = s;
    }
    return best;
  }

  /** The function symbol covering addr, or null. */
  symbolize(addr: bigint): Symbolized | null {
    this.symbolizer ??= createSymbolizer(this.symbols, { sections: this.sections });
    return this.symbolizer(addr);
  }
}

function bindRank(bind: number): number {
  return bind === SymbolBind.GLOBAL ? 0 : bind === SymbolBind.WEAK ? 1 : 2;
}

interface SymRange {
  readonly start: bigint;
  end: bigint;
  readonly sym: ElfSymbol;
}

/**
 * Builds an address-to-function lookup over the defined FUNC (and GNU_IFUNC)
 * symbols. A symbol with a size covers [value, value + size); a size-0 symbol
 * covers up to the next symbol's address, bounded by its section's end when
 * the section is known (otherwise only its exact address). When several
 * symbols start at the same address, global beats weak beats local, then the
 * lexically smaller name wins. Lookups are binary searches.
 */
export function createSymbolizer(symbols: readonly ElfSymbol[], opts: SymbolizerOptions = {}): Symbolizer {
  const sections = opts.sections ?? [];
  const execSection = (shndx: number): boolean => {
    const s = sections[shndx];
    return s !== undefined && (s.flags & SectionFlag.EXECINSTR) !== 0n;
  };
  const candidates = symbols.filter((s) => {
    if (s.shndx === SectionIndex.UNDEF || s.name === '') return false;
    if (s.type === SymbolType.FUNC || s.type === SymbolType.GNU_IFUNC) return true;
    if (opts.includeObjects === true && s.type === SymbolType.OBJECT && s.size > 0n) return true;
    return opts.includeNoType === true && s.type === SymbolType.NOTYPE && execSection(s.shndx);
  });
  candidates.sort((a, b) => {
    if (a.value !== b.value) return a.value < b.value ? -1 : 1;
    const r = bindRank(a.bind) - bindRank(b.bind);
    if (r !== 0) return r;
    if (a.size !== b.size) return a.size > b.size ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });

  // One range per distinct start address (the preferred alias).
  const ranges: SymRange[] = [];
  for (const sym of candidates) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && last.start === sym.value) continue;
    ranges.push({ start: sym.value, end: sym.value + sym.size, sym });
  }
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i]!;
    if (r.sym.size !== 0n) continue;
    const sec = r.sym.shndx < SectionIndex.LORESERVE ? sections[r.sym.shndx] : undefined;
    const next = ranges[i + 1];
    if (sec === undefined || sec.type === SectionType.NULL) {
      r.end = r.start + 1n;
      continue;
    }
    const secEnd = sec.addr + BigInt(sec.size);
    let end = next !== undefined && next.start < secEnd ? next.start : secEnd;
    if (end <= r.start) end = r.start + 1n;
    r.end = end;
  }
  // maxEnd[i] = max end over ranges[0..i], so a backwards scan can stop early.
  const maxEnd: bigint[] = [];
  let m = -1n;
  for (const r of ranges) {
    if (r.end > m) m = r.end;
    maxEnd.push(m);
  }

  return (addr: bigint): Symbolized | null => {
    let lo = 0;
    let hi = ranges.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]!.start <= addr) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    for (let i = found; i >= 0 && maxEnd[i]! > addr; i--) {
      const r = ranges[i]!;
      if (addr < r.end) return { name: r.sym.name, offset: Number(addr - r.start), symbol: r.sym };
    }
    return null;
  };
}

// ---- parsing ------------------------------------------------------------------

const MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Converts a 64-bit file quantity to a number, or throws. */
function toNum(v: bigint, what: string, at: number): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ElfError(`${what} 0x${v.toString(16)} too large`, at);
  return Number(v);
}

/** Throws unless [off, off + len) lies within the file. */
function checkRange(total: number, off: number, len: number, what: string): void {
  if (off > total || len > total - off) throw new ElfError(`${what} out of bounds`, off);
}

function readString(table: Uint8Array, off: number, what: string, tableFileOffset: number): string {
  if (off >= table.length) {
    if (off === 0 && table.length === 0) return '';
    throw new ElfError(`${what} name offset ${hex(off)} beyond string table`, tableFileOffset);
  }
  let end = off;
  let ascii = true;
  while (end < table.length && table[end] !== 0) {
    if (table[end]! >= 0x80) ascii = false;
    end++;
  }
  if (end === table.length) throw new ElfError(`unterminated ${what} name`, tableFileOffset + off);
  return decodeName(table.subarray(off, end), ascii);
}

const utf8 = new TextDecoder('utf-8');

/** Decodes a name: ASCII directly (in chunks, to bound argument counts), else as UTF-8. */
function decodeName(bytes: Uint8Array, ascii = bytes.every((b) => b < 0x80)): string {
  if (!ascii) return utf8.decode(bytes);
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    s += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return s;
}

function parseHeader(bytes: Uint8Array, dv: DataView): ElfHeader {
  const len = bytes.length;
  for (let i = 0; i < 4; i++) {
    if (i >= len || bytes[i] !== MAGIC[i]) throw new ElfError('not an ELF file', 0);
  }
  if (len <= 4) throw new ElfError(`truncated ELF header (${len} of ${EHDR_SIZE} bytes)`, len);
  if (bytes[4] !== 2) throw new ElfError(`not ELF64 (class ${bytes[4]})`, 4);
  if (len <= 5) throw new ElfError(`truncated ELF header (${len} of ${EHDR_SIZE} bytes)`, len);
  if (bytes[5] !== 1) throw new ElfError(`not little-endian (data encoding ${bytes[5]})`, 5);
  if (len < EHDR_SIZE) throw new ElfError(`truncated ELF header (${len} of ${EHDR_SIZE} bytes)`, len);
  if (bytes[6] !== 1) throw new ElfError(`unsupported ELF version ${bytes[6]}`, 6);
  const machine = dv.getUint16(0x12, true);
  if (machine !== EM_X86_64) throw new ElfError(`not x86-64 (machine ${machine})`, 0x12);

  const phoff = toNum(dv.getBigUint64(0x20, true), 'e_phoff', 0x20);
  const shoff = toNum(dv.getBigUint64(0x28, true), 'e_shoff', 0x28);
  const phentsize = dv.getUint16(0x36, true);
  const shentsize = dv.getUint16(0x3a, true);
  let phnum = dv.getUint16(0x38, true);
  let shnum = dv.getUint16(0x3c, true);
  let shstrndx = dv.getUint16(0x3e, true);

  // Extended numbering: the real counts live in section header 0.
  if (shoff !== 0 && (shnum === 0 || shstrndx === SectionIndex.XINDEX || phnum === PN_XNUM)) {
    if (shentsize < SHDR_SIZE) throw new ElfError(`section header entry size ${shentsize} too small`, 0x3a);
    checkRange(len, shoff, SHDR_SIZE, 'section header table');
    if (shnum === 0) shnum = toNum(dv.getBigUint64(shoff + 0x20, true), 'extended section count', shoff + 0x20);
    if (shstrndx === SectionIndex.XINDEX) shstrndx = dv.getUint32(shoff + 0x28, true);
    if (phnum === PN_XNUM) phnum = dv.getUint32(shoff + 0x2c, true);
  }

  return {
    type: dv.getUint16(0x10, true),
    machine,
    version: dv.getUint32(0x14, true),
    osAbi: bytes[7]!,
    entry: dv.getBigUint64(0x18, true),
    phoff,
    shoff,
    flags: dv.getUint32(0x30, true),
    ehsize: dv.getUint16(0x34, true),
    phentsize,
    phnum,
    shentsize,
    shnum,
    shstrndx,
  };
}

function parseSegments(bytes: Uint8Array, dv: DataView, h: ElfHeader): ProgramHeader[] {
  if (h.phnum === 0) return [];
  if (h.phentsize < PHDR_SIZE) throw new ElfError(`program header entry size ${h.phentsize} too small`, 0x36);
  if (h.phoff === 0) throw new ElfError('program header table at offset 0', 0x20);
  checkRange(bytes.length, h.phoff, h.phnum * h.phentsize, 'program header table');
  const out: ProgramHeader[] = [];
  for (let i = 0; i < h.phnum; i++) {
    const at = h.phoff + i * h.phentsize;
    const type = dv.getUint32(at, true);
    const offset = toNum(dv.getBigUint64(at + 8, true), `segment ${i} p_offset`, at + 8);
    const filesz = toNum(dv.getBigUint64(at + 32, true), `segment ${i} p_filesz`, at + 32);
    const memsz = toNum(dv.getBigUint64(at + 40, true), `segment ${i} p_memsz`, at + 40);
    const align = toNum(dv.getBigUint64(at + 48, true), `segment ${i} p_align`, at + 48);
    checkRange(bytes.length, offset, filesz, `segment ${i} data`);
    if (type === SegmentType.LOAD && filesz > memsz) {
      throw new ElfError(`segment ${i} filesz ${hex(filesz)} exceeds memsz ${hex(memsz)}`, at + 32);
    }
    out.push({
      index: i,
      type,
      flags: dv.getUint32(at + 4, true),
      offset,
      vaddr: dv.getBigUint64(at + 16, true),
      paddr: dv.getBigUint64(at + 24, true),
      filesz,
      memsz,
      align,
      data: bytes.subarray(offset, offset + filesz),
    });
  }
  return out;
}

function parseSections(bytes: Uint8Array, dv: DataView, h: ElfHeader): Section[] {
  if (h.shoff === 0 || h.shnum === 0) return [];
  if (h.shentsize < SHDR_SIZE) throw new ElfError(`section header entry size ${h.shentsize} too small`, 0x3a);
  checkRange(bytes.length, h.shoff, h.shnum * h.shentsize, 'section header table');
  if (h.shstrndx !== SectionIndex.UNDEF && h.shstrndx >= h.shnum) {
    throw new ElfError(`section name table index ${h.shstrndx} out of range (${h.shnum} sections)`, 0x3e);
  }

  interface Raw {
    nameOff: number;
    type: number;
    flags: bigint;
    addr: bigint;
    offset: number;
    size: number;
    link: number;
    info: number;
    addralign: number;
    entsize: number;
    data: Uint8Array;
  }
  const raws: Raw[] = [];
  for (let i = 0; i < h.shnum; i++) {
    const at = h.shoff + i * h.shentsize;
    const type = dv.getUint32(at + 4, true);
    const offset = toNum(dv.getBigUint64(at + 24, true), `section ${i} sh_offset`, at + 24);
    const size = toNum(dv.getBigUint64(at + 32, true), `section ${i} sh_size`, at + 32);
    let data = bytes.subarray(0, 0);
    // Section 0 may carry extended counts in sh_size; it has no contents.
    if (i !== 0 && type !== SectionType.NOBITS && type !== SectionType.NULL) {
      checkRange(bytes.length, offset, size, `section ${i} data`);
      data = bytes.subarray(offset, offset + size);
    }
    raws.push({
      nameOff: dv.getUint32(at, true),
      type,
      flags: dv.getBigUint64(at + 8, true),
      addr: dv.getBigUint64(at + 16, true),
      offset,
      size,
      link: dv.getUint32(at + 40, true),
      info: dv.getUint32(at + 44, true),
      addralign: toNum(dv.getBigUint64(at + 48, true), `section ${i} sh_addralign`, at + 48),
      entsize: toNum(dv.getBigUint64(at + 56, true), `section ${i} sh_entsize`, at + 56),
      data,
    });
  }

  const strtab = h.shstrndx === SectionIndex.UNDEF ? undefined : raws[h.shstrndx];
  return raws.map((r, index) => {
    let name = '';
    if (strtab !== undefined && index !== 0) {
      name = readString(strtab.data, r.nameOff, `section ${index}`, strtab.offset);
    }
    return {
      index,
      name,
      type: r.type,
      flags: r.flags,
      addr: r.addr,
      offset: r.offset,
      size: r.size,
      link: r.link,
      info: r.info,
      addralign: r.addralign,
      entsize: r.entsize,
      data: r.data,
    };
  });
}

function parseSymbols(sections: readonly Section[]): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  for (const sec of sections) {
    if (sec.type !== SectionType.SYMTAB && sec.type !== SectionType.DYNSYM) continue;
    const table = sec.type === SectionType.SYMTAB ? '.symtab' : '.dynsym';
    const entsize = sec.entsize === 0 ? SYM_SIZE : sec.entsize;
    if (entsize < SYM_SIZE) throw new ElfError(`symbol table ${sec.name} entry size ${entsize} too small`, sec.offset);
    const strsec = sections[sec.link];
    if (strsec === undefined || sec.link === 0) {
      throw new ElfError(`symbol table ${sec.name} links to missing string table ${sec.link}`, sec.offset);
    }
    if (strsec.type === SectionType.NOBITS) {
      throw new ElfError(`symbol table ${sec.name} string table ${sec.link} has no contents`, sec.offset);
    }
    const d = sec.data;
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const count = Math.floor(d.length / entsize);
    for (let i = 1; i < count; i++) {
      const at = i * entsize;
      const info = dv.getUint8(at + 4);
      out.push({
        name: readString(strsec.data, dv.getUint32(at, true), `symbol ${i} of ${sec.name}`, strsec.offset),
        value: dv.getBigUint64(at + 8, true),
        size: dv.getBigUint64(at + 16, true),
        type: info & 0xf,
        bind: info >> 4,
        visibility: dv.getUint8(at + 5) & 3,
        shndx: dv.getUint16(at + 6, true),
        table,
        index: i,
      });
    }
  }
  return out;
}

/**
 * Parses the notes in data (file offset base), appending new ones to out.
 * Entries are aligned to `align` (4, or 8 for 8-aligned note segments).
 */
function parseNoteArea(
  data: Uint8Array,
  base: number,
  align: number,
  source: 'segment' | 'section',
  seen: Set<number>,
  out: ElfNote[],
): void {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const up = (n: number): number => Math.ceil(n / align) * align;
  let pos = 0;
  while (pos < data.length) {
    const rest = data.length - pos;
    if (rest < 12) {
      // Trailing zero padding is tolerated; anything else is a cut-off header.
      if (data.subarray(pos).every((b) => b === 0)) return;
      throw new ElfError('truncated note', base + pos);
    }
    const namesz = dv.getUint32(pos, true);
    const descsz = dv.getUint32(pos + 4, true);
    const type = dv.getUint32(pos + 8, true);
    const nameAt = pos + 12;
    const descAt = up(nameAt + namesz);
    const end = descAt + descsz;
    if (nameAt + namesz > data.length || end > data.length) throw new ElfError('truncated note', base + pos);
    if (!seen.has(base + pos)) {
      seen.add(base + pos);
      let nameEnd = nameAt + namesz;
      while (nameEnd > nameAt && data[nameEnd - 1] === 0) nameEnd--;
      out.push({
        name: decodeName(data.subarray(nameAt, nameEnd)),
        type,
        desc: data.subarray(descAt, end),
        offset: base + pos,
        source,
      });
    }
    pos = Math.min(up(end), data.length);
  }
}

function parseNotes(segments: readonly ProgramHeader[], sections: readonly Section[]): ElfNote[] {
  const out: ElfNote[] = [];
  const seen = new Set<number>();
  for (const seg of segments) {
    if (seg.type !== SegmentType.NOTE) continue;
    parseNoteArea(seg.data, seg.offset, seg.align === 8 ? 8 : 4, 'segment', seen, out);
  }
  for (const sec of sections) {
    if (sec.type !== SectionType.NOTE) continue;
    parseNoteArea(sec.data, sec.offset, sec.addralign === 8 ? 8 : 4, 'section', seen, out);
  }
  return out;
}

/** Parses an ELF64 little-endian x86-64 image; throws ElfError on malformed input. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = parseHeader(bytes, dv);
  const segments = parseSegments(bytes, dv, header);
  const sections = parseSections(bytes, dv, header);
  const symbols = parseSymbols(sections);
  const notes = parseNotes(segments, sections);
  return new ElfFile(bytes, header, segments, sections, symbols, notes);
}
