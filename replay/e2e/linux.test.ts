/**
 * Debian's stock kernel (linux-image-6.1.0-57-amd64, fetched by `npm run
 * kernels`; CI always has it) as a user loads it: the bzImage as shipped,
 * an initramfs-like ramdisk, and names from the kernel's own kallsyms.
 * How far Linux boots is not asserted here (the CPU and Xen work moves
 * that on); that it is loaded as Xen loads it, starts at its Xen entry and
 * is named by its own symbols is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { singleKernel } from '../../sim/scenario.js';
import { SIF_MOD_START_PFN, start_info } from '../../sim/xen/public/xen.js';
import { buildMachine } from '../scenario-run.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const KERNEL = 'build/kernels/vmlinuz-6.1.0-57-amd64';
const have = existsSync(`${ROOT}${KERNEL}`);
if (!have) console.warn(`skipping the Debian kernel tests: ${KERNEL} is absent (run \`npm run kernels\`)`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });
const DIR = mkdtempSync(join(tmpdir(), 'xenrr-linux-'));
const CMDLINE = 'console=hvc0 earlyprintk=xen,keep loglevel=8';
/** Enough to pass Linux's first hypercalls, bounded however far it boots. */
const BUDGET = '300000';

describe.skipIf(!have)('Debian 12 linux-image-6.1.0-57-amd64 as a PV domU', () => {
  it('run takes the bzImage as shipped and executes from its Xen entry', () => {
    const r = xenrr('run', KERNEL, '--mem', '256', '--cmdline', CMDLINE, '--max-insns', BUDGET);
    expect(r.stderr).toBe('');
    const row = /^guest +1 +\S+ +\S+ +(\d+)$/m.exec(r.stdout);
    expect(Number(row?.[1])).toBeGreaterThan(100);
    expect(r.stdout).toMatch(/^hypercalls: .*xen_version \d+/m);
  });

  it('record + dump: the first hypercalls are named by kallsyms; the run starts at startup_xen', () => {
    const trace = join(DIR, 'linux.xrr');
    expect(xenrr('record', KERNEL, '--mem', '256', '--cmdline', CMDLINE, '--max-insns', BUDGET, '-o', trace).status).toBeLessThanOrEqual(1);
    const dump = xenrr('dump', trace, '--to', '0');
    expect(dump.status).toBe(0);
    expect(dump.stdout).toMatch(/^ +0 +[\d.]+us d1v0 +xen_setup_features\+0x[0-9a-f]+ +XENVER_get_features /);
    const start = xenrr('replay', trace, '--to', 'icount:1.0:0');
    expect(start.stdout).toMatch(/^d1v0 runnable kernel icount 0 rip 0xffffffff830791c0 startup_xen\+0x0 /m);
    expect(xenrr('replay', trace).status).toBe(0);
  });

  it('a ramdisk goes after the initial mapping, by PFN (the kernel says MOD_START_PFN)', () => {
    const rd = join(DIR, 'initrd.img');
    const bytes = gzipSync(Buffer.from('070701 not really a cpio archive, but Linux decompresses what it is given'.repeat(300)));
    writeFileSync(rd, bytes);
    const s = singleKernel(`${ROOT}${KERNEL}`, { memoryMiB: 256, cmdline: CMDLINE, maxInsns: 1, seed: 0, ramdisk: rd });
    const m = buildMachine(s);
    const d = m.domains[0]!;
    const si = new DataView(d.vcpus[0]!.guest.read(d.startInfoVa, start_info.size)!.buffer);
    expect(si.getUint32(start_info.flags, true) & SIF_MOD_START_PFN).toBe(SIF_MOD_START_PFN);
    const pfn = Number(si.getBigUint64(start_info.mod_start, true));
    expect(Number(si.getBigUint64(start_info.mod_len, true))).toBe(Math.ceil(bytes.length / 4096) * 4096);
    // Past everything the builder mapped (kernel at 16 MiB, then its tables), on a 4 MiB boundary.
    expect(pfn % 1024).toBe(0);
    expect(pfn * 4096).toBeGreaterThan(Number(si.getBigUint64(start_info.pt_base, true) - 0xffffffff80000000n));
    const got = m.xen.frames.mem.read(d.p2m[pfn]! * 4096, 4096);
    expect(Buffer.from(got.subarray(0, 64)).equals(bytes.subarray(0, 64))).toBe(true);
  });
});
