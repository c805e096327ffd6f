/**
 * Debian's gdb, in batch mode, on a recorded Linux boot
 * (corpus/scenarios/linux/boot.json: Debian 12's stock kernel booting to
 * our /init, ~2.1e9 instructions), as a kernel developer without the 860 MB
 * -dbg package uses it: `xenrr symbols` writes the kernel's symbol file
 * (kallsyms names and sizes, ORC unwind tables as .debug_frame), gdb loads
 * it with `file`, and then break start_kernel, continue, bt, stepi and
 * reverse-stepi on the upper-half kernel, memory read through the vCPU's
 * page tables (text, data, per-CPU). gdb started without a file gets the
 * same symbol file from the gdbserver.
 *
 * The boot's start is recorded once for the file (seconds); CI has the
 * kernel (`npm run kernels`) and the initramfs (`npm run build`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { readKallsyms } from '../image/kallsyms.js';
import { kernelImage } from '../image/kernel-image.js';
import { ReplaySession } from '../session.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const KERNEL = `${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`;
const INITRAMFS = `${ROOT}build/corpus/linux/initramfs.cpio.gz`;
const INSNS = 200_000_000;
const hasGdb = spawnSync('gdb', ['--version']).status === 0;
const have = hasGdb && existsSync(KERNEL) && existsSync(INITRAMFS);
if (!have) console.warn(`skipping gdb on a Linux trace: ${!hasGdb ? 'no gdb' : existsSync(KERNEL) ? INITRAMFS : KERNEL} is absent (run \`npm run kernels\` and \`npm run build\`)`);

const dir = fileTempDir('xenrr-gdb-linux-');
const TRACE = join(dir, 'boot.xrr');
const SYMS = join(dir, 'vmlinux.sym.elf');
/** gdb's symbol files, when gdbserver makes them (XDG_CACHE_HOME/xenrr). */
const CACHE = join(dir, 'cache');
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });

/** Where kallsyms puts a name. */
let kallsyms: Map<string, bigint>;

beforeAll(async () => {
  if (!have) return;
  // Its first 2e8 instructions (start_kernel comes at 91,315): the whole boot, 2.1e9, takes minutes more (linux-boot.test.ts records it).
  const rec = xenrr('record', 'corpus/scenarios/linux/boot.json', '-o', TRACE, '--max-insns', String(INSNS));
  expect(`${rec.stdout}${rec.stderr}`).toContain(`budget, ${INSNS} instructions`);
  expect(rec.status).toBe(1);
  const sym = xenrr('symbols', TRACE, '-o', SYMS);
  expect(sym.status, sym.stderr).toBe(0);
  expect(sym.stdout).toMatch(/symbols \(\d+ functions\) from kallsyms, \d+ ORC rows as \.debug_frame, build-id [0-9a-f]{40}/);
  kallsyms = new Map(readKallsyms(kernelImage(new Uint8Array(readFileSync(KERNEL))).elf)!.map((s) => [s.name, s.addr]));
  await initZstd();
}, 1_800_000);

const HEAD = ['set pagination off', 'set confirm off', 'set width 0'];
const REMOTE = `target remote | ${BIN} gdbserver --stdio ${TRACE}`;

/** gdb in batch mode on a script, with the symbol-file cache in the test's directory; its whole output (monitor output goes to stderr). */
function gdb(lines: string[], name: string): string {
  const script = join(dir, `${name}.gdb`);
  writeFileSync(script, `${[...HEAD, ...lines].join('\n')}\n`);
  const r = spawnSync('sh', ['-c', 'exec gdb -batch -nx -x "$0" 2>&1', script], { encoding: 'utf8', timeout: 600_000, env: { ...process.env, XDG_CACHE_HOME: CACHE } });
  return r.stdout;
}

const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
/** gdb's backtrace lines: frame number, address, function. */
const frames = (out: string): Array<[number, string, string]> => [...out.matchAll(/^#(\d+)\s+(0x[0-9a-f]+) in (\S+) \(\)$/gm)].map((m) => [Number(m[1]), m[2]!, m[3]!]);

describe.skipIf(!have)('gdb on a Linux boot trace, with the symbol file `xenrr symbols` writes', () => {
  it('break start_kernel, continue, bt, the registers and kernel memory there, stepi x5 and reverse-stepi x5 back to identical registers, monitor when', () => {
    const out = gdb([
      `file ${SYMS}`, REMOTE, 'break start_kernel', 'continue', 'echo ==bt\\n', 'bt', 'bt 1', 'echo ==\\n', 'frame 2', 'x/i $pc - 5', 'frame 0',
      'info symbol $pc', 'info registers rip', 'x/gx $sp', 'x/2i $pc',
      'output/x *(long *)($gs_base + (long)&current_task)', 'echo \\n', 'output/x (long)&init_task', 'echo \\n', 'info threads',
      'python',
      'names = ["rax","rbx","rcx","rdx","rsi","rdi","rbp","rsp","r8","r9","r10","r11","r12","r13","r14","r15","rip","eflags","cs","ss","fs_base","gs_base"]',
      'def regs(): return [str(gdb.parse_and_eval("$" + n)) for n in names]',
      'seen = [regs()]',
      'for i in range(5):',
      '    gdb.execute("stepi", to_string=True)',
      '    seen.append(regs())',
      'bad = 0',
      'for i in range(5, 0, -1):',
      '    gdb.execute("reverse-stepi", to_string=True)',
      '    if regs() != seen[i - 1]: bad += 1',
      'print("STEPS distinct=%d mismatches=%d" % (len(set(tuple(r) for r in seen)), bad))',
      'print("PCS " + " ".join(r[16] for r in seen))',
      'end',
      'monitor when',
    ], 'start-kernel');
    const start = kallsyms.get('start_kernel')!;
    expect(out).toContain(`Breakpoint 1 at 0x${start.toString(16)}`);
    expect(out).toMatch(new RegExp(`^Breakpoint 1, 0x${start.toString(16)} in start_kernel \\(\\)$`, 'm'));
    // The ORC unwind: start_kernel (entered by a jump from x86_64_start_reservations) <- xen_start_kernel <- startup_xen, the end of the boot stack.
    const bt = frames(out.slice(out.indexOf('==bt'), out.indexOf('==\n')));
    expect(bt.map(([n, , f]) => `${n} ${f}`)).toEqual(['0 start_kernel', '1 xen_start_kernel', '2 startup_xen', '0 start_kernel']);
    // At the function's entry its return address is the word at the stack pointer, and the one above is after a call of the frame below.
    const top = /^0x[0-9a-f]+ <[^>]+>:\s+(0x[0-9a-f]+)$/m.exec(out)!;
    expect(BigInt(top[1]!)).toBe(BigInt(bt[1]![1]));
    expect(out).toMatch(new RegExp(`^ {3}0x[0-9a-f]+ <startup_xen\\+\\d+>:\\s+call\\s+0x${kallsyms.get('xen_start_kernel')!.toString(16)} <xen_start_kernel>$`, 'm'));
    expect(out).toMatch(/^start_kernel in section \.init\.text$/m);
    expect(out).toMatch(new RegExp(`^rip\\s+${hex(start).replace(/^0x0*/, '0x')}\\s+0x[0-9a-f]+ <start_kernel>$`, 'm'));
    // Kernel text through the vCPU's page tables: the ftrace call every function starts with, before ftrace patches it.
    expect(out).toMatch(/^=> 0x[0-9a-f]+ <start_kernel>:\s+call\s+0x[0-9a-f]+ <__fentry__>$/m);
    // Per-CPU data through GS: CPU 0's current task is init_task (a data symbol of the file).
    const [cur, init] = [...out.matchAll(/^(0xffffffff[0-9a-f]{8})$/gm)].map((m) => m[1]);
    expect(cur).toBe(`0x${kallsyms.get('init_task')!.toString(16)}`);
    expect(init).toBe(cur);
    expect(out).toMatch(/^\* 1\s+Thread 1 "d1v0" \(linux runnable kernel\) 0x[0-9a-f]+ in start_kernel \(\)$/m);
    const steps = /STEPS distinct=(\d+) mismatches=(\d+)/.exec(out);
    expect(steps, out).not.toBeNull();
    expect(Number(steps![1])).toBe(6);
    expect(Number(steps![2])).toBe(0);
    // The replay's own breakpoint run stops at the same instruction count.
    const s = ReplaySession.open(TraceReader.open(TRACE));
    s.run({ direction: 'forward', breakpoints: [{ addr: start }], watches: [], step: null, skip: false });
    const icount = s.position.vcpus[0]!.icount;
    expect(icount).toBeGreaterThan(0);
    expect(out).toMatch(new RegExp(`^ {2}d1v0 \\(thread 1\\) \\* icount ${icount}$`, 'm'));
  });

  it('gdb without a file gets the same symbol file from gdbserver (made once, into the cache)', () => {
    const out = gdb([REMOTE, 'break start_kernel', 'continue', 'bt'], 'no-file');
    expect(out).toMatch(/^Breakpoint 1, 0x[0-9a-f]+ in start_kernel \(\)$/m);
    expect(frames(out).map(([, , f]) => f)).toEqual(['start_kernel', 'xen_start_kernel', 'startup_xen']);
    const made = readdirSync(join(CACHE, 'xenrr'));
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^vmlinuz-6\.1\.0-57-amd64-[0-9a-f]{16}\.sym\.elf$/);
    expect(readFileSync(join(CACHE, 'xenrr', made[0]!)).equals(readFileSync(SYMS))).toBe(true);
    expect(out).toContain(`Reading symbols from ${join(CACHE, 'xenrr', made[0]!)}`);
  });
});
