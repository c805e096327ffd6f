/**
 * Running a scenario: load its kernel images (ELF or bzImage), ramdisks and
 * disk images, build the machine, run it, and check the scenario's expectations. Shared
 * by `xenrr run`, record and the tests.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../sim/package-info.js';
import type { EventSink } from '../sim/events.js';
import { Machine, type DomainSpec, type MachineOptions, type RunSummary } from '../sim/machine.js';
import { chaosOption } from '../sim/services/chaos.js';
import { diskPath, dom0BlockDevice, domainDisks, domainIds, domainVifs, kernelPath, machineActions, scenarioBridges, scenarioPath, withActions, type Scenario, type ScenarioAction } from '../sim/scenario.js';
import type { DiskSpec } from '../sim/services/toolstack/index.js';
import { BuildError } from '../sim/xen/builder.js';
import { UsageError } from './cli/errors.js';
import { checkSymbolFile } from './cli/symbol-args.js';
import { scenarioDisks } from './disks.js';
import { ImageError, readKernel, type KernelImage } from './image/kernel-image.js';

/** The files domain `k` of `s` is built from, as absolute paths (disks: each `target` and its file). */
export function domainFiles(s: Scenario, k: number): { kernel: string; ramdisk?: string; symbols?: string; disks: Array<{ target: string; file: string }> } {
  const d = s.domains[k]!;
  return {
    kernel: kernelPath(s, d.kernel),
    ...(d.ramdisk !== undefined ? { ramdisk: scenarioPath(s, d.ramdisk) } : {}),
    ...(d.symbols !== undefined ? { symbols: scenarioPath(s, d.symbols) } : {}),
    disks: domainDisks(s, k).flatMap(({ disk: x }) => (dom0BlockDevice(x.target) === null ? [{ target: x.target, file: diskPath(s, x.target) }] : [])),
  };
}

/**
 * What the machine builds domain `k` from: the kernel's ELF (and the
 * scenario's name for it, which xl writes in /vm/<uuid>/image/kernel), the
 * ramdisk's bytes, and its disks.
 */
export function domainSpec(s: Scenario, k: number, seed: number, kernel: KernelImage, ramdisk: Uint8Array | undefined, disks: DiskSpec[]): DomainSpec {
  const { name, memoryMiB, vcpus, cmdline, privileged, dom0, kernel: kernelName } = s.domains[k]!;
  // `disks`: the domain's own, then its block-attach actions' (domainDisks).
  const own = s.domains[k]!.disks.length;
  const attach = disks.slice(own);
  return { name, memoryMiB, vcpus, cmdline, privileged, dom0, id: domainIds(s.domains)[k]!, seed, image: kernel.elf, kernel: kernelName, disks: disks.slice(0, own), vifs: domainVifs(s, k), ...(ramdisk !== undefined ? { ramdisk } : {}), ...(attach.length > 0 ? { attachDisks: attach } : {}) };
}

/** The machine-wide options a scenario sets: the scheduler's quantum, the boot wallclock, the toolstack's actions, the virtual switch's bridges, chaos. */
export function machineOptions(s: Scenario): MachineOptions {
  return { quantum: s.quantum, wallclock: s.wallclock, actions: machineActions(s), bridges: scenarioBridges(s), ...chaosOption(s) };
}

/** What makes a missing file under build/: Debian's kernels come from `npm run kernels`, the corpus from `npm run build`. */
function buildHint(path: string): string {
  if (path.startsWith(join(ROOT, 'build', 'kernels'))) return ' (run `npm run kernels`)';
  if (path.startsWith(join(ROOT, 'build', 'corpus'))) return ' (run `npm run build`; the Linux initramfs with modules needs `npm run kernels` first)';
  return '';
}

/** Read domain `k`'s kernel, ramdisk and disk images; a missing or unloadable file is a UsageError naming the scenario field. */
export function loadDomain(s: Scenario, k: number, seed: number): DomainSpec {
  const f = domainFiles(s, k);
  const where = `${s.file}: domains.${k}`;
  if (!existsSync(f.kernel)) throw new UsageError(`${where}.kernel: ${f.kernel}: no such file${buildHint(f.kernel)}`);
  let kernel: KernelImage;
  try {
    kernel = readKernel(f.kernel);
  } catch (e) {
    if (e instanceof ImageError) throw new UsageError(`${where}.kernel: ${e.message}`);
    throw e;
  }
  if (f.ramdisk !== undefined && !existsSync(f.ramdisk)) throw new UsageError(`${where}.ramdisk: ${f.ramdisk}: no such file${buildHint(f.ramdisk)}`);
  if (f.symbols !== undefined) checkSymbolFile(`${where}.symbols:`, f.symbols);
  return domainSpec(s, k, seed, kernel, f.ramdisk === undefined ? undefined : new Uint8Array(readFileSync(f.ramdisk)), scenarioDisks(s, k));
}

/**
 * What a scenario's machine is built with: `sink` hears every event;
 * `console`/`crash` only those, even without a sink (MachineOptions);
 * `jitThreshold` sets every vCPU's translation threshold (Cpu.jitThreshold;
 * 0: interpret only): runs are identical whatever it is, only their speed differs.
 */
export type BuildOptions = { seed?: number; sink?: EventSink; console?: MachineOptions['console']; crash?: MachineOptions['crash']; jitThreshold?: number };

/** Build (but do not run) a scenario's machine. */
export function buildMachine(s: Scenario, opts: BuildOptions = {}): Machine {
  const seed = opts.seed ?? s.seed;
  const specs = s.domains.map((_, k) => loadDomain(s, k, seed));
  let machine: Machine;
  try {
    machine = new Machine(specs, opts.sink ?? null, {
      ...machineOptions(s),
      ...(opts.console !== undefined ? { console: opts.console } : {}), ...(opts.crash !== undefined ? { crash: opts.crash } : {}),
    });
  } catch (e) {
    if (e instanceof BuildError || e instanceof RangeError) throw new UsageError(`${s.file}: ${e.message}`);
    throw e;
  }
  const jit = opts.jitThreshold;
  if (jit !== undefined) for (const d of machine.domains) for (const v of d.vcpus) v.cpu.jitThreshold = jit;
  return machine;
}

/** Build and run a scenario's machine; `actions` come after the scenario's own (`--action`). */
export function runScenario(s: Scenario, opts: BuildOptions & { maxInsns?: number; actions?: readonly ScenarioAction[] } = {}): { summary: RunSummary; machine: Machine } {
  const machine = buildMachine(withActions(s, opts.actions ?? []), opts);
  return { summary: machine.run(opts.maxInsns ?? s.maxInsns), machine };
}

/** Problems with a run against the scenario's `expect` (empty when it met them). */
export function checkExpect(s: Scenario, r: RunSummary): string[] {
  const problems: string[] = [];
  for (const [name, subs] of Object.entries(s.expect.console)) {
    const dom = r.domains.find((d) => d.name === name);
    // dom0 has no console ring: its console is what it writes with console_io (Xen's own console).
    const text = dom === undefined ? '' : dom.id === 0 ? dom.log : dom.console;
    for (const sub of subs) if (!text.includes(sub)) problems.push(`${name}: console lacks '${sub}'`);
  }
  for (const [name, want] of Object.entries(s.expect.shutdown)) {
    const dom = r.domains.find((d) => d.name === name);
    const got = dom?.reason || dom?.state;
    if (got !== want) problems.push(`${name}: expected shutdown '${want}', got '${got}'`);
  }
  return problems;
}
