/**
 * Guest addresses as names, given the symbolizers symbols.ts loads: plain
 * functions over a map, without the image readers and decompressors that
 * loading needs (so a command can format events before it loads them).
 */
import type { Symbolizer } from '../sim/elf.js';
import type { SimEvent } from '../sim/events.js';

/** Symbolizers by domain id. */
export type Symbols = Map<number, Symbolizer>;

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
