/**
 * The state pane's disassembler against GNU objdump: every instruction of
 * the executable sections of the corpus kernels must have objdump's address,
 * length and text (AT&T). The one liberty: which symbol names a
 * RIP-relative data address in the `# addr <sym>` comment (objdump takes
 * any preceding label, we only sized objects), so that comment is compared
 * by address. Skipped when the corpus is not built or objdump is missing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createSymbolizer, parseElf, SectionFlag, SectionType } from '../elf.js';
import { around, disassemble, unimplementedText } from './disasm.js';

const PV = fileURLToPath(new URL('../../build/corpus/pv/', import.meta.url));
const hasObjdump = spawnSync('objdump', ['--version']).status === 0;
const elves = existsSync(PV) ? [...readdirSync(PV).filter((f) => f.endsWith('.elf')).map((f) => `${PV}${f}`), ...['bugs', 'bisect'].flatMap((d) => (existsSync(`${PV}${d}`) ? readdirSync(`${PV}${d}`).filter((f) => f.endsWith('.elf')).map((f) => `${PV}${d}/${f}`) : []))] : [];
if (!hasObjdump) console.warn('tui/disasm.test.ts: objdump is not installed: skipping the comparison (apt-get install binutils)');

/** `# 116008 <sym+0x8>` and `# 0x116008` both become `# 116008`. */
const byAddress = (t: string): string => t.replace(/\s+/g, ' ').replace(/# (?:0x)?([0-9a-f]+)(?: <[^>]*>)?$/, '# $1');

describe.skipIf(!hasObjdump || elves.length === 0)('disassembly of the corpus kernels', () => {
  it.each(elves.map((f) => [f.slice(PV.length)]))('%s matches objdump -d instruction for instruction', (name) => {
    const path = `${PV}${name}`;
    const bytes = readFileSync(path);
    const elf = parseElf(bytes);
    const symz = createSymbolizer(elf.symbols, { includeNoType: true, includeObjects: true, sections: elf.sections });
    const sym = (a: bigint): string | null => {
      const s = symz(a);
      return s === null ? null : s.offset === 0 ? s.name : `${s.name}+0x${s.offset.toString(16)}`;
    };
    const want = new Map<bigint, { len: number; text: string }>();
    for (const l of execFileSync('objdump', ['-d', '-w', path], { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n')) {
      const m = /^\s+([0-9a-f]+):\t((?:[0-9a-f]{2} )+)\s*\t(.*)$/.exec(l);
      if (m !== null) want.set(BigInt(`0x${m[1]}`), { len: m[2]!.trim().split(' ').length, text: m[3]!.trimEnd() });
    }
    let compared = 0;
    const wrong: string[] = [];
    for (const s of elf.sections) {
      if (s.type !== SectionType.PROGBITS || (s.flags & SectionFlag.EXECINSTR) === 0n) continue;
      const code = bytes.subarray(Number(s.offset), Number(s.offset) + Number(s.size));
      for (const l of disassemble(code, s.addr, sym)) {
        const w = want.get(l.addr);
        compared++;
        const got = `${l.len} ${byAddress(l.text)}`;
        const exp = w === undefined ? '(objdump has no instruction here)' : `${w.len} ${byAddress(w.text)}`;
        if (got !== exp && wrong.length < 10) wrong.push(`${l.addr.toString(16)}: objdump '${exp}', we '${got}'`);
      }
    }
    expect(wrong).toEqual([]);
    expect(compared).toBe(want.size);
  });
});

describe('disassembler', () => {
  // A Xen hypercall page stub, then a call and a RIP-relative load.
  const code = Uint8Array.from([
    0x51, 0x41, 0x53, 0xb8, 0x20, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3, // push %rcx .. ret
    0xe8, 0xed, 0xff, 0xff, 0xff, // call start
    0x48, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00, // mov 0x10(%rip),%rax
    0x0f, 0x04, 0x90, // 0F 04 is not in the table (invalid in 64-bit mode); 0x90 is a nop again
    0xf3, 0x48, 0xab, // rep stos %rax,%es:(%rdi)
  ]);
  const base = 0x400000n;
  const sym = (a: bigint): string | null => (a >= base && a < base + 0x40n ? (a === base ? 'stub' : `stub+0x${(a - base).toString(16)}`) : null);

  it('spells instructions as objdump does, unknown opcodes as .byte', () => {
    expect(disassemble(code, base, sym).map((l) => `${l.addr.toString(16)} ${l.len} ${l.text}`)).toEqual([
      '400000 1 push   %rcx',
      '400001 2 push   %r11',
      '400003 5 mov    $0x20,%eax',
      '400008 2 syscall',
      '40000a 2 pop    %r11',
      '40000c 1 pop    %rcx',
      '40000d 1 ret',
      '40000e 5 call   400000 <stub>',
      '400013 7 mov    0x10(%rip),%rax        # 40002a <stub+0x2a>',
      '40001a 2 .byte 0x0f,0x04',
      '40001c 1 nop',
      '40001d 3 rep stos %rax,%es:(%rdi)',
    ]);
  });

  it('names an instruction the core does not implement, or its class when the decoder only measured it', () => {
    const text = (b: number[]): string => unimplementedText(Uint8Array.from(b), 0x1000n);
    expect(text([0xd8, 0xc1, 0x90])).toBe('unimplemented instruction `fadd` (d8 c1)');
    expect(text([0x0f, 0x53, 0x04, 0x24])).toBe('unimplemented instruction `rcpps` (0f 53 04 24)');
    expect(text([0xc5, 0xf8, 0x77])).toBe('unimplemented AVX (VEX-encoded) instruction (c5 f8 77)');
    expect(text([0x66, 0x0f, 0x38, 0x00, 0xc1])).toBe('unimplemented 0f 38 map (SSSE3/SSE4/...) instruction (66 0f 38 00 c1)');
  });

  it('shows the instructions around RIP, decoded from the symbol start, and restarts at RIP when that start does not lead to it', () => {
    const r = around(code, base, base, 0x40000an, 2, 2, sym);
    expect(r.lines.map((l) => l.text)).toEqual(['mov    $0x20,%eax', 'syscall', 'pop    %r11', 'pop    %rcx', 'ret']);
    expect(r.cur).toBe(2);
    // From 0x400005 (inside the mov) decoding steps over 0x40000a: start at RIP itself.
    const m = around(code, base, 0x400005n, 0x40000an, 2, 1, sym);
    expect(m.lines.map((l) => l.text)).toEqual(['pop    %r11', 'pop    %rcx']);
    expect(m.cur).toBe(0);
    expect(around(code, base, base, 0x500000n, 2, 2).cur).toBe(-1);
  });
});
