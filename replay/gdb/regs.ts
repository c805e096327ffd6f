/**
 * The x86-64 registers gdb sees: the target description it reads with
 * qXfer:features:read:target.xml, and the byte layout of `g` and `p`
 * replies (registers in description order, little-endian).
 *
 * gdb's amd64 architecture checks a description against its own register
 * list: feature org.gnu.gdb.i386.core must hold its forty registers in its
 * order, x87 included; org.gnu.gdb.i386.sse (xmm0-15, mxcsr) and
 * org.gnu.gdb.i386.segments (fs_base, gs_base) are optional features it
 * recognises by name. A register the core does not model reads as
 * unavailable (`xx` bytes, gdb shows <unavailable>). The SSE feature is offered once the core has SSE state
 * (a Cpu with `xmm`, 16 registers of 4 little-endian words, and `mxcsr`).
 * Registers a PV kernel developer wants that gdb has no feature for are in
 * org.xenrr.pv, which gdb shows as plain registers.
 */
import type { Cpu } from '../../sim/cpu/cpu.js';
import { X87 } from '../../sim/cpu/fpu.js';
import { rflagsOf } from '../../sim/snapshot-cpu.js';
import type { Vcpu } from '../../sim/xen/vcpu.js';

export type RegDef = { name: string; bits: number; type: string; group?: string; read: (v: Vcpu) => Uint8Array | null };
type Feature = { name: string; types: string; regs: RegDef[] };

const u64 = (lo: number, hi: number): Uint8Array => {
  const b = new Uint8Array(8);
  const d = new DataView(b.buffer);
  d.setUint32(0, lo >>> 0, true);
  d.setUint32(4, hi >>> 0, true);
  return b;
};
const u32 = (x: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x >>> 0, true);
  return b;
};
/** ST(k) as the 10 bytes gdb's i387_ext expects. */
function st(c: Cpu, k: number): Uint8Array {
  const top = (c.x87[X87.FSW]! >> 11) & 7;
  const at = X87.REGS + 5 * ((top + k) & 7);
  const b = new Uint8Array(10);
  for (let w = 0; w < 5; w++) {
    b[2 * w] = c.x87[at + w]! & 0xff;
    b[2 * w + 1] = c.x87[at + w]! >> 8;
  }
  return b;
}

/** The full tag word (2 bits a physical register: valid, zero, special, empty) from FXSAVE's abridged one, as FSAVE would store it. */
function fullTag(c: Cpu): number {
  let tag = 0;
  for (let i = 0; i < 8; i++) {
    const at = X87.REGS + 5 * i;
    const exp = c.x87[at + 4]! & 0x7fff;
    const sig = [0, 1, 2, 3].map((w) => c.x87[at + w]!);
    const zeroSig = sig.every((w) => w === 0);
    const t = (c.x87[X87.FTW]! & (1 << i)) === 0 ? 3 : exp === 0x7fff ? 2 : exp === 0 ? (zeroSig ? 1 : 2) : (sig[3]! & 0x8000) === 0 ? 2 : 0;
    tag |= t << (2 * i);
  }
  return tag;
}

const big64 = (x: bigint): Uint8Array => u64(Number(x & 0xffffffffn), Number((x >> 32n) & 0xffffffffn));

/** gdb's order of the general registers, as their encoding numbers (rax rbx rcx rdx rsi rdi rbp rsp r8..r15). */
const GPR: Array<[string, number, string]> = [
  ['rax', 0, 'int64'], ['rbx', 3, 'int64'], ['rcx', 1, 'int64'], ['rdx', 2, 'int64'], ['rsi', 6, 'int64'], ['rdi', 7, 'int64'],
  ['rbp', 5, 'data_ptr'], ['rsp', 4, 'data_ptr'],
  ...Array.from({ length: 8 }, (_, k): [string, number, string] => [`r${k + 8}`, k + 8, 'int64']),
];
/** Segment registers in gdb's order, as Cpu.sreg indices (ES CS SS DS FS GS). */
const SEGS: Array<[string, number]> = [['cs', 1], ['ss', 2], ['ds', 3], ['es', 0], ['fs', 4], ['gs', 5]];

const EFLAGS = `<flags id="i386_eflags" size="4">${[['CF', 0], ['', 1], ['PF', 2], ['AF', 4], ['ZF', 6], ['SF', 7], ['TF', 8], ['IF', 9], ['DF', 10], ['OF', 11], ['NT', 14], ['RF', 16], ['VM', 17], ['AC', 18], ['VIF', 19], ['VIP', 20], ['ID', 21]]
  .map(([n, b]) => `<field name="${n}" start="${b}" end="${b}"/>`).join('')}</flags>`;

const core: Feature = {
  name: 'org.gnu.gdb.i386.core',
  types: EFLAGS,
  regs: [
    ...GPR.map(([name, i, type]): RegDef => ({ name, bits: 64, type, read: (v) => u64(v.cpu.r[2 * i]!, v.cpu.r[2 * i + 1]!) })),
    { name: 'rip', bits: 64, type: 'code_ptr', read: (v) => u64(v.cpu.ripLo, v.cpu.ripHi) },
    { name: 'eflags', bits: 32, type: 'i386_eflags', read: (v) => u32(rflagsOf(v.cpu)) },
    ...SEGS.map(([name, i]): RegDef => ({ name, bits: 32, type: 'int32', read: (v) => u32(v.cpu.sreg[i]!) })),
    // x87 (sim/cpu/fpu.ts): ST(k) is physical register (TOP + k) & 7, 64-bit significand then sign|exponent.
    ...Array.from({ length: 8 }, (_, k): RegDef => ({ name: `st${k}`, bits: 80, type: 'i387_ext', read: (v) => st(v.cpu, k) })),
    { name: 'fctrl', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FCW]!) },
    { name: 'fstat', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FSW]!) },
    { name: 'ftag', bits: 32, type: 'int', group: 'float', read: (v) => u32(fullTag(v.cpu)) },
    { name: 'fiseg', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FCS]!) },
    { name: 'fioff', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FIP]! | (v.cpu.x87[X87.FIP + 1]! << 16)) },
    { name: 'foseg', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FDS]!) },
    { name: 'fooff', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FDP]! | (v.cpu.x87[X87.FDP + 1]! << 16)) },
    { name: 'fop', bits: 32, type: 'int', group: 'float', read: (v) => u32(v.cpu.x87[X87.FOP]!) },
  ],
};

/** SSE state, where the core has it. */
type SseCpu = Cpu & { xmm: Uint32Array; mxcsr: number };
const hasSse = (c: Cpu): c is SseCpu => 'xmm' in c && 'mxcsr' in c;
const VEC128 = [
  '<vector id="v4f" type="ieee_single" count="4"/><vector id="v2d" type="ieee_double" count="2"/>',
  '<vector id="v16i8" type="int8" count="16"/><vector id="v8i16" type="int16" count="8"/>',
  '<vector id="v4i32" type="int32" count="4"/><vector id="v2i64" type="int64" count="2"/>',
  '<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/><field name="v16_int8" type="v16i8"/>',
  '<field name="v8_int16" type="v8i16"/><field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/><field name="uint128" type="uint128"/></union>',
  `<flags id="i386_mxcsr" size="4">${[['IE', 0], ['DE', 1], ['ZE', 2], ['OE', 3], ['UE', 4], ['PE', 5], ['DAZ', 6], ['IM', 7], ['DM', 8], ['ZM', 9], ['OM', 10], ['UM', 11], ['PM', 12], ['FZ', 15]]
    .map(([n, b]) => `<field name="${n}" start="${b}" end="${b}"/>`).join('')}</flags>`,
].join('');
const sse: Feature = {
  name: 'org.gnu.gdb.i386.sse',
  types: VEC128,
  regs: [
    ...Array.from({ length: 16 }, (_, k): RegDef => ({
      name: `xmm${k}`, bits: 128, type: 'vec128',
      read: (v) => (hasSse(v.cpu) ? new Uint8Array(new Uint32Array(v.cpu.xmm.subarray(4 * k, 4 * k + 4)).buffer) : null),
    })),
    { name: 'mxcsr', bits: 32, type: 'i386_mxcsr', group: 'vector', read: (v) => (hasSse(v.cpu) ? u32(v.cpu.mxcsr) : null) },
  ],
};

const segments: Feature = {
  name: 'org.gnu.gdb.i386.segments',
  types: '',
  regs: [
    { name: 'fs_base', bits: 64, type: 'int', read: (v) => u64(v.cpu.fsLo, v.cpu.fsHi) },
    { name: 'gs_base', bits: 64, type: 'int', read: (v) => u64(v.cpu.gsLo, v.cpu.gsHi) },
  ],
};

/** PV state: the GS base the guest kernel's swapgs would load, CR2 and CR3 (a machine address) as Xen keeps them for the vCPU. */
const pv: Feature = {
  name: 'org.xenrr.pv',
  types: '',
  regs: [
    { name: 'k_gs_base', bits: 64, type: 'int', group: 'system', read: (v) => u64(v.cpu.kgsLo, v.cpu.kgsHi) },
    { name: 'cr2', bits: 64, type: 'int', group: 'system', read: (v) => big64(v.cr2) },
    { name: 'cr3', bits: 64, type: 'int', group: 'system', read: (v) => big64(BigInt(v.cr3) * 4096n) },
  ],
};

/** The register set for a core: SSE only when it has SSE state. */
export class Registers {
  readonly features: Feature[];
  readonly list: RegDef[];

  constructor(sample: Cpu) {
    this.features = hasSse(sample) ? [core, sse, segments, pv] : [core, segments, pv];
    this.list = this.features.flatMap((f) => f.regs);
  }

  /** target.xml: every feature inline, registers numbered in `g` order. */
  targetXml(): string {
    let n = 0;
    const feats = this.features.map((f) => {
      const regs = f.regs.map((r) => `<reg name="${r.name}" bitsize="${r.bits}" type="${r.type}" regnum="${n++}"${r.group ? ` group="${r.group}"` : ''}/>`).join('');
      return `<feature name="${f.name}">${f.types}${regs}</feature>`;
    });
    return `<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd"><target version="1.0"><architecture>i386:x86-64</architecture>${feats.join('')}</target>`;
  }

  /** Register `n` of `v` as hex (x's when unavailable); null: no such register. */
  one(v: Vcpu, n: number): string | null {
    const r = this.list[n];
    if (r === undefined) return null;
    const b = r.read(v);
    return b === null ? 'xx'.repeat(r.bits / 8) : Buffer.from(b).toString('hex');
  }

  /** Every register of `v`, as a `g` reply. */
  all(v: Vcpu): string {
    return this.list.map((_, n) => this.one(v, n)).join('');
  }
}
