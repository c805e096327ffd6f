/**
 * The architectural host: what a bare-metal x86-64 machine does with system
 * instructions, deterministically. Used by the flat test harness and the
 * core's own tests; the Xen layer provides its own CpuHost with PV semantics.
 *
 * - I/O port 0xE9 is a debug console (bytes collected in `console`).
 * - CPUID reports a fixed, documented feature set: what this core implements.
 * - RDTSC is the retired-instruction count.
 * - Privileged instructions at CPL > 0 raise #GP(0).
 */
import type { Cpu } from './cpu.js';
import { Vector } from './fault.js';
import { PrivOp, type CpuHost } from './host.js';
import { F, Msr } from './regs.js';

const str4 = (s: string): number => s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24);

/**
 * CPUID leaves: [eax, ebx, ecx, edx]. Leaf 1 EBX: CLFLUSH line 64 bytes;
 * EDX: FPU, TSC, MSR, CX8, CMOV, CLFSH, FXSR, SSE, SSE2; ECX: CX16, POPCNT.
 */
const CPUID: Record<number, readonly [number, number, number, number]> = {
  0x0: [0x7, str4('Genu'), str4('ntel'), str4('ineI')],
  0x1: [0x000806c1, 0x00000800, (1 << 13) | (1 << 23),
    (1 << 0) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 15) | (1 << 19) | (1 << 24) | (1 << 25) | (1 << 26)],
  // FSGSBASE, BMI1 (tzcnt), CLFLUSHOPT, CLWB
  0x7: [0, (1 << 0) | (1 << 3) | (1 << 23) | (1 << 24), 0, 0],
  0x80000000: [0x80000008, 0, 0, 0],
  // ECX: LAHF/SAHF, ABM (lzcnt); EDX: SYSCALL, NX, RDTSCP, LM
  0x80000001: [0, 0, (1 << 0) | (1 << 5), (1 << 11) | (1 << 20) | (1 << 27) | (1 << 29)],
  0x80000008: [0x3030, 0, 0, 0],
};

export class BareHost implements CpuHost {
  /** Bytes written to port 0xE9. */
  readonly console: number[] = [];
  /** PG NE ET MP PE and PAE OSFXSR OSXMMEXCPT: the x87/SSE gates as Linux user space has them (the oracle's host) */
  cr0 = 0x80000033;
  cr2 = 0n;
  cr3 = 0n;
  cr4 = 0x620;
  efer = 0xd01;
  readonly dr = new Array<bigint>(8).fill(0n);
  readonly msrs = new Map<number, bigint>();
  halted = false;

  cpuid(c: Cpu, leaf: number): void {
    const v = CPUID[leaf >>> 0] ?? [0, 0, 0, 0];
    for (let k = 0; k < 4; k++) c.r[2 * [0, 3, 1, 2][k]!] = v[k]! >>> 0;
    for (const reg of [0, 1, 2, 3]) c.r[2 * reg + 1] = 0;
  }

  rdtsc(c: Cpu): readonly [number, number] {
    const n = c.retired();
    return [n >>> 0, Math.floor(n / 2 ** 32) >>> 0];
  }

  tscAux(): number {
    return Number((this.msrs.get(Msr.TSC_AUX) ?? 0n) & 0xffffffffn);
  }

  portIn(c: Cpu): number {
    this.checkIopl(c);
    return 0xffffffff;
  }

  portOut(c: Cpu, port: number, _size: number, value: number): void {
    this.checkIopl(c);
    if (port === 0xe9) this.console.push(value & 0xff);
  }

  rdmsr(c: Cpu, msr: number): readonly [number, number] {
    this.checkCpl0(c);
    let v: bigint;
    if (msr === Msr.EFER) v = BigInt(this.efer);
    else if (msr === Msr.FS_BASE) return [c.fsLo, c.fsHi];
    else if (msr === Msr.GS_BASE) return [c.gsLo, c.gsHi];
    else if (msr === Msr.KERNEL_GS_BASE) return [c.kgsLo, c.kgsHi];
    else if (this.msrs.has(msr) || (msr >= Msr.STAR && msr <= Msr.FMASK) || msr === Msr.TSC_AUX) v = this.msrs.get(msr) ?? 0n;
    else return c.raise(Vector.GP, 0);
    return [Number(v & 0xffffffffn), Number(v >> 32n)];
  }

  wrmsr(c: Cpu, msr: number, lo: number, hi: number): void {
    this.checkCpl0(c);
    if (msr === Msr.EFER) {
      this.efer = lo & 0xd01;
      c.mmu.nxe = (lo & 0x800) !== 0;
      c.mmu.flush();
    } else if (msr === Msr.FS_BASE) [c.fsLo, c.fsHi] = [lo, hi];
    else if (msr === Msr.GS_BASE) [c.gsLo, c.gsHi] = [lo, hi];
    else if (msr === Msr.KERNEL_GS_BASE) [c.kgsLo, c.kgsHi] = [lo, hi];
    else if ((msr >= Msr.STAR && msr <= Msr.FMASK) || msr === Msr.TSC_AUX) this.msrs.set(msr, (BigInt(hi) << 32n) | BigInt(lo));
    else c.raise(Vector.GP, 0);
  }

  /** Architectural SYSCALL: RCX = RIP, R11 = RFLAGS, RIP = LSTAR, RFLAGS &= ~FMASK, CPL 0. */
  syscall(c: Cpu): void {
    if ((this.efer & 1) === 0) c.raise(Vector.UD);
    c.r[2] = c.ripLo;
    c.r[3] = c.ripHi;
    const fl = c.rflags;
    c.r[22] = fl;
    c.r[23] = 0;
    const lstar = this.msrs.get(Msr.LSTAR) ?? 0n;
    const fmask = Number((this.msrs.get(Msr.FMASK) ?? 0n) & 0xffffffffn);
    c.rflags = fl & ~fmask & ~F.RF;
    c.rip = lstar;
    c.setCpl(0);
  }

  softInt(c: Cpu, vector: number): void {
    c.raiseTrap(vector);
  }

  loadSeg(c: Cpu, seg: number, sel: number): void {
    c.sreg[seg] = sel;
    if (seg === 4) [c.fsLo, c.fsHi] = [0, 0];
    if (seg === 5) [c.gsLo, c.gsHi] = [0, 0];
  }

  priv(c: Cpu, op: PrivOp, reg: number, lo: number, hi: number): readonly number[] | void {
    if (op === PrivOp.SLDT || op === PrivOp.STR || op === PrivOp.SMSW || op === PrivOp.SGDT || op === PrivOp.SIDT) {
      return op === PrivOp.SMSW ? [((this.cr0 & ~8) | (c.ts ? 8 : 0)) & 0xffff, 0] : [0, 0, 0];
    }
    this.checkCpl0(c);
    const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    switch (op) {
      case PrivOp.HLT:
        this.halted = true;
        c.requestExit();
        return;
      case PrivOp.CLI:
        c.flags &= ~F.IF;
        return;
      case PrivOp.STI:
        c.flags |= F.IF;
        return;
      case PrivOp.INVLPG:
        c.mmu.flushPage(lo, hi);
        return;
      case PrivOp.SWAPGS:
        [c.gsLo, c.gsHi, c.kgsLo, c.kgsHi] = [c.kgsLo, c.kgsHi, c.gsLo, c.gsHi];
        return;
      case PrivOp.MOV_FROM_CR: {
        const x = reg === 0 ? BigInt((this.cr0 & ~8) | (c.ts ? 8 : 0)) : reg === 2 ? this.cr2 : reg === 3 ? this.cr3 : reg === 4 ? BigInt(this.cr4) : reg === 8 ? 0n : c.raise(Vector.UD);
        return [Number(x & 0xffffffffn), Number(x >> 32n)];
      }
      case PrivOp.MOV_TO_CR:
        if (reg === 0) {
          this.cr0 = lo;
          c.mp = (lo & 2) !== 0;
          c.em = (lo & 4) !== 0;
          c.ts = (lo & 8) !== 0;
          c.mmu.paging = (lo & 0x80000000) !== 0;
          c.mmu.wp = (lo & 0x10000) !== 0;
          c.mmu.flush();
        } else if (reg === 2) this.cr2 = v;
        else if (reg === 3) {
          this.cr3 = v;
          c.mmu.cr3Pfn = Number(v >> 12n) & 0xfffffffff;
          c.mmu.flush();
        } else if (reg === 4) {
          this.cr4 = lo;
          c.osfxsr = (lo & 0x200) !== 0;
          c.osxmmexcpt = (lo & 0x400) !== 0;
          c.mmu.flush();
        } else if (reg !== 8) c.raise(Vector.UD);
        return;
      case PrivOp.CLTS:
        this.cr0 &= ~8;
        c.ts = false;
        return;
      case PrivOp.LMSW:
        // CR0 bits 0-3 (PE cannot be cleared)
        this.cr0 = (this.cr0 & ~0xe) | (lo & 0xf);
        c.mp = (lo & 2) !== 0;
        c.em = (lo & 4) !== 0;
        c.ts = (lo & 8) !== 0;
        return;
      case PrivOp.MOV_FROM_DR:
        return [Number(this.dr[reg & 7]! & 0xffffffffn), Number(this.dr[reg & 7]! >> 32n)];
      case PrivOp.MOV_TO_DR:
        this.dr[reg & 7] = v;
        return;
      default:
        // lgdt/lidt/lldt/ltr/wbinvd/invd/sysret: accepted, no model of descriptor tables.
        return;
    }
  }

  private checkCpl0(c: Cpu): void {
    if (c.cpl !== 0) c.raise(Vector.GP, 0);
  }

  private checkIopl(c: Cpu): void {
    if (c.cpl > ((c.flags & F.IOPL) >> 12)) c.raise(Vector.GP, 0);
  }
}
