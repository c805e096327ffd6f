/**
 * The `xenrr` command as a user runs it: default run, explicit images, JSON,
 * and the one-line errors with exit code 2 for bad input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { testTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });
const built = existsSync(`${ROOT}build/corpus/sha256.elf`);

describe('xenrr run --bare (compute guests on the bare core)', () => {
  it.skipIf(!built)('runs an image and prints its console and a summary', () => {
    const r = xenrr('run', '--bare', 'build/corpus/sha256.elf');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('[sha256.elf] ');
    expect(r.stdout).toContain('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(r.stdout).toMatch(/sha256\.elf\s+halt\s+0\s+\d+/);
  });

  it.skipIf(!built)('prints the summary as JSON', () => {
    const r = xenrr('run', '--bare', '--json', 'build/corpus/crc32.elf');
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ stop: string; exitCode: number; instructions: number }>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ stop: 'halt', exitCode: 0 });
    expect(rows[0]!.instructions).toBeGreaterThan(1_000_000);
  });

  it.skipIf(!built)('stops at the instruction budget and exits 1', () => {
    const r = xenrr('run', '--bare', '--max-insns', '1000', 'build/corpus/sort.elf');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/sort\.elf\s+budget\s+-\s+1000\b/);
  });

});

const pvBuilt = existsSync(`${ROOT}build/corpus/pv/hello.elf`);

describe('xenrr run (PV scenarios and kernels)', () => {
  it.skipIf(!pvBuilt)('runs a scenario: consoles prefixed by domain, a summary, exit 0', () => {
    const r = xenrr('run', 'corpus/scenarios/pingpong.json');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('[pong] pong: done, 1000 round trips');
    expect(r.stdout).toMatch(/^ping\s+1\s+shutdown\s+poweroff\s+\d+$/m);
    expect(r.stdout).toMatch(/hypercalls: .*event_channel_op \d+/);
  });

  it.skipIf(!pvBuilt)('runs a bare PV kernel as one domain, with --cmdline and --mem', () => {
    const r = xenrr('run', '--mem', '32', '--cmdline', 'greeting=xyzzy', 'build/corpus/pv/hello.elf');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('cmdline "greeting=xyzzy"');
    expect(r.stdout).toContain('nr_pages 8192');
  });

  it.skipIf(!pvBuilt)('exits 1 when a domain crashes or an expectation fails', () => {
    const r = xenrr('run', 'build/corpus/pv/crash.elf');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/crashed\s+crash/);
  });

  it('rejects a non-PV ELF without --bare in one line, exit 2', () => {
    const r = xenrr('run', 'build/corpus/sha256.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('xenrr: build/corpus/sha256.elf: not a Xen PV kernel (no Xen ELF notes); use --bare to run a freestanding program on the bare core\n');
  });

  it('reports bad JSON and bad scenarios in one line, exit 2', () => {
    const dir = testTempDir('xenrr-cli-');
    writeFileSync(join(dir, 'bad.json'), '{ "name": ');
    let r = xenrr('run', join(dir, 'bad.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^xenrr: .*bad\.json: not valid JSON: .*\n$/);
    writeFileSync(join(dir, 'bad2.json'), JSON.stringify({ name: 'x', domains: [{ name: 'a', kernel: 'hello', memoryMiB: 'lots' }] }));
    r = xenrr('run', join(dir, 'bad2.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^xenrr: .*bad2\.json: domains\.0\.memoryMiB: .*number.*\n$/);
    writeFileSync(join(dir, 'bad3.json'), JSON.stringify({ name: 'x', domains: [{ name: 'a', kernel: 'nosuchkernel' }] }));
    r = xenrr('run', join(dir, 'bad3.json'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^xenrr: .*bad3\.json: domains\.0\.kernel: .*nosuchkernel\.elf: no such file.*\n$/);
  });

  it('reports a missing file in one line, exit 2', () => {
    const r = xenrr('run', '/no/such/kernel.elf');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('xenrr: /no/such/kernel.elf: no such file\n');
  });

  it('reports a non-ELF file in one line, exit 2', () => {
    const f = join(testTempDir('xenrr-cli-'), 'notes.txt');
    writeFileSync(f, 'hello, not an ELF image\n');
    const r = xenrr('run', f);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('not an ELF file');
  });

  it('rejects a bad option value in one line, exit 2', () => {
    const r = xenrr('run', '--max-insns', 'lots');
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("xenrr: --max-insns must be a positive integer, got 'lots'\n");
  });

  it('has --help', () => {
    const r = xenrr('run', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--max-insns');
  });
});

describe('xenrr replay --watch', () => {
  it.skipIf(!pvBuilt)('names the instruction that changes a variable; a vCPU the trace lacks is one line, exit 2', () => {
    const dir = testTempDir('xenrr-watch-');
    const trace = join(dir, 'pp.xrr');
    expect(xenrr('record', 'corpus/scenarios/pingpong.json', '-o', trace).status).toBe(0);
    const r = xenrr('replay', trace, '--watch', '1.0:received');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^watch d1v0 received \(0x[0-9a-f]+, 8 bytes\), first change after d1v0 icount 0$/m);
    expect(r.stdout).toContain('(0 -> 1 as a little-endian number)');
    expect(r.stdout).toMatch(/d1v0 icount \d+ -> \d+: 0x[0-9a-f]+ ping_event\+0x[0-9a-f]+\s+mov\s/);
    expect(r.stdout).toMatch(/^ {2}stack ping_event\+0x[0-9a-f]+ <- do_event_upcall\+0x[0-9a-f]+ <- .* <- kmain\+0x[0-9a-f]+ <- _start\+0x[0-9a-f]+$/m);
    const back = xenrr('replay', trace, '--watch', '1.0:received', '--reverse', '--json');
    expect(back.status).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ direction: 'backward', hit: { before: 'e703000000000000', after: 'e803000000000000', how: 'instruction', at: { dom: 1, vcpu: 0 } } });
    for (const args of [['--to', 'icount:9.0:5'], ['--watch', '9.0:0x1000']]) {
      const bad = xenrr('replay', trace, ...args);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toBe(`xenrr: ${args.join(' ')}: no vCPU 9.0 in this trace (it has 1.0, 2.0)\n`);
    }
  });
});
