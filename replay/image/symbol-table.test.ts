import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusKernel } from '../../sim/xen/test-domain.js';
import { ImageError } from './bzimage.js';
import { nmTable, parseSystemMap, symbolFileTable } from './symbol-table.js';
import { makeBzImage } from './test-bzimage.js';

const MAP = `0000000000000000 A fixed_percpu_data
ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81000100 t secondary_startup_64
ffffffff81000180 W arch_weak
ffffffff81000200 D some_data
ffffffff81000300 T last_fn
`;

describe('nm-style symbol tables (kallsyms, System.map)', () => {
  const t = nmTable(parseSystemMap(MAP), 'System.map');
  const at = (a: bigint): string | null => {
    const s = t.symbolize(a);
    return s && `${s.name}+0x${s.offset.toString(16)}`;
  };

  it('a function reaches up to the next symbol of any kind; the first name at an address wins', () => {
    expect(at(0xffffffff81000000n)).toBe('_text+0x0');
    expect(at(0xffffffff810000ffn)).toBe('_text+0xff');
    expect(at(0xffffffff81000100n)).toBe('secondary_startup_64+0x0');
    expect(at(0xffffffff810001ffn)).toBe('arch_weak+0x7f');
    // Data is not code: an address in it names nothing, and the last symbol has no known end.
    expect(at(0xffffffff81000210n)).toBeNull();
    expect(at(0xffffffff81000300n)).toBe('last_fn+0x0');
    expect(at(0xffffffff81000301n)).toBeNull();
    expect(at(0xffffffff80ffffffn)).toBeNull();
  });

  it('looks up any symbol by name, with the size to the next one', () => {
    expect(t.lookup('some_data')).toEqual({ addr: 0xffffffff81000200n, size: 0x100 });
    expect(t.lookup('startup_64')).toEqual({ addr: 0xffffffff81000000n, size: 0x100 });
    expect(t.lookup('nope')).toBeNull();
    expect(t.count).toBe(7);
  });

  it('System.map lines: bad lines and Debian\'s placeholder are ImageErrors naming the problem', () => {
    expect(() => parseSystemMap('ffffffff81000000 T ok\nthis is not a map\n')).toThrow(/^line 2 is not 'address type name': "this is not a map"$/);
    expect(() => parseSystemMap('ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n')).toThrow(ImageError);
    expect(() => parseSystemMap('\n\n')).toThrow(/no symbols/);
  });
});

describe('symbol files', () => {
  const elf = new Uint8Array(readFileSync(corpusKernel('hello')));
  const kmain = (t: ReturnType<typeof symbolFileTable>) => t.lookup('kmain')!.addr;

  it('an unstripped ELF, its System.map (nm -n) and a bzImage of it name the same function', () => {
    const fromElf = symbolFileTable(elf);
    const fromMap = symbolFileTable(new Uint8Array(execFileSync('nm', ['-n', corpusKernel('hello')])));
    const fromBz = symbolFileTable(makeBzImage(elf, 'gzip'));
    expect(fromElf.source).toBe('.symtab');
    expect(fromMap.source).toBe('System.map');
    expect(kmain(fromMap)).toBe(kmain(fromElf));
    expect(kmain(fromBz)).toBe(kmain(fromElf));
    const inside = kmain(fromElf) + 5n;
    expect(fromMap.symbolize(inside)?.name).toBe('kmain');
    expect(fromElf.symbolize(inside)?.name).toBe('kmain');
  });

  it('a stripped ELF without kallsyms has no symbols: an ImageError', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'xenrr-strip-')), 'hello');
    execFileSync('strip', ['-o', out, corpusKernel('hello')]);
    const stripped = new Uint8Array(readFileSync(out));
    expect(() => symbolFileTable(stripped)).toThrow(/neither a symbol table nor kallsyms/);
  });
});
