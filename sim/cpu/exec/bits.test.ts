/**
 * Bit instructions against the host CPU: bt/bts/btr/btc with a register
 * offset (0F A3 AB B3 BB) and an immediate (0F BA /4-/7), bsf/bsr, tzcnt,
 * lzcnt, popcnt and bswap, at every operand size, register and memory
 * operands (SIB, 67, FS override, lock), offsets that leave the operand in
 * both directions or the data region, and boundary values. All cases run
 * natively in one batch; any difference from the interpreter fails with the
 * case's bytes.
 */
import { describe, expect, it } from 'vitest';
import { compareBatch } from '../oracle/compare.js';
import { DATA_BASE, DATA_SIZE, gccAvailable, runNative, type OracleCase } from '../oracle/host-cpu.js';
import { Rng } from '../oracle/rng.js';

const M64 = (1n << 64n) - 1n;


const SPECIAL = [0n, 1n, 2n, 3n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n, 0x7fffffffn, 0x80000000n,
  0xffffffffn, 0x100000000n, 0x7fffffffffffffffn, 0x8000000000000000n, M64, M64 - 1n, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan];
/** Bit offsets around the operand widths, both signs. */
const OFFSETS = [0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255, 256, 1000, -1, -2, -8, -15, -16, -17, -31, -32,
  -33, -63, -64, -65, -128, -1000] as const;

/** A value: a boundary constant, a neighbour of one, a single bit, sparse or random bits. */
function value(r: Rng): bigint {
  switch (r.below(5)) {
    case 0:
      return r.pick(SPECIAL);
    case 1:
      return (r.pick(SPECIAL) ^ (1n << BigInt(r.below(64)))) & M64;
    case 2:
      return 1n << BigInt(r.below(64));
    case 3:
      return r.u64() & r.u64() & r.u64();
    default:
      return r.u64();
  }
}

type Case = { name: string; c: OracleCase };

const sizePrefix = (sz: number): number[] => (sz === 2 ? [0x66] : []);
const rexW = (sz: number): number => (sz === 8 ? 8 : 0);

function rexByte(rex: number): number[] {
  return rex ? [0x40 | rex] : [];
}

/** Pointer registers that encode without a SIB byte (not rsp, r12). */
const PTR_REGS = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15] as const;

/**
 * A memory operand for ModRM.reg = `reg` (0..15, 16 = none to avoid) that
 * addresses DATA_BASE + `target` (maybe outside the region): returns the
 * ModRM/SIB/displacement bytes and the REX.X/B bits, and sets the base
 * (and index) registers in `regs`.
 */
function memOperand(r: Rng, regs: bigint[], reg: number, target: number, a32: boolean): { bytes: number[]; rex: number } {
  const avoid = (x: number): boolean => x === reg || x === 4;
  const rr = reg < 16 ? (reg >> 3) << 2 : 0;
  let base: number;
  do base = r.pick(PTR_REGS);
  while (avoid(base));
  const addr = BigInt(DATA_BASE + target);
  const junk = a32 ? (r.u64() & 0xffffffff00000000n) : 0n; // upper bits ignored with 67
  switch (r.below(3)) {
    case 0: {
      // [base + disp8]; mod 1 with rm 5/13 is rbp/r13 + disp8
      const disp = r.below(256) - 128;
      regs[base] = ((addr - BigInt(disp)) & M64) | junk;
      return { bytes: [0x40 | ((reg & 7) << 3) | (base & 7), disp & 0xff], rex: (base >> 3) | rr };
    }
    case 1: {
      // [base + index*scale + disp32]
      let index: number;
      do index = r.pick(PTR_REGS);
      while (avoid(index) || index === base);
      const scale = r.below(4);
      const iv = BigInt(r.below(64) - 32);
      const disp = r.below(0x2000) - 0x1000;
      regs[index] = iv & M64;
      regs[base] = ((addr - BigInt(disp) - (iv << BigInt(scale))) & M64) | junk;
      const d = [disp & 0xff, (disp >> 8) & 0xff, (disp >> 16) & 0xff, (disp >> 24) & 0xff];
      return {
        bytes: [0x84 | ((reg & 7) << 3), (scale << 6) | ((index & 7) << 3) | (base & 7), ...d],
        rex: (base >> 3) | ((index >> 3) << 1) | rr,
      };
    }
    default: {
      // [base] (rbp/r13 need a displacement: use mod 1, disp 0)
      regs[base] = addr | junk;
      if ((base & 7) === 5) return { bytes: [0x40 | ((reg & 7) << 3) | 5, 0], rex: (base >> 3) | rr };
      return { bytes: [((reg & 7) << 3) | (base & 7)], rex: (base >> 3) | rr };
    }
  }
}

function baseRegs(r: Rng): bigint[] {
  return Array.from({ length: 16 }, () => value(r));
}
function flags(r: Rng): number {
  return r.pick([0, 0x8d5, r.next() & 0x8d5]);
}

const BT = ['bt', 'bts', 'btr', 'btc'] as const;

/** bt* Ev,Gv and Ev,Ib, register forms. */
function btReg(r: Rng, out: Case[]): void {
  for (let op = 0; op < 4; op++) {
    for (const sz of [2, 4, 8]) {
      for (let k = 0; k < 24; k++) {
        const regs = baseRegs(r);
        const reg = r.below(16);
        const rm = r.below(16);
        const imm = k < 12;
        const rex = rexW(sz) | ((reg >> 3) << 2) | (rm >> 3);
        const modrm = 0xc0 | ((imm ? 4 + op : reg & 7) << 3) | (rm & 7);
        const code = imm
          ? [...sizePrefix(sz), ...rexByte(rex & ~4), 0x0f, 0xba, modrm, r.below(3) ? r.pick(OFFSETS) & 0xff : r.below(256)]
          : [...sizePrefix(sz), ...rexByte(rex), 0x0f, 0xa3 + op * 8, modrm];
        if (!imm && reg !== rm && r.below(2)) regs[reg] = BigInt(r.pick(OFFSETS)) & M64;
        if (k % 12 === 11) code.unshift(0xf0); // lock with a register operand: #UD
        out.push({ name: `${BT[op]} reg ${imm ? 'Ib' : 'Gv'} o${sz}`, c: { regs, rflags: flags(r), code: Uint8Array.from(code), seed: r.next() } });
      }
    }
  }
}

/**
 * bt* with a memory operand. Register offsets move the address (signed,
 * in operand-size units), so targets near the region's edges fault on one
 * side; `far` offsets leave the region or the canonical range entirely.
 */
function btMem(r: Rng, out: Case[]): void {
  for (let op = 0; op < 4; op++) {
    for (const sz of [2, 4, 8]) {
      for (let k = 0; k < 40; k++) {
        const regs = baseRegs(r);
        const imm = k < 10;
        const reg = r.below(16);
        const a32 = r.below(6) === 0;
        const edge = r.below(4) === 0;
        const target = edge ? r.pick([0, 8, 0x1000 - 4, 0x1000, DATA_SIZE - sz, DATA_SIZE - 16]) : 0x100 + r.below(DATA_SIZE - 0x200);
        const m = memOperand(r, regs, imm ? 16 : reg, target, a32);
        if (!imm) {
          const far = r.below(10) === 0;
          const off = far ? r.pick([1n << 35n, -(1n << 35n), 1n << 62n, -(1n << 62n), 0x7fffffffn, -0x80000000n]) : BigInt(r.below(3) ? r.pick(OFFSETS) : r.below(0x4000) - 0x2000);
          regs[reg] = off & M64;
        }
        const rex = rexW(sz) | m.rex;
        // lock: allowed on bts/btr/btc with memory, #UD on bt
        const pfx = [...(r.below(op === 0 ? 12 : 4) === 0 ? [0xf0] : []), ...(r.below(8) === 0 ? [0x64] : []), ...sizePrefix(sz), ...(a32 ? [0x67] : [])];
        const code = imm
          ? [...pfx, ...rexByte(rex), 0x0f, 0xba, m.bytes[0]! | ((4 + op) << 3), ...m.bytes.slice(1), r.below(256)]
          : [...pfx, ...rexByte(rex), 0x0f, 0xa3 + op * 8, ...m.bytes];
        out.push({ name: `${BT[op]} mem ${imm ? 'Ib' : 'Gv'} o${sz}${a32 ? ' a32' : ''}`, c: { regs, rflags: flags(r), code: Uint8Array.from(code), seed: r.next() } });
      }
    }
  }
  // 67 with a 64-bit offset: does the byte displacement wrap at 32 bits?
  for (const off of [1n << 35n, (1n << 35n) + 77n, -(1n << 35n), 1n << 40n]) {
    const regs = baseRegs(r);
    regs[3] = BigInt(DATA_BASE + 0x800);
    regs[0] = off & M64;
    out.push({ name: 'bts mem a32 wrap', c: { regs, rflags: 0, code: Uint8Array.from([0x67, 0x48, 0x0f, 0xab, 0x03]), seed: 5 } });
  }
}

/** bsf bsr (with F2/F3-less and F2 forms), tzcnt lzcnt popcnt: register and memory sources. */
function scans(r: Rng, out: Case[]): void {
  const forms: Array<{ name: string; pfx: number[]; op: number }> = [
    { name: 'bsf', pfx: [], op: 0xbc },
    { name: 'bsr', pfx: [], op: 0xbd },
    { name: 'bsf f2', pfx: [0xf2], op: 0xbc },
    { name: 'tzcnt', pfx: [0xf3], op: 0xbc },
    { name: 'lzcnt', pfx: [0xf3], op: 0xbd },
    { name: 'popcnt', pfx: [0xf3], op: 0xb8 },
    { name: 'tzcnt f2 f3', pfx: [0xf2, 0xf3], op: 0xbc },
    { name: 'bsr f3 f2', pfx: [0xf3, 0xf2], op: 0xbd },
  ];
  for (const f of forms) {
    for (const sz of [2, 4, 8]) {
      const n = f.name.includes(' ') ? 8 : 30;
      for (let k = 0; k < n; k++) {
        const regs = baseRegs(r);
        const reg = r.below(16);
        const mem = k % 3 === 2;
        let bytes: number[];
        let rex = rexW(sz) | ((reg >> 3) << 2);
        if (mem) {
          const m = memOperand(r, regs, reg, r.below(DATA_SIZE - 8), false);
          bytes = m.bytes;
          rex |= m.rex;
        } else {
          const rm = r.below(16);
          rex |= rm >> 3;
          bytes = [0xc0 | ((reg & 7) << 3) | (rm & 7)];
          if (k % 4 === 0) regs[rm] = regs[rm]! & ~(sz === 8 ? M64 : (1n << BigInt(sz * 8)) - 1n); // zero source
        }
        // The mandatory prefix must come right before REX / 0F; 66 goes first.
        const code = [...sizePrefix(sz), ...f.pfx, ...rexByte(rex), 0x0f, f.op, ...bytes];
        out.push({ name: `${f.name} o${sz}${mem ? ' mem' : ''}`, c: { regs, rflags: flags(r), code: Uint8Array.from(code), seed: r.next() } });
      }
    }
  }
}

/** bswap on every register at every size (16-bit is undefined: the host clears the low word). */
function bswaps(r: Rng, out: Case[]): void {
  for (const sz of [2, 4, 8]) {
    for (let reg = 0; reg < 16; reg++) {
      const regs = baseRegs(r);
      const rex = rexW(sz) | (reg >> 3);
      const code = [...sizePrefix(sz), ...rexByte(rex), 0x0f, 0xc8 + (reg & 7)];
      out.push({ name: `bswap o${sz} r${reg}`, c: { regs, rflags: flags(r), code: Uint8Array.from(code), seed: 1 } });
    }
  }
}

/** Two instructions back to back: the second consumes the lazy flags the first left. */
function pairs(r: Rng, out: Case[]): void {
  for (let k = 0; k < 24; k++) {
    const regs = baseRegs(r);
    // add rax, rbx (lazy ADD flags); bt/bsf/popcnt; then the flags each leaves defined, read with setcc
    // (what they leave undefined is not read: undefined.ts masks only the final RFLAGS)
    const SETC = [0x0f, 0x92, 0xc4], SETZ = [0x0f, 0x94, 0xc7], SETO = [0x0f, 0x90, 0xc3]; // setc ah; setz bh; seto bl
    const second = r.pick([
      [0x48, 0x0f, 0xa3, 0xca, ...SETC, ...SETZ], // bt rdx, rcx: CF, ZF kept from the add
      [0x48, 0x0f, 0xbc, 0xca, ...SETZ], // bsf rcx, rdx: ZF
      [0xf3, 0x48, 0x0f, 0xb8, 0xca, ...SETC, ...SETZ, ...SETO], // popcnt rcx, rdx: all
      [0x0f, 0xba, 0xe2, 0x05, ...SETC, ...SETZ], // bt edx, 5
    ]);
    const code = [0x48, 0x01, 0xd8, ...second];
    out.push({ name: 'flags after add', c: { regs, rflags: flags(r), code: Uint8Array.from(code), seed: 1 } });
  }
}

function allCases(): Case[] {
  const r = new Rng(0xb175);
  const out: Case[] = [];
  btReg(r, out);
  btMem(r, out);
  scans(r, out);
  bswaps(r, out);
  pairs(r, out);
  return out;
}

describe.skipIf(!gccAvailable())('bit instructions vs host CPU', () => {
  it('every form matches the host', () => {
    const cases = allCases();
    const res = compareBatch('bits oracle', cases);
    console.log(res.summary);
    expect(res.compared).toBeGreaterThan(cases.length * 0.98);
    expect(res.mismatches.slice(0, 20)).toEqual([]);
  });
});
