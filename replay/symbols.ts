/**
 * Symbolization of guest RIPs: each domain's kernel image, found through the
 * trace header (path and sha256) or given explicitly, provides its ELF
 * symbol table. An image that is missing or differs is simply not used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createSymbolizer, parseElf, type Symbolizer } from '../sim/elf.js';
import type { HeaderData } from '../trace/schema.js';

export type Symbols = Map<number, Symbolizer>;

/** Symbolizers by domain id (domains are numbered 1.. in header order). */
export function loadSymbols(h: HeaderData, overrides: Map<string, string> = new Map()): Symbols {
  const out: Symbols = new Map();
  h.images.forEach((img, k) => {
    const path = overrides.get(img.domain) ?? img.path;
    if (!existsSync(path)) return;
    const bytes = readFileSync(path);
    if (!overrides.has(img.domain) && !Buffer.from(createHash('sha256').update(bytes).digest()).equals(Buffer.from(img.sha256))) return;
    try {
      const elf = parseElf(bytes);
      out.set(k + 1, createSymbolizer(elf.symbols, { includeNoType: true, includeObjects: true, sections: elf.sections }));
    } catch {
      // not an ELF we can read: leave the domain unsymbolized
    }
  });
  return out;
}

/** `func+0x12`, or the raw address. */
export function symbolize(syms: Symbols, dom: number, rip: bigint): string {
  const s = syms.get(dom)?.(rip);
  return s ? `${s.name}+0x${s.offset.toString(16)}` : `0x${rip.toString(16)}`;
}
