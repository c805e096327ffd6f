import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../sim/elf.js';
import { readKallsyms, type NmSymbol } from './kallsyms.js';
import { kernelImage } from './kernel-image.js';

/**
 * kallsyms tables laid out as scripts/kallsyms.c writes them, from symbols
 * we choose, amid other read-only data (including a decoy table of
 * one-character strings, as .rodata holds).
 */
function kallsymsBlob(syms: NmSymbol[], o: { seqs: boolean; offsetsAfter: boolean; absolutePercpu?: boolean }): Uint8Array {
  const out: number[] = [];
  let seed = 12345;
  const junk = (n: number): void => {
    for (let i = 0; i < n; i++) out.push((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  };
  const align = (a: number): void => {
    while (out.length % a) out.push(0);
  };
  const u32 = (v: number): void => void out.push(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff);
  const u64 = (v: bigint): void => {
    u32(Number(v & 0xffffffffn));
    u32(Number(v >> 32n));
  };
  // Tokens: every printable byte stands for itself; some free bytes for frequent strings.
  const multi = ['xen_', 'start', '_kernel', 'clock', 'read_', 'pv'];
  const table: string[] = Array.from({ length: 256 }, (_, c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : ''));
  multi.forEach((t, k) => (table[0x80 + k] = t));
  const encode = (s: string): number[] => {
    const codes: number[] = [];
    for (let i = 0; i < s.length; ) {
      const k = multi.findIndex((t) => s.startsWith(t, i));
      if (k >= 0) {
        codes.push(0x80 + k);
        i += multi[k]!.length;
      } else codes.push(s.charCodeAt(i++));
    }
    return codes;
  };
  const base = 0xffffffff81000000n;
  const offsets = (): void => {
    for (const s of syms) u32(o.absolutePercpu === false ? Number(s.addr - base) : s.addr < base ? Number(s.addr) : Number(base - 1n - s.addr));
    align(8);
    u64(base);
  };
  junk(1000);
  for (let c = 0; c < 256; c++) out.push(c, 0); // decoy: "\x00\x01\x00..."
  junk(333);
  align(8);
  if (!o.offsetsAfter) offsets();
  u32(syms.length);
  align(8);
  const names = out.length;
  const markers: number[] = [];
  syms.forEach((s, i) => {
    if (i % 256 === 0) markers.push(out.length - names);
    const codes = encode(s.type + s.name);
    if (codes.length >= 0x80) out.push((codes.length & 0x7f) | 0x80, codes.length >> 7);
    else out.push(codes.length);
    out.push(...codes);
  });
  align(8);
  markers.forEach(u32);
  if (o.seqs) for (let i = 0; i < syms.length; i++) out.push(0, (i * 7) & 0xff, i & 0xff);
  align(8);
  const tt = out.length;
  const offs: number[] = [];
  for (const t of table) {
    offs.push(out.length - tt);
    for (const ch of t) out.push(ch.charCodeAt(0));
    out.push(0);
  }
  align(8);
  for (const v of offs) out.push(v & 0xff, v >> 8);
  if (o.offsetsAfter) {
    align(8);
    offsets();
  }
  junk(777);
  return Uint8Array.from(out);
}

/** Symbols as a kernel has them: per-CPU absolutes from 0, then text, sorted by address. */
function symbols(n: number): NmSymbol[] {
  const out: NmSymbol[] = [
    { addr: 0n, type: 'A', name: 'fixed_percpu_data' },
    { addr: 0n, type: 'A', name: '__per_cpu_start' },
    { addr: 0x1000n, type: 'A', name: 'cpu_debug_store' },
    { addr: 0xffffffff81000000n, type: 'T', name: '_text' },
    { addr: 0xffffffff81000000n, type: 'T', name: 'startup_64' },
  ];
  let a = 0xffffffff81000040n;
  for (let i = 0; out.length < n; i++) {
    out.push({ addr: a, type: i % 3 ? 't' : 'T', name: `xen_${i % 5 ? 'read_clock' : 'start_kernel'}_${i}` });
    a += BigInt(16 + (i % 97));
  }
  out.push({ addr: a, type: 'T', name: `a_very_long_name_${'x'.repeat(150)}` });
  out.push({ addr: a + 64n, type: 'D', name: '_end' });
  return out;
}

describe('kallsyms found by structure', () => {
  for (const seqs of [false, true]) {
    for (const offsetsAfter of [false, true]) {
      it(`${seqs ? 'with' : 'without'} kallsyms_seqs_of_names, offsets ${offsetsAfter ? 'after the token index' : 'before kallsyms_num_syms'}`, () => {
        const syms = symbols(3000);
        expect(readKallsyms(kallsymsBlob(syms, { seqs, offsetsAfter }))).toEqual(syms);
      });
    }
  }
  it('fewer than 256 symbols (one marker) and exactly 512 (two full runs)', () => {
    for (const n of [40, 510]) {
      const syms = symbols(n);
      expect(readKallsyms(kallsymsBlob(syms, { seqs: true, offsetsAfter: false }))).toEqual(syms);
    }
  });
  it('without CONFIG_KALLSYMS_ABSOLUTE_PERCPU: every offset is from the relative base', () => {
    const syms = symbols(700).filter((s) => s.addr >= 0xffffffff81000000n);
    expect(readKallsyms(kallsymsBlob(syms, { seqs: false, offsetsAfter: false, absolutePercpu: false }))).toEqual(syms);
  });
  it('no tables: null', () => {
    const blob = kallsymsBlob(symbols(600), { seqs: false, offsetsAfter: false });
    // Join two tokens: the token index no longer confirms the table.
    const at = Buffer.from(blob).indexOf(Buffer.from('xen_\0start\0', 'latin1'));
    blob[at + 4] = 0x41;
    expect(readKallsyms(blob)).toBeNull();
    expect(readKallsyms(new Uint8Array(100000))).toBeNull();
  });
});

const KERNEL = fileURLToPath(new URL('../../build/kernels/vmlinuz-6.1.0-57-amd64', import.meta.url));
const haveKernel = existsSync(KERNEL);
if (!haveKernel) console.warn(`skipping the Debian kernel's kallsyms: ${KERNEL} is absent (npm run kernels)`);

describe.skipIf(!haveKernel)("Debian's linux-image-6.1.0-57-amd64 (stripped)", () => {
  const elf = haveKernel ? kernelImage(new Uint8Array(readFileSync(KERNEL))).elf : new Uint8Array(0);
  const syms = haveKernel ? readKallsyms(elf)! : [];
  const by = new Map(syms.map((s) => [s.name, s]));

  it('has no .symtab, and kallsyms gives a plausible count, sorted by address', () => {
    expect(parseElf(elf).section('.symtab')).toBeUndefined();
    expect(syms.length).toBeGreaterThan(80000);
    expect(syms.every((s, i) => i === 0 || syms[i - 1]!.addr <= s.addr)).toBe(true);
  });

  it('names the Xen entry point at the ENTRY note and the symbols a PV boot passes', () => {
    const entry = parseElf(elf).notes.find((n) => n.name === 'Xen' && n.type === 1)!;
    expect(by.get('startup_xen')).toEqual({ addr: Buffer.from(entry.desc).readBigUInt64LE(0), type: 'T', name: 'startup_xen' });
    for (const n of ['xen_start_kernel', 'start_kernel', 'pvclock_read_wallclock', 'xen_setup_features']) expect(by.get(n)?.type, n).toMatch(/[tT]/);
    expect(by.get('_text')!.addr).toBe(0xffffffff81000000n);
  });

  it("agrees with the exported-symbol table (__ksymtab: relative value and name offsets)", () => {
    const f = parseElf(elf);
    const ks = f.section('__ksymtab')!;
    const strs = f.section('__ksymtab_strings')!;
    const dv = new DataView(ks.data.buffer, ks.data.byteOffset, ks.data.byteLength);
    let checked = 0;
    for (let off = 0; off + 12 <= ks.size; off += 12 * 37) {
      const value = ks.addr + BigInt(off) + BigInt(dv.getInt32(off, true));
      const nameAt = Number(ks.addr + BigInt(off + 4) + BigInt(dv.getInt32(off + 4, true)) - strs.addr);
      const name = Buffer.from(strs.data).toString('latin1', nameAt, strs.data.indexOf(0, nameAt));
      expect(by.get(name)?.addr, name).toBe(value & 0xffffffffffffffffn);
      checked++;
    }
    expect(checked).toBeGreaterThan(100);
  });
});
