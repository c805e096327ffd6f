/**
 * Bad input as a user types it: every row runs `./bin/xenrr ...` and must
 * exit 2 with exactly one line on stderr (`xenrr: what and where`), nothing
 * on stdout and no stack trace. A few rows of good input that sits next to
 * the bad (a hex seed, the kind names `info` prints, a 3 GiB domain) must
 * keep working. Rows run three child processes at a time.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { initZstd } from '../../trace/zstd.js';
import { KIND_ALIASES } from '../format.js';
import { record } from '../record.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`) && existsSync(`${ROOT}build/corpus/sha256.elf`);

type Run = { status: number | null; stdout: string; stderr: string };

/** At most three xenrr processes at once (the machine is shared). */
const waiting: Array<() => void> = [];
let running = 0;
async function xenrr(args: string[]): Promise<Run> {
  if (running >= 3) await new Promise<void>((go) => waiting.push(go));
  else running++;
  try {
    return await new Promise<Run>((done, fail) => {
      const p = spawn(BIN, args, { cwd: ROOT });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
      p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      p.on('error', fail);
      p.on('close', (status) => done({ status, stdout, stderr }));
    });
  } finally {
    // Hand the slot to the next waiting row, or free it.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

const D = fileTempDir('xenrr-bad-input-');
const PP = `${D}/pp.xrr`;
const TXT = `${D}/notes.txt`;
const HELLO = 'corpus/scenarios/hello.json';
const KERNEL = 'build/corpus/pv/hello.elf';
const FLAT = 'build/corpus/sha256.elf';
const SEED = (v: string): string => `xenrr: --seed must be an unsigned 32-bit integer (0 to 4294967295, decimal or 0x hex), got '${v}'`;
const DIRECTORY = `xenrr: ${D}: is a directory, expected a trace file`;
const KINDS = Object.keys(KIND_ALIASES).join(', ');
const scenario = (name: string, body: object): string => {
  writeFileSync(`${D}/${name}.json`, JSON.stringify({ name, domains: [{ name: 'a', kernel: 'hello' }], ...body }));
  return `${D}/${name}.json`;
};

/** [what the user typed, the one line expected on stderr (exact, or a pattern)] */
const BAD: Array<[string[], string | RegExp]> = [
  // A directory where a file is expected, missing files, outputs that cannot be written.
  [['run', D], `xenrr: ${D}: is a directory, expected a scenario .json or a kernel ELF`],
  [['info', D], DIRECTORY],
  [['replay', D], DIRECTORY],
  [['diff', PP, D], DIRECTORY],
  [['dump', D], DIRECTORY],
  [['export', D, '--perfetto', `${D}/x.json`], DIRECTORY],
  [['tui', D], DIRECTORY],
  [['tui', PP, '--against', D], DIRECTORY],
  [['check', HELLO, '--against', D], DIRECTORY],
  [['info', `${D}/missing.xrr`], `xenrr: ${D}/missing.xrr: no such file`],
  [['record', HELLO, '-o', '/nonexistent-dir/x.xrr'], 'xenrr: /nonexistent-dir/x.xrr: cannot write: no directory /nonexistent-dir'],
  [['record', HELLO, '-o', D], `xenrr: ${D}: is a directory, expected a trace file to write`],
  [['record', HELLO, '-o', `${TXT}/x.xrr`], `xenrr: ${TXT}/x.xrr: cannot write: ${TXT} is not a directory`],
  [['record', HELLO, '-o', HELLO], `xenrr: ${HELLO}: is an input of this command; refusing to overwrite it with a trace file`],
  // A full disk (a write fails, not the open).
  [['record', HELLO, '-o', '/dev/full'], 'xenrr: /dev/full: cannot write: no space left on device'],
  [['export', PP, '--perfetto', D], `xenrr: ${D}: is a directory, expected a JSON file to write`],
  // --image: a domain the trace or scenario lacks, a missing file, not a PV kernel, not an ELF.
  [['replay', PP, '--image', `pong=${FLAT}`], `xenrr: --image pong=${FLAT}: not a Xen PV kernel (no Xen ELF notes)`],
  [['replay', PP, '--image', 'nobody=x.elf'], `xenrr: --image nobody=x.elf: no domain 'nobody' in ${PP} (domains: ping, pong)`],
  [['replay', PP, '--image', `pong=${D}/missing.elf`], `xenrr: --image pong=${D}/missing.elf: no such file`],
  [['dump', PP, '--image', `pong=${TXT}`], `xenrr: --image pong=${TXT}: not an ELF file at 0x0`],
  [['diff', PP, PP, '--image-b', 'nobody=x.elf'], `xenrr: --image-b nobody=x.elf: no domain 'nobody' in ${PP} (domains: ping, pong)`],
  [['check', HELLO, '--image', 'nobody=x.elf'], `xenrr: --image nobody=x.elf: no domain 'nobody' in ${HELLO} (domains: hello)`],
  // Seeds: an unsigned 32-bit integer, on the command line and in a scenario.
  [['run', HELLO, '--seed', 'abc'], SEED('abc')],
  [['run', HELLO, '--seed', '-1'], SEED('-1')],
  [['record', HELLO, '--seed', '1.5', '-o', `${D}/seed.xrr`], SEED('1.5')],
  [['run', HELLO, '--seed', '4294967296'], SEED('4294967296')],
  [['check', HELLO, '--seed', 'abc'], SEED('abc')],
  [['bisect', HELLO, '--images', 'a.elf', 'b.elf', '--seed', '-1'], SEED('-1')],
  [['run', `${D}/seed-neg.json`], `xenrr: ${D}/seed-neg.json: seed: must be an unsigned 32-bit integer (0 to 4294967295)`],
  [['record', `${D}/seed-frac.json`, '-o', `${D}/seed.xrr`], `xenrr: ${D}/seed-frac.json: seed: must be an unsigned 32-bit integer (0 to 4294967295)`],
  // Memory and vCPUs: what the machine can build.
  [['run', `${D}/mem-big.json`], `xenrr: ${D}/mem-big.json: domains.0.memoryMiB: must be at most 65536 MiB (what the simulated machine holds, all domains together)`],
  [['run', `${D}/mem-sum.json`], `xenrr: ${D}/mem-sum.json: domains: 80000 MiB of memory in all: the simulated machine holds at most 65536 MiB`],
  [['run', KERNEL, '--mem', '70000'], "xenrr: --mem must be 2 to 65536 MiB, got '70000'"],
  [['run', '--bare', FLAT, '--mem', '5000'], "xenrr: --mem must be 1 to 4096 MiB for --bare, got '5000'"],
  [['run', KERNEL, '--vcpus', '0'], "xenrr: --vcpus must be 1 to 32, got '0'"],
  [['run', HELLO, '--mem', '64'], 'xenrr: --mem applies to a kernel run alone; a scenario sets memoryMiB for each of its domains'],
  [['record', HELLO, '--cmdline', 'quiet', '-o', `${D}/c.xrr`], 'xenrr: --cmdline applies to a kernel run alone; a scenario sets cmdline for each of its domains'],
  [['record', HELLO, '--checkpoint-insns', 'many', '-o', `${D}/ci.xrr`], "xenrr: --checkpoint-insns must be a positive integer, got 'many'"],
  // Disks: names xl takes, images that exist, one device per number.
  [['run', `${D}/disk-vdev.json`], `xenrr: ${D}/disk-vdev.json: domains.0.disks.0.vdev: must be a virtual disk name xl accepts (xvda, xvdb1, hda, sda, d0p1, ...)`],
  [['run', `${D}/disk-mode.json`], `xenrr: ${D}/disk-mode.json: domains.0.disks.0.mode: must be "r", "w" or "w!"`],
  [['run', `${D}/disk-format.json`], `xenrr: ${D}/disk-format.json: domains.0.disks.0.format: must be "raw" (the only image format)`],
  [['run', `${D}/disk-twice.json`], `xenrr: ${D}/disk-twice.json: domains.0.disks.1.vdev: d0p0 is the same device as xvda`],
  [['record', `${D}/disk-missing.json`, '-o', `${D}/d.xrr`], `xenrr: ${D}/disk-missing.json: domains.0.disks.0.target: ${D}/nowhere.img: no such file`],
  // Filters that would silently print nothing.
  [['dump', PP, '--dom', '99'], `xenrr: --dom: no domain '99' in ${PP} (domains: 0 dom0, 1 ping, 2 pong, xen)`],
  [['dump', PP, '--dom', 'nobody'], `xenrr: --dom: no domain 'nobody' in ${PP} (domains: 0 dom0, 1 ping, 2 pong, xen)`],
  [['dump', PP, '--from', '20', '--to', '10'], 'xenrr: --to 10 is before --from 20'],
  [['export', PP, '--perfetto', `${D}/e.json`, '--from', '20', '--to', '10'], 'xenrr: --to 10 is before --from 20'],
  [['dump', PP, '--to', 'ten'], "xenrr: --to must be a sequence number, got 'ten'"],
  [['dump', PP, '--kind', 'hypercalls'], `xenrr: --kind: unknown kind 'hypercalls' (known: ${KINDS})`],
  [['symbols', TXT, '-o', `${D}/s.elf`], `xenrr: ${TXT}: neither a xenrr trace nor a kernel image (ELF or bzImage)`],
  [['symbols', PP, '-o', `${D}/s.elf`, '--dom', '3'], `xenrr: --dom: no domain '3' in ${PP} (domains: 1 ping, 2 pong)`],
  [['symbols', PP, '-o', PP], `xenrr: ${PP}: is an input of this command; refusing to overwrite it with a symbol file`],
  [['symbols', PP, '-o', `${D}/s.elf`, '--symbols', TXT], `xenrr: --symbols ${TXT}: line 1 is not 'address type name': "not an ELF image"`],
  [['symbols', KERNEL, '-o', `${D}/s.elf`, '--dom', '1'], `xenrr: ${KERNEL}: --dom and --image choose a trace's kernel; this is a kernel image`],
  [['diff', PP, PP, '--ignore', 'nonsense'], new RegExp(`^xenrr: --ignore: no field 'nonsense' in ${PP} \\(fields: dom, vcpu, at, op, .*\\bremote_dom\\b.*\\)$`)],
];

describe.skipIf(!built)('bad input: one line, exit 2', () => {
  beforeAll(async () => {
    await initZstd();
    await record(parseScenario({ name: 'pingpong', seed: 1, domains: [{ name: 'ping', kernel: 'pingpong', cmdline: 'role=ping peer=2' }, { name: 'pong', kernel: 'pingpong', cmdline: 'role=pong peer=1 rounds=20' }] }, `${D}/pp.json`), PP);
    writeFileSync(TXT, 'not an ELF image\n');
    const disk = (d: object): object => ({ domains: [{ name: 'a', kernel: 'hello', disks: [{ vdev: 'xvda', target: './nowhere.img', ...d }] }] });
    scenario('disk-vdev', disk({ vdev: 'vda' }));
    scenario('disk-mode', disk({ mode: 'rw' }));
    scenario('disk-format', disk({ format: 'qcow2' }));
    scenario('disk-twice', { domains: [{ name: 'a', kernel: 'hello', disks: [{ vdev: 'xvda', target: 'x' }, { vdev: 'd0p0', target: 'y' }] }] });
    scenario('disk-missing', disk({}));
    scenario('seed-neg', { seed: -1 });
    scenario('seed-frac', { seed: 1.5 });
    scenario('mem-big', { domains: [{ name: 'a', kernel: 'hello', memoryMiB: 70000 }] });
    scenario('mem-sum', { domains: [{ name: 'a', kernel: 'hello', memoryMiB: 40000 }, { name: 'b', kernel: 'hello', memoryMiB: 40000 }] });
    scenario('mem-3g', { domains: [{ name: 'a', kernel: 'hello', memoryMiB: 3072 }] });
  });

  it.concurrent.for(BAD)('xenrr %j', async ([args, want], { expect }) => {
    const r = await xenrr(args);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/^\s+at |\.[jt]sx?:\d+:\d+/m);
    const lines = r.stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toBe('');
    if (typeof want === 'string') expect(lines[0]).toBe(want);
    else expect(lines[0]).toMatch(want);
    expect(r.status).toBe(2);
  });

  it('has at least 30 rows', ({ expect }) => {
    expect(BAD.length).toBeGreaterThanOrEqual(30);
  });
});

describe.skipIf(!built)('good input next to the bad still works', () => {
  it.concurrent('a seed in hex, up to 0xffffffff', async ({ expect }) => {
    const r = await xenrr(['run', HELLO, '--seed', '0xffffffff', '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.concurrent('dump --kind and diff --ignore take the kind and field names info and the traces show', async ({ expect }) => {
    const info = JSON.parse((await xenrr(['info', PP, '--json'])).stdout) as { countsByKind: Record<string, number> };
    const d = await xenrr(['dump', PP, '--kind', 'evtchn_send,domain_state', '--json']);
    expect(d.status).toBe(0);
    const kinds = d.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { kind: string }).kind);
    expect(kinds).toHaveLength(info.countsByKind.evtchn_send! + info.countsByKind.domain_state!);
    expect(new Set(kinds)).toEqual(new Set(['evtchn_send', 'domain_state']));
    const diff = await xenrr(['diff', PP, PP, '--ignore', 'port,remote_dom,arg.port,slot']);
    expect(diff.stderr).toBe('');
    expect(diff.status).toBe(0);
    const pong = await xenrr(['dump', PP, '--dom', 'pong', '--from', '30', '--to', '60']);
    expect(pong.status).toBe(0);
    expect(pong.stdout.trim().split('\n').every((l) => / d2v0 /.test(l))).toBe(true);
  });

  it.concurrent('a domain of 3072 MiB runs', async ({ expect }) => {
    const r = await xenrr(['run', `${D}/mem-3g.json`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^a +1 +shutdown +poweroff/m);
    expect(r.status).toBe(0);
  });
});
