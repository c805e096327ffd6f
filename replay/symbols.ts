/**
 * Symbolization of guest RIPs. Each domain's names come from, in order: a
 * symbol file given now (`--symbols name=path`), the symbol file the trace
 * recorded for it (role "symbols", while its sha256 matches and its kernel
 * is the recorded one), or its kernel
 * image (found through the trace header, path and sha256, or given with
 * `--image`): the ELF's .symtab, else the kernel's kallsyms, also inside a
 * bzImage. A file that is missing, differs or has no symbols is simply not
 * used.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Symbolizer } from '../sim/elf.js';
import type { SimEvent } from '../sim/events.js';
import type { HeaderData } from '../trace/schema.js';
import { kernelImage, sha256 } from './image/kernel-image.js';
import { kernelTable, symbolFileTable, type SymbolTable } from './image/symbol-table.js';
import { findImage, imageIndex } from './images.js';

export type Symbols = Map<number, Symbolizer>;

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
        const bytes = new Uint8Array(f.bytes);
        const key = sha256(bytes).toString('hex');
        if (!kernelTables.has(key)) kernelTables.set(key, tableOf(() => kernelTable(kernelImage(bytes).elf)));
        t = kernelTables.get(key)!;
      }
    }
    if (t !== null) out.set(k + 1, t);
  });
  return out;
}

/** Symbolizers by domain id (see loadSymbolTables). */
export function loadSymbols(h: HeaderData, overrides: Map<string, string> = new Map(), symbolFiles: Map<string, string> = new Map(), trace?: string): Symbols {
  return new Map([...loadSymbolTables(h, overrides, symbolFiles, trace)].map(([dom, t]) => [dom, t.symbolize]));
}

/**
 * Where in the guest an event happened: inside a hypercall (the call and
 * what Xen did for it) the return address into the hypercall page's caller,
 * else the RIP (for iret, which is jumped to, the hypercall page).
 */
export function eventLocation(e: SimEvent): bigint {
  return e.stack?.[0] ?? (e.kind === 'hypercall' && e.caller !== 0n ? e.caller : e.rip);
}

/**
 * A return address as `f+0x1c`: looked up at address - 1, as gdb does, so a
 * call that is its function's last instruction (noreturn) names the caller.
 */
export function symbolizeReturn(syms: Symbols, dom: number, ret: bigint): string {
  const s = ret > 0n ? syms.get(dom)?.(ret - 1n) : undefined;
  return s ? `${s.name}+0x${(s.offset + 1).toString(16)}` : `0x${ret.toString(16)}`;
}

/** A guest call stack as `f+0x1c <- g+0x40 <- ...`, innermost first. */
export function stackText(syms: Symbols, dom: number, stack: readonly bigint[]): string[] {
  return stack.map((a) => symbolizeReturn(syms, dom, a));
}

export function symbolize(syms: Symbols, dom: number, rip: bigint): string {
  const s = syms.get(dom)?.(rip);
  return s ? `${s.name}+0x${s.offset.toString(16)}` : `0x${rip.toString(16)}`;
}
