/**
 * The code generator's state and its building blocks: register operands,
 * effective addresses, the inline TLB fast path, handler calls and exits.
 * Per-instruction emitters (jit-alu.ts, jit-mov.ts, ...) are written with
 * these.
 *
 * A region function is `(c, K, pc, left)`: the cpu, the region's constants
 * (handlers, instructions, blocks, the exit table at K[0]), the block to
 * start at, the budget. Its source depends only on the guest code, so one
 * compiled function serves every cpu that runs the same code (jit.ts).
 * Locals (jit.ts writes the prologue): r (c.r), m (c.mmu), tR tW tH tV (the
 * MMU's TLB arrays), bud (budget left at the start of the current block),
 * ic0 and ep (c.icount and the MMU epoch at entry), xq (the exit taken),
 * the flags record (jit-flags.ts), scratch ea eaH ix ixH a aH b bH x xH v vH
 * t cf of.
 *
 * A memory access is inline when the TLB holds the page with the rights it
 * needs and the access does not straddle pages (it cannot fault nor touch
 * decoded code then); otherwise the region leaves *before* the instruction
 * and the interpreter runs the rest of the block: faults, straddles, A/D
 * updates and self-modifying code are all the interpreter's.
 */
import type { Block, Insn } from './decode.js';
import { FLAGS_IN, REC, type Known } from './jit-flags.js';
import { TLB_MASK } from './mmu.js';
import type { Handler } from './optable.js';

/** How a handler called from translated code relates to the flags. */
export const HandlerUse = {
  /** neither reads nor writes the flags, uses no host hook: called as is */
  NEUTRAL: 0,
  /** anything else: flags, budget position and RIP written back first, flags reloaded after */
  FULL: 1,
} as const;

/**
 * Where a region exit goes (K[0][xq], read by the epilogue in jit.ts).
 * `n`: instructions of the current block it retires beyond `bud`; RIP:
 * `lo`/`hi` (rip 0), v/vH (rip 1) or as a handler left it (rip 2); `xb`:
 * the block left from (Cpu.lookup chains from it); `nb`/`at`: the block the
 * run loop runs next: interpreted from instruction `at`, or (at -1) from its
 * start, only if the MMU epoch is unchanged, as a block boundary would check.
 */
export type Exit = { n: number; rip: number; lo: number; hi: number; xb: Block | null; nb: Block | null; at: number };

export class Gen {
  readonly lines: string[] = [];
  /** the region's constants (K[0] is the exit table) */
  readonly vals: unknown[];
  readonly exits: Exit[] = [];
  private readonly names = new Map<unknown, string>();
  /** the instruction being translated: its index in the region and in its block */
  k = 0;
  j = 0;
  ins!: Insn;
  blk!: Block;
  /** the flag-setting instruction the locals describe, when known */
  known: Known | null = null;

  constructor(readonly handlerUse: (i: Insn) => number) {
    this.vals = [this.exits];
  }

  emit(s: string): void {
    this.lines.push(s);
  }

  /** Expression for a region constant holding `v`. */
  val(v: unknown): string {
    let n = this.names.get(v);
    if (n === undefined) {
      n = `K[${this.vals.length}]`;
      this.vals.push(v);
      this.names.set(v, n);
    }
    return n;
  }

  // ---- exits ------------------------------------------------------------

  /** Leave the region through a new exit table entry. */
  exit(e: Partial<Exit>): string {
    this.exits.push({ n: 0, rip: 0, lo: 0, hi: 0, xb: null, nb: null, at: -1, ...e });
    return `{ xq = ${this.exits.length - 1}; break L; }`;
  }

  /** Leave before the current instruction: the interpreter runs it and the rest of the block. */
  exitBefore(): string {
    return this.exit({ rip: 0, lo: this.ins.startLo, hi: this.ins.startHi, nb: this.blk, at: this.j });
  }

  /** Leave after the current instruction (RIP = its next), as the interpreter's block loop does on c.stop. */
  exitAfter(): string {
    return this.exit({ n: this.j + 1, lo: this.ins.nextLo, hi: this.ins.nextHi, xb: this.blk });
  }

  /** After `retire`: leave for (lo, hi). */
  exitTo(lo: number, hi: number): string {
    return this.exit({ lo, hi, xb: this.blk });
  }

  /** After `retire`: leave with RIP = v/vH (`inCpu`: already set). */
  exitDyn(inCpu = false): string {
    return this.exit({ rip: inCpu ? 2 : 1, xb: this.blk });
  }

  /** End the block: retire it (once, after anything that may fault). */
  retire(): string {
    return `bud -= ${this.blk.insns.length};`;
  }

  // ---- handler calls ------------------------------------------------------

  /**
   * Call the current instruction's interpreter handler with the cpu as the
   * interpreter would have it before the instruction: flags record,
   * c.icount at the block start, RIP at the block's end, and c.bi naming
   * the instruction should it fault (translated code has no catch: the run
   * loop restarts at c.bi). The flags go back into the locals after a FULL
   * handler. `known` is the caller's business.
   */
  call(i: Insn = this.ins): string {
    const full = this.handlerUse(i) === HandlerUse.FULL;
    return `S(c, ${this.k}, ic0 + left - bud, ${this.blk.nextLo}, ${this.blk.nextHi}, ${REC}); ${this.val(i.fn as Handler)}(c, ${this.val(i)});${full ? ` ${FLAGS_IN}` : ''}`;
  }

  /** A handler call in the middle of a block; c.stop (code invalidation, a host exit) ends the region after it. */
  handler(i: Insn = this.ins): string {
    return `${this.call(i)} if (c.stop) ${this.exitAfter()}`;
  }

  // ---- registers ----------------------------------------------------------

  /** Read register `id` at size sz (1 2 4: low bits; 8: the low half), as uint32. */
  reg(id: number, sz: number): string {
    if (sz === 1) return id >= 16 ? `((r[${2 * (id - 16)}] >>> 8) & 255)` : `(r[${2 * id}] & 255)`;
    if (sz === 2) return `(r[${2 * id}] & 65535)`;
    return `r[${2 * id}]`;
  }
  regH(id: number): string {
    return `r[${2 * id + 1}]`;
  }

  /** Write register `id` at size sz: 8/16-bit writes merge, 32-bit zero-extends. */
  setReg(id: number, sz: number, lo: string, hi = '0'): string {
    if (sz === 1) {
      if (id >= 16) {
        const k = 2 * (id - 16);
        return `r[${k}] = (r[${k}] & 0xffff00ff) | ((${lo} & 255) << 8);`;
      }
      return `r[${2 * id}] = (r[${2 * id}] & 0xffffff00) | (${lo} & 255);`;
    }
    if (sz === 2) return `r[${2 * id}] = (r[${2 * id}] & 0xffff0000) | (${lo} & 65535);`;
    if (sz === 4) return `r[${2 * id}] = ${lo}; r[${2 * id + 1}] = 0;`;
    return `r[${2 * id}] = ${lo}; r[${2 * id + 1}] = ${hi};`;
  }

  // ---- memory -------------------------------------------------------------

  /** Compute the instruction's effective address into ea/eaH (eaH as int32), as decode.ts does (`noSeg`: without the FS/GS base, as lea). */
  ea(i: Insn = this.ins, noSeg = false): string {
    const out: string[] = [];
    const d = i.dispLo | 0;
    let dispAdded = false;
    if (i.base >= 0) {
      out.push(`ea = r[${2 * i.base}]; eaH = r[${2 * i.base + 1}];`);
    } else {
      out.push(`ea = ${i.dispLo >>> 0}; eaH = ${i.dispHi | 0};`);
      dispAdded = true;
    }
    if (i.index >= 0) {
      const sc = i.scale;
      const lo = `r[${2 * i.index}]`;
      const hi = `r[${2 * i.index + 1}]`;
      if (sc === 0) out.push(`ix = ${lo}; ixH = ${hi};`);
      else out.push(`ix = (${lo} << ${sc}) >>> 0; ixH = (${hi} << ${sc}) | (${lo} >>> ${32 - sc});`);
      out.push('ea = (ea + ix) >>> 0; eaH = eaH + ixH + (ea < ix ? 1 : 0);');
    }
    if (!dispAdded && d !== 0) {
      // 64-bit add of the sign-extended displacement: carry out of the low half when ea < disp (unsigned)
      const u = d >>> 0;
      out.push(`ea = (ea + ${d}) >>> 0; eaH = eaH + (ea < ${u} ? ${d < 0 ? 0 : 1} : ${d < 0 ? -1 : 0});`);
    }
    if (i.asz === 4) out.push('eaH = 0;');
    if (!noSeg && (i.seg === 4 || i.seg === 5)) {
      const s = i.seg === 4 ? 'fs' : 'gs';
      out.push(`ix = c.${s}Lo; ea = (ea + ix) >>> 0; eaH = eaH + c.${s}Hi + (ea < ix ? 1 : 0);`);
    }
    out.push('eaH |= 0;');
    return out.join(' ');
  }

  /** TLB test for an n-byte read (`w`: write) at ea/eaH; leaves the entry index in t. */
  hit(n: number, w = false): string {
    return `(t = (ea >>> 12) & ${TLB_MASK}, ${w ? 'tW' : 'tR'}[t] === (ea >>> 12) && tH[t] === eaH && (ea & 4095) <= ${4096 - n})`;
  }

  /** After a hit: the value at ea (size 1 2 4, or the low half of 8; `hi`: the high half). */
  load(n: number, hi = false): string {
    if (n === 1) return 'tV[t].getUint8(ea & 4095)';
    if (n === 2) return 'tV[t].getUint16(ea & 4095, true)';
    return `tV[t].getUint32(${hi ? '(ea & 4095) + 4' : 'ea & 4095'}, true)`;
  }

  /** After a write hit: store lo (and hi for size 8) at ea. */
  store(n: number, lo: string, hi = '0'): string {
    if (n === 1) return `tV[t].setUint8(ea & 4095, ${lo});`;
    if (n === 2) return `tV[t].setUint16(ea & 4095, ${lo}, true);`;
    if (n === 4) return `tV[t].setUint32(ea & 4095, ${lo}, true);`;
    return `tV[t].setUint32(ea & 4095, ${lo}, true); tV[t].setUint32((ea & 4095) + 4, ${hi}, true);`;
  }
}
