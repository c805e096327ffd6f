/**
 * The PV guest kernels, and the compute guests' PV flavour, build into valid
 * Xen PV64 images: ELF64 EXEC linked at 1 MiB with entry `_start`, the Xen
 * ELF notes the domain builder reads (HYPERCALL_PAGE naming a page-aligned
 * 4 KiB `hypercall_page` filled with `ret`), and no SSE/x87 code (outside a
 * simd compute guest's own functions: never in the runtime, whose event and
 * trap paths save no XMM state). Every scenario names kernels that exist.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { ElfType, parseElf, SegmentType, SymbolType, type ElfFile } from '../../sim/elf.js';
import { diskPath, kernelPath, parseScenario } from '../../sim/scenario.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PV_SRC = join(ROOT, 'corpus', 'pv');
const PV_OUT = join(ROOT, 'build', 'corpus', 'pv');
const SCENARIOS = join(ROOT, 'corpus', 'scenarios');

/** Must match PV_GUESTS in corpus/build.mjs. */
const KERNELS = ['hello', 'timer', 'pingpong', 'gntcopy', 'fault', 'crash', 'ringpair', 'idle', 'coldhot', 'blkfront', 'netfront'] as const;
/** The compute guests' PV flavour (COMPUTE_GUESTS in corpus/build.mjs), all
 * with the kmain of this adapter; compute-pv.test.ts runs them. */
const COMPUTE_ADAPTER = 'compute-main';
const COMPUTE_KERNELS = ['sort', 'crc32', 'sha256', 'bignum', 'format', 'simd', 'matmul', 'fpconv'].map((n) => `compute-${n}`);
/** Kernels whose guest code may use SSE (COMPUTE_GUESTS with `simd`): only in functions of that code. */
const SSE_FUNCTIONS: Record<string, RegExp> = {
  'compute-simd': /^(guest_main|simd_\w+|ref_\w+|fill)(\.\w+)*$/,
  'compute-matmul': /^(guest_main|fill|rnd_f(32|64)|mm_f(32|64)|ref_mm_\w+|dot_f(32|64)|axpy_f(32|64)|horner_f(32|64)|digest(32|64))(\.\w+)*$/,
  'compute-fpconv': /^(guest_main|fill|cvt_\w+|ref_\w+|k_\w+|r_\w+|argmax_abs|histogram|rint_sum|i64_round_trip|bits_of_array\d+|fp_special_values|op_\w+|landmark|show)(\.\w+)*$/,
};
const ALL_KERNELS: readonly string[] = [...KERNELS, ...COMPUTE_KERNELS];

/** Xen ELF note types (public/elfnote.h). */
const NOTE = { HYPERCALL_PAGE: 2, XEN_VERSION: 5, GUEST_OS: 6, LOADER: 8, PAE_MODE: 9, FEATURES: 10 } as const;

const STRING_NOTES: ReadonlyArray<readonly [number, string]> = [
  [NOTE.GUEST_OS, 'xenrr-corpus'],
  [NOTE.XEN_VERSION, 'xen-3.0'],
  [NOTE.LOADER, 'generic'],
  [NOTE.FEATURES, '!writable_page_tables|pae_pgdir_above_4gb'],
  [NOTE.PAE_MODE, 'yes'],
];

const elfs = new Map<string, ElfFile>();

function elf(name: string): ElfFile {
  const e = elfs.get(name);
  if (e === undefined) throw new Error(`no image ${name}`);
  return e;
}

function xenNote(e: ElfFile, type: number): Uint8Array {
  const n = e.notes.filter((x) => x.name === 'Xen' && x.type === type);
  expect(n, `Xen note ${type}`).toHaveLength(1);
  return n[0]!.desc;
}

/** A NUL-terminated note string, without its terminator. */
function noteString(desc: Uint8Array): string {
  expect(desc[desc.length - 1], 'note string NUL-terminated').toBe(0);
  return Buffer.from(desc.subarray(0, desc.length - 1)).toString('latin1');
}

/** File bytes of the loaded image at [va, va + len), from the PT_LOAD covering it. */
function loadedBytes(e: ElfFile, va: bigint, len: number): Uint8Array {
  const seg = e.loadSegments.find((s) => va >= s.vaddr && va + BigInt(len) <= s.vaddr + BigInt(s.filesz));
  if (seg === undefined) throw new Error(`0x${va.toString(16)} not in a PT_LOAD's file data`);
  const off = Number(va - seg.vaddr);
  return seg.data.subarray(off, off + len);
}

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
  for (const k of ALL_KERNELS) elfs.set(k, parseElf(new Uint8Array(readFileSync(join(PV_OUT, `${k}.elf`)))));
});

describe('PV kernel list', () => {
  it('knows every corpus/pv/*.c that defines kmain: the kernels and the compute adapter', () => {
    const withKmain = readdirSync(PV_SRC)
      .filter((f) => f.endsWith('.c'))
      .filter((f) => /^void kmain\(/m.test(readFileSync(join(PV_SRC, f), 'utf8')))
      .map((f) => f.slice(0, -2))
      .sort();
    expect(withKmain).toEqual([...KERNELS, COMPUTE_ADAPTER].sort());
  });

  it('matches PV_GUESTS in corpus/build.mjs', () => {
    const script = readFileSync(join(ROOT, 'corpus', 'build.mjs'), 'utf8');
    const list = /const PV_GUESTS = \[([\s\S]*?)\];/.exec(script);
    expect(list).not.toBeNull();
    const names = [...list![1]!.matchAll(/name: '([\w-]+)'/g)].map((m) => m[1]);
    expect(names.sort()).toEqual([...KERNELS].sort());
  });
});

describe.each(ALL_KERNELS)('PV kernel %s', (name) => {
  it('is an ELF64 EXEC linked at 1 MiB, VA == PA, entering at _start', () => {
    const e = elf(name);
    expect(e.header.type).toBe(ElfType.EXEC);
    const start = e.symbol('_start');
    expect(start).toBeDefined();
    expect(e.header.entry).toBe(start!.value);
    expect(e.header.entry).toBe(0x100000n);
    const loads = e.loadSegments;
    expect(loads.length).toBeGreaterThan(0);
    for (const s of loads) expect(s.paddr).toBe(s.vaddr);
    expect(loads.map((s) => s.vaddr).reduce((a, b) => (a < b ? a : b))).toBe(0x100000n);
    expect(e.segments.some((s) => s.type === SegmentType.NOTE)).toBe(true);
  });

  it('names only its own sources in the symbol table (no assembler temporaries: builds are byte-reproducible)', () => {
    const files = elf(name).symbols.filter((sym) => sym.type === SymbolType.FILE).map((sym) => sym.name);
    expect(files).toContain('head.S');
    expect(files).toContain('entry.S');
    for (const f of files) expect(f).toMatch(/^[\w-]+\.[cS]$/);
  });

  it('carries the Xen ELF notes', () => {
    const e = elf(name);
    for (const [type, value] of STRING_NOTES) expect(noteString(xenNote(e, type)), `note ${type}`).toBe(value);
  });

  it('points HYPERCALL_PAGE at a page-aligned 4 KiB hypercall_page full of ret', () => {
    const e = elf(name);
    const desc = xenNote(e, NOTE.HYPERCALL_PAGE);
    expect(desc.length).toBe(8);
    const va = new DataView(desc.buffer, desc.byteOffset, 8).getBigUint64(0, true);
    const sym = e.symbol('hypercall_page');
    expect(sym).toBeDefined();
    expect(va).toBe(sym!.value);
    expect(va % 4096n).toBe(0n);
    expect(sym!.size).toBe(4096n);
    expect(loadedBytes(e, va, 4096).every((b) => b === 0xc3)).toBe(true);
  });

  it('contains no SSE, AVX or x87 instructions', () => {
    const dis = execFileSync('objdump', ['-d', '--no-show-raw-insn', join(PV_OUT, `${name}.elf`)], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const offending: string[] = [];
    let count = 0;
    let fn = '';
    const allowed = SSE_FUNCTIONS[name];
    for (const line of dis.split('\n')) {
      const f = /^[0-9a-f]+ <([^>]+)>:$/.exec(line);
      if (f !== null) fn = f[1]!;
      if (allowed?.test(fn)) continue;
      const m = /^\s*[0-9a-f]+:\t(\S+)\s*(.*)$/.exec(line);
      if (m === null) continue;
      count++;
      const [, mnemonic, operands] = m as unknown as [string, string, string];
      const bad =
        /%[xyz]?mm\d|%st\b|%st\(/.test(operands) ||
        /^(f\w+|emms|[ls]dmxcsr|stmxcsr|ldmxcsr|v\w+|movnti|[lms]fence|xsave\w*|xrstor\w*|fxsave\w*|fxrstor\w*)$/.test(
          mnemonic,
        );
      if (bad) offending.push(line.trim());
    }
    expect(count).toBeGreaterThan(100);
    expect(offending).toEqual([]);
  });
});

interface ScenarioDomain {
  name: string;
  kernel: string;
  memoryMiB: number;
  vcpus: number;
  cmdline: string;
}

interface Scenario {
  name: string;
  description: string;
  seed: number;
  maxInsns: number;
  domains: ScenarioDomain[];
  expect: { console?: Record<string, string[]>; shutdown?: Record<string, string> };
}

const scenarioFiles = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));

describe('scenarios', () => {
  it('run every PV kernel somewhere', () => {
    const used = new Set<string>();
    for (const f of scenarioFiles) {
      const sc = JSON.parse(readFileSync(join(SCENARIOS, f), 'utf8')) as Scenario;
      for (const d of sc.domains) used.add(d.kernel);
    }
    for (const k of KERNELS) expect(used.has(k), k).toBe(true);
  });

  describe.each(scenarioFiles)('%s', (file) => {
    const sc = JSON.parse(readFileSync(join(SCENARIOS, file), 'utf8')) as Scenario;

    it('follows the schema', () => {
      expect(sc.name).toBe(file.slice(0, -5));
      expect(typeof sc.description).toBe('string');
      expect(Number.isInteger(sc.seed)).toBe(true);
      expect(Number.isInteger(sc.maxInsns) && sc.maxInsns > 0).toBe(true);
      expect(sc.domains.length).toBeGreaterThan(0);
      const names = sc.domains.map((d) => d.name);
      expect(new Set(names).size).toBe(names.length);
      for (const d of sc.domains) {
        expect(Number.isInteger(d.memoryMiB) && d.memoryMiB > 0).toBe(true);
        expect(d.vcpus).toBe(1);
        expect(typeof d.cmdline).toBe('string');
      }
      for (const who of Object.keys(sc.expect.console ?? {})) expect(names).toContain(who);
      for (const [who, how] of Object.entries(sc.expect.shutdown ?? {})) {
        expect(names).toContain(who);
        expect(['poweroff', 'reboot', 'crash']).toContain(how);
      }
    });

    it('passes the scenario loader', () => {
      expect(() => parseScenario(sc, join(SCENARIOS, file))).not.toThrow();
    });

    it('references disk images that are built', () => {
      const loaded = parseScenario(sc, join(SCENARIOS, file));
      for (const d of loaded.domains) for (const disk of d.disks) expect(existsSync(diskPath(loaded, disk.target)), disk.target).toBe(true);
    });

    it('references kernels that are built', () => {
      const loaded = parseScenario(sc, join(SCENARIOS, file));
      for (const d of sc.domains) {
        expect(d.kernel.includes('/') || d.kernel.endsWith('.elf'), d.kernel).toBe(false);
        expect(ALL_KERNELS).toContain(d.kernel);
        expect(elfs.has(d.kernel)).toBe(true);
        expect(kernelPath(loaded, d.kernel)).toBe(join(PV_OUT, `${d.kernel}.elf`));
      }
    });
  });
});
