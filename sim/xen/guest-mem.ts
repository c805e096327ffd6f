/**
 * Hypervisor access to a guest's virtual memory, as Xen's copy_from_guest /
 * copy_to_guest: through the vCPU's current page tables, with the rights of
 * the guest's current mode, never faulting. A failed access returns null or
 * false and the hypercall answers -EFAULT.
 *
 * Addresses are bigint: this is the hypercall path, not the per-instruction
 * one.
 */
import type { Cpu } from '../cpu/cpu.js';

const PAGE = 4096;
const M64 = (1n << 64n) - 1n;

export class GuestMem {
  constructor(private readonly cpu: Cpu) {}

  /** Machine address of guest VA `va` for a read or write, or -1. */
  translate(va: bigint, write: boolean): number {
    const v = va & M64;
    return this.cpu.mmu.probe(Number(v & 0xffffffffn), Number(v >> 32n), write);
  }

  read(va: bigint, len: number): Uint8Array | null {
    const out = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const a = va + BigInt(done);
      const pa = this.translate(a, false);
      if (pa < 0) return null;
      const n = Math.min(PAGE - (pa % PAGE), len - done);
      out.set(this.cpu.mem.read(pa, n), done);
      done += n;
    }
    return out;
  }

  write(va: bigint, data: Uint8Array): boolean {
    // Translate every page first so a failing copy writes nothing.
    const spans: Array<[number, number, number]> = [];
    let done = 0;
    while (done < data.length) {
      const pa = this.translate(va + BigInt(done), true);
      if (pa < 0) return false;
      const n = Math.min(PAGE - (pa % PAGE), data.length - done);
      spans.push([pa, done, n]);
      done += n;
    }
    for (const [pa, off, n] of spans) this.cpu.mem.write(pa, data.subarray(off, off + n));
    return true;
  }

  u8(va: bigint): number | null {
    const b = this.read(va, 1);
    return b === null ? null : b[0]!;
  }
  u16(va: bigint): number | null {
    const b = this.read(va, 2);
    return b === null ? null : new DataView(b.buffer).getUint16(0, true);
  }
  /** The frame view and offset of `len` bytes at `va` when they lie in one page (the common case), else null. */
  private within(va: bigint, len: number): { f: DataView; off: number } | null {
    const pa = this.translate(va, false);
    if (pa < 0 || pa % PAGE > PAGE - len) return null;
    const f = this.cpu.mem.frame(Math.floor(pa / PAGE));
    return f === null ? null : { f, off: pa % PAGE };
  }
  u32(va: bigint): number | null {
    const w = this.within(va, 4);
    if (w !== null) return w.f.getUint32(w.off, true);
    const b = this.read(va, 4);
    return b === null ? null : new DataView(b.buffer).getUint32(0, true);
  }
  u64(va: bigint): bigint | null {
    const w = this.within(va, 8);
    if (w !== null) return w.f.getBigUint64(w.off, true);
    const b = this.read(va, 8);
    return b === null ? null : new DataView(b.buffer).getBigUint64(0, true);
  }
  putU32(va: bigint, v: number): boolean {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return this.write(va, b);
  }
  putU64(va: bigint, v: bigint): boolean {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, v & M64, true);
    return this.write(va, b);
  }
  putU16(va: bigint, v: number): boolean {
    const b = new Uint8Array(2);
    new DataView(b.buffer).setUint16(0, v & 0xffff, true);
    return this.write(va, b);
  }
  /** A NUL-padded string of exactly `size` bytes (xen_version strings). */
  putString(va: bigint, s: string, size: number): boolean {
    const b = new Uint8Array(size);
    b.set(new TextEncoder().encode(s).subarray(0, size - 1));
    return this.write(va, b);
  }
}
