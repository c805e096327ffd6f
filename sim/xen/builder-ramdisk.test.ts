import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../elf.js';
import { Machine } from '../machine.js';
import { BuildError, xenNotes } from './builder.js';
import { SIF_MOD_START_PFN, start_info } from './public/xen.js';
import { corpusKernel } from './test-domain.js';

const hello = new Uint8Array(readFileSync(corpusKernel('hello')));
/** 10000 bytes: not a whole number of pages */
const ramdisk = Uint8Array.from({ length: 10000 }, (_, i) => (i * 7 + 3) & 0xff);

function build(image: Uint8Array, rd: Uint8Array | undefined, memoryMiB = 8) {
  const m = new Machine([{ id: 1, name: 'g', memoryMiB, vcpus: 1, cmdline: '', privileged: false, seed: 5, image, ...(rd ? { ramdisk: rd } : {}) }]);
  const d = m.domains[0]!;
  const v = d.vcpus[0]!;
  const si = new DataView(v.guest.read(d.startInfoVa, start_info.size)!.buffer);
  return { m, d, v, flags: si.getUint32(start_info.flags, true), modStart: si.getBigUint64(start_info.mod_start, true), modLen: si.getBigUint64(start_info.mod_len, true), p2m: si.getBigUint64(start_info.mfn_list, true) };
}

/** `image` with its PAE_MODE note retyped as MOD_START_PFN ("yes\0" reads as nonzero), as Linux declares it. */
function withModStartPfn(image: Uint8Array): Uint8Array {
  const out = image.slice();
  const note = parseElf(out).notes.find((n) => n.name === 'Xen' && n.type === 9)!;
  new DataView(out.buffer).setUint32(note.offset + 8, 16, true);
  return out;
}

describe('ramdisk placement, as xc_dom_build_image does it', () => {
  it('without MOD_START_PFN: mapped right after the kernel, mod_start its virtual address, exact length', () => {
    const plain = build(hello, undefined);
    const r = build(hello, ramdisk);
    expect(plain.modStart).toBe(0n);
    expect(r.flags & SIF_MOD_START_PFN).toBe(0);
    // The module takes the P2M list's place; everything after it moves up by its pages.
    expect(r.modStart).toBe(plain.p2m);
    expect(r.p2m).toBe(plain.p2m + 3n * 4096n);
    expect(r.modLen).toBe(10000n);
    expect(Buffer.from(r.v.guest.read(r.modStart, 10000)!).equals(Buffer.from(ramdisk))).toBe(true);
  });

  it('with MOD_START_PFN: after the initial mapping, unmapped, mod_start a PFN, whole pages, SIF_MOD_START_PFN', () => {
    const image = withModStartPfn(hello);
    expect(xenNotes(parseElf(image)).modStartPfn).toBe(true);
    const plain = build(image, undefined);
    const r = build(image, ramdisk);
    expect(r.flags & SIF_MOD_START_PFN).toBe(SIF_MOD_START_PFN);
    // Nothing else moved: the mapped layout is the same as without a ramdisk.
    expect(r.p2m).toBe(plain.p2m);
    expect(r.modLen).toBe(3n * 4096n);
    const pfn = Number(r.modStart);
    // The first PFN past the initial mapping (it ends at a 4 MiB boundary) and not mapped.
    expect(pfn % 1024).toBe(0);
    expect(r.v.guest.read(BigInt(pfn) * 4096n, 1)).toBeNull();
    expect(r.v.guest.read(BigInt(pfn) * 4096n - 4096n, 1)).not.toBeNull();
    const mem = r.m.xen.frames.mem;
    const bytes = new Uint8Array(3 * 4096);
    for (let k = 0; k < 3; k++) bytes.set(mem.read(r.d.p2m[pfn + k]! * 4096, 4096), k * 4096);
    expect(Buffer.from(bytes.subarray(0, 10000)).equals(Buffer.from(ramdisk))).toBe(true);
    expect(bytes.subarray(10000).every((b) => b === 0)).toBe(true);
  });

  it('a ramdisk that does not fit the memory is a BuildError naming both', () => {
    expect(() => build(hello, new Uint8Array(9 << 20))).toThrow(BuildError);
    expect(() => build(withModStartPfn(hello), new Uint8Array(5 << 20))).toThrow(/too small for this kernel and ramdisk \(needs \d+ MiB\)/);
  });
});
