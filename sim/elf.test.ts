import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';

import {
  createSymbolizer,
  ElfError,
  ElfType,
  EM_X86_64,
  parseElf,
  SectionFlag,
  SegmentFlag,
  SegmentType,
  SymbolBind,
  SymbolType,
  type ElfFile,
  type ElfSymbol,
} from './elf.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GUESTS = ['sort', 'crc32', 'sha256', 'bignum', 'format'] as const;

const images = new Map<string, Uint8Array>();

function image(name: string): Uint8Array {
  const img = images.get(name);
  if (img === undefined) throw new Error(`no image ${name}`);
  return img;
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  for (const g of GUESTS) images.set(g, new Uint8Array(readFileSync(join(ROOT, 'build', 'corpus', `${g}.elf`))));
});

/** Parses, and returns the ElfError message or 'ok'; any other exception fails the test. */
function parseOutcome(bytes: Uint8Array): string {
  try {
    parseElf(bytes);
    return 'ok';
  } catch (e) {
    if (e instanceof ElfError) return e.message;
    throw e;
  }
}

function expectElfError(bytes: Uint8Array, pattern: RegExp): ElfError {
  try {
    parseElf(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(ElfError);
    expect((e as ElfError).message).toMatch(pattern);
    expect((e as ElfError).message).not.toContain('\n');
    return e as ElfError;
  }
  throw new Error(`expected ElfError matching ${pattern}`);
}

function withPatch(bytes: Uint8Array, patch: (dv: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  patch(new DataView(copy.buffer, copy.byteOffset, copy.byteLength));
  return copy;
}

describe('compute guest ELFs', () => {
  for (const g of GUESTS) {
    describe(g, () => {
      let elf: ElfFile;
      beforeAll(() => {
        elf = parseElf(image(g));
      });

      it('has the flat-harness header', () => {
        expect(elf.header.type).toBe(ElfType.EXEC);
        expect(elf.header.machine).toBe(EM_X86_64);
        expect(elf.header.entry).toBe(0x100000n);
        expect(elf.symbol('_start')?.value).toBe(elf.header.entry);
      });

      it('has loadable segments below 16 MiB with virtual = physical', () => {
        const loads = elf.loadSegments;
        expect(loads.length).toBeGreaterThanOrEqual(2);
        for (const s of loads) {
          expect(s.vaddr).toBe(s.paddr);
          expect(s.vaddr).toBeGreaterThanOrEqual(0x100000n);
          expect(s.vaddr + BigInt(s.memsz)).toBeLessThanOrEqual(16n << 20n);
          expect(s.filesz).toBeLessThanOrEqual(s.memsz);
          // Views, not copies.
          expect(s.data.buffer).toBe(image(g).buffer);
          expect(s.data.length).toBe(s.filesz);
        }
        const text = loads.find((s) => s.vaddr <= elf.header.entry && elf.header.entry < s.vaddr + BigInt(s.memsz));
        expect(text?.flags).toBe(SegmentFlag.R | SegmentFlag.X);
        const top = elf.symbol('__stack_top');
        expect(top).toBeDefined();
        expect(top!.value % 16n).toBe(0n);
        const rw = loads.find((s) => (s.flags & SegmentFlag.W) !== 0);
        expect(rw).toBeDefined();
        expect(top!.value).toBe(rw!.vaddr + BigInt(rw!.memsz));
        expect(rw!.memsz - rw!.filesz).toBeGreaterThanOrEqual(0x10000);
      });

      it('has named sections', () => {
        const text = elf.section('.text');
        expect(text?.addr).toBe(0x100000n);
        expect(text!.flags & SectionFlag.EXECINSTR).toBe(SectionFlag.EXECINSTR);
        expect(elf.section('.symtab')).toBeDefined();
        expect(elf.section('.bss')?.data.length).toBe(0);
      });

      it('finds and symbolizes guest_main', () => {
        const gm = elf.symbol('guest_main');
        expect(gm).toBeDefined();
        expect(gm!.type).toBe(SymbolType.FUNC);
        expect(gm!.bind).toBe(SymbolBind.GLOBAL);
        expect(gm!.size).toBeGreaterThan(0n);
        expect(gm!.table).toBe('.symtab');
        expect(elf.symbolize(gm!.value)).toMatchObject({ name: 'guest_main', offset: 0 });
        expect(elf.symbolize(gm!.value + 3n)).toMatchObject({ name: 'guest_main', offset: 3 });
        const last = gm!.value + gm!.size - 1n;
        expect(elf.symbolize(last)).toMatchObject({ name: 'guest_main', offset: Number(gm!.size) - 1 });
        expect(elf.symbolize(gm!.value + gm!.size)?.name).not.toBe('guest_main');
        expect(elf.symbolize(elf.header.entry + 1n)).toMatchObject({ name: '_start', offset: 1 });
        expect(elf.symbolize(0n)).toBeNull();
        expect(elf.symbolize(0xffffffffffffffffn)).toBeNull();
      });

      it('finds the xenrr note in the PT_NOTE segment', () => {
        expect(elf.segments.filter((s) => s.type === SegmentType.NOTE)).toHaveLength(1);
        expect(elf.notes).toHaveLength(1);
        const n = elf.notes[0]!;
        expect(n.name).toBe('xenrr');
        expect(n.type).toBe(1);
        expect(new TextDecoder().decode(n.desc)).toBe('flat');
        expect(n.source).toBe('segment');
      });
    });
  }
});

describe('ElfError on bad input', () => {
  it('rejects non-ELF input', () => {
    expectElfError(new Uint8Array(0), /^not an ELF file at 0x0$/);
    expectElfError(new TextEncoder().encode('hello, world'), /^not an ELF file at 0x0$/);
    expectElfError(new Uint8Array([0x7f, 0x45, 0x4c]), /^not an ELF file/);
    expectElfError(new Uint8Array([0x7f, 0x45, 0x4c, 0x46]), /^truncated ELF header .* at 0x4$/);
  });

  it('rejects other classes, byte orders and machines', () => {
    const img = image('sort');
    expectElfError(withPatch(img, (dv) => dv.setUint8(4, 1)), /^not ELF64 \(class 1\) at 0x4$/);
    expectElfError(withPatch(img, (dv) => dv.setUint8(5, 2)), /^not little-endian .* at 0x5$/);
    expectElfError(withPatch(img, (dv) => dv.setUint16(0x12, 3, true)), /^not x86-64 \(machine 3\) at 0x12$/);
    expectElfError(img.subarray(0, 40), /^truncated ELF header \(40 of 64 bytes\) at 0x28$/);
  });

  it('rejects tables and segments outside the file', () => {
    const img = image('sort');
    expectElfError(
      withPatch(img, (dv) => dv.setBigUint64(0x20, 0x7fff_0000n, true)),
      /^program header table out of bounds at 0x7fff0000$/,
    );
    expectElfError(
      withPatch(img, (dv) => dv.setBigUint64(0x28, BigInt(img.length - 10), true)),
      /^section header table out of bounds at 0x/,
    );
    expectElfError(
      withPatch(img, (dv) => dv.setBigUint64(0x20, 0xffff_ffff_ffff_0000n, true)),
      /^e_phoff 0xffffffffffff0000 too large at 0x20$/,
    );
    // First program header: p_filesz far beyond the end of the file.
    expectElfError(withPatch(img, (dv) => dv.setBigUint64(64 + 32, 0x1000_0000n, true)), /^segment 0 data out of bounds/);
  });

  it('rejects a truncated note', () => {
    const img = image('crc32');
    const elf = parseElf(img);
    const noteSeg = elf.segments.find((s) => s.type === SegmentType.NOTE)!;
    const phdrAt = elf.header.phoff + noteSeg.index * elf.header.phentsize;
    // Shrink PT_NOTE by one byte, and the matching SHT_NOTE section too.
    const noteSec = elf.section('.note')!;
    const shdrAt = elf.header.shoff + noteSec.index * elf.header.shentsize;
    const bad = withPatch(img, (dv) => {
      dv.setBigUint64(phdrAt + 32, BigInt(noteSeg.filesz - 1), true);
      dv.setBigUint64(shdrAt + 32, BigInt(noteSec.size - 1), true);
    });
    expectElfError(bad, new RegExp(`^truncated note at 0x${noteSeg.offset.toString(16)}$`));
  });

  it('never throws anything but ElfError for any prefix of a real image', () => {
    for (const g of GUESTS) {
      const img = image(g);
      const outcomes = new Set<string>();
      for (let len = 0; len <= img.length; len++) {
        const r = parseOutcome(img.subarray(0, len));
        outcomes.add(r.replace(/0x[0-9a-f]+/g, 'N').replace(/\d+/g, 'N'));
        if (len === img.length) expect(r).toBe('ok');
      }
      expect(outcomes.size).toBeGreaterThan(3);
    }
  });

  it('never throws anything but ElfError for corrupted images', () => {
    const img = image('format');
    const elf = parseElf(img);
    const hot = [0, 64 + elf.header.phnum * elf.header.phentsize, elf.header.shoff, img.length];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            region: fc.integer({ min: 0, max: 1 }),
            at: fc.nat(),
            value: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        (patches) => {
          const copy = img.slice();
          for (const p of patches) {
            const lo = hot[p.region * 2]!;
            const hi = hot[p.region * 2 + 1]!;
            copy[lo + (p.at % (hi - lo))] = p.value;
          }
          parseOutcome(copy);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('synthetic images', () => {
  /** An ELF64 header plus one PT_NOTE segment holding `notes` (file offset 0x78). */
  function noteImage(notes: Uint8Array, align: number): Uint8Array {
    const out = new Uint8Array(64 + 56 + notes.length);
    const dv = new DataView(out.buffer);
    out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    dv.setUint16(0x10, ElfType.EXEC, true);
    dv.setUint16(0x12, EM_X86_64, true);
    dv.setUint32(0x14, 1, true);
    dv.setBigUint64(0x18, 0xffffffff81000000n, true);
    dv.setBigUint64(0x20, 64n, true);
    dv.setUint16(0x34, 64, true);
    dv.setUint16(0x36, 56, true);
    dv.setUint16(0x38, 1, true);
    dv.setUint16(0x3a, 64, true);
    dv.setUint32(64, SegmentType.NOTE, true);
    dv.setUint32(68, SegmentFlag.R, true);
    dv.setBigUint64(64 + 8, 120n, true);
    dv.setBigUint64(64 + 32, BigInt(notes.length), true);
    dv.setBigUint64(64 + 40, BigInt(notes.length), true);
    dv.setBigUint64(64 + 48, BigInt(align), true);
    out.set(notes, 120);
    return out;
  }

  function note(name: string, type: number, desc: number[], align: number): number[] {
    const pad = (a: number[]): number[] => {
      const r = [...a];
      while (r.length % align !== 0) r.push(0);
      return r;
    };
    const nameBytes = [...new TextEncoder().encode(name), 0];
    const hdr = new Uint8Array(12);
    const dv = new DataView(hdr.buffer);
    dv.setUint32(0, nameBytes.length, true);
    dv.setUint32(4, desc.length, true);
    dv.setUint32(8, type, true);
    // The name starts at offset 12, so the 8-byte layout pads the header too.
    return pad([...pad([...hdr, ...nameBytes]), ...desc]);
  }

  it('parses Xen-style notes with 4- and 8-byte alignment', () => {
    for (const align of [4, 8]) {
      const notes = [
        ...note('Xen', 6, [...new TextEncoder().encode('linux'), 0], align),
        ...note('Xen', 1, [0, 0, 0, 0x81, 0xff, 0xff, 0xff, 0xff], align),
        ...note('GNU', 3, [1, 2, 3], align),
      ];
      const elf = parseElf(noteImage(new Uint8Array(notes), align));
      expect(elf.header.entry).toBe(0xffffffff81000000n);
      expect(elf.sections).toHaveLength(0);
      expect(elf.notes.map((n) => [n.name, n.type, [...n.desc]])).toEqual([
        ['Xen', 6, [...new TextEncoder().encode('linux'), 0]],
        ['Xen', 1, [0, 0, 0, 0x81, 0xff, 0xff, 0xff, 0xff]],
        ['GNU', 3, [1, 2, 3]],
      ]);
      expect(elf.notes[0]!.offset).toBe(120);
    }
  });

  it('rejects notes whose sizes run past the segment', () => {
    const n = note('Xen', 6, [1, 2, 3, 4], 4);
    const bad = new Uint8Array(n);
    new DataView(bad.buffer).setUint32(4, 1000, true);
    expectElfError(noteImage(bad, 4), /^truncated note at 0x78$/);
    const hugeName = new Uint8Array(n);
    new DataView(hugeName.buffer).setUint32(0, 0xffffffff, true);
    expectElfError(noteImage(hugeName, 4), /^truncated note at 0x78$/);
    expectElfError(noteImage(new Uint8Array([...n, 1, 2, 3]), 4), /^truncated note at 0x8c$/);
    // Zero padding after the last note is fine.
    expect(parseElf(noteImage(new Uint8Array([...n, 0, 0, 0, 0]), 4)).notes).toHaveLength(1);
  });
});

describe('createSymbolizer', () => {
  const sym = (name: string, value: bigint, size: bigint, over: Partial<ElfSymbol> = {}): ElfSymbol => ({
    name,
    value,
    size,
    type: SymbolType.FUNC,
    bind: SymbolBind.GLOBAL,
    visibility: 0,
    shndx: 1,
    table: '.symtab',
    index: 0,
    ...over,
  });

  it('covers sized symbols, prefers global aliases, and skips non-functions', () => {
    const s = createSymbolizer([
      sym('b', 0x2000n, 0x10n),
      sym('a_local', 0x1000n, 0x100n, { bind: SymbolBind.LOCAL }),
      sym('a', 0x1000n, 0x100n),
      sym('data', 0x1800n, 0x100n, { type: SymbolType.OBJECT }),
      sym('undef', 0x3000n, 0x100n, { shndx: 0 }),
    ]);
    expect(s(0xfffn)).toBeNull();
    expect(s(0x1000n)).toMatchObject({ name: 'a', offset: 0 });
    expect(s(0x10ffn)).toMatchObject({ name: 'a', offset: 0xff });
    expect(s(0x1100n)).toBeNull();
    expect(s(0x1850n)).toBeNull();
    expect(s(0x200fn)).toMatchObject({ name: 'b', offset: 15 });
    expect(s(0x3000n)).toBeNull();
  });

  it('finds an enclosing function past a nested symbol', () => {
    const s = createSymbolizer([sym('outer', 0x1000n, 0x1000n), sym('inner', 0x1100n, 0x10n)]);
    expect(s(0x1105n)).toMatchObject({ name: 'inner', offset: 5 });
    expect(s(0x1200n)).toMatchObject({ name: 'outer', offset: 0x200 });
  });

  it('bounds size-0 symbols by the next symbol or the section end', () => {
    const text = {
      index: 1,
      name: '.text',
      type: 1,
      flags: SectionFlag.ALLOC | SectionFlag.EXECINSTR,
      addr: 0x1000n,
      offset: 0x1000,
      size: 0x100,
      link: 0,
      info: 0,
      addralign: 16,
      entsize: 0,
      data: new Uint8Array(0),
    };
    const syms = [
      sym('entry', 0x1000n, 0n),
      sym('label', 0x1040n, 0n, { type: SymbolType.NOTYPE }),
      sym('tail', 0x1080n, 0n),
    ];
    const s = createSymbolizer(syms, { sections: [text, text] });
    expect(s(0x1050n)).toMatchObject({ name: 'entry', offset: 0x50 });
    expect(s(0x10ffn)).toMatchObject({ name: 'tail', offset: 0x7f });
    expect(s(0x1100n)).toBeNull();
    const withLabels = createSymbolizer(syms, { sections: [text, text], includeNoType: true });
    expect(withLabels(0x1050n)).toMatchObject({ name: 'label', offset: 0x10 });
    // Without section information a size-0 symbol covers only its own address.
    const bare = createSymbolizer(syms);
    expect(bare(0x1000n)).toMatchObject({ name: 'entry', offset: 0 });
    expect(bare(0x1001n)).toBeNull();
  });
});
