/**
 * The ALU computation shared by the generic (alu.ts) and specialized
 * (alu-fast.ts) handlers.
 */
import type { Cpu } from '../cpu.js';
import { getCF, LOP, setLazy, setResult, SIZE_MASK } from '../flags.js';

/** ALU operation numbers, in the order of the 00-3F opcode rows and the 80-83 ModRM.reg field. */
export const AluOp = { ADD: 0, OR: 1, ADC: 2, SBB: 3, AND: 4, SUB: 5, XOR: 6, CMP: 7 } as const;
/** test uses AND's computation without a write */
export const TEST = 8;

/** Compute `a op b` at size sz, record the flags, return lo (hi in c.hi). */
export function alu(c: Cpu, op: number, sz: number, a: number, aH: number, b: number, bH: number): number {
  const mask = SIZE_MASK[sz]!;
  if (sz !== 8) {
    aH = 0;
    bH = 0;
  }
  let lo: number;
  let hi = 0;
  switch (op) {
    case AluOp.ADD:
    case AluOp.ADC: {
      const cin = op === AluOp.ADC && getCF(c) ? 1 : 0;
      const s = a + b + cin;
      lo = (s & mask) >>> 0;
      if (sz === 8) hi = (aH + bH + (s > 0xffffffff ? 1 : 0)) >>> 0;
      c.lcf = cin;
      setLazy(c, op === AluOp.ADD ? LOP.ADD : LOP.ADC, sz, a, aH, b, bH, lo, hi);
      break;
    }
    case AluOp.SUB:
    case AluOp.SBB:
    case AluOp.CMP: {
      const cin = op === AluOp.SBB && getCF(c) ? 1 : 0;
      const s = a - b - cin;
      lo = (s & mask) >>> 0;
      if (sz === 8) hi = (aH - bH - (s < 0 ? 1 : 0)) >>> 0;
      c.lcf = cin;
      setLazy(c, op === AluOp.SBB ? LOP.SBB : LOP.SUB, sz, a, aH, b, bH, lo, hi);
      break;
    }
    case AluOp.OR:
      lo = (a | b) >>> 0;
      hi = (aH | bH) >>> 0;
      setResult(c, sz, lo, hi, false, false);
      break;
    case AluOp.XOR:
      lo = (a ^ b) >>> 0;
      hi = (aH ^ bH) >>> 0;
      setResult(c, sz, lo, hi, false, false);
      break;
    default: // AND, TEST
      lo = (a & b) >>> 0;
      hi = (aH & bH) >>> 0;
      setResult(c, sz, lo, hi, false, false);
  }
  c.hi = hi;
  return lo;
}

