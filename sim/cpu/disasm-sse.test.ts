/**
 * The disassembler against objdump on the x87/SSE forms (which the corpus
 * kernels, built without SSE, do not contain): random encodings of every
 * implemented x87 control, SSE and hint form, prefixes, REX bits, SIB and
 * RIP-relative operands included, must print as `objdump -d` prints them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFirst, disassemble } from './disasm.js';
import { buildCase, entryName, ORACLE_ENTRIES } from './oracle/gen.js';
import { usesFpu } from './oracle/gen-fpu.js';

const hasObjdump = spawnSync('objdump', ['--version']).status === 0;
const SLOT = 16;
const words = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 64, maxLength: 64 });
const FORMS = ORACLE_ENTRIES.filter((e) => usesFpu(e) || /^(prefetch|pause|movnti)/.test(e.mn));
/** objdump names REX prefixes whose bits the instruction does not use (`rex.W lfence`); we do not. */
const norm = (t: string): string => t.replace(/\brex\.?[WRXB]* /g, '').replace(/\s+/g, ' ').replace(/# (?:0x)?([0-9a-f]+)(?: <[^>]*>)?$/, '# $1').trim();

describe.skipIf(!hasObjdump)('disassembly of x87/SSE forms', () => {
  it('matches objdump -d for random encodings of every implemented form', () => {
    const insns: Array<{ name: string; bytes: Uint8Array }> = [];
    FORMS.forEach((e, k) => {
      for (const w of fc.sample(words, { seed: 900 + k, numRuns: 12 })) {
        const code = buildCase(e, w).code;
        insns.push({ name: entryName(e), bytes: code.subarray(0, decodeFirst(code).len) });
      }
    });
    const bin = new Uint8Array(insns.length * SLOT).fill(0x90);
    insns.forEach((x, k) => bin.set(x.bytes, k * SLOT));
    mkdirSync('build/disasm-test', { recursive: true });
    writeFileSync('build/disasm-test/sse.bin', bin);
    const want = new Map<number, string>();
    const dump = execFileSync('objdump', ['-D', '-w', '-b', 'binary', '-m', 'i386:x86-64', 'build/disasm-test/sse.bin'], { encoding: 'utf8', maxBuffer: 1 << 28 });
    for (const l of dump.split('\n')) {
      const m = /^\s+([0-9a-f]+):\t(?:[0-9a-f]{2} )+\s*\t(.*)$/.exec(l);
      if (m !== null) want.set(parseInt(m[1]!, 16), norm(m[2]!));
    }
    const wrong: string[] = [];
    let skipped = 0;
    insns.forEach((x, k) => {
      const got = norm(disassemble(x.bytes, BigInt(k * SLOT))[0]?.text ?? '');
      const exp = want.get(k * SLOT) ?? '(none)';
      // objdump knows only 0F AE F0 and F8 as mfence/sfence; the CPU ignores ModRM.rm there (the oracle checks)
      if (exp.endsWith('(bad)') && /[ms]fence$/.test(got)) return void skipped++;
      // A REX before fwait prefixes nothing: objdump prints it alone.
      if (/^(\w+ )?rex\.\w+$/.test(exp)) return void skipped++;
      // 66 with REX.W: the CPU uses the 32-bit x87 environment format (REX.W wins; x87.test checks), objdump names the 16-bit one.
      if (/(fnstenv|fldenv|fnsave|frstor)s /.test(exp) && decodeFirst(x.bytes).osz === 8) return void skipped++;
      // Prefixes the instruction ignores (a 66 or 67 with no effect, a SIB without index): objdump's own spellings.
      if (/\b(data16|addr32)\b|%riz|%eiz/.test(exp)) return void skipped++;
      if (got !== exp) wrong.push(`${x.name} [${Buffer.from(x.bytes).toString('hex')}]: objdump '${exp}', we '${got}'`);
    });
    console.log(`disasm: ${insns.length} x87/SSE encodings of ${FORMS.length} forms, ${skipped} left to objdump's own conventions, ${wrong.length} differ from objdump`);
    expect(insns.length - skipped).toBeGreaterThan(1500);
    expect(wrong.slice(0, 20)).toEqual([]);
  });
});
