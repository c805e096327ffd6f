/**
 * Test helper: a machine with one (or two) freshly built PV domains from the
 * corpus, not yet run, and a scratch area of mapped guest RAM where tests
 * put hypercall argument structs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EventSink } from '../events.js';
import { Machine } from '../machine.js';
import type { Domain } from './domain.js';
import { hypercall } from './hypercall/index.js';
import type { Vcpu } from './vcpu.js';
import type { Xen } from './xen.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const corpusKernel = (name: string): string => `${ROOT}build/corpus/pv/${name}.elf`;
export const corpusBuilt = existsSync(corpusKernel('hello'));

export type TestDomain = {
  machine: Machine;
  xen: Xen;
  d: Domain;
  v: Vcpu;
  /** VA of 16 KiB of mapped, unused guest RAM */
  scratch: bigint;
  /** issue hypercall nr with args; returns the result (null for iret) */
  call: (nr: number, ...args: Array<bigint | number>) => number | null;
  put: (va: bigint, bytes: Uint8Array) => void;
  u32: (va: bigint) => number;
  u64: (va: bigint) => bigint;
};

/** Options for the built domains: privileged (dom0-like), vCPUs (2 by default), who hears the events (nobody by default), dom0 (the first is the initial domain, id 0). */
export type TestDomainOpts = { privileged?: boolean; vcpus?: number; sink?: EventSink; dom0?: boolean };

export function testDomains(count = 1, kernel = 'hello', opts: TestDomainOpts = {}): TestDomain[] {
  const image = readFileSync(corpusKernel(kernel));
  const specs = Array.from({ length: count }, (_, k) => {
    const dom0 = opts.dom0 === true && k === 0;
    const id = opts.dom0 === true ? k : k + 1;
    return { id, name: `dom${id}`, memoryMiB: 8, vcpus: opts.vcpus ?? 2, cmdline: '', privileged: dom0 || (opts.privileged ?? false), dom0, seed: 0, image };
  });
  const machine = new Machine(specs, opts.sink ?? null);
  return machine.domains.map((d) => {
    const v = d.vcpus[0]!;
    // The builder maps RAM up to a 4 MiB boundary; the last pages are padding nobody uses.
    const scratch = 0x3f0000n;
    return {
      machine, xen: machine.xen, d, v, scratch,
      call: (nr, ...args) => hypercall(machine.xen, d, v, nr, [0, 1, 2, 3, 4].map((k) => BigInt(args[k] ?? 0))).result,
      put: (va, bytes) => {
        if (!v.guest.write(va, bytes)) throw new Error(`test: cannot write at 0x${va.toString(16)}`);
      },
      u32: (va) => v.guest.u32(va)!,
      u64: (va) => v.guest.u64(va)!,
    };
  });
}

/** Little-endian struct builder for hypercall arguments. */
export function struct(size: number, fields: Array<[offset: number, bytes: 1 | 2 | 4 | 8, value: number | bigint]>): Uint8Array {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [off, n, val] of fields) {
    if (n === 1) dv.setUint8(off, Number(val));
    else if (n === 2) dv.setUint16(off, Number(val), true);
    else if (n === 4) dv.setUint32(off, Number(val) >>> 0, true);
    else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(val)), true);
  }
  return b;
}
