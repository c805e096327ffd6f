/**
 * The dom0 boot regression workflow on Debian's two Linux 6.1 packages
 * (`npm run kernels`): `xenrr bisect` varies the dom0 domain's kernel (a
 * bzImage) and keeps its ramdisk and command line; `--expect` judges each
 * boot on dom0's console (console_io), so -57 (Debian 6.1.192-3) is bad and
 * -56 (6.1.192-2) good; the report then diffs the two boots, and its first
 * divergence is the version banner, shown as the whole console line each
 * kernel printed.
 *
 * Two dom0 boots of ~2.1e9 instructions and a replay of each to the banner
 * (~100 s here), on corpus/scenarios/linux/dom0-alone.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const K56 = 'build/kernels/vmlinuz-6.1.0-56-amd64';
const K57 = 'build/kernels/vmlinuz-6.1.0-57-amd64';
const INITRAMFS = `${ROOT}build/corpus/linux/initramfs.cpio.gz`;
const ALONE = `${ROOT}corpus/scenarios/linux/dom0-alone.json`;
const missing = [`${ROOT}${K56}`, `${ROOT}${K57}`, INITRAMFS].find((p) => !existsSync(p));
if (missing !== undefined) console.warn(`skipping the Linux dom0 bisect test: ${missing} is absent (run \`npm run kernels\` and \`npm run build\`)`);

describe.skipIf(missing !== undefined)('dom0 boot regressions: bisect over Debian kernels with --expect, and the diff of two dom0 boots', () => {
  it('-57 is bad for "Debian 6.1.192-2", -56 good; the diff starts at the banner, shown as whole console lines', () => {
    const r = spawnSync(BIN, ['bisect', ALONE, '--domain', 'dom0', '--expect', 'Debian 6.1.192-2', '--images', K56, K57], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    // Both images judged, the last one first.
    expect(out).toContain(`  ${K57}: bad (no console shows 'Debian 6.1.192-2')\n  ${K56}: good\n`);
    expect(out).toContain(`first bad image: ${K57} (last good: ${K56}), 2 runs\n`);
    // The first divergence: dom0's banner piece, then the lines each boot printed.
    expect(out).toMatch(/first divergence at a#(\d+) \/ b#\1:/);
    expect(out).toContain('  differs in: text ".0-56-amd64 (deb" -> ".0-57-amd64 (deb"\n');
    const line = (tag: string, v: string, deb: string) => new RegExp(`^  console line ${tag}: \\(d0\\) \\[    0\\.000000\\] Linux version 6\\.1\\.0-${v}-amd64 \\(debian-kernel@lists\\.debian\\.org\\) .* Debian ${deb.replace(/\./g, '\\.')} \\(\\d{4}-\\d\\d-\\d\\d\\)$`, 'm');
    expect(out).toMatch(line('a', '56', '6.1.192-2'));
    expect(out).toMatch(line('b', '57', '6.1.192-3'));
    // printk time stamps are times: console pieces that differ only in them do not count (82 changed
    // when they did; the banner's pieces and the lines that quote the version remain).
    const consoleChanged = /^ {2}console +(\d+) +(\d+) +(\d+)$/m.exec(out);
    expect(consoleChanged).not.toBeNull();
    expect(Number(consoleChanged![3])).toBeLessThan(20);
  }, 3_600_000);
});
