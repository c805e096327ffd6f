import { describe, expect, it } from 'vitest';
import type { OracleCase, OracleResult } from './host-cpu.js';
import { CODE_BASE, DATA_BASE, DATA_SIZE, RunnerTrap, fillData, gccAvailable, runNative } from './host-cpu.js';

const HAVE_GCC = gccAvailable();
if (!HAVE_GCC) console.warn('host-cpu oracle tests skipped: gcc not found on PATH (needed to build native-runner.c)');

const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RDI = 7;
const CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, DF = 0x400, OF = 0x800;

function mk(code: number[], set: Record<number, bigint> = {}, rflags = 0, seed = 1): OracleCase {
  const regs = Array.from({ length: 16 }, (_, i) => set[i] ?? 0n);
  return { regs, rflags, code: Uint8Array.from(code), seed };
}

function one(c: OracleCase): OracleResult {
  const [r] = runNative([c]);
  if (!r) throw new Error('no result');
  return r;
}

/** The mem diff expected after writing `bytes` at data offset `off`. */
function diffOf(seed: number, off: number, bytes: number[]): Array<[number, number]> {
  const fill = fillData(seed);
  return bytes.map((b, i): [number, number] => [off + i, b]).filter(([o, b]) => fill[o] !== b);
}

describe.skipIf(!HAVE_GCC)('host-cpu oracle (native-runner)', () => {
  it('fillData is xorshift32 with the documented seed rule', () => {
    const d = fillData(0);
    expect(d.length).toBe(DATA_SIZE);
    let x = 0x9e3779b9;
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    expect(d[0]).toBe(x & 0xff);
    expect(fillData(0x9e3779b9)).toEqual(d);
    expect(fillData(7)).not.toEqual(d);
  });

  it('add rax, rbx: result and flags', () => {
    const r = one(mk([0x48, 0x01, 0xd8], { [RAX]: 1n, [RBX]: 2n }));
    expect(r.fault).toBeNull();
    expect(r.regs[RAX]).toBe(3n);
    expect(r.rflags).toBe(PF);

    const o = one(mk([0x48, 0x01, 0xd8], { [RAX]: 0x7fffffffffffffffn, [RBX]: 1n }, CF | ZF));
    expect(o.regs[RAX]).toBe(0x8000000000000000n);
    expect(o.rflags).toBe(OF | SF | AF | PF);

    const z = one(mk([0x48, 0x01, 0xd8], { [RAX]: 0xffffffffffffffffn, [RBX]: 1n }));
    expect(z.regs[RAX]).toBe(0n);
    expect(z.rflags).toBe(CF | ZF | AF | PF);
  });

  it('input flags round-trip through nop, DF included', () => {
    expect(one(mk([0x90], {}, 0xcd5)).rflags).toBe(0xcd5);
    expect(one(mk([0x90], {}, 0xffffffff)).rflags).toBe(0xcd5);
    expect(one(mk([], {}, DF)).rflags).toBe(DF);
  });

  it('registers pass through untouched', () => {
    const set: Record<number, bigint> = {};
    for (let i = 0; i < 16; i++) set[i] = (0x1111111111111111n * BigInt(i) + 0x0123456789abcdefn) & 0xffffffffffffffffn;
    const r = one(mk([0x90], set));
    expect(r.regs).toEqual(Array.from({ length: 16 }, (_, i) => set[i]));
  });

  it('div by zero -> #DE (trapno 0) at the div', () => {
    const r = one(mk([0x90, 0x48, 0xf7, 0xf1], { [RAX]: 5n, [RCX]: 0n }));
    expect(r.fault).toEqual({ trapno: 0, err: 0, ripOffset: 1, cr2: 0n });
    expect(r.regs[RAX]).toBe(5n);
  });

  it('ud2 -> #UD (trapno 6)', () => {
    const r = one(mk([0x0f, 0x0b]));
    expect(r.fault).toEqual({ trapno: 6, err: 0, ripOffset: 0, cr2: 0n });
  });

  it('int3 -> trapno 3 with rip after the int3', () => {
    const r = one(mk([0x48, 0xff, 0xc0, 0xcc], { [RAX]: 41n }));
    expect(r.fault).toEqual({ trapno: 3, err: 0, ripOffset: 4, cr2: 0n });
    expect(r.regs[RAX]).toBe(42n);
  });

  it('hlt (privileged) -> #GP (trapno 13)', () => {
    const r = one(mk([0xf4]));
    expect(r.fault?.trapno).toBe(13);
    expect(r.fault?.ripOffset).toBe(0);
  });

  it('store into the data region shows up in mem', () => {
    const seed = 1234;
    // mov [rdi+0x10], rax
    const r = one(mk([0x48, 0x89, 0x47, 0x10], { [RAX]: 0x8877665544332211n, [RDI]: BigInt(DATA_BASE + 0x100) }, 0, seed));
    expect(r.fault).toBeNull();
    expect(r.mem).toEqual(diffOf(seed, 0x110, [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88]));
    expect(r.mem.length).toBeGreaterThan(0);
  });

  it('load from the data region sees fillData(seed)', () => {
    const seed = 99;
    const fill = fillData(seed);
    // mov rax, [rbx+8]
    const r = one(mk([0x48, 0x8b, 0x43, 0x08], { [RBX]: BigInt(DATA_BASE + 0x1ff0) }, 0, seed));
    let want = 0n;
    for (let i = 7; i >= 0; i--) want = (want << 8n) | BigInt(fill[0x1ff8 + i] ?? 0);
    expect(r.fault).toBeNull();
    expect(r.regs[RAX]).toBe(want);
    expect(r.mem).toEqual([]);
  });

  it('load from unmapped address 0 -> #PF (trapno 14), cr2 0, err user|read|not-present', () => {
    const r = one(mk([0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0]));
    expect(r.fault).toEqual({ trapno: 14, err: 4, ripOffset: 0, cr2: 0n });
  });

  it('guard pages: store just past the data region -> #PF write', () => {
    // mov [rdi], al with rdi = DATA_BASE + DATA_SIZE, then below DATA_BASE
    const up = one(mk([0x88, 0x07], { [RDI]: BigInt(DATA_BASE + DATA_SIZE) }));
    expect(up.fault).toEqual({ trapno: 14, err: 6, ripOffset: 0, cr2: BigInt(DATA_BASE + DATA_SIZE) });
    const down = one(mk([0x88, 0x07], { [RDI]: BigInt(DATA_BASE - 1) }));
    expect(down.fault).toEqual({ trapno: 14, err: 6, ripOffset: 0, cr2: BigInt(DATA_BASE - 1) });
  });

  it('push/pop through rsp inside the data region', () => {
    const seed = 5;
    const top = BigInt(DATA_BASE + 0x1000);
    // push rbx; push rdx; pop rcx; pop rax
    const r = one(mk([0x53, 0x52, 0x59, 0x58], { [RSP]: top, [RBX]: 0x0102030405060708n, [RDX]: 0xa1a2a3a4a5a6a7a8n }, 0, seed));
    expect(r.fault).toBeNull();
    expect(r.regs[RSP]).toBe(top);
    expect(r.regs[RAX]).toBe(0x0102030405060708n);
    expect(r.regs[RCX]).toBe(0xa1a2a3a4a5a6a7a8n);
    expect(r.mem).toEqual(
      diffOf(seed, 0xff0, [0xa8, 0xa7, 0xa6, 0xa5, 0xa4, 0xa3, 0xa2, 0xa1, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]),
    );
  });

  it('state at a fault comes from the ucontext (push then fault)', () => {
    // push rax; mov rax, [0]
    const r = one(mk([0x50, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0], { [RAX]: 7n, [RSP]: BigInt(DATA_BASE + 0x800) }, CF | DF));
    expect(r.fault?.trapno).toBe(14);
    expect(r.fault?.ripOffset).toBe(1);
    expect(r.regs[RSP]).toBe(BigInt(DATA_BASE + 0x7f8));
    expect(r.rflags).toBe(CF | DF);
    expect(r.mem).toEqual(diffOf(1, 0x7f8, [7, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('jumping off the end of the code hits the 0xCC fill; fetching from data is #PF', () => {
    const r = one(mk([0xeb, 0x7e])); // jmp +0x7e -> offset 0x80
    expect(r.fault).toEqual({ trapno: 3, err: 0, ripOffset: 0x81, cr2: 0n });
    const d = one(mk([0xff, 0xe0], { [RAX]: BigInt(DATA_BASE) })); // jmp rax
    expect(d.fault).toEqual({ trapno: 14, err: 0x15, ripOffset: DATA_BASE - CODE_BASE, cr2: BigInt(DATA_BASE) });
  });

  it('a batch keeps going past faults, syscalls and timeouts, and resets memory each case', () => {
    const seed = 42;
    const store = mk([0x48, 0x89, 0x07], { [RAX]: -1n & 0xffffffffffffffffn, [RDI]: BigInt(DATA_BASE) }, 0, seed);
    const rs = runNative([
      store,
      mk([0x0f, 0x05], { [RAX]: 60n }), // syscall exit(0): blocked
      mk([0x0f, 0x0b]),
      mk([0xeb, 0xfe]), // jmp $
      mk([0x90], {}, 0, seed),
      store,
    ]);
    expect(rs.map((r) => r.fault?.trapno ?? null)).toEqual([null, RunnerTrap.syscall, 6, RunnerTrap.timeout, null, null]);
    expect(rs[1]?.fault?.ripOffset).toBe(2);
    expect(rs[4]?.mem).toEqual([]);
    expect(rs[5]?.mem).toEqual(rs[0]?.mem);
  });
});
