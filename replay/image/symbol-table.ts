/**
 * Symbol tables for naming guest addresses, from whatever a kernel
 * developer has: an ELF's own .symtab (our corpus, an unstripped vmlinux),
 * a System.map, or, for a stripped kernel such as Debian's, the kernel's
 * embedded kallsyms. `symbolize` names code addresses as `function+off`;
 * `lookup` finds any symbol by name (watchpoints on variables).
 *
 * An nm-style list (kallsyms, System.map) has no sizes: as Linux's own
 * kallsyms_lookup does, a symbol reaches up to the next higher address of
 * any symbol, and at one address the first name listed is the one shown.
 */
import { createSymbolizer, parseElf, SectionIndex, SymbolBind, SymbolType, type ElfSymbol, type Symbolizer } from '../../sim/elf.js';
import { ImageError, isBzImage } from './bzimage.js';
import { readKallsyms, type NmSymbol } from './kallsyms.js';
import { kernelImage, sha256 } from './kernel-image.js';

export type SymbolTable = {
  symbolize: Symbolizer;
  lookup(name: string): { addr: bigint; size: number } | null;
  /** where the names come from: ".symtab", "kallsyms", "System.map" */
  source: string;
  count: number;
};

/** nm type letters of code symbols */
const CODE = new Set(['t', 'T', 'w', 'W']);

/** A table over an nm-style list, in its order (ties at one address: first wins). */
export function nmTable(list: readonly NmSymbol[], source: 'kallsyms' | 'System.map'): SymbolTable {
  const all = list.map((s, index) => ({ s, index })).sort((a, b) => (a.s.addr < b.s.addr ? -1 : a.s.addr > b.s.addr ? 1 : a.index - b.index));
  /** the next address above all[i]'s, or -1n */
  const nextAbove: bigint[] = new Array<bigint>(all.length);
  for (let i = all.length - 1, next = -1n; i >= 0; i--) {
    if (i + 1 < all.length && all[i + 1]!.s.addr !== all[i]!.s.addr) next = all[i + 1]!.s.addr;
    nextAbove[i] = next;
  }
  const sym = (i: number): ElfSymbol => {
    const { s, index } = all[i]!;
    const end = nextAbove[i]!;
    const lower = s.type.toLowerCase() === s.type;
    return {
      name: s.name, value: s.addr, size: end < 0n ? 0n : end - s.addr,
      type: CODE.has(s.type) ? SymbolType.FUNC : SymbolType.OBJECT,
      bind: s.type === 'w' || s.type === 'W' ? SymbolBind.WEAK : lower ? SymbolBind.LOCAL : SymbolBind.GLOBAL,
      visibility: 0, shndx: SectionIndex.ABS, table: source, index,
    };
  };
  // Code ranges: one per distinct start, the first name listed there.
  const starts: bigint[] = [];
  const syms: ElfSymbol[] = [];
  for (let i = 0; i < all.length; i++) {
    if (!CODE.has(all[i]!.s.type) || starts[starts.length - 1] === all[i]!.s.addr) continue;
    starts.push(all[i]!.s.addr);
    syms.push(sym(i));
  }
  const byName = new Map<string, number>();
  all.forEach(({ s }, i) => {
    if (!byName.has(s.name)) byName.set(s.name, i);
  });
  return {
    source,
    count: list.length,
    symbolize: (addr) => {
      let lo = 0;
      let hi = starts.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (starts[mid]! <= addr) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (found < 0) return null;
      const s = syms[found]!;
      const off = addr - s.value;
      if (s.size === 0n ? off !== 0n : off >= s.size) return null;
      return { name: s.name, offset: Number(off), symbol: s };
    },
    lookup: (name) => {
      const i = byName.get(name);
      if (i === undefined) return null;
      const s = sym(i);
      return { addr: s.value, size: Number(s.size) };
    },
  };
}

/** An ELF's own symbol table, or null if it has no function symbols (stripped). */
export function symtabTable(elf: Uint8Array): SymbolTable | null {
  const f = parseElf(elf);
  if (!f.symbols.some((s) => s.type === SymbolType.FUNC && s.shndx !== SectionIndex.UNDEF)) return null;
  const symbolize = createSymbolizer(f.symbols, { includeNoType: true, includeObjects: true, sections: f.sections });
  return {
    source: '.symtab',
    count: f.symbols.length,
    symbolize,
    lookup: (name) => {
      const s = f.symbols.find((x) => x.name === name && x.value !== 0n);
      return s === undefined ? null : { addr: s.value, size: Number(s.size) };
    },
  };
}

/** A kernel ELF's symbols: its .symtab, else its kallsyms; null if it has neither. */
export function kernelTable(elf: Uint8Array): SymbolTable | null {
  const own = symtabTable(elf);
  if (own !== null) return own;
  const ks = readKallsyms(elf);
  return ks === null ? null : nmTable(ks, 'kallsyms');
}

/** Lines of `nm -n` / System.map: address, type letter, name (a module in brackets may follow). */
export function parseSystemMap(text: string): NmSymbol[] {
  if (text.includes('The real System.map is in the')) throw new ImageError("this System.map is Debian's placeholder (the real one is in the kernel's -dbg package); leave --symbols out to use the kernel's kallsyms");
  const out: NmSymbol[] = [];
  const lines = text.split('\n');
  lines.forEach((line, k) => {
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?-])\s+(\S+)/.exec(line);
    if (m === null) throw new ImageError(`line ${k + 1} is not 'address type name': ${JSON.stringify(line.slice(0, 60))}`);
    out.push({ addr: BigInt(`0x${m[1]}`), type: m[2]!, name: m[3]! });
  });
  if (out.length === 0) throw new ImageError('no symbols in it');
  return out;
}

const cache = new Map<string, SymbolTable>();

/**
 * The symbols in a file a user names: a System.map, an unstripped vmlinux,
 * or any kernel image (its .symtab, else its kallsyms). Throws ImageError.
 */
export function symbolFileTable(bytes: Uint8Array): SymbolTable {
  const key = sha256(bytes).toString('hex');
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let table: SymbolTable | null;
  if (bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46) {
    table = kernelTable(bytes);
    if (table === null) throw new ImageError('this ELF has neither a symbol table nor kallsyms');
  } else if (isBzImage(bytes)) {
    table = kernelTable(kernelImage(bytes).elf);
    if (table === null) throw new ImageError("this kernel's ELF has neither a symbol table nor kallsyms");
  } else {
    table = nmTable(parseSystemMap(Buffer.from(bytes).toString('latin1')), 'System.map');
  }
  cache.set(key, table);
  return table;
}
