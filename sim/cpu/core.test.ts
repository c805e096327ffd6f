/**
 * Core behaviour the host oracle cannot show from user mode: paging (A/D
 * bits, error codes, NX, TLB flushes), self-modifying code, decoder limits,
 * exceptions as values, exact instruction budgets, sparse memory.
 */
import { describe, expect, it } from 'vitest';
import { BareHost } from './bare-host.js';
import { Cpu } from './cpu.js';
import { ExitKind, PfErr, Vector } from './fault.js';
import { PhysMem } from './phys-mem.js';
import { asm } from './test-asm.js';

const CODE = 0x1000;

function flat(code: Uint8Array, mem = new PhysMem(1 << 20)): { cpu: Cpu; mem: PhysMem; host: BareHost } {
  mem.write(CODE, code);
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.rip = BigInt(CODE);
  cpu.setReg(4, 0x80000n);
  return { cpu, mem, host };
}

function u64(mem: PhysMem, pa: number): bigint {
  return new DataView(mem.read(pa, 8).buffer).getBigUint64(0, true);
}
function setU64(mem: PhysMem, pa: number, v: bigint): void {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, v, true);
  mem.write(pa, b);
}

/** Identity-map the first 2 MiB with 4 KiB pages: PML4 at 0x10000, PDPT 0x11000, PD 0x12000, PT 0x13000. */
function identityPaging(cpu: Cpu, mem: PhysMem, pteFlags = 7n): void {
  setU64(mem, 0x10000, 0x11000n | 7n);
  setU64(mem, 0x11000, 0x12000n | 7n);
  setU64(mem, 0x12000, 0x13000n | 7n);
  for (let i = 0; i < 512; i++) setU64(mem, 0x13000 + i * 8, BigInt(i * 4096) | pteFlags);
  cpu.mmu.cr3Pfn = 0x10;
  cpu.mmu.paging = true;
  cpu.mmu.flush();
}

describe('exceptions are values', () => {
  it('divide by zero returns #DE at the div, which does not retire', () => {
    const { cpu } = flat(asm('mov eax, 1\nxor ecx, ecx\ndiv ecx\nhlt'));
    const e = cpu.run(100);
    expect(e.kind).toBe(ExitKind.EXCEPTION);
    expect(e.vector).toBe(Vector.DE);
    expect(e.retired).toBe(2);
    expect(cpu.rip).toBe(BigInt(CODE + 7));
  });

  it('an unknown opcode is #UD, never a throw', () => {
    const { cpu } = flat(Uint8Array.from([0x90, 0x0f, 0x04]));
    expect(cpu.run(10)).toMatchObject({ kind: ExitKind.EXCEPTION, vector: Vector.UD, retired: 1 });
  });

  it('an instruction longer than 15 bytes is #GP(0)', () => {
    const { cpu } = flat(Uint8Array.from([...new Array(15).fill(0x66), 0x90]));
    expect(cpu.run(10)).toMatchObject({ kind: ExitKind.EXCEPTION, vector: Vector.GP, errorCode: 0 });
  });

  it('lock on a register destination is #UD', () => {
    const { cpu } = flat(Uint8Array.from([0xf0, 0x01, 0xc0]));
    expect(cpu.run(10)).toMatchObject({ vector: Vector.UD });
  });

  it('a valid instruction the core does not implement stops the run there, unretired; an invalid one is #UD', () => {
    // movaps xmm0, xmm1; nop; fadd st, st(1)
    const { cpu } = flat(Uint8Array.from([0x0f, 0x28, 0xc1, 0x90, 0xd8, 0xc1]));
    expect(cpu.run(10)).toMatchObject({ kind: ExitKind.UNIMPLEMENTED, retired: 2 });
    expect(cpu.rip).toBe(0x1004n);
    // AVX (vzeroupper) likewise; D9 D1 is no x87 instruction.
    expect(flat(Uint8Array.from([0xc5, 0xf8, 0x77])).cpu.run(10)).toMatchObject({ kind: ExitKind.UNIMPLEMENTED, retired: 0 });
    expect(flat(Uint8Array.from([0xd9, 0xd1])).cpu.run(10)).toMatchObject({ kind: ExitKind.EXCEPTION, vector: Vector.UD });
  });
});

describe('run budget', () => {
  it('retires exactly the budget, even inside a block', () => {
    const { cpu } = flat(asm('L: inc eax\ninc eax\ninc eax\njmp L'));
    const e = cpu.run(10);
    expect(e).toMatchObject({ kind: ExitKind.BUDGET, retired: 10 });
    expect(cpu.getReg(0)).toBe(8n);
    expect(cpu.icount).toBe(10);
  });
});

describe('paging', () => {
  it('sets accessed and dirty bits on the leaf and accessed on every level', () => {
    const { cpu, mem } = flat(asm('mov eax, [0x5000]\nmov [0x6000], eax\nhlt'));
    identityPaging(cpu, mem);
    cpu.run(10);
    expect(u64(mem, 0x13000 + 5 * 8) & 0x60n).toBe(0x20n);
    expect(u64(mem, 0x13000 + 6 * 8) & 0x60n).toBe(0x60n);
    expect(u64(mem, 0x10000) & 0x20n).toBe(0x20n);
    expect(u64(mem, 0x12000) & 0x20n).toBe(0x20n);
  });

  it('reports #PF error codes and CR2 for not-present, write-protect, user and NX faults', () => {
    const cases: Array<[string, bigint, number, number]> = [
      ['mov eax, [0x7008]', 0n, PfErr.U, 0x7008], // not present, user read
      ['mov dword ptr [0x7010], 1', 5n, PfErr.P | PfErr.W | PfErr.U, 0x7010], // read-only
      ['jmp rbx', 7n | (1n << 63n), PfErr.P | PfErr.U | PfErr.I, 0x7000], // NX fetch
    ];
    for (const [src, pte, err, cr2] of cases) {
      const { cpu, mem } = flat(asm(src));
      identityPaging(cpu, mem);
      setU64(mem, 0x13000 + 7 * 8, 0x7000n | pte);
      cpu.setReg(3, 0x7000n);
      cpu.setCpl(3);
      const e = cpu.run(10);
      expect(e, src).toMatchObject({ kind: ExitKind.EXCEPTION, vector: Vector.PF, errorCode: err, cr2: BigInt(cr2) });
    }
  });

  it('supervisor pages fault for user mode', () => {
    const { cpu, mem } = flat(asm('mov eax, [0x7000]'));
    identityPaging(cpu, mem);
    setU64(mem, 0x13000 + 7 * 8, 0x7000n | 3n);
    cpu.setCpl(3);
    expect(cpu.run(5)).toMatchObject({ vector: Vector.PF, errorCode: PfErr.P | PfErr.U });
  });

  it('keeps using a stale TLB entry until invlpg, as hardware may', () => {
    const { cpu, mem } = flat(asm('mov eax, [0x7000]\nmov qword ptr [0x13038], rbx\nmov ecx, [0x7000]\ninvlpg [0x7000]\nmov edx, [0x7000]\nhlt'));
    identityPaging(cpu, mem);
    mem.write(0x7000, Uint8Array.from([1, 0, 0, 0]));
    mem.write(0x8000, Uint8Array.from([2, 0, 0, 0]));
    cpu.setReg(3, 0x8000n | 7n); // remap 0x7000 -> 0x8000
    cpu.run(10);
    expect([cpu.getReg(0), cpu.getReg(1), cpu.getReg(2)]).toEqual([1n, 1n, 2n]);
  });

  it('non-canonical addresses are #GP(0), and #SS(0) through RSP', () => {
    const { cpu } = flat(asm('mov rax, [rbx]'));
    cpu.setReg(3, 0x8000000000000000n);
    expect(cpu.run(5)).toMatchObject({ vector: Vector.GP, errorCode: 0 });
    const s = flat(asm('push rax'));
    s.cpu.setReg(4, 0x8000000000000008n);
    expect(s.cpu.run(5)).toMatchObject({ vector: Vector.SS, errorCode: 0 });
  });
});

describe('self-modifying code', () => {
  it('a store into the current block takes effect for the next instruction', () => {
    // Overwrite the immediate of the following `mov eax, 1` with 42.
    const { cpu } = flat(asm('mov byte ptr [rip + L + 1], 42\nnop\nL: mov eax, 1\nhlt'));
    cpu.run(10);
    expect(cpu.getReg(0)).toBe(42n);
  });

  it('a store into an already decoded block invalidates it', () => {
    const { cpu, mem } = flat(asm('call F\nmov byte ptr [rip + F + 1], 7\ncall F\nhlt\nF: mov eax, 1\nret'));
    cpu.run(100);
    expect(cpu.getReg(0)).toBe(7n);
    void mem;
  });
});

describe('memory', () => {
  it('allocates only the frames the guest touches', () => {
    const mem = new PhysMem(128 << 20);
    const { cpu, host } = flat(asm('mov rdi, 0x400000\nmov ecx, 16\nL: mov [rdi], al\nadd rdi, 0x100000\ndec ecx\njnz L\nhlt'), mem);
    while (!host.halted) cpu.run(1000);
    expect(mem.framesTouched).toBeLessThanOrEqual(16 + 2);
  });

  it('an access straddling two pages reads both', () => {
    const { cpu, mem } = flat(asm('mov rax, [0x2ffd]\nhlt'));
    mem.write(0x2ffd, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
    cpu.run(5);
    expect(cpu.getReg(0)).toBe(0x0807060504030201n);
  });
});

describe('host interface', () => {
  it('routes port I/O, cpuid, rdtsc and hlt through the host', () => {
    const { cpu, host } = flat(asm('mov al, 0x41\nout 0xe9, al\nxor eax, eax\ncpuid\nmov r8d, ebx\nrdtsc\nhlt'));
    const e = cpu.run(100);
    expect(e.kind).toBe(ExitKind.HOST);
    expect(host.halted).toBe(true);
    expect(host.console).toEqual([0x41]);
    expect(cpu.getReg(8)).toBe(0x756e6547n); // "Genu"
    expect(cpu.getReg(0)).toBe(5n); // rdtsc = retired instructions
  });

  it('privileged instructions at CPL 3 are #GP(0) on the bare host', () => {
    for (const src of ['hlt', 'cli', 'mov rax, cr3', 'wrmsr', 'in al, 0x60']) {
      const { cpu } = flat(asm(src));
      cpu.setCpl(3);
      expect(cpu.run(5), src).toMatchObject({ vector: Vector.GP, errorCode: 0 });
    }
  });
});

describe('lea', () => {
  it('never faults, even on a non-canonical RSP-based address', () => {
    const { cpu } = flat(asm('lea rax, [rsp + 8]\nhlt'));
    cpu.setReg(4, 0x7ffffffffffffffcn);
    expect(cpu.run(5).kind).toBe(ExitKind.HOST);
    expect(cpu.getReg(0)).toBe(0x8000000000000004n);
  });
});
