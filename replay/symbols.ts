/**
 * Symbolization of guest RIPs. Each domain's names come from, in order: a
 * symbol file given now (`--symbols name=path`), the symbol file the trace
 * recorded for it (role "symbols", while its sha256 matches and its kernel
 * is the recorded one), or its kernel
 * image (found through the trace header, path and sha256, or given with
 * `--image`): the ELF's .symtab, else the kernel's kallsyms, also inside a
 * bzImage. A file that is missing, differs or has no symbols is simply not
 * used. Naming addresses with the tables loaded is symbolize.ts's.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { HeaderData } from '../trace/schema.js';
import { kernelImage, sha256 } from './image/kernel-image.js';
import { kernelTable, symbolFileTable, type SymbolTable } from './image/symbol-table.js';
import { findImage, imageIndex } from './images.js';
import type { Symbols } from './symbolize.js';
import { headerDomains } from './cli/inputs.js';

export { eventLocation, stackText, symbolize, symbolizeReturn, type Symbols } from './symbolize.js';

/** Kernel tables by the kernel file's sha256: kallsyms takes a while to read. */
const kernelTables = new Map<string, SymbolTable | null>();

function tableOf(read: () => SymbolTable | null): SymbolTable | null {
  try {
    return read();
  } catch {
    // not a file we can read symbols from: leave the domain unsymbolized
    return null;
  }
}

/**
 * Symbol tables by domain id (domains are numbered 1.. in the order of the
 * header's kernel images). `trace`, the trace's path, is one place files are
 * looked for (images.ts).
 */
export function loadSymbolTables(h: HeaderData, overrides: Map<string, string> = new Map(), symbolFiles: Map<string, string> = new Map(), trace?: string): Map<number, SymbolTable> {
  const out = new Map<number, SymbolTable>();
  const where = { overrides, ...(trace === undefined ? {} : { trace }) };
  const ids = new Map(headerDomains(h).map((d) => [d.name, d.id]));
  h.images.forEach((img, k) => {
    if ((img.role || 'kernel') !== 'kernel') return;
    const dom = img.domain;
    const given = symbolFiles.get(dom);
    const recorded = imageIndex(h, 'symbols', dom);
    let t: SymbolTable | null = null;
    if (given !== undefined) t = existsSync(given) ? tableOf(() => symbolFileTable(new Uint8Array(readFileSync(given)))) : null;
    // The recorded symbol file describes the recorded kernel, not one given in its place.
    else if (recorded >= 0 && !overrides.has(dom)) {
      const f = findImage(h, recorded, where);
      if (typeof f !== 'string') t = tableOf(() => symbolFileTable(new Uint8Array(f.bytes)));
    }
    if (t === null) {
      const f = findImage(h, k, where);
      if (typeof f !== 'string') {
        const key = sha256(f.bytes).toString('hex');
        if (!kernelTables.has(key)) kernelTables.set(key, tableOf(() => kernelTable(kernelImage(f.bytes).elf)));
        t = kernelTables.get(key)!;
      }
    }
    if (t !== null) out.set(ids.get(dom) ?? k + 1, t);
  });
  return out;
}

/** Symbolizers by domain id (see loadSymbolTables). */
export function loadSymbols(h: HeaderData, overrides: Map<string, string> = new Map(), symbolFiles: Map<string, string> = new Map(), trace?: string): Symbols {
  return new Map([...loadSymbolTables(h, overrides, symbolFiles, trace)].map(([dom, t]) => [dom, t.symbolize]));
}
