/**
 * The x86-64 CPU: register file, lazy flags, MMU, decoded-block cache and the
 * run loop. Instruction semantics live in `exec/*.ts`, decoding in
 * `decode.ts`, both driven by the single table in `opcodes.ts`.
 *
 * Hot-path representation: 64-bit values are (lo, hi) uint32 pairs; no
 * BigInt and no allocation per instruction. BigInt appears only in the
 * convenience accessors at the bottom, for tests and tools.
 */
import { decodeBlock, type Block, type Insn } from './decode.js';
import { compileRegion, HOT_GAP, jitDefault, warmTranslate, WARM_SHIFT, type Region } from './jit.js';
import { ExitKind, FAULT, Vector } from './fault.js';
import { materialize, setFlagsWord } from './flags.js';
import { fpuReset, MXCSR_DEFAULT, MXCSR_MASK, newXmmFile, X87, type XmmViews } from './fpu.js';
import type { CpuHost } from './host.js';
import { Mmu } from './mmu.js';
import { PAGE_SIZE, type CodeWatcher, type PhysMem } from './phys-mem.js';
import { F, hiOf, loOf, toBig } from './regs.js';

/** What `run` returns. `vector`/`errorCode`/`cr2` are meaningful for EXCEPTION only. */
export type CpuExit = {
  kind: ExitKind;
  /** instructions retired by this call */
  retired: number;
  vector: number;
  errorCode: number;
  cr2: bigint;
};

/**
 * Entries into one frame that `Cpu.codeEntries` counts per code set: a frame
 * entered more often holds hot code, which costs a seek little more.
 */
export const ENTRY_CAP = 16384;

export class Cpu implements CodeWatcher {
  /** 16 GPRs: lo at 2*i, hi at 2*i+1. */
  readonly r = new Uint32Array(32);
  /** RIP; during an instruction it already points at the next one. */
  ripLo = 0;
  ripHi = 0;

  // Lazy flags (see flags.ts): `flags` holds every bit not described by `lop`.
  flags = 0x2;
  lop = 0;
  lsz = 4;
  lres = 0;
  lresH = 0;
  la = 0;
  laH = 0;
  lb = 0;
  lbH = 0;
  lcf = 0;

  /** Segment selectors (ES CS SS DS FS GS) and the 64-bit bases that matter in long mode. */
  readonly sreg = new Uint16Array(6);
  fsLo = 0;
  fsHi = 0;
  gsLo = 0;
  gsHi = 0;
  kgsLo = 0;
  kgsHi = 0;
  /** Current privilege level; use setCpl so the MMU follows. */
  cpl = 0;
  /** CR4.FSGSBASE: rd/wr{fs,gs}base are #UD while clear. */
  fsgsbase = true;

  // x87/SSE state and its gates (fpu.ts describes the layout).
  /** XMM0-15: register i, dword j at 4*i+j */
  readonly xmm: Uint32Array;
  /** byte/word/dword/float views of `xmm` plus two scratch slots (not state of its own) */
  readonly xv: XmmViews;
  mxcsr = MXCSR_DEFAULT;
  /** FCW FSW FTW(abridged) FOP FIP FDP FCS FDS R0-R7, at X87.* */
  readonly x87 = new Uint16Array(X87.SIZE);
  /** CR0.TS, CR0.EM, CR0.MP, CR4.OSFXSR, CR4.OSXMMEXCPT, as the host last set them (defaults: Linux user space's) */
  ts = false;
  em = false;
  mp = true;
  osfxsr = true;
  osxmmexcpt = true;
  /** MXCSR bits ldmxcsr/fxrstor accept and FXSAVE reports (a property of the model, not state) */
  mxcsrMask = MXCSR_MASK;

  /** Scratch: high half of the last 64-bit read, and the current effective address. */
  hi = 0;
  eaLo = 0;
  eaHi = 0;
  /** The instruction being executed (valid inside handlers and host hooks). */
  cur: Insn | null = null;

  /**
   * Retired instructions since reset, updated at block ends; inside a host
   * hook use `retired()`.
   */
  icount = 0;
  readonly mmu: Mmu;

  /** set by a handler or hook to end the current block after this instruction */
  stop = false;
  /** Set by translated code (jit.ts): the faulting instruction's index in its region; the block it left from; the block to run next. */
  bi = 0;
  xb: Block | null = null;
  nb: Block | null = null;
  nbAt = 0;
  /** entries after which a block's region is translated to JS (jit.ts); 0 disables translation; default from XENRR_JIT */
  jitThreshold = jitDefault();
  /**
   * Code breakpoints (linear addresses as `bpKey` numbers), null for none;
   * set with setBreakpoints. Decoded blocks end before a breakpoint address,
   * so one can only be a block's first instruction, and `run` returns
   * ExitKind.BREAKPOINT before entering a block flagged `bp`: translated
   * blocks never run past one, and without breakpoints the run loop pays one
   * flag test per block.
   */
  breakpoints: ReadonlySet<number> | null = null;
  /** Let the next `run` execute a breakpoint instruction it starts at (resuming from a stop there); cleared by `run`. */
  bpSkip = false;
  private exitReq = false;
  /** the exit was asked for by the host (requestExit), not only by a data watch */
  private hostExit = false;
  private exTrap = false;
  private exUnimpl = false;
  private exVector = 0;
  private exErr = 0;
  private exCr2Lo = 0;
  private exCr2Hi = 0;
  /**
   * Code-frame entries since `startCodeSet` (a recorder's measure of the
   * work a seek re-does, replay/record.ts): each entry into a block whose
   * frame is not the previous block's, counted at most ENTRY_CAP times per
   * frame. The same translated or not: a region holds blocks of one frame
   * only, and every block entered from another frame goes through `lookup`.
   */
  codeEntries = 0;
  /** frame of the last block entered (-1: none yet in this code set) */
  private lastFrame = -1;
  /** per frame: the code set (`codeSet`) its count belongs to, and the count */
  private frameSet: Int32Array | null = null;
  private frameEntries: Int32Array | null = null;
  private codeSet = 0;
  private readonly blocks = new Map<number, Block>();
  private readonly pageBlocks = new Map<number, number[]>();
  private curBlockPfn = -1;

  constructor(readonly mem: PhysMem, public host: CpuHost) {
    this.mmu = new Mmu(mem, (v, e, lo, hi) => this.raise(v, e, lo, hi));
    ({ xmm: this.xmm, xv: this.xv } = newXmmFile());
    fpuReset(this);
    mem.attach(this);
  }

  /** Deliver an exception from inside an instruction: unwinds it (nothing retires). */
  raise(vector: number, err = 0, cr2Lo = 0, cr2Hi = 0): never {
    this.exVector = vector;
    this.exErr = err;
    this.exCr2Lo = cr2Lo;
    this.exCr2Hi = cr2Hi;
    throw FAULT;
  }

  /**
   * Deliver a trap (int3, int n): like raise, but the instruction retires and
   * RIP stays after it, as the exception frame of a trap records.
   */
  raiseTrap(vector: number, err = 0): never {
    this.exTrap = true;
    return this.raise(vector, err);
  }

  /** Stop at the current instruction, which the core does not implement: `run` returns ExitKind.UNIMPLEMENTED (unwinds like raise). */
  unimplemented(): never {
    this.exUnimpl = true;
    throw FAULT;
  }

  /** Make `run` return ExitKind.HOST once the current instruction retires. */
  requestExit(): void {
    this.exitReq = true;
    this.hostExit = true;
    this.stop = true;
  }

  /**
   * A debugger's data watch saw the current instruction access watched
   * memory: `run` returns ExitKind.WATCH once it retires (or HOST if the
   * host asked too). Translated blocks do not check for this after every
   * access: whoever watches sets `jitThreshold` to 0 and flushes the code.
   */
  watchAccess(): void {
    this.exitReq = true;
    this.stop = true;
  }

  /** Instructions retired before the current one (exact inside host hooks, which set `cur`). */
  retired(): number {
    return this.cur === null ? this.icount : this.icount + this.cur.idx;
  }

  /**
   * Whether CPL 3 means user-mode page checks. A Xen PV guest kernel runs at
   * CPL 3 with every mapping user-accessible (Xen forces _PAGE_USER), so the
   * PV layer turns this off.
   */
  userPagesAtCpl3 = true;

  setCpl(cpl: number): void {
    this.cpl = cpl;
    this.mmu.setUser(cpl === 3 && this.userPagesAtCpl3);
  }

  /**
   * Execute up to `budget` instructions. Returns early on an exception (RIP
   * at the faulting instruction, which did not retire) or a host exit.
   *
   * A block runs in its translated region (jit.ts) when it has one and the
   * budget covers it; the region keeps `icount` itself and may run many
   * blocks. Otherwise the interpreter runs it, up to the budget.
   */
  run(budget: number): CpuExit {
    const start = this.icount;
    this.exitReq = false;
    this.hostExit = false;
    this.nb = null;
    let left = budget;
    let prev: Block | null = null;
    let block: Block | null = null;
    let region: Region | null = null;
    let k = 0;
    let brk = false;
    const skip = this.bpSkip;
    this.bpSkip = false;
    try {
      while (left > 0) {
        block = null;
        // The block to run: the one at RIP, or the one a region left off in:
        // from its start (nbAt -1: the budget does not cover it) or to be
        // interpreted from instruction nbAt (an access the region does not inline).
        const nb = this.nb;
        let at = -1;
        if (nb !== null) {
          this.nb = null;
          block = nb;
          at = this.nbAt;
        } else {
          block = this.lookup(prev);
          // (every block entered from another frame comes through here: Cpu.codeEntries)
          if (block.pfn !== this.lastFrame) this.enterFrame(block.pfn);
        }
        // (regions hold no block that starts at a breakpoint, so they stop before one too)
        if (block.bp && at <= 0 && (left !== budget || !skip)) {
          brk = true;
          break;
        }
        const insns = block.insns;
        const n = insns.length;
        this.stop = false;
        this.curBlockPfn = block.pfn;
        const rg = block.region;
        if (rg !== null && at < 0 && n <= left) {
          this.xb = null;
          region = rg;
          const done = rg.fn(this, rg.K, block.rpc, left);
          region = null;
          left -= done;
          if (this.exitReq) break;
          prev = this.xb;
          continue;
        }
        if (at < 0) at = 0;
        // (a region leaving at instruction `at` has retired the ones before it but left them to count here)
        const lim = n <= left ? n : left;
        // RIP is stored once per block: only the last instruction of a block
        // (a branch or a system instruction) reads or writes it; every
        // instruction keeps its own next-RIP for the early exits below.
        this.ripLo = block.nextLo;
        this.ripHi = block.nextHi;
        if (at === 0) {
          const runs = ++block.runs;
          if (runs === this.jitThreshold) {
            if (this.icount - block.born <= runs * HOT_GAP) compileRegion(block, (pa) => this.blocks.get(pa));
            else {
              block.runs = 0;
              block.born = this.icount;
            }
          }
          else if (runs === this.jitThreshold >>> WARM_SHIFT) warmTranslate(block, (pa) => this.blocks.get(pa));
        }
        for (k = at; k < lim; k++) {
          const ins = insns[k]!;
          ins.fn(this, ins);
          if (this.stop) {
            k++;
            break;
          }
        }
        if (k < n) {
          const ins = insns[k - 1]!;
          this.ripLo = ins.nextLo;
          this.ripHi = ins.nextHi;
        }
        this.icount += k;
        left -= k;
        if (this.exitReq) break;
        prev = block;
      }
    } catch (e) {
      if (e !== FAULT) throw e;
      // A fault while fetching the block leaves RIP as it was; inside it,
      // RIP goes back to the faulting instruction (or past it for traps).
      // icount is at the start of the faulting instruction's block.
      if (block !== null) {
        const ins = region !== null ? region.insns[this.bi]! : block.insns[k]!;
        let done = ins.idx;
        if (this.exTrap) {
          this.exTrap = false;
          done++;
          this.ripLo = ins.nextLo;
          this.ripHi = ins.nextHi;
        } else {
          this.ripLo = ins.startLo;
          this.ripHi = ins.startHi;
        }
        this.icount += done;
      }
      this.curBlockPfn = -1;
      this.cur = null;
      this.nb = null;
      if (this.exUnimpl) {
        this.exUnimpl = false;
        return this.exit(ExitKind.UNIMPLEMENTED, start);
      }
      return this.exit(ExitKind.EXCEPTION, start);
    }
    this.curBlockPfn = -1;
    this.cur = null;
    this.nb = null;
    return this.exit(this.exitReq ? (this.hostExit ? ExitKind.HOST : ExitKind.WATCH) : brk ? ExitKind.BREAKPOINT : ExitKind.BUDGET, start);
  }

  /** One instruction. */
  step(): CpuExit {
    return this.run(1);
  }

  private exit(kind: ExitKind, start: number): CpuExit {
    const exc = kind === ExitKind.EXCEPTION;
    return {
      kind,
      retired: this.icount - start,
      vector: exc ? this.exVector : -1,
      errorCode: exc ? this.exErr : 0,
      cr2: exc && this.exVector === Vector.PF ? toBig(this.exCr2Lo, this.exCr2Hi) : 0n,
    };
  }

  /**
   * The decoded block at RIP. Blocks remember their last two successors; a
   * remembered successor is reused without a translation while the MMU's
   * epoch (bumped by TLB flushes, CPL changes and code invalidation) is the
   * same, exactly as a TLB hit would be.
   */
  private lookup(prev: Block | null): Block {
    const lo = this.ripLo;
    const hi = this.ripHi;
    const epoch = this.mmu.epoch;
    if (prev !== null && prev.epoch === epoch) {
      const a = prev.chain0;
      if (a !== null && a.startLo === lo && a.startHi === hi) return a;
      const b = prev.chain1;
      if (b !== null && b.startLo === lo && b.startHi === hi) return b;
    }
    this.mmu.fetchView(lo, hi);
    const pa = this.mmu.lastPfn * PAGE_SIZE + (lo & 0xfff);
    let b = this.blocks.get(pa);
    if (b === undefined || b.startLo !== lo || b.startHi !== hi) {
      b = decodeBlock(this, lo, hi);
      this.blocks.set(pa, b);
      for (const pfn of b.pfns) {
        let list = this.pageBlocks.get(pfn);
        if (list === undefined) {
          list = [];
          this.pageBlocks.set(pfn, list);
          this.mem.markCode(pfn);
        }
        list.push(pa);
      }
    }
    if (prev !== null) {
      if (prev.epoch !== this.mmu.epoch) {
        prev.epoch = this.mmu.epoch;
        prev.chain0 = b;
        prev.chain1 = null;
      } else if (prev.chain0 === null) prev.chain0 = b;
      else prev.chain1 = b;
    }
    return b;
  }

  /** Whether `startCodeSet` was called: `codeEntries` counts. */
  get countingCode(): boolean {
    return this.frameSet !== null;
  }

  /** Execution moves to a block in frame `f` from another frame (or starts a code set there): count it. */
  private enterFrame(f: number): void {
    this.lastFrame = f;
    const set = this.frameSet;
    if (set === null) return;
    const n = this.frameEntries!;
    if (set[f] !== this.codeSet) {
      set[f] = this.codeSet;
      n[f] = 0;
    }
    if (n[f]! < ENTRY_CAP) {
      n[f]!++;
      this.codeEntries++;
    }
  }

  /**
   * Start counting `codeEntries` from 0 afresh, every frame's count too (a
   * recorder calls this at each checkpoint, where a seek's fresh machine
   * starts with no code decoded). Costs nothing until first called.
   */
  startCodeSet(): void {
    this.frameSet ??= new Int32Array(this.mem.frameCount);
    this.frameEntries ??= new Int32Array(this.mem.frameCount);
    this.codeSet++;
    this.codeEntries = 0;
    this.lastFrame = -1;
  }

  /** CodeWatcher: stop caching write rights to a frame that now holds decoded code. */
  protectFrame(pfn: number): void {
    this.mmu.protectFrame(pfn);
  }

  /** CodeWatcher: stop caching write rights to any frame (a new dirty epoch). */
  protectAll(): void {
    this.mmu.protectAll();
  }

  /** CodeWatcher: a store is about to modify a frame holding decoded code: forget its blocks. */
  invalidateCode(pfn: number): void {
    const list = this.pageBlocks.get(pfn);
    if (list !== undefined) {
      for (const pa of list) this.blocks.delete(pa);
      this.pageBlocks.delete(pfn);
    }
    this.mmu.epoch++;
    if (pfn === this.curBlockPfn) this.stop = true;
  }

  /**
   * Replace the code breakpoints (`bpKey` of each address; empty or null:
   * none). Decoded blocks are dropped when the set changes, since their
   * boundaries depend on it.
   */
  setBreakpoints(keys: ReadonlySet<number> | null): void {
    const next = keys === null || keys.size === 0 ? null : new Set(keys);
    const cur = this.breakpoints;
    if (next === null ? cur === null : cur !== null && cur.size === next.size && [...next].every((k) => cur.has(k))) return;
    this.breakpoints = next;
    this.flushCode();
  }

  /** Drop every decoded block (e.g. after restoring a snapshot). */
  flushCode(): void {
    this.mmu.epoch++;
    this.blocks.clear();
    this.pageBlocks.clear();
  }

  /** Number of cached blocks (for tests and stats). */
  get cachedBlocks(): number {
    return this.blocks.size;
  }

  /** Number of cached blocks that run translated (jit.ts; for tests and stats). */
  get translatedBlocks(): number {
    let n = 0;
    for (const b of this.blocks.values()) if (b.region !== null) n++;
    return n;
  }

  // ---- convenience accessors (BigInt; not for the hot path) --------------

  getReg(i: number): bigint {
    return toBig(this.r[2 * i]!, this.r[2 * i + 1]!);
  }
  setReg(i: number, v: bigint): void {
    this.r[2 * i] = loOf(v);
    this.r[2 * i + 1] = hiOf(v);
  }
  get rip(): bigint {
    return toBig(this.ripLo, this.ripHi);
  }
  set rip(v: bigint) {
    this.ripLo = loOf(v);
    this.ripHi = hiOf(v);
  }
  /** RFLAGS with the lazy status flags folded in. */
  get rflags(): number {
    materialize(this);
    return this.flags;
  }
  set rflags(v: number) {
    setFlagsWord(this, (v & 0x3f7fd5) | 0x2);
  }
  get ifEnabled(): boolean {
    return (this.flags & F.IF) !== 0;
  }
}
