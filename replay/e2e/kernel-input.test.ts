/**
 * Kernel inputs as a user gives them: a bzImage (here our own hello guest,
 * stripped and compressed as the kernel build compresses), a ramdisk, a
 * System.map; what the trace records of them and what replay and dump make
 * of them; console_io output shown as Xen shows a domU's.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compressWith, makeBzImage, wrapBzImage } from '../image/test-bzimage.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });
const built = existsSync(`${ROOT}build/corpus/pv/hello.elf`);
const DIR = mkdtempSync(join(tmpdir(), 'xenrr-kin-'));
const f = (name: string): string => join(DIR, name);

describe.skipIf(!built)('a stripped bzImage with a ramdisk and a System.map', () => {
  beforeAll(() => {
    const hello = `${ROOT}build/corpus/pv/hello.elf`;
    execFileSync('strip', ['-o', f('hello.stripped'), hello]);
    writeFileSync(f('vmlinuz'), makeBzImage(readFileSync(f('hello.stripped')), 'xz'));
    writeFileSync(f('System.map'), execFileSync('nm', ['-n', hello]));
    writeFileSync(f('initrd'), 'RAMDISK-CONTENTS-0123456789abcdef\n');
  });

  it('run: the guest reads its ramdisk at mod_start', () => {
    const r = xenrr('run', f('vmlinuz'), '--ramdisk', f('initrd'), '--cmdline', 'greeting=hi');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\[guest\] hello: module at 0x[0-9a-f]+, 34 bytes: "RAMDISK-CONTENTS"$/m);
    expect(r.stdout).toContain('[guest] hello: cmdline "greeting=hi"');
  });

  it('record: the header names kernel, ramdisk and symbols; dump names functions from the System.map; replay checks the ramdisk', () => {
    const rec = xenrr('record', f('vmlinuz'), '--ramdisk', f('initrd'), '--symbols', f('System.map'), '-o', f('t.xrr'));
    expect(rec.status).toBe(0);
    const info = xenrr('info', f('t.xrr'));
    // files named as the one-kernel scenario names them: relative to the kernel, so the trace is the same from anywhere
    expect(info.stdout).toMatch(/^image {6}guest: \.\/vmlinuz \(\d+ bytes/m);
    expect(info.stdout).toMatch(/^ramdisk {4}guest: \.\/initrd \(34 bytes/m);
    expect(info.stdout).toMatch(/^symbols {4}guest: \.\/System\.map /m);
    const dump = xenrr('dump', f('t.xrr'), '--kind', 'hypercall');
    expect(dump.status).toBe(0);
    expect(dump.stdout).toMatch(/ kmain\+0x[0-9a-f]+ +XENVER_version/);
    expect(xenrr('replay', f('t.xrr')).stdout).toMatch(/^replay: all \d+ events match/);

    writeFileSync(f('initrd'), 'changed\n');
    const bad = xenrr('replay', f('t.xrr'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^xenrr: ramdisk for domain 'guest' differs from the recorded one: .*initrd \(sha256 [0-9a-f]{16}\.\.\., recorded [0-9a-f]{16}\.\.\.\)\n$/);
    writeFileSync(f('initrd'), 'RAMDISK-CONTENTS-0123456789abcdef\n');
  });

  it('dump without a symbol file shows addresses for a stripped kernel; --symbols name=path names them', () => {
    expect(xenrr('record', f('vmlinuz'), '-o', f('bare.xrr')).status).toBe(0);
    const plain = xenrr('dump', f('bare.xrr'), '--kind', 'hypercall', '--to', '3');
    expect(plain.stdout).toMatch(/d1v0 +0x[0-9a-f]+ +/);
    expect(plain.stdout).not.toMatch(/kmain\+|traps_init\+/);
    for (const file of [f('System.map'), `${ROOT}build/corpus/pv/hello.elf`]) {
      const named = xenrr('dump', f('bare.xrr'), '--kind', 'hypercall', '--symbols', `guest=${file}`);
      expect(named.stdout, file).toMatch(/ kmain\+0x[0-9a-f]+ +XENVER_version/);
    }
  });

  it('bad inputs: one line, exit 2', () => {
    const cases: Array<[string[], RegExp]> = [];
    // A corrupt payload.
    const payload = compressWith('xz', readFileSync(f('hello.stripped')));
    payload[200] = payload[200]! ^ 0xff;
    writeFileSync(f('corrupt'), wrapBzImage(payload, readFileSync(f('hello.stripped')).length));
    cases.push([['run', f('corrupt')], /^xenrr: .*corrupt: bzImage xz payload is corrupt: .+\n$/]);
    // A bzImage whose ELF is not a PV kernel.
    writeFileSync(f('notpv'), makeBzImage(readFileSync(`${ROOT}build/corpus/sort.elf`), 'gzip'));
    cases.push([['run', f('notpv')], /^xenrr: .*notpv: not a Xen PV kernel: the bzImage \(gzip\) holds an ELF without Xen ELF notes .*\n$/]);
    // A payload that is not an ELF at all.
    writeFileSync(f('notelf'), makeBzImage(new TextEncoder().encode('just some text, not a kernel'), 'gzip'));
    cases.push([['run', f('notelf')], /^xenrr: .*notelf: bzImage gzip payload is not an ELF image .*\n$/]);
    cases.push([['run', f('vmlinuz'), '--ramdisk', f('nope')], /^xenrr: --ramdisk .*nope: no such file\n$/]);
    writeFileSync(f('placeholder.map'), 'ffffffffffffffff B The real System.map is in the linux-image-<version>-dbg package\n');
    cases.push([['run', f('vmlinuz'), '--symbols', f('placeholder.map')], /^xenrr: --symbols .*placeholder\.map: this System\.map is Debian's placeholder .*\n$/]);
    cases.push([['dump', f('bare.xrr'), '--symbols', `guest=${f('initrd')}`], /^xenrr: --symbols .*initrd: line 1 is not 'address type name': .*\n$/]);
    cases.push([['run', 'corpus/scenarios/hello.json', '--ramdisk', f('initrd')], /^xenrr: --ramdisk is for a bare kernel; a scenario names its domains' files \(ramdisk in corpus\/scenarios\/hello\.json\)\n$/]);
    writeFileSync(f('s.json'), JSON.stringify({ name: 's', domains: [{ name: 'a', kernel: f('vmlinuz'), ramdisk: 'missing.img' }] }));
    cases.push([['record', f('s.json'), '-o', f('never.xrr')], /^xenrr: .*s\.json: domains\.0\.ramdisk: .*missing\.img: no such file\n$/]);
    for (const [args, want] of cases) {
      const r = xenrr(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(want);
    }
    // Nothing is written when the inputs cannot be loaded.
    expect(existsSync(f('never.xrr'))).toBe(false);
  });
});

describe.skipIf(!built)('console_io output, as Xen prints a domU\'s', () => {
  it('run prints (dN) lines, joined across writes, in order with the PV console, and the crash at its function', () => {
    const r = xenrr('run', 'corpus/scenarios/crash.json');
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const ring = lines.indexOf('[crash] crash: trap table cleared, executing ud2');
    const log = lines.indexOf('(d1) crash: last words before ud2');
    expect(ring).toBeGreaterThanOrEqual(0);
    expect(log).toBe(ring + 1);
    expect(r.stdout).toMatch(/^\[crash\] domain 1 crashed: unhandled exception 6 .* \(kmain\+0x[0-9a-f]+\)$/m);
  });

  it('dump shows the console_io events; replay --to shows the (dN) lines in its console section', () => {
    expect(xenrr('record', 'corpus/scenarios/crash.json', '-o', f('crash.xrr')).status).toBe(0);
    const dump = xenrr('dump', f('crash.xrr'), '--kind', 'console', '--dom', '1');
    expect(dump.stdout).toMatch(/console_io "crash: last words"\n.*console_io " before ud2\\n"/);
    const last = Number(xenrr('info', f('crash.xrr'), '--json').stdout.match(/"events": (\d+)/)![1]) - 1;
    const view = xenrr('replay', f('crash.xrr'), '--to', String(last));
    expect(view.status).toBe(0);
    expect(view.stdout).toContain('\n[crash] crash: trap table cleared, executing ud2\n(d1) crash: last words before ud2\n');
  });
});
