/**
 * Hot code translated to JavaScript. When a block has been entered
 * `Cpu.jitThreshold` times, it and the blocks reachable from it by direct
 * jumps within the same page (already decoded: paths that ran) become one
 * generated function, a *region*: a `switch` over its blocks inside a loop,
 * so a loop in the guest is a loop in JS and V8 optimizes it as one. Every
 * instruction is translated: the common forms inline (jit-alu.ts,
 * jit-mov.ts, jit-shift.ts, jit-branch.ts), the others as a call to their
 * interpreter handler; memory accesses inline the TLB hit (jit-gen.ts); the
 * flags stay lazy in locals (jit-flags.ts).
 *
 * Contract with the run loop (cpu.ts), the interpreter's exactly (jit.test.ts
 * compares the two):
 * - `fn(pc, left)` runs from block `pc` of the region while the budget
 *   `left` covers whole blocks; it returns the instructions retired and
 *   leaves c.icount, RIP and the flags as the interpreter would;
 * - it leaves at a block the region does not hold (c.xb: the block it
 *   left from, for chaining), at a block the budget does not cover (c.nb:
 *   that block, which the run loop interprets partially), after any
 *   instruction that sets c.stop, and at the first block boundary after the
 *   MMU epoch changed (TLB flush, mode change, code invalidation);
 * - an instruction that faults unwinds with c.icount at its block's start
 *   and c.bi = its index in `insns`, so the run loop can restart at it.
 *
 * Regions hold blocks of one page only (one physical frame, one linear
 * page), so a store into that frame stops it (c.stop, from invalidateCode)
 * and a change of mapping ends it at the next block boundary (epoch).
 */
import type { Cpu } from './cpu.js';
import { ENTRIES, type Block, type Insn } from './decode.js';
import { ALU_EMITTERS, type Emitter } from './jit-alu.js';
import { emitEnd, endByHandler, relTarget } from './jit-branch.js';
import { cfL, condL, FLAGS_OUT, matL, PAR, sync } from './jit-flags.js';
import { Gen, HandlerUse } from './jit-gen.js';
import { MOV_EMITTERS } from './jit-mov.js';
import { MUL_EMITTERS } from './jit-mul.js';
import { SHIFT_EMITTERS } from './jit-shift.js';
import { FENCE_OPS } from './exec/fence.js';
import { divS, divU, imul32, imul64, imul64lo, mul32, mul64, QR, W } from './exec/wide.js';
import { SSE_INT_OPS } from './exec/sse-int.js';
import { SSE_MOV_OPS } from './exec/sse-mov.js';
import { SSE_SHUF_OPS } from './exec/sse-shuf.js';
import { SSE_STATE_OPS } from './exec/sse-state.js';
import type { Handler } from './optable.js';
import { setFlagsFromString } from 'node:v8';

/*
 * No on-stack replacement in this process. A region is entered as many
 * short calls; when one loop inside a call runs long, V8 compiles a second
 * version entered only at that loop, and once the region's normal
 * optimized code deopts (a path that had not run when it was compiled),
 * every later call starts in V8's bytecode interpreter, far slower than
 * ours, until it reaches the loop: the compute guests' best runs swung
 * between two speeds (sort 80 or 200 MIPS, sha256 320 or 460, from one
 * process to the next). Without it, V8 optimizes a region at a call, as it
 * does every short function; a Linux boot is as fast or faster.
 */
setFlagsFromString('--no-use-osr');

export type RegionFn = (c: Cpu, K: unknown[], pc: number, left: number) => number;
export type Region = {
  fn: RegionFn;
  /** its constants (jit-gen.ts) */
  K: unknown[];
  /** every instruction of the region, in the order the generated code numbers them (c.bi) */
  insns: Insn[];
};

/** Entries into a block before its region is translated (Cpu.jitThreshold; 0 disables translation). */
export const HOT_RUNS = 16384;

/**
 * A block is translated only if it got hot quickly: its `jitThreshold`
 * entries came within threshold * HOT_GAP instructions (once every 1024
 * instructions or more often). One that took longer starts counting again
 * (Cpu.run), so it is translated if it gets hotter later. A Linux boot
 * reaches the threshold in ~170 blocks that then run well under a million
 * instructions each: V8's optimizing compile of their regions (~30 ms
 * each, on the one background thread every region waits for) costs more
 * than interpreting them; the compute guests' loops are never held back.
 */
export const HOT_GAP = 1024;

/**
 * A block whose address was in a region translated before in this process
 * tries that region's root again after threshold >> WARM_SHIFT entries
 * (warmTranslate): if the region has the same source as then, the function
 * V8 has already compiled and optimized serves at once, at no compile cost
 * (compileRegion, `cachedOnly`).
 */
export const WARM_SHIFT = 4;

/** A bad XENRR_JIT value (the CLI prints the message as one line). */
export class JitSettingError extends Error {
  override name = 'JitSettingError';
}

/**
 * Every Cpu's default translation threshold, from the environment variable
 * XENRR_JIT: unset, empty or `on`: HOT_RUNS; `0` or `off`: interpret only;
 * a positive integer N: translate a block's region after N entries.
 * Translation never changes what a run does (replay/jit-determinism.test.ts
 * records byte-identical traces either way), only how fast it goes.
 */
export function jitDefault(): number {
  const v = (globalThis.process?.env.XENRR_JIT ?? '').trim().toLowerCase();
  if (v === '' || v === 'on') return HOT_RUNS;
  if (v === 'off') return 0;
  if (/^\d{1,9}$/.test(v)) return Number(v);
  throw new JitSettingError(`XENRR_JIT=${v}: expected on, off, 0 or a number of block entries`);
}

/** Instructions per region at most (V8 does not optimize very large functions). */
const MAX_INSNS = 400;
/** A block joins a region only if it ran at least 1/COLD times as often as the region's root. */
const COLD = 16;

/**
 * Generated functions by source. The source depends only on the guest code
 * (per-cpu objects are in K), so a cpu running code another has run, in
 * this run or an earlier one in the process (replays, seeks, bisection,
 * repeated runs), reuses the function V8 has already optimized.
 */
const CACHE = new Map<string, RegionFn>();
const CACHE_MAX = 8192;
/** Physical address (frame * 4096 + offset) of every block of a region translated in this process -> its root's. */
const WARM = new Map<number, number>();
const pa = (b: Block): number => b.pfn * 4096 + (b.startLo & 0xfff);

/**
 * Called when `b` has been entered threshold >> WARM_SHIFT times: if a
 * region holding its address was translated before, translate that
 * region's root again, only if the result is already compiled.
 */
export function warmTranslate(b: Block, find: (pa: number) => Block | undefined): void {
  const rp = WARM.get(pa(b));
  if (rp === undefined) return;
  const root = find(rp);
  if (root !== undefined && root.region === null && (root === b || (root.startHi === b.startHi && root.startLo >>> 12 === b.startLo >>> 12))) compileRegion(root, find, true);
}

function compiled(body: string): RegionFn {
  let fn = CACHE.get(body);
  if (fn === undefined) {
    fn = new Function('PAR', 'condL', 'cfL', 'matL', 'S', 'W', 'M32', 'I32', 'M64', 'I64', 'T64', 'DU', 'DS', 'QR', `return ${body};`)(PAR, condL, cfL, matL, sync, W, mul32, imul32, mul64, imul64, imul64lo, divU, divS, QR) as RegionFn;
    if (CACHE.size >= CACHE_MAX) CACHE.delete(CACHE.keys().next().value as string);
    CACHE.set(body, fn);
  }
  return fn;
}

const EMITTERS: Record<string, Emitter> = { ...ALU_EMITTERS, ...MOV_EMITTERS, ...SHIFT_EMITTERS, ...MUL_EMITTERS };

/**
 * Handlers that neither read nor write the arithmetic flags nor call the
 * host (data movement, the stack, string moves, SSE integer and move
 * forms, division, which leaves the flags alone): translated code calls
 * them without reloading its flags after.
 */
const NEUTRAL_MN = new Set(['mov', 'movzx', 'movsx', 'movsxd', 'lea', 'xchg', 'nop', 'push', 'pop', 'enter', 'leave', 'cbw', 'cwd', 'movs', 'stos', 'lods', 'bswap', 'div', 'idiv']);
let NEUTRAL: Set<Handler> | null = null;

function handlerUse(i: Insn): number {
  // built on first use: the opcode table's modules import this one's importers
  NEUTRAL ??= new Set<Handler>([
    ...ENTRIES.filter((e) => NEUTRAL_MN.has(e.mn) && !e.end).map((e) => e.fn),
    ...[...SSE_INT_OPS, ...SSE_MOV_OPS, ...SSE_SHUF_OPS, ...SSE_STATE_OPS, ...FENCE_OPS].map((e) => e.fn),
  ]);
  return i.e !== null && !i.e.end && NEUTRAL.has(i.e.fn) ? HandlerUse.NEUTRAL : HandlerUse.FULL;
}

/** Linear addresses control can reach from the block's end without a computed target. */
function successors(b: Block): [number, number][] {
  const i = b.insns[b.insns.length - 1]!;
  const name = i.e?.fn.name;
  const out: [number, number][] = [];
  if (name === 'opJcc' || name === 'opJmpJz' || name === 'opCallJz' || name === 'opLoop') {
    const t = relTarget(i);
    if (t !== null) out.push(t);
  }
  if (name !== 'opJmpJz' && name !== 'opJmpEv' && name !== 'opRet') out.push([i.nextLo, i.nextHi]);
  return out;
}

/**
 * Translate the region rooted at `root`; null when the root cannot head one
 * (its first instruction straddles a page), or with `cachedOnly` when the
 * region's function is not already compiled (see WARM_SHIFT). `find` gives
 * the decoded block at a physical address.
 */
export function compileRegion(root: Block, find: (pa: number) => Block | undefined, cachedOnly = false): Region | null {
  if (root.pfns.length !== 1 || root.bp) return null;
  const hi = root.startHi;
  const page = root.startLo >>> 12;
  const pfn = root.pfn;
  const members: Block[] = [root];
  const seen = new Set<Block>(members);
  let count = root.insns.length;
  for (let q = 0; q < members.length; q++) {
    for (const [lo, h] of successors(members[q]!)) {
      if (h !== hi || lo >>> 12 !== page) continue;
      const b = find(pfn * 4096 + (lo & 0xfff));
      // (a block at a code breakpoint stays out, so the run loop stops before it: Cpu.breakpoints)
      if (b === undefined || b.bp || b.startLo !== lo || b.startHi !== hi || b.pfns.length !== 1 || b.pfn !== pfn || seen.has(b)) continue;
      // paths that ran rarely stay out: translating them costs more than interpreting them
      if (b.runs * COLD < root.runs || count + b.insns.length > MAX_INSNS) continue;
      seen.add(b);
      members.push(b);
      count += b.insns.length;
    }
  }
  members.sort((a, b) => a.startLo - b.startLo);
  const index = new Map<number, number>(members.map((b, k) => [b.startLo, k]));
  // Call sites' return addresses inside the region: a ret may come back to them without leaving.
  const returns: [number, number][] = [];
  for (const b of members) {
    const last = b.insns[b.insns.length - 1]!;
    const n = last.e?.fn.name;
    if ((n === 'opCallJz' || n === 'opCallEv') && index.has(last.nextLo) && last.nextHi === hi) returns.push([last.nextLo, last.nextHi]);
  }

  const g = new Gen(handlerUse);
  const insns: Insn[] = [];
  members.forEach((b, bIdx) => {
    g.blk = b;
    g.known = null;
    const n = b.insns.length;
    const jump = (lo: number, h: number): string => {
      const k = h === hi ? index.get(lo) : undefined;
      if (k === undefined) return g.exitTo(lo, h);
      return k === bIdx + 1 ? '{}' : `{ pc = ${k}; continue L; }`;
    };
    g.emit(`case ${bIdx}: if (bud < ${n} || m.epoch !== ep) ${g.exit({ lo: b.startLo, hi: b.startHi, nb: b })}`);
    let ended = false;
    b.insns.forEach((ins, j) => {
      g.ins = ins;
      g.j = j;
      g.k = insns.length;
      insns.push(ins);
      if (j === n - 1 && (ins.e === null || ins.e.end === true)) {
        g.emit(emitEnd(g, ins, jump, returns) ?? endByHandler(g, ins, jump));
        ended = true;
        return;
      }
      const e = ins.e === null || ins.fn.name === 'opUD' ? undefined : EMITTERS[ins.e.fn.name];
      const code = e?.(g, ins) ?? null;
      if (code !== null) g.emit(code);
      else {
        g.emit(g.handler());
        if (handlerUse(ins) === HandlerUse.FULL) g.known = null;
      }
    });
    if (!ended) g.emit(`${g.retire()} ${jump(b.nextLo, b.nextHi)}`);
  });

  const body = `function region_${root.startLo.toString(16)}(c, K, pc, left) {
  const r = c.r, m = c.mmu, tR = m.tlbR, tW = m.tlbW, tH = m.tlbHi, tV = m.tlbView, ic0 = c.icount, ep = m.epoch;
  let bud = left, xq = 0, t = 0, ea = 0, eaH = 0, ix = 0, ixH = 0, a = 0, aH = 0, b = 0, bH = 0, x = 0, xH = 0, v = 0, vH = 0, cf = 0, of = 0;
  let lop = c.lop, lsz = c.lsz, la = c.la, laH = c.laH, lb = c.lb, lbH = c.lbH, lres = c.lres, lresH = c.lresH, lcf = c.lcf, fl = c.flags;
  L: for (;;) {
    switch (pc) {
${g.lines.join('\n')}
    default: throw new Error('region: no block ' + pc);
    }
  }
  const X = K[0][xq];
  bud -= X.n;
  if (X.rip === 0) { c.ripLo = X.lo; c.ripHi = X.hi; } else if (X.rip === 1) { c.ripLo = v; c.ripHi = vH; }
  c.xb = X.xb;
  if (X.nb !== null && (X.at >= 0 || m.epoch === ep)) { c.nb = X.nb; c.nbAt = X.at; }
  c.icount = ic0 + left - bud;
  ${FLAGS_OUT}
  return left - bud;
}`;
  if (cachedOnly && !CACHE.has(body)) return null;
  const fn = compiled(body);
  if (WARM.size >= 64 * CACHE_MAX) WARM.clear();
  for (const b of members) WARM.set(pa(b), pa(root));
  const region: Region = { fn, K: g.vals, insns };
  for (const b of members) {
    if (b.region === null) {
      b.region = region;
      b.rpc = index.get(b.startLo)!;
    }
  }
  return region;
}
