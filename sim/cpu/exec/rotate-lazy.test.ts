/**
 * Rotates keep ZF/SF/PF/AF lazy (shift.ts `rotate` turns the record into
 * LOP.RES instead of folding it into the flags word): after any flag-setting
 * instruction, a rotate must leave exactly the flags it leaves when the flags
 * were folded first (pushfq; popfq in between), for every rotate form.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BareHost } from '../bare-host.js';
import { Cpu } from '../cpu.js';
import { PhysMem } from '../phys-mem.js';

const R = { 1: ['al', 'bl', 'cl'], 2: ['ax', 'bx', 'cx'], 4: ['eax', 'ebx', 'ecx'], 8: ['rax', 'rbx', 'rcx'] } as const;
type Sz = keyof typeof R;
const first = fc.tuple(fc.constantFrom('add', 'sub', 'adc', 'sbb', 'cmp', 'and', 'xor', 'inc', 'dec', 'neg', 'shl', 'stc', 'clc'), fc.constantFrom<Sz>(1, 2, 4, 8)).map(([op, sz]) =>
  op === 'stc' || op === 'clc' ? op : op === 'inc' || op === 'dec' || op === 'neg' ? `${op} ${R[sz][0]}` : op === 'shl' ? `shl ${R[sz][0]}, 3` : `${op} ${R[sz][0]}, ${R[sz][1]}`);
const rot = fc.tuple(fc.constantFrom('rol', 'ror', 'rcl', 'rcr'), fc.constantFrom<Sz>(1, 2, 4, 8), fc.constantFrom('1', 'imm', 'cl'), fc.nat({ max: 70 })).map(([op, sz, form, n]) =>
  `${op} ${R[sz][1]}, ${form === '1' ? 1 : form === 'cl' ? 'cl' : n & 63}`);
const cases = fc.sample(fc.tuple(first, rot, fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 3, maxLength: 3 })), { seed: 7, numRuns: 600 });

/** Run `n` instructions of `code` from `regs` (rax rcx rdx); flags and the first four registers after. */
function run(code: Uint8Array, regs: bigint[], n: number): string {
  const mem = new PhysMem(1 << 20);
  mem.write(0x1000, code);
  const cpu = new Cpu(mem, new BareHost());
  cpu.jitThreshold = 0;
  regs.forEach((v, k) => cpu.setReg(k, v));
  cpu.setReg(4, 0x80000n);
  cpu.rip = 0x1000n;
  cpu.run(n);
  return `${cpu.rflags.toString(16)} ${Array.from({ length: 4 }, (_, k) => cpu.getReg(k).toString(16)).join(' ')}`;
}

describe('rotates after lazy flags', () => {
  it('leave the flags they leave after the flags were folded', () => {
    mkdirSync('build/rotate-test', { recursive: true });
    const src = cases.map(([a, r], k) => `.org ${k * 64}\n${a}\n${r}\nnop\n.org ${k * 64 + 32}\n${a}\npushfq\npopfq\n${r}`).join('\n');
    writeFileSync('build/rotate-test/r.s', `.intel_syntax noprefix\n.text\n${src}\n.org ${cases.length * 64}\n`);
    execFileSync('as', ['--64', '-o', 'build/rotate-test/r.o', 'build/rotate-test/r.s']);
    execFileSync('objcopy', ['-O', 'binary', '-j', '.text', 'build/rotate-test/r.o', 'build/rotate-test/r.bin']);
    const bin = new Uint8Array(readFileSync('build/rotate-test/r.bin'));
    const bad: string[] = [];
    cases.forEach(([a, r, regs], k) => {
      const lazy = run(bin.subarray(k * 64, k * 64 + 32), regs, 2);
      const folded = run(bin.subarray(k * 64 + 32, k * 64 + 64), regs, 4);
      if (lazy !== folded) bad.push(`${a}; ${r}: ${lazy} vs ${folded}`);
    });
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
