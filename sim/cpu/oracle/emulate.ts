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
import { decodeBlock, type Insn } from '../decode.js';
import { PhysMem } from '../phys-mem.js';
import { loadFpu, readFpu } from './fpu-case.js';
import { emptyMask, RULES_BY_MN, type MaskCtx, type Masked, type Rule } from './undefined.js';
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

/** An emulated result, with what each instruction of the case left undefined (undefined.ts). */
export type EmulatedResult = OracleResult & { undef: Array<{ rule: Rule; mask: Masked }> };

/** The case run on the interpreter, reported in the native runner's terms. */
export function emulateCase(c: OracleCase): EmulatedResult {
  const { cpu, mem } = oracleMachine(c.code, c.seed);
  c.regs.forEach((v, i) => cpu.setReg(i, v));
  cpu.rflags = (c.rflags & FLAGS_MASK) | 0x202;
  cpu.rip = BigInt(CODE_BASE);
  if (c.fpu !== undefined) loadFpu(cpu, c.fpu);
  const end = BigInt(CODE_BASE + c.code.length);
  let fault: OracleResult['fault'] = null;
  const undef: EmulatedResult['undef'] = [];
  for (let n = 0; n < MAX_STEPS && cpu.rip !== end; n++) {
    const ctx = maskContext(cpu);
    const e = cpu.step();
    const failed = e.kind === ExitKind.EXCEPTION;
    if (ctx !== null) {
      ctx.fault = failed ? e.vector : null;
      for (const rule of RULES_BY_MN.get(ctx.mn) ?? []) {
        const mask = emptyMask();
        if (rule.apply(ctx, mask)) undef.push({ rule, mask });
      }
    }
    if (failed) {
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
    undef,
    ...(c.fpu !== undefined ? { fpu: readFpu(cpu) } : {}),
  };
}

/** The instruction at RIP and the state it starts from, for the undefined-result rules; null if it cannot be decoded. */
function maskContext(cpu: Cpu): MaskCtx | null {
  let ins: Insn;
  try {
    ins = decodeBlock(cpu, Number(cpu.rip & 0xffffffffn), Number(cpu.rip >> 32n)).insns[0]!;
  } catch {
    return null;
  }
  if (ins.e === null || !RULES_BY_MN.has(ins.e.mn)) return null;
  const regs = Array.from({ length: 16 }, (_, i) => cpu.getReg(i));
  const ops = ins.e.ops;
  const count = ops.endsWith(',1') ? 1 : ops.endsWith(',CL') ? Number(regs[1]! & 0xffn) : ops.endsWith(',Ib') ? ins.immLo & 0xff : 0;
  let ea: bigint | null = null;
  if (ins.rm === -1) {
    try {
      ins.ea(cpu, ins);
      ea = (BigInt(cpu.eaHi >>> 0) << 32n) | BigInt(cpu.eaLo >>> 0);
    } catch {
      ea = null;
    }
  }
  return { ins, mn: ins.e.mn, ops, regs, count, ea, fault: null };
}
