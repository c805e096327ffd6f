/**
 * Debian's Linux 6.1 as dom0 serving a Linux domU with its own backends
 * (corpus/scenarios/linux/dom0.json): dom0's init loads Debian's loop,
 * xen-blkback and xen-netback, the domU (built at boot, paused until its
 * devices are connected) mounts ext4 from dom0's /dev/loop0 and pings and
 * UDP-echoes dom0 through vif1.0, then both power off.
 *
 * Checked: the run as the scenario expects it; the grant and event-channel
 * traffic between the two guests (dom0 maps and copies the domU's grants,
 * binds its channels; the blkif and netif rings are tracked); no hypercall
 * failure Xen 4.17 would not give; recorded twice to the same bytes;
 * replayed exactly; its last checkpoint restored (`replay --to`). Two boots are ~5e9 guest instructions: each run takes
 * a minute or more here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const NEEDS = [
  `${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`,
  `${ROOT}build/corpus/linux/initramfs-dom0-6.1.0-57-amd64.cpio.gz`,
  `${ROOT}build/corpus/linux/initramfs-drivers-6.1.0-57-amd64.cpio.gz`,
];
const SCENARIO = `${ROOT}corpus/scenarios/linux/dom0.json`;
const absent = NEEDS.find((f) => !existsSync(f));
if (absent !== undefined) console.warn(`skipping the Linux dom0 + domU test: ${absent} is absent (run \`npm run kernels\` and \`npm run build\`)`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 30 });

/** Failures Xen 4.17 gives these boots too (linux-dom0.test.ts and linux-boot.test.ts say why). */
const EXPECTED_FAILURES = new Set([
  'vcpu_op VCPUOP_is_up -2',
  'xenpmu_op XENPMU_init -95',
  'xenpmu_op XENPMU_finish -95',
  'platform_op XENPF_firmware_info -3',
  'platform_op XENPF_firmware_info -38',
  'memory_op XENMEM_exchange -12',
  'memory_op XENMEM_memory_map -38', // a domU asks; PV domUs get the e820 from their start info
]);

describe.skipIf(absent !== undefined)('Linux dom0 serves a Linux domU with Debian\'s xen-blkback and xen-netback', () => {
  const tmp = fileTempDir('xenrr-linux-dom0-domu-');

  it('both boot, the domU\'s disk and network checks pass against dom0\'s kernel, both power off; recorded twice identically, replayed exactly', () => {
    const a = join(tmp, 'a.xrr');
    const rec = xenrr('record', SCENARIO, '-o', a);
    expect(rec.stdout).not.toContain('expectation failed');
    expect(rec.stderr).toBe('');
    expect(rec.status).toBe(0);

    const events = xenrr('dump', a, '--json').stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const text = (dom: number): string => events.filter((e) => e.kind === 'console' && e.dom === dom).map((e) => e.text as string).join('');
    for (const bad of ['BUG:', 'Oops', 'WARNING:', 'FAIL', 'blkback: ring-ref', 'xen_map_grant_ref failed']) {
      expect(text(0), bad).not.toContain(bad);
      expect(text(1), bad).not.toContain(bad);
    }
    expect(text(0)).toContain('xen-blkback: backend/vbd/1/51712: using 1 queues, protocol 1 (x86_64-abi) persistent grants');
    expect(events.filter((e) => e.kind === 'domain_state').map((e) => [e.dom, e.reason])).toEqual([[1, 'poweroff'], [0, 'poweroff']]);

    const calls = events.filter((e) => e.kind === 'hypercall');
    const failures = new Set(calls.filter((e) => (e.result as number) < 0).map((e) => `${e.name} ${e.subName} ${e.result}`));
    expect([...failures].filter((f) => !EXPECTED_FAILURES.has(f))).toEqual([]);
    // dom0's kernel does the backend work through Xen: grant maps (blkback), grant copies (netback), interdomain binds.
    const dom0Ok = (name: string, sub: string): number => calls.filter((e) => e.dom === 0 && e.name === name && e.subName === sub && e.result === 0).length;
    expect(dom0Ok('grant_table_op', 'GNTTABOP_map_grant_ref')).toBeGreaterThan(0);
    expect(dom0Ok('grant_table_op', 'GNTTABOP_unmap_grant_ref')).toBeGreaterThan(0);
    expect(dom0Ok('grant_table_op', 'GNTTABOP_copy')).toBeGreaterThan(0);
    expect(dom0Ok('event_channel_op', 'EVTCHNOP_bind_interdomain')).toBeGreaterThanOrEqual(2);
    const rings = new Set(events.filter((e) => e.kind === 'ring').map((e) => `${e.dom} ${e.ring as string}`));
    expect([...rings]).toEqual(expect.arrayContaining(['1 blkif', '0 blkif', '1 netif-tx', '0 netif-tx', '1 netif-rx', '0 netif-rx']));

    const b = join(tmp, 'b.xrr');
    expect(xenrr('record', SCENARIO, '-o', b).status).toBe(0);
    expect(readFileSync(b).equals(readFileSync(a))).toBe(true);

    const rep = xenrr('replay', a);
    expect(rep.stdout).toMatch(/^replay: all \d+ events match/);
    expect(rep.status).toBe(0);
    // A checkpoint late in the run restores into a fresh machine: the domU's vifs, added once dom0's backends came, included.
    const last = events[events.length - 1]!.seq as number;
    const to = xenrr('replay', a, '--to', String(last));
    expect(to.stderr).toBe('');
    expect(to.status).toBe(0);
  }, 3_600_000);
});
