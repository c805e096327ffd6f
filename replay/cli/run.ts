/**
 * `xenrr run [scenario.json | kernel.elf ...]`: run guests to completion and
 * print each domain's console (prefixed by the domain's name) and a summary.
 *
 * A scenario runs its domains on the simulated Xen; a PV kernel (an ELF
 * with Xen notes, or a bzImage holding one, as Xen's loader takes them)
 * runs as a one-domain PV scenario, with `--ramdisk` and `--symbols` if
 * given. `--bare` runs freestanding programs (the compute guests) on the
 * bare core instead. With no argument it runs the built-in default scenario.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FlatResult } from '../../sim/cpu/flat.js';
import type { RunSummary } from '../../sim/machine.js';
import { ROOT } from '../../sim/package-info.js';
import { domainIds } from '../../sim/domain-ids.js';
import type { Scenario } from '../../sim/scenario.js';
import type { KernelImage } from '../image/kernel-image.js';
import { positiveInt, UsageError } from './errors.js';
import { inputFile, rangeOption, seedOption } from './inputs.js';

export const DEFAULT_SCENARIO = `${ROOT}corpus/scenarios/pingpong.json`;

type RunOpts = { maxInsns?: string; mem?: string; vcpus?: string; seed?: string; chaos?: string; cmdline?: string; ramdisk?: string; symbols?: string; json?: boolean; bare?: boolean; action?: string[] };

/** Options a kernel run alone takes (run and record share them). */
export function addKernelOptions(c: Command): Command {
  return c
    .option('--mem <MiB>', 'memory of a kernel run alone (default 16; with --bare: of the bare core)')
    .option('--vcpus <n>', 'vCPUs of a kernel run alone (default 1)')
    .option('--cmdline <s>', 'command line of a kernel run alone (default none)')
    .option('--ramdisk <file>', 'ramdisk (initramfs) for a bare kernel, loaded as Xen loads module 0')
    .option('--symbols <file>', 'System.map or unstripped vmlinux naming a bare kernel\'s addresses (default: its symbol table, else its kallsyms)');
}

export function registerRun(program: Command): void {
  addKernelOptions(
    program
      .command('run')
      .description('run a scenario or guest kernel images to completion and print consoles and a summary')
      .argument('[inputs...]', `scenario .json, PV kernel (ELF or bzImage) or compute guest ELF (default: ${DEFAULT_SCENARIO.slice(ROOT.length)})`)
      .option('--max-insns <n>', 'instruction budget (overrides the scenario)')
      .option('--seed <n>', 'seed (overrides the scenario): permutes the machine frames backing each domain')
      .option('--chaos <seed>', CHAOS_HELP),
  )
    .option('--json', 'print the summary as JSON')
    .option('--bare', 'run freestanding ELF programs on the bare x86-64 core (port 0xE9 console, hlt to stop)')
    .option('--action <when:do:domain...>', 'WHEN:DO:DOMAIN[:ARG]: a toolstack action (shutdown, reboot, sysrq:KEY, pause, unpause, destroy, block-attach:VDEV=TARGET[,MODE], block-detach:VDEV, network-attach[:bridge=B,mac=M,ip=A], network-detach:DEVID|MAC) at a virtual time (2s), event=N or console=TEXT, e.g. 2s:shutdown:guest (repeatable)')
    .action((inputs: string[], opts: RunOpts) => runCommand(inputs, opts));
}

function readFile(path: string): Uint8Array {
  inputFile(path, 'a scenario .json or a kernel ELF');
  return readFileSync(path);
}

export const CHAOS_HELP = 'inject faults in dom0\'s backends from this seed (delayed, reordered and failed completions, spurious notifications; the scenario\'s `chaos` sets rates); recorded in the trace, replayed exactly';
/** `--chaos`, when given. */
export const chaosOf = (o: { chaos?: string }): number | undefined => (o.chaos === undefined ? undefined : seedOption(o.chaos, '--chaos'));
/** `--seed`, when given. */
export const seedOf = (o: { seed?: string }): number | undefined => (o.seed === undefined ? undefined : seedOption(o.seed));
/** The bare core addresses physical memory below 4 GiB (no paging). */
const MAX_BARE_MIB = 4096;

/** Load a scenario file, or wrap a PV kernel as one; null for a non-PV ELF (flat harness). */
export async function loadInput(path: string, opts: RunOpts): Promise<Scenario | null> {
  const bytes = readFile(path);
  if (path.endsWith('.json')) {
    for (const [flag, v] of [['--ramdisk', opts.ramdisk], ['--symbols', opts.symbols]] as const) {
      if (v !== undefined) throw new UsageError(`${flag} is for a bare kernel; a scenario names its domains' files (${flag.slice(2)} in ${path})`);
    }
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new UsageError(`${path}: not valid JSON: ${(e as Error).message}`);
    }
    return (await import('../../sim/scenario.js')).parseScenario(json, path);
  }
  const [{ ElfError, parseElf }, { singleKernel }, { MAX_MACHINE_MIB }, { ImageError, kernelImage }, { checkSymbolFile }] = await Promise.all([
    import('../../sim/elf.js'), import('../../sim/scenario.js'), import('../../sim/xen/frames.js'), import('../image/kernel-image.js'), import('./symbol-args.js'),
  ]);
  let k: KernelImage;
  try {
    k = kernelImage(bytes);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
  const format = k.format;
  let pv: boolean;
  try {
    pv = parseElf(k.elf).notes.some((n) => n.name === 'Xen');
  } catch (e) {
    if (e instanceof ElfError) throw new UsageError(`${path}: ${format === 'ELF' ? '' : `${format} payload: `}${e.message}`);
    throw e;
  }
  if (!pv) {
    if (format !== 'ELF') throw new UsageError(`${path}: not a Xen PV kernel: the ${format} holds an ELF without Xen ELF notes (a kernel built without CONFIG_XEN_PV)`);
    if (opts.bare) return null;
    throw new UsageError(`${path}: not a Xen PV kernel (no Xen ELF notes); use --bare to run a freestanding program on the bare core`);
  }
  if (opts.ramdisk !== undefined && !existsSync(opts.ramdisk)) throw new UsageError(`--ramdisk ${opts.ramdisk}: no such file`);
  if (opts.symbols !== undefined) checkSymbolFile('--symbols', opts.symbols);
  return singleKernel(path, {
    ...(opts.ramdisk !== undefined ? { ramdisk: opts.ramdisk } : {}),
    ...(opts.symbols !== undefined ? { symbols: opts.symbols } : {}),
    memoryMiB: rangeOption('--mem', opts.mem ?? '16', 2, MAX_MACHINE_MIB, 'MiB'),
    vcpus: rangeOption('--vcpus', opts.vcpus ?? '1', 1, 32),
    cmdline: opts.cmdline ?? '',
    maxInsns: positiveInt('--max-insns', opts.maxInsns ?? '2000000000'),
    seed: seedOf(opts) ?? 0,
  });
}

/** --mem, --vcpus and --cmdline shape a kernel run alone: given only scenarios, they would do nothing. */
export function kernelOptions(paths: string[], opts: RunOpts): void {
  const given = (['mem', 'vcpus', 'cmdline'] as const).filter((k) => opts[k] !== undefined);
  if (given.length > 0 && !opts.bare && paths.every((p) => p.endsWith('.json'))) {
    throw new UsageError(`--${given[0]} applies to a kernel run alone; a scenario sets ${given[0] === 'mem' ? 'memoryMiB' : given[0]} for each of its domains`);
  }
}

export async function runCommand(inputs: string[], opts: RunOpts): Promise<void> {
  const { ScenarioError } = await import('../../sim/scenario.js');
  const paths = inputs.length > 0 ? inputs : [DEFAULT_SCENARIO];
  seedOf(opts);
  chaosOf(opts);
  if (opts.bare && opts.action !== undefined) throw new UsageError('--action applies to Xen PV guests, not to --bare programs');
  if (opts.bare && opts.chaos !== undefined) throw new UsageError('--chaos applies to Xen PV guests (their backends), not to --bare programs');
  kernelOptions(paths, opts);
  let failed = false;
  for (const path of paths) {
    let scenario: Scenario | null;
    try {
      scenario = opts.bare ? (readFile(path), null) : await loadInput(path, opts);
    } catch (e) {
      if (e instanceof ScenarioError) throw new UsageError(e.message);
      throw e;
    }
    if (scenario === null) failed = (await runFlatImage(path, opts)) || failed;
    else failed = (await runPv(scenario, opts)) || failed;
  }
  if (failed) process.exitCode = 1;
}

async function runPv(s: Scenario, opts: RunOpts): Promise<boolean> {
  const [{ checkExpect, runScenario }, { ConsoleLines, consoleLineText }, { actionOptions }, { withChaos }] = await Promise.all([
    import('../scenario-run.js'), import('../console-text.js'), import('./actions.js'), import('../../sim/scenario.js'),
  ]);
  const maxInsns = opts.maxInsns === undefined ? undefined : positiveInt('--max-insns', opts.maxInsns);
  const seed = seedOf(opts);
  const actions = actionOptions(opts.action, s);
  // Consoles as they are written: each domain's PV console and its console_io lines, in order.
  const ids = domainIds(s.domains);
  const names = new Map(s.domains.map((d, k) => [ids[k]!, d.name]));
  const lines = new ConsoleLines((l) => process.stdout.write(`${consoleLineText(l, names)}\n`));
  const crashes = new Map<number, { text: string; rip: bigint }>();
  // Heard without an event sink: the run stays lean (builds no events).
  const onConsole = (dom: number, source: 'ring' | 'console_io', text: string): void => void (opts.json ? 0 : lines.add(dom, source, text));
  const onCrash = (dom: number, text: string, rip: bigint): void => void crashes.set(dom, { text, rip });
  const t0 = process.hrtime.bigint();
  const { summary } = runScenario(withChaos(s, chaosOf(opts)), { ...(maxInsns ? { maxInsns } : {}), ...(seed !== undefined ? { seed } : {}), console: onConsole, crash: onCrash, actions });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  lines.flush();
  const problems = checkExpect(s, summary);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ scenario: s.name, ...summary, problems }, null, 2)}\n`);
  } else {
    for (const [dom, e] of crashes) process.stdout.write(`[${names.get(dom)}] ${e.text} (${await crashSymbol(s, ids.indexOf(dom), e.rip)})\n`);
    process.stdout.write(`\n${s.name}: ${summary.stop}, ${summary.instructions} instructions, virtual time ${(summary.time / 1e6).toFixed(3)} ms, ${(summary.instructions / seconds / 1e6).toFixed(1)} MIPS, ${summary.events} events\n`);
    process.stdout.write('domain        id  state     reason     instructions\n');
    for (const d of summary.domains) {
      process.stdout.write(`${d.name.padEnd(12)} ${String(d.id).padStart(3)}  ${d.state.padEnd(9)} ${(d.reason || '-').padEnd(9)} ${String(d.instructions).padStart(13)}\n`);
    }
    process.stdout.write(`hypercalls: ${Object.entries(summary.hypercalls).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}\n`);
    if (summary.unimplemented !== undefined) process.stdout.write(`stopped: ${summary.unimplemented}\n`);
    for (const p of problems) process.stdout.write(`expectation failed: ${p}\n`);
  }
  return pvFailed(s, summary, problems);
}

/**
 * Whether a PV run failed (exit 1), as `run` and `record` both judge it: it
 * did not end with every domain stopped (deadlock, budget), an expectation
 * failed, or, with no expected shutdowns, a domain did not power off.
 */
export function pvFailed(s: Scenario, summary: RunSummary, problems: string[]): boolean {
  return summary.stop !== 'all-stopped' || problems.length > 0 || (Object.keys(s.expect.shutdown).length === 0 && summary.domains.some((d) => d.reason !== 'poweroff'));
}

/** Where a domain crashed, by the names its symbol file or kernel gives (the address if none). */
async function crashSymbol(s: Scenario, k: number, rip: bigint): Promise<string> {
  const [{ domainFiles }, { kernelImage }, { kernelTable, symbolFileTable }] = await Promise.all([import('../scenario-run.js'), import('../image/kernel-image.js'), import('../image/symbol-table.js')]);
  const f = domainFiles(s, k);
  try {
    const t = f.symbols !== undefined ? symbolFileTable(new Uint8Array(readFileSync(f.symbols))) : kernelTable(kernelImage(new Uint8Array(readFileSync(f.kernel))).elf);
    const at = t?.symbolize(rip);
    if (at) return `${at.name}+0x${at.offset.toString(16)}`;
  } catch {
    // unreadable symbols: the address alone
  }
  return `0x${rip.toString(16)}`;
}

async function runFlatImage(path: string, opts: RunOpts): Promise<boolean> {
  const [{ runFlat }, { ElfError }] = await Promise.all([import('../../sim/cpu/flat.js'), import('../../sim/elf.js')]);
  const maxInsns = positiveInt('--max-insns', opts.maxInsns ?? '2000000000');
  const memory = rangeOption('--mem', opts.mem ?? '16', 1, MAX_BARE_MIB, 'MiB for --bare') * 2 ** 20;
  const t0 = process.hrtime.bigint();
  let result: FlatResult;
  try {
    result = runFlat(readFile(path), { maxInsns, memory });
  } catch (e) {
    if (e instanceof ElfError || e instanceof RangeError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const name = path.split('/').pop() ?? path;
  if (opts.json) {
    process.stdout.write(`${JSON.stringify([{ image: path, ...result, exception: result.exception && { ...result.exception, rip: `0x${result.exception.rip.toString(16)}` } }], null, 2)}\n`);
  } else {
    for (const line of result.output.replace(/\n$/, '').split('\n')) process.stdout.write(`[${name}] ${line}\n`);
    const stop = result.stop === 'exception' ? `#${result.exception!.vector}@${result.exception!.rip.toString(16)}` : result.stop;
    process.stdout.write(`\nimage          stop           exit  instructions       MIPS\n`);
    process.stdout.write(`${name.padEnd(14)} ${stop.padEnd(14)} ${String(result.exitCode ?? '-').padStart(4)}  ${String(result.instructions).padStart(12)}  ${(result.instructions / seconds / 1e6).toFixed(1).padStart(9)}\n`);
    if (result.unimplemented !== undefined) process.stdout.write(`stopped: ${result.unimplemented}\n`);
  }
  return result.stop !== 'halt' || result.exitCode !== 0;
}
