/**
 * Far transfers on the bare core (flat memory, CPL 0, the host accepts any
 * selector): operand sizes of lret, lret imm16, lcall/ljmp m16:64 pushing
 * and loading CS:RIP, a returning CS with a lower RPL than CPL, and
 * rd/wrfsbase following CR4.FSGSBASE. Not comparable with the host CPU from
 * user mode (they load CS), hence not in the oracle.
 */
import { describe, expect, it } from 'vitest';
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { ExitKind, Vector } from '../fault.js';
import { PhysMem } from '../phys-mem.js';

const CODE = 0x1000;
const STACK = 0x8000;

function cpuWith(code: number[]): { cpu: Cpu; mem: PhysMem } {
  const mem = new PhysMem(1 << 20);
  mem.write(CODE, Uint8Array.from(code));
  const cpu = new Cpu(mem, new BareHost());
  cpu.rip = BigInt(CODE);
  cpu.setReg(4, BigInt(STACK));
  return { cpu, mem };
}
const put = (mem: PhysMem, pa: number, bytes: number[]): void => mem.write(pa, Uint8Array.from(bytes));
const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, k) => Math.floor(v / 256 ** k) % 256);

describe('far transfers', () => {
  it('lretq pops RIP then CS (8 bytes each); lret imm16 also releases the arguments', () => {
    const { cpu, mem } = cpuWith([0x48, 0xca, 0x10, 0x00]); // lretq 16
    put(mem, STACK, [...le(0x2000, 8), ...le(0x0010, 8)]);
    expect(cpu.run(1).kind).toBe(ExitKind.BUDGET);
    expect([cpu.rip, cpu.sreg[1], cpu.getReg(4)]).toEqual([0x2000n, 0x10, BigInt(STACK + 16 + 16)]);
  });

  it('lret with the default operand size pops 4-byte RIP and CS', () => {
    const { cpu, mem } = cpuWith([0xcb]);
    put(mem, STACK, [...le(0x3000, 4), ...le(0x0008, 4)]);
    cpu.run(1);
    expect([cpu.rip, cpu.sreg[1], cpu.getReg(4)]).toEqual([0x3000n, 0x08, BigInt(STACK + 8)]);
  });

  it('rex64 lcall m16:64 pushes CS and the return RIP; ljmp pushes nothing', () => {
    const { cpu, mem } = cpuWith([0x48, 0xff, 0x18, 0x48, 0xff, 0x28]); // lcall [rax]; ljmp [rax]
    cpu.sreg[1] = 0x08;
    put(mem, 0x5000, [...le(0x1003, 8), ...le(0x0010, 2)]);
    cpu.setReg(0, 0x5000n);
    cpu.run(1);
    expect([cpu.rip, cpu.sreg[1], cpu.getReg(4)]).toEqual([0x1003n, 0x10, BigInt(STACK - 16)]);
    expect([...mem.read(STACK - 16, 16)]).toEqual([...le(0x1003, 8), ...le(0x08, 8)]);
    put(mem, 0x5000, [...le(0x4000, 8), ...le(0x0018, 2)]);
    cpu.run(1);
    expect([cpu.rip, cpu.sreg[1], cpu.getReg(4)]).toEqual([0x4000n, 0x18, BigInt(STACK - 16)]);
  });

  it('a return to a more privileged RPL is #GP(selector) and changes nothing', () => {
    const { cpu, mem } = cpuWith([0x48, 0xcb]);
    cpu.setCpl(3);
    cpu.sreg[1] = 0x33;
    put(mem, STACK, [...le(0x2000, 8), ...le(0x0010, 8)]);
    expect(cpu.run(1)).toMatchObject({ kind: ExitKind.EXCEPTION, vector: Vector.GP, errorCode: 0x10 });
    expect([cpu.rip, cpu.sreg[1], cpu.getReg(4)]).toEqual([BigInt(CODE), 0x33, BigInt(STACK)]);
  });

  it('a non-canonical far target is #GP(0) with RSP restored', () => {
    const { cpu, mem } = cpuWith([0x48, 0xff, 0x18]);
    put(mem, 0x5000, [...le(0, 6), 0x00, 0x80, ...le(0x10, 2)]);
    cpu.setReg(0, 0x5000n);
    expect(cpu.run(1)).toMatchObject({ vector: Vector.GP, errorCode: 0 });
    expect(cpu.getReg(4)).toBe(BigInt(STACK));
  });

  it('rd/wrfsbase are #UD while CR4.FSGSBASE is clear', () => {
    const { cpu } = cpuWith([0xf3, 0x48, 0x0f, 0xae, 0xc0]);
    cpu.fsgsbase = false;
    expect(cpu.run(1)).toMatchObject({ vector: Vector.UD });
    cpu.fsgsbase = true;
    expect(cpu.run(1).kind).toBe(ExitKind.BUDGET);
  });
});
