/**
 * Translated code (jit.ts) against the interpreter, which the host oracle
 * checks: the same programs run with translation from the first entry
 * (jitThreshold 1) and without (0) must leave registers, XMM registers,
 * flags, RIP, instruction counts and memory identical, step for step:
 * - random straight-line blocks over every form the translator emits (and
 *   some it leaves to handlers), faulting ones among them, run in a loop;
 * - the same programs under small random budgets, compared after every
 *   `run` call (partial blocks, budget exits, region re-entry);
 * - stores into the running code (same block, same page, another page);
 * - paging: TLB flushes (mov cr3, invlpg) inside hot loops, page faults in
 *   the middle of translated blocks resolved by mapping the page, and the
 *   accessed/dirty bits the walks leave in the page tables;
 * - traps and host exits (int3, out, hlt) at block ends;
 * - SSE floating point among the random forms (handlers inside regions),
 *   with #XM mid-block once an ldmxcsr unmasks exceptions: MXCSR compared too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BareHost } from './bare-host.js';
import { Cpu } from './cpu.js';
import { ExitKind, Vector } from './fault.js';
import { HOT_GAP, HOT_RUNS, jitDefault, JitSettingError, WARM_SHIFT } from './jit.js';
import { PhysMem } from './phys-mem.js';

const CASES = 1000;
const SLOT = 0x2000;
const DATA = 0x40000;
const R8 = ['al', 'bl', 'cl', 'dl', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'ah'];
const R16 = ['ax', 'bx', 'cx', 'dx', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w'];
const R32 = ['eax', 'ebx', 'ecx', 'edx', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d'];
const R64 = ['rax', 'rbx', 'rcx', 'rdx', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12'];
const ALU = ['add', 'sub', 'and', 'or', 'xor', 'cmp', 'test', 'adc', 'sbb'];
const FP = ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt'];
const CVT = ['cvtps2pd', 'cvtpd2ps', 'cvtss2sd', 'cvtsd2ss', 'cvtdq2ps', 'cvtps2dq', 'cvttps2dq', 'cvtdq2pd', 'cvtpd2dq', 'cvttpd2dq'];
/** MXCSR values: default, other rounding modes, DAZ/FTZ, and some with exceptions unmasked (#XM mid-block). */
const MXCSR = [0x1f80, 0x3f80, 0x5f80, 0x7f80, 0x9fc0, 0x1d80, 0x1e00, 0x1b80, 0x0780, 0x1f00];
const CC = ['z', 'nz', 'b', 'ae', 'be', 'a', 'l', 'ge', 'le', 'g', 's', 'ns', 'o', 'no', 'p', 'np'];
const PTR = ['', 'byte', 'word', 'dword', 'qword'];

const size = fc.constantFrom(1, 2, 4, 8);
const reg = (sz: number, k: number): string => [[], R8, R16, [], R32, [], [], [], R64][sz]![k]!;
/** a register of size sz that may be combined with any other of that size (no AH with REX registers) */
const regN = (sz: number, k: number): string => (sz === 1 ? ['al', 'bl', 'cl', 'dl'][k % 4]! : reg(sz, k));
const imm32 = fc.oneof(fc.constantFrom(0, 1, -1, 0x7fffffff, -0x80000000, 0xff, 0x80), fc.integer({ min: -0x80000000, max: 0x7fffffff }));
const immOf = (sz: number, v: number): number => (sz === 1 ? v & 0x7f : sz === 2 ? v & 0x7fff : v);
/** data operands: 8-byte aligned slots, some straddling a page boundary (DATA + 4096 - 4), some outside memory (#GP) */
const mem = (sz: number): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 20, arbitrary: fc.nat({ max: 255 }).map((k) => `${PTR[Math.log2(sz) + 1]} ptr [rsi + ${k * 8}]`) },
    { weight: 1, arbitrary: fc.constant(`${PTR[Math.log2(sz) + 1]} ptr [rsi + 4092]`) },
    { weight: 1, arbitrary: fc.constant(`${PTR[Math.log2(sz) + 1]} ptr [rsi + 0x100000]`) },
  );

const insn = fc.oneof(
  fc.tuple(fc.constantFrom(...ALU), size, fc.nat({ max: 9 }), fc.nat({ max: 9 })).map(([op, sz, a, b]) => `${op} ${regN(sz, a)}, ${regN(sz, b)}`),
  fc.tuple(fc.constantFrom(...ALU), size, fc.nat({ max: 9 }), imm32).map(([op, sz, a, v]) => `${op} ${regN(sz, a)}, ${immOf(sz, v)}`),
  fc.tuple(fc.constantFrom(...ALU), size, fc.nat({ max: 9 }), fc.boolean()).chain(([op, sz, a, toMem]) =>
    mem(sz).map((m) => (op === 'test' || !toMem ? `${op} ${regN(sz, a)}, ${m}` : `${op} ${m}, ${regN(sz, a)}`))),
  fc.tuple(fc.constantFrom(...ALU), size, imm32).chain(([op, sz, v]) => mem(sz).map((m) => `${op} ${m}, ${immOf(sz, v)}`)),
  fc.tuple(size, fc.nat({ max: 9 }), fc.nat({ max: 9 })).map(([sz, a, b]) => `mov ${regN(sz, a)}, ${regN(sz, b)}`),
  fc.tuple(size, fc.nat({ max: 9 }), fc.boolean()).chain(([sz, a, st]) => mem(sz).map((m) => (st ? `mov ${m}, ${regN(sz, a)}` : `mov ${regN(sz, a)}, ${m}`))),
  fc.tuple(size, imm32).chain(([sz, v]) => mem(sz).map((m) => `mov ${m}, ${immOf(sz, v)}`)),
  fc.tuple(fc.nat({ max: 9 }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })).map(([a, v]) => `movabs ${R64[a]}, ${v}`),
  fc.tuple(size, fc.nat({ max: 9 }), imm32).map(([sz, a, v]) => `mov ${reg(sz, a)}, ${immOf(sz, v)}`),
  fc.tuple(fc.constantFrom(2, 4, 8), fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.integer({ min: -100, max: 100 }), fc.constantFrom(1, 2, 4, 8)).map(
    ([sz, a, b, d, s]) => `lea ${reg(sz, a)}, [${R64[b]} + ${R64[(b + 1) % 10]}*${s} + ${d}]`),
  fc.tuple(fc.constantFrom('inc', 'dec', 'neg', 'not'), size, fc.nat({ max: 9 }), fc.boolean()).chain(([op, sz, a, m]) =>
    (m ? mem(sz) : fc.constant(reg(sz, a))).map((o) => `${op} ${o}`)),
  fc.tuple(fc.constantFrom('shl', 'shr', 'sar', 'rol', 'ror', 'sal'), size, fc.nat({ max: 9 }), fc.nat({ max: 70 }), fc.constantFrom('imm', 'one', 'cl', 'mem')).chain(
    ([op, sz, a, n, form]) =>
      form === 'mem' ? mem(sz).map((m) => `${op} ${m}, ${n & 31}`) : fc.constant(form === 'one' ? `${op} ${reg(sz, a)}, 1` : form === 'cl' ? `${op} ${reg(sz, a)}, cl` : `${op} ${reg(sz, a)}, ${n & (sz === 8 ? 63 : 31)}`)),
  fc.tuple(fc.constantFrom(1, 2), fc.constantFrom(2, 4, 8), fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean(), fc.boolean()).chain(([src, dst, a, b, sx, m]) =>
    (m ? mem(src) : fc.constant(regN(src, b))).map((o) => (src >= dst ? 'nop' : `${sx ? 'movsx' : 'movzx'} ${reg(dst, a)}, ${o}`))),
  fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean()).chain(([a, b, m]) => (m ? mem(4) : fc.constant(R32[b]!)).map((o) => `movsxd ${R64[a]}, ${o}`)),
  fc.tuple(fc.constantFrom(...CC), fc.constantFrom(2, 4, 8), fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean()).chain(([cc, sz, a, b, m]) =>
    (m ? mem(sz) : fc.constant(reg(sz, b))).map((o) => `cmov${cc} ${reg(sz, a)}, ${o}`)),
  fc.tuple(fc.constantFrom(...CC), fc.nat({ max: 9 }), fc.boolean()).chain(([cc, a, m]) => (m ? mem(1) : fc.constant(R8[a]!)).map((o) => `set${cc} ${o}`)),
  fc.tuple(size, fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean()).chain(([sz, a, b, m]) => (m ? mem(sz) : fc.constant(regN(sz, b))).map((o) => `xchg ${regN(sz, a)}, ${o}`)),
  fc.constantFrom('cbw', 'cwde', 'cdqe', 'cwd', 'cdq', 'cqo', 'clc', 'stc', 'cmc', 'nop', 'lfence', 'xchg eax, r9d', 'xchg rax, rax', 'movzx eax, ah', 'movsx ecx, bh', 'mov ah, dl', 'add ch, al'),
  fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 })).map(([a, b]) => `push ${R64[a]}\npop ${R64[b]}`),
  fc.tuple(imm32, fc.nat({ max: 9 })).map(([v, b]) => `push ${v}\npop ${R64[b]}`),
  mem(8).map((m) => `push ${m}\npop rax`),
  fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 })).map(([a, b]) => `push rbp\nmov rbp, rsp\npush ${R64[a]}\nleave\nmov ${R64[b]}, rbp`),
  fc.tuple(fc.constantFrom(2, 4, 8), fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean(), imm32, fc.boolean()).chain(([sz, a, b, m, v, three]) =>
    (m ? mem(sz) : fc.constant(reg(sz, b))).map((o) => (three ? `imul ${reg(sz, a)}, ${o}, ${immOf(sz, v)}` : `imul ${reg(sz, a)}, ${o}`))),
  fc.tuple(fc.constantFrom('mul', 'imul', 'div', 'idiv'), size, fc.nat({ max: 9 }), fc.boolean()).chain(([op, sz, b, m]) =>
    (m ? mem(sz) : fc.constant(reg(sz, b))).map((o) => `${op} ${o}`)),
  fc.tuple(fc.constantFrom(4, 8), fc.nat({ max: 9 })).map(([sz, a]) => `bswap ${reg(sz, a)}`),
  // forms left to their handlers
  fc.tuple(fc.nat({ max: 9 }), fc.nat({ max: 9 })).map(([a, b]) => `bt ${R64[a]}, ${R64[b]}\nrcl ${R32[b]}, 3`),
  fc.tuple(fc.constantFrom('pxor', 'paddb', 'psubw', 'pcmpeqb', 'punpcklbw', 'pmaxub', 'pand'), fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([op, a, b]) => `${op} xmm${a}, xmm${b}`),
  fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 127 }), fc.boolean()).map(([a, k, st]) => (st ? `movdqa xmmword ptr [rsi + ${k * 16}], xmm${a}` : `paddd xmm${a}, xmmword ptr [rsi + ${k * 16}]`)),
  fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 255 })).map(([a, k]) => `movaps xmm${a}, xmmword ptr [rsi + ${k * 8}]`),
  fc.tuple(fc.nat({ max: 7 }), fc.nat({ max: 9 }), fc.boolean()).map(([a, r, to]) => (to ? `movq xmm${a}, ${R64[r]}` : `pmovmskb ${R32[r]}, xmm${a}`)),
  fc.constantFrom('out 0xe9, al', 'int3'),
  // SSE floating point: arithmetic, compares, conversions (some #XM once ldmxcsr unmasks), comis feeding the branch
  fc.tuple(fc.constantFrom(...FP), fc.constantFrom('ps', 'pd', 'ss', 'sd'), fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([op, t, a, b]) => `${op}${t} xmm${a}, xmm${b}`),
  fc.tuple(fc.constantFrom(...FP), fc.constantFrom('ps', 'pd', 'ss', 'sd'), fc.nat({ max: 7 }), fc.nat({ max: 255 })).map(([op, t, a, k]) => `${op}${t} xmm${a}, ${t[0] === 'p' ? 'xmmword' : t === 'ss' ? 'dword' : 'qword'} ptr [rsi + ${k * 8}]`),
  fc.tuple(fc.constantFrom(...CVT), fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([op, a, b]) => `${op} xmm${a}, xmm${b}`),
  fc.tuple(fc.constantFrom('cvtsi2sd', 'cvtsi2ss'), fc.boolean(), fc.nat({ max: 7 }), fc.nat({ max: 9 })).map(([op, w, a, r]) => `${op} xmm${a}, ${(w ? R64 : R32)[r]}`),
  fc.tuple(fc.constantFrom('cvttsd2si', 'cvtsd2si', 'cvttss2si', 'cvtss2si'), fc.boolean(), fc.nat({ max: 7 }), fc.nat({ max: 9 })).map(([op, w, a, r]) => `${op} ${(w ? R64 : R32)[r]}, xmm${a}`),
  fc.tuple(fc.constantFrom('comiss', 'ucomiss', 'comisd', 'ucomisd'), fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([op, a, b]) => `${op} xmm${a}, xmm${b}`),
  fc.tuple(fc.constantFrom('cmpps', 'cmppd', 'cmpss', 'cmpsd'), fc.nat({ max: 7 }), fc.nat({ max: 7 }), fc.nat({ max: 7 })).map(([op, a, b, p]) => `${op} xmm${a}, xmm${b}, ${p}`),
  fc.constantFrom(...MXCSR).map((v) => `mov dword ptr [rsp - 8], ${v}\nldmxcsr [rsp - 8]`),
);
/** A compare right before the branch, often of equal operands, exercises compare/branch fusion. */
const lastCmp = fc.tuple(fc.constantFrom('cmp', 'sub', 'test', 'and', 'xor', 'add', 'adc', 'sbb', 'inc', 'dec', 'neg', 'shl', 'shr', 'sar', 'rol', 'ror'), size, fc.nat({ max: 9 }), fc.nat({ max: 9 }), fc.boolean()).map(
  ([op, sz, a, b, same]) =>
    op === 'inc' || op === 'dec' || op === 'neg' ? `${op} ${reg(sz, a)}`
    : /^(sh|sa|ro)/.test(op) ? `${op} ${reg(sz, a)}, ${same ? 1 : b * 7 + 1}`
    : `${op} ${regN(sz, a)}, ${regN(sz, same ? a : b)}`,
);
const body = fc.tuple(fc.array(insn, { minLength: 3, maxLength: 14 }), fc.option(lastCmp, { freq: 2 })).map(([xs, c]) => (c === null ? xs : [...xs, c]));
/** a block body, the branch closing it, start registers, and whether the block calls a helper */
const block = fc.tuple(body, fc.constantFrom(...CC), fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 10, maxLength: 10 }), fc.boolean());

/** Assemble `src` (Intel syntax) to raw bytes. */
function assemble(name: string, src: string): Uint8Array {
  mkdirSync('build/jit-test', { recursive: true });
  writeFileSync(`build/jit-test/${name}.s`, `.intel_syntax noprefix\n.text\n${src}\n`);
  execFileSync('as', ['--64', '-o', `build/jit-test/${name}.o`, `build/jit-test/${name}.s`]);
  execFileSync('objcopy', ['-O', 'binary', '-j', '.text', `build/jit-test/${name}.o`, `build/jit-test/${name}.bin`]);
  return new Uint8Array(readFileSync(`build/jit-test/${name}.bin`));
}

type Machine = { cpu: Cpu; mem: PhysMem; host: BareHost };

function machine(code: Uint8Array, jit: boolean, regs: bigint[] = []): Machine {
  const mem = new PhysMem(1 << 20);
  mem.write(0x1000, code);
  const data = new Uint8Array(8192);
  for (let k = 0; k < data.length; k++) data[k] = (k * 37 + 11) & 0xff;
  mem.write(DATA, data);
  const host = new BareHost();
  const cpu = new Cpu(mem, host);
  cpu.jitThreshold = jit ? 1 : 0;
  [0, 3, 1, 2, 7, 8, 9, 10, 11, 12].forEach((r, k) => cpu.setReg(r, regs[k] ?? BigInt(k * 0x1111)));
  cpu.setReg(6, BigInt(DATA));
  cpu.setReg(4, 0x80000n);
  cpu.rip = 0x1000n;
  // XMM lanes: floats and doubles of every sign and magnitude, zeros and a NaN
  for (let k = 0; k < 32; k++) cpu.xmm[k] = [0x3f800000, 0xc0490fdb, 0x00000001, 0, 0x7fc00000, 0x4b000001, 0x3fd55555, 0xc1e00000][(k * 5 + Number((regs[k % 10] ?? 0n) & 7n)) % 8]!;
  return { cpu, mem, host };
}

/** Everything the two runs must agree on. */
function state(m: Machine, memFrom = DATA, memLen = 8192): string {
  const c = m.cpu;
  const regs = Array.from({ length: 16 }, (_, i) => c.getReg(i).toString(16)).join(' ');
  return `${regs} rip=${c.rip.toString(16)} fl=${c.rflags.toString(16)} mxcsr=${c.mxcsr.toString(16)} ic=${c.icount} xmm=${[...c.xmm].join(',')} out=${m.host.console.join(',')} mem=${Buffer.from(m.mem.read(memFrom, memLen)).toString('base64')}`;
}

/** Run to hlt, stepping over traps (int3) and stopping at other exceptions; budgets from `budget()`. */
function runAll(m: Machine, budget: () => number, each?: (e: string) => void): string {
  for (let n = 0; n < 100_000; n++) {
    const e = m.cpu.run(budget());
    const tag = `${e.kind}:${e.retired}:${e.vector}`;
    each?.(`${tag} ${state(m)}`);
    if (m.host.halted) return `halt ${tag}`;
    if (e.kind === ExitKind.EXCEPTION && e.vector !== Vector.BP) return `exception ${tag}`;
    if (e.kind === ExitKind.UNIMPLEMENTED) return `unimplemented ${tag}`;
  }
  return 'runaway';
}

describe('translated regions (jit.ts) against the interpreter', () => {
  const samples = fc.sample(block, { seed: 4242, numRuns: CASES });
  // One assembler run for every case: case k sits at k * SLOT, its loop body a block
  // closed by a jcc, then (sometimes) a call into a helper on the next page.
  const src = samples
    .map(([b, cc, , call], k) =>
      `.org ${k * SLOT}\nmov r15d, 3\n1:\n${b.join('\n')}\nj${cc} 2f\ninc r14\n2:\n${call ? `call helper${k}\n` : ''}pushfq\npop qword ptr [rsi + r15*8 + 2048]\ndec r15d\njnz 1b\nhlt\n` +
      `.org ${k * SLOT + 0x1000}\nhelper${k}:\nadd r13, rdx\nret`)
    .join('\n');
  const bin = assemble('cases', `${src}\n.org ${CASES * SLOT}`);
  const cases = samples.map((s, k) => ({ s, code: bin.subarray(k * SLOT, (k + 1) * SLOT) }));

  it(`${CASES} random blocks in loops run identically translated and interpreted`, () => {
    const diffs: string[] = [];
    let faulted = 0;
    let translated = 0;
    let xm = 0;
    for (const [k, { s, code }] of cases.entries()) {
      const a = machine(code, false, s[2]);
      const b = machine(code, true, s[2]);
      const ea = runAll(a, () => 10_000);
      const eb = runAll(b, () => 10_000);
      expect(a.cpu.translatedBlocks).toBe(0);
      if (b.cpu.translatedBlocks > 0) translated++;
      if (ea !== eb || state(a) !== state(b)) diffs.push(`case ${k}: ${s[0].join('; ')}; j${s[1]}\n  ${ea}\n  ${eb}`);
      if (ea.startsWith('exception')) faulted++;
      if (ea.startsWith('exception') && ea.endsWith(`:${Vector.XM}`)) xm++;
    }
    expect(faulted).toBeGreaterThan(100); // #GP outside memory, misaligned movaps and packed FP operands, #XM: inside translated blocks
    expect(xm).toBeGreaterThan(8); // #XM mid-block after an ldmxcsr unmasked exceptions
    expect(translated).toBeGreaterThan(CASES / 2);
    expect(diffs.slice(0, 3)).toEqual([]);
  });

  it('the same programs under small random budgets agree after every run call', () => {
    const diffs: string[] = [];
    for (const [k, { s, code }] of cases.slice(0, 300).entries()) {
      const rnd = fc.sample(fc.integer({ min: 1, max: 23 }), { seed: k, numRuns: 2000 });
      let i = 0;
      const a = machine(code, false, s[2]);
      const b = machine(code, true, s[2]);
      const sa: string[] = [];
      const sb: string[] = [];
      runAll(a, () => rnd[i++ % rnd.length]!, (x) => sa.push(x));
      i = 0;
      runAll(b, () => rnd[i++ % rnd.length]!, (x) => sb.push(x));
      const at = sa.findIndex((x, n) => x !== sb[n]);
      if (at >= 0 || sa.length !== sb.length) diffs.push(`case ${k} after run #${at}: ${s[0].join('; ')}`);
    }
    expect(diffs.slice(0, 3)).toEqual([]);
  });
});

describe('stores into translated code', () => {
  // The add's immediate is rewritten by the store after it, inside the same block
  // (and page); then code on the next page is patched by this one, and runs.
  const src = `
mov ecx, 200
1:
patch: add eax, 0x01010101
inc dword ptr [rip + patch + 1 - 2f]
2:
add byte ptr [rip + far + 1], 3
call far
add ebx, edx
mov qword ptr [rsi], rcx
dec ecx
jnz 1b
hlt
.org 0x1000
far: mov edx, 7
ret
`;
  const code = assemble('smc', src);
  it('see the new code at once, translated or not', () => {
    for (const budget of [100_000, 7, 1]) {
      const a = machine(code, false);
      const b = machine(code, true);
      const ea = runAll(a, () => budget);
      const eb = runAll(b, () => budget);
      expect(eb).toBe(ea);
      expect(state(b, 0x1000, 0x2000)).toBe(state(a, 0x1000, 0x2000));
      if (budget > 1) expect(b.cpu.translatedBlocks).toBeGreaterThan(0);
    }
    const a = machine(code, false);
    runAll(a, () => 1000);
    // sanity: the patched immediates took effect (200 iterations of a growing add)
    expect(a.cpu.getReg(0)).not.toBe(200n * 0x01010101n);
  });
});

describe('regions translated before in the process', () => {
  // A loop whose body runs 100 times: below a threshold of 1000, above 1000 >> WARM_SHIFT.
  const loop = (k: number): Uint8Array =>
    assemble(`warm${k}`, `mov ecx, 100\n1:\nadd eax, ${0x1234 + k}\nxor ebx, eax\nmov qword ptr [rsi + 8], rbx\ndec ecx\njnz 1b\nhlt\n`);
  it('serve another cpu early when its code is the same, and the run is the interpreter\'s', () => {
    expect(1000 >>> WARM_SHIFT).toBeLessThan(100);
    const seen = loop(1);
    const first = machine(seen, true);
    runAll(first, () => 100_000);
    expect(first.cpu.translatedBlocks).toBeGreaterThan(0);
    const warm = machine(seen, true);
    warm.cpu.jitThreshold = 1000;
    const ref = machine(seen, false);
    expect(runAll(warm, () => 100_000)).toBe(runAll(ref, () => 100_000));
    expect(state(warm)).toBe(state(ref));
    expect(warm.cpu.translatedBlocks).toBeGreaterThan(0);
    // code no cpu has translated waits for the threshold
    const cold = machine(loop(2), true);
    cold.cpu.jitThreshold = 1000;
    runAll(cold, () => 100_000);
    expect(cold.cpu.translatedBlocks).toBe(0);
  });
});

describe('blocks that get hot slowly', () => {
  // An outer loop of 20 whose body and tail are entered once per inner loop of n iterations.
  const nested = (n: number): Uint8Array =>
    assemble(`nested${n}`, `mov ecx, 20\n1:\nadd eax, ecx\nmov edx, ${n}\n2:\nadd ebx, edx\ndec edx\njnz 2b\ndec ecx\njnz 1b\nhlt\n`);
  it('stay interpreted, and the run is the interpreter\'s', () => {
    const run = (n: number, jit: boolean): Machine => {
      const m = machine(nested(n), jit);
      m.cpu.jitThreshold = jit ? 10 : 0;
      runAll(m, () => 100_000);
      return m;
    };
    // 10 entries of the outer blocks within 10 * HOT_GAP instructions: all three loops' blocks are translated
    const fast = run(3, true);
    expect(fast.cpu.translatedBlocks).toBe(3);
    expect(state(fast)).toBe(state(run(3, false)));
    // 3 * HOT_GAP instructions between entries: only the inner loop is, however often the outer ones reach the threshold
    const n = 3 * HOT_GAP;
    const slow = run(n, true);
    expect(slow.cpu.translatedBlocks).toBe(1);
    expect(state(slow)).toBe(state(run(n, false)));
  });
});

describe('paging under translated code', () => {
  // Identity map of 1 MiB in 4 KiB pages: PML4 at 0x80000, PDPT 0x81000, PD 0x82000, PT 0x83000.
  const PT = 0x83000;
  const UNMAPPED = [0x50, 0x51, 0x52, 0x53]; // pages 0x50000-0x53fff start not present
  function pagedMachine(code: Uint8Array, jit: boolean): Machine {
    const m = machine(code, jit);
    const t = new Uint8Array(0x4000);
    const dv = new DataView(t.buffer);
    dv.setUint32(0, 0x81000 | 3, true);
    dv.setUint32(0x1000, 0x82000 | 3, true);
    dv.setUint32(0x2000, 0x83000 | 3, true);
    for (let p = 0; p < 256; p++) if (!UNMAPPED.includes(p)) dv.setUint32(0x3000 + 8 * p, (p << 12) | 3, true);
    m.mem.write(0x80000, t);
    m.cpu.mmu.cr3Pfn = 0x80;
    m.cpu.mmu.paging = true;
    m.cpu.mmu.flush();
    m.host.cr3 = 0x80000n;
    m.cpu.setReg(4, 0x7f000n);
    return m;
  }
  // A loop that walks data pages (setting A/D bits), flushes the TLB now and then
  // (invlpg, mov cr3), and touches not-present pages: each #PF is "handled" below by
  // mapping the page, then the faulting instruction runs again.
  const src = `
mov ecx, 600
mov r9, 0x50000
1:
mov eax, ecx
and eax, 7
shl eax, 12
add rax, 0x40000
add qword ptr [rax + 8], rcx
mov rdx, [rax + 16]
add rbx, rdx
test ecx, 63
jnz 2f
invlpg [rax]
mov rdx, cr3
mov cr3, rdx
2:
test ecx, 127
jnz 3f
mov qword ptr [r9], rcx
add r9, 0x1000
3:
dec ecx
jnz 1b
hlt
`;
  const code = assemble('paging', src);
  function runPaged(m: Machine, budget: number): string[] {
    const log: string[] = [];
    for (let n = 0; n < 100_000; n++) {
      const e = m.cpu.run(budget);
      log.push(`${e.kind}:${e.retired}:${e.vector}:${e.cr2.toString(16)} ${state(m, 0x40000, 0x44000)}`);
      if (m.host.halted) return log;
      if (e.kind === ExitKind.EXCEPTION) {
        expect(e.vector).toBe(Vector.PF);
        const page = Number(e.cr2 >> 12n);
        m.mem.write(PT + 8 * page, new Uint8Array(new BigUint64Array([BigInt((page << 12) | 3)]).buffer));
      }
    }
    throw new Error('runaway');
  }
  it('flushes, page faults and A/D bits match the interpreter', () => {
    for (const budget of [100_000, 13]) {
      const a = runPaged(pagedMachine(code, false), budget);
      const bm = pagedMachine(code, true);
      const b = runPaged(bm, budget);
      expect(bm.cpu.translatedBlocks).toBeGreaterThan(0);
      expect(b.length).toBe(a.length);
      expect(b.findIndex((x, n) => x !== a[n])).toBe(-1);
      expect(a.filter((x) => x.startsWith(`${ExitKind.EXCEPTION}:`)).length).toBe(UNMAPPED.length);
      // page tables (accessed/dirty bits) and the touched pages are the same
      const am = pagedMachine(code, false);
      runPaged(am, budget);
      expect(Buffer.from(bm.mem.read(0x80000, 0x4000)).equals(Buffer.from(am.mem.read(0x80000, 0x4000)))).toBe(true);
      expect(Buffer.from(bm.mem.read(0x50000, 0x4000)).equals(Buffer.from(am.mem.read(0x50000, 0x4000)))).toBe(true);
    }
  });
});

describe('XENRR_JIT', () => {
  it('sets the default threshold: on, off, 0, a count; anything else is an error naming it', () => {
    const was = process.env.XENRR_JIT;
    try {
      const at = (v: string | undefined): number => {
        if (v === undefined) delete process.env.XENRR_JIT;
        else process.env.XENRR_JIT = v;
        return jitDefault();
      };
      expect(at(undefined)).toBe(HOT_RUNS);
      expect(at('on')).toBe(HOT_RUNS);
      expect(at('off')).toBe(0);
      expect(at('0')).toBe(0);
      expect(at('300')).toBe(300);
      process.env.XENRR_JIT = 'off';
      expect(new Cpu(new PhysMem(1 << 16), new BareHost()).jitThreshold).toBe(0);
      expect(() => at('fast')).toThrow(/^XENRR_JIT=fast: expected on, off, 0 or a number/);
      expect(() => at('-1')).toThrow(JitSettingError);
    } finally {
      if (was === undefined) delete process.env.XENRR_JIT;
      else process.env.XENRR_JIT = was;
    }
  });
});
