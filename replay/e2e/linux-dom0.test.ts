/**
 * Debian's stock Linux 6.1 (linux-image-6.1.0-57-amd64, `npm run kernels`)
 * as the initial domain: dom0 alone (corpus/scenarios/linux/dom0-alone.json)
 * boots to xenrr's /init, which finds itself dom0, and powers off. Recorded
 * once and replayed exactly. Every privileged hypercall it makes is listed
 * with its answer (printed for the log), the ones Xen 4.17 answers with
 * success are asserted, and no failure happens that a real Xen would not
 * give too.
 *
 * A boot is ~2.1e9 guest instructions (minutes here): one recording,
 * shared by the assertions, and one replay.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const KERNEL = `${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`;
const INITRAMFS = `${ROOT}build/corpus/linux/initramfs.cpio.gz`;
const DOM0 = `${ROOT}corpus/scenarios/linux/dom0-alone.json`;
const have = existsSync(KERNEL) && existsSync(INITRAMFS);
if (!have) console.warn(`skipping the Linux dom0 test: ${existsSync(KERNEL) ? INITRAMFS : KERNEL} is absent (run \`npm run kernels\` and \`npm run build\`)`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });

/** Failures Xen 4.17 gives this boot too (see sim/xen/hypercall). */
const EXPECTED_FAILURES = new Set([
  'vcpu_op VCPUOP_is_up -2', // Linux probes all NR_CPUS vCPUs
  'xenpmu_op XENPMU_init -95', // vPMU off
  'xenpmu_op XENPMU_finish -95',
  'platform_op XENPF_firmware_info -3', // no EDD disk, no MBR signature found by the BIOS
  'platform_op XENPF_firmware_info -38', // XEN_FW_EFI_INFO: not booted through EFI
  'memory_op XENMEM_exchange -12', // the swiotlb asks for 2^18, 2^19, ... bytes first: no free aligned run that low
]);
/** Privileged calls that must succeed, as on Xen 4.17. */
const PRIVILEGED_OK = [
  'physdev_op PHYSDEVOP_set_iopl 0',
  'memory_op XENMEM_machine_memory_map 0',
  'memory_op XENMEM_exchange 0',
  'platform_op XENPF_firmware_info 0',
  'platform_op XENPF_settime64 0',
  'platform_op XENPF_get_cpuinfo 0',
  'mca XEN_MC_physcpuinfo 0',
];
const PRIVILEGED = new Set(['platform_op', 'physdev_op', 'sysctl', 'domctl', 'mca']);
const PRIVILEGED_MEM = new Set(['XENMEM_machine_memory_map', 'XENMEM_exchange', 'XENMEM_set_memory_map', 'XENMEM_machphys_mapping', 'XENMEM_maximum_ram_page']);
const INIT_LINES = ['xenrr-init: hello from PID 1', 'xenrr-init: hypervisor type ok: xen', 'xenrr-init: xen role ok: dom0', 'xenrr-init: fork+wait ok',
  'xenrr-init: pipe ok: 262144 bytes', 'xenrr-init: mmap page-fault storm ok: 4096 pages', 'xenrr-init: clock_gettime ok', 'xenrr-init: all checks passed'];

describe.skipIf(!have)('Debian Linux 6.1 boots as dom0 to our /init and powers off', () => {
  const tmp = fileTempDir('xenrr-linux-dom0-');

  it('recorded: init passes, dom0 powers off, privileged calls answered as Xen 4.17 does; replayed exactly', () => {
    const t = join(tmp, 'dom0.xrr');
    const rec = xenrr('record', DOM0, '-o', t);
    expect(rec.stderr).toBe('');
    expect(rec.stdout).not.toContain('expectation failed');
    expect(rec.status).toBe(0);

    const events = xenrr('dump', t, '--json').stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.every((e) => e.dom === 0)).toBe(true);
    // dom0's console is console_io: Xen's own console, not a ring.
    const text = events.filter((e) => e.kind === 'console').map((e) => e.text as string).join('');
    for (const line of INIT_LINES) expect(text, line).toContain(line);
    for (const bad of ['unchecked MSR access error', 'BUG:', 'Oops', 'WARNING:', 'FAIL', 'Failed to get CPU numbers', 'Failed to sync pcpu info']) expect(text, bad).not.toContain(bad);
    expect(events.filter((e) => e.kind === 'domain_state')).toMatchObject([{ dom: 0, reason: 'poweroff' }]);

    const calls = events.filter((e) => e.kind === 'hypercall');
    const failures = new Set(calls.filter((e) => (e.result as number) < 0).map((e) => `${e.name} ${e.subName} ${e.result}`));
    expect([...failures].filter((f) => !EXPECTED_FAILURES.has(f))).toEqual([]);
    // Every privileged call with its answer (and how often), for the log.
    const privileged = new Map<string, number>();
    for (const e of calls) {
      if (!PRIVILEGED.has(e.name as string) && !(e.name === 'memory_op' && PRIVILEGED_MEM.has(e.subName as string))) continue;
      const key = `${e.name} ${e.subName} ${e.result}`;
      privileged.set(key, (privileged.get(key) ?? 0) + 1);
    }
    console.log(`dom0's privileged hypercalls:\n${[...privileged].map(([k, n]) => `  ${k} (x${n})`).join('\n')}`);
    for (const ok of PRIVILEGED_OK) expect(privileged.has(ok), ok).toBe(true);

    const rep = xenrr('replay', t);
    expect(rep.stdout).toMatch(/^replay: all \d+ events match/);
    expect(rep.status).toBe(0);
  }, 3_600_000);
});
