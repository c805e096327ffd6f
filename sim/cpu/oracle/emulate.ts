/**
 * Runs an oracle case (host-cpu.ts) on our interpreter, in a machine set up
 * like the native runner's process: CPL 3, paging on, the code page mapped
 * RWX at CODE_BASE and filled with 0xCC after the code, the two data pages RW
 * and NX at DATA_BASE, nothing else mapped, FS/GS base 0, Linux's user
 * selectors. Execution stops when RIP reaches the end of the code (where the
 * native runner's epilogue takes over) or at the first exception.
 */
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { ExitKind } from '../fault.js';
import { PhysMem } from '../phys-mem.js';
import { compareFpu, loadFpu, readFpu } from './fpu-case.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, fillData, FLAGS_MASK, RunnerTrap, type OracleCase, type OracleResult } from './host-cpu.js';

const PAGE = 4096;
const PTE_P_RW_US = 7n;
const NX = 1n << 63n;
/** Frame numbers of the fixed layout. */
const F_PML4 = 0, F_PDPT = 1, F_PD = 2, F_PT_CODE = 3, F_PT_DATA = 4, F_CODE = 5, F_DATA = 6;

/** Step limit: far beyond any generated loop, well under the native watchdog. */
const MAX_STEPS = 100_000;

function pte(mem: PhysMem, table: number, index: number, frame: number, nx = false): void {
  const v = (BigInt(frame * PAGE) | PTE_P_RW_US | (nx ? NX : 0n));
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  mem.write(table * PAGE + index * 8, b);
}

/** A fresh CPU with the oracle's address space; `code` placed at CODE_BASE. */
export function oracleMachine(code: Uint8Array, seed: number): { cpu: Cpu; mem: PhysMem; host: BareHost } {
  const mem = new PhysMem(16 * PAGE);
  pte(mem, F_PML4, 0, F_PDPT);
  pte(mem, F_PDPT, (CODE_BASE / 2 ** 30) & 511, F_PD);
  pte(mem, F_PD, (CODE_BASE >>> 21) & 511, F_PT_CODE);
  pte(mem, F_PD, (DATA_BASE >>> 21) & 511, F_PT_DATA);
  pte(mem, F_PT_CODE, 0, F_CODE);
  for (let k = 0; k < DATA_SIZE / PAGE; k++) pte(mem, F_PT_DATA, k, F_DATA + k, true);
  const page = new Uint8Array(PAGE).fill(0xcc);
  page.set(code);
  mem.write(F_CODE * PAGE, page);
  mem.write(F_DATA * PAGE, fillData(seed));
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.mmu.paging = true;
  cpu.mmu.nxe = true;
  cpu.mmu.cr3Pfn = F_PML4;
  cpu.setCpl(3);
  cpu.sreg[1] = 0x33;
  cpu.sreg[2] = 0x2b;
  return { cpu, mem, host };
}

/** The case run on the interpreter, reported in the native runner's terms. */
export function emulateCase(c: OracleCase): OracleResult {
  const { cpu, mem } = oracleMachine(c.code, c.seed);
  c.regs.forEach((v, i) => cpu.setReg(i, v));
  cpu.rflags = (c.rflags & FLAGS_MASK) | 0x202;
  cpu.rip = BigInt(CODE_BASE);
  if (c.fpu !== undefined) loadFpu(cpu, c.fpu);
  const end = BigInt(CODE_BASE + c.code.length);
  let fault: OracleResult['fault'] = null;
  for (let n = 0; n < MAX_STEPS && cpu.rip !== end; n++) {
    const e = cpu.step();
    if (e.kind === ExitKind.EXCEPTION) {
      fault = { trapno: e.vector, err: e.errorCode, ripOffset: Number(BigInt.asIntN(64, cpu.rip - BigInt(CODE_BASE))), cr2: e.cr2 };
      break;
    }
    if (n === MAX_STEPS - 1) fault = { trapno: RunnerTrap.timeout, err: 0, ripOffset: 0, cr2: 0n };
  }
  const init = fillData(c.seed);
  const now = mem.read(F_DATA * PAGE, DATA_SIZE);
  const changed: Array<[number, number]> = [];
  for (let i = 0; i < DATA_SIZE; i++) if (now[i] !== init[i]) changed.push([i, now[i]!]);
  return {
    fault,
    regs: Array.from({ length: 16 }, (_, i) => cpu.getReg(i)),
    rflags: cpu.rflags & FLAGS_MASK,
    mem: changed,
    ...(c.fpu !== undefined ? { fpu: readFpu(cpu) } : {}),
  };
}

const REG = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const FLAG_NAMES: Array<[number, string]> = [[1, 'CF'], [4, 'PF'], [0x10, 'AF'], [0x40, 'ZF'], [0x80, 'SF'], [0x400, 'DF'], [0x800, 'OF']];
const hex = (v: bigint | number): string => `0x${v.toString(16)}`;

/** True for native results that carry no comparable state (runner-side failures). */
export function nativeUnusable(n: OracleResult): boolean {
  // #DB: a popf that set TF single-steps on the host; the core does not model TF.
  return n.fault !== null && (n.fault.trapno < 0 || n.fault.trapno === 1);
}

/** The host kernel maps the upper half supervisor-only, so user faults there carry P=1; we map nothing there. */
const KERNEL_HALF = 0xffff800000000000n;

/** First difference between a native and an emulated result, as one line; null when equal. */
export function compareResults(native: OracleResult, emu: OracleResult): string | null {
  const nf = native.fault;
  const ef = emu.fault;
  if ((nf === null) !== (ef === null)) {
    const f = nf ?? ef!;
    return `${nf ? 'host' : 'emulator'} faulted (vector ${f.trapno}, err ${hex(f.err)}, rip+${f.ripOffset}) and the other did not`;
  }
  if (nf && ef) {
    if (nf.trapno !== ef.trapno) return `vector: host ${nf.trapno}, emulator ${ef.trapno}`;
    const pMask = nf.trapno === 14 && nf.cr2 >= KERNEL_HALF ? ~1 : ~0;
    if ((nf.err & pMask) !== (ef.err & pMask)) return `error code for vector ${nf.trapno}: host ${hex(nf.err)}, emulator ${hex(ef.err)}`;
    if (nf.ripOffset !== ef.ripOffset) return `fault rip: host +${nf.ripOffset}, emulator +${ef.ripOffset}`;
    if (nf.trapno === 14 && nf.cr2 !== ef.cr2) return `cr2: host ${hex(nf.cr2)}, emulator ${hex(ef.cr2)}`;
  }
  for (let i = 0; i < 16; i++) {
    if (native.regs[i] !== emu.regs[i]) return `${REG[i]}: host ${hex(native.regs[i]!)}, emulator ${hex(emu.regs[i]!)}`;
  }
  if (native.rflags !== emu.rflags) {
    const d = FLAG_NAMES.filter(([b]) => (native.rflags & b) !== (emu.rflags & b)).map(([b, n]) => `${n}=${native.rflags & b ? 1 : 0}/${emu.rflags & b ? 1 : 0}`);
    return `flags (host/emulator): ${d.join(' ')}`;
  }
  const nm = new Map(native.mem);
  const em = new Map(emu.mem);
  for (const [off, v] of native.mem) if (em.get(off) !== v) return `memory DATA+${hex(off)}: host ${hex(v)}, emulator ${em.has(off) ? hex(em.get(off)!) : 'unchanged'}`;
  for (const [off, v] of emu.mem) if (!nm.has(off)) return `memory DATA+${hex(off)}: host unchanged, emulator ${hex(v)}`;
  return compareFpu(native, emu);
}
