/**
 * Symbolization of guest RIPs: each domain's kernel image, found through the
 * trace header (path and sha256) or given explicitly, provides its ELF
 * symbol table. An image that is missing or differs is simply not used.
 */
import { createSymbolizer, parseElf, type Symbolizer } from '../sim/elf.js';
import type { SimEvent } from '../sim/events.js';
import type { HeaderData } from '../trace/schema.js';
import { findImage } from './images.js';

export type Symbols = Map<number, Symbolizer>;

/** Symbolizers by domain id (domains are numbered 1.. in header order); `trace`, the trace's path, is one place images are looked for (images.ts). */
export function loadSymbols(h: HeaderData, overrides: Map<string, string> = new Map(), trace?: string): Symbols {
  const out: Symbols = new Map();
  h.images.forEach((img, k) => {
    if (img.role === 'disk') return;
    const found = findImage(h, k, { overrides, ...(trace === undefined ? {} : { trace }) });
    if (typeof found === 'string') return;
    try {
      const elf = parseElf(found.bytes);
      out.set(k + 1, createSymbolizer(elf.symbols, { includeNoType: true, includeObjects: true, sections: elf.sections }));
    } catch {
      // not an ELF we can read: leave the domain unsymbolized
    }
  });
  return out;
}

/** `func+0x12`, or the raw address. */
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
