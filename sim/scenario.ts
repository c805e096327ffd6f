/**
 * Scenarios: which guest kernels run, with how much memory, how many vCPUs
 * and which command lines, plus what a test expects of them. Validated with
 * zod; every problem is reported as one line naming the file and the field.
 *
 * A `kernel` without a slash and without ".elf" names a corpus guest,
 * build/corpus/pv/<kernel>.elf; any other value is a path relative to the
 * scenario file: an ELF or a bzImage. `ramdisk` (module 0, e.g. an
 * initramfs) and `symbols` (a System.map or an unstripped vmlinux, for
 * naming addresses in a stripped kernel) are paths relative to the
 * scenario file too.
 *
 * A domain's `disks` are virtual block devices as xl's disk configuration
 * names them: `vdev` (xvda, xvdb1, hda, sda, d0p1, ...), `target` (the
 * image file: a name without a slash is a corpus disk image,
 * build/corpus/disks/<target>; anything else a path relative to the
 * scenario file), `format` (raw only), and `mode`: "w" (the default) lets
 * the guest write into a copy-on-write overlay kept by the simulation (the
 * image file is never changed, and replays see the same disk), "r" is a
 * read-only disk, and "w!" also writes every change through to the image
 * file (a run that changed its image replays only with a copy of the image
 * as it was: the trace holds the sha256 of the image the run started with).
 *
 * At most one domain may be `dom0`: the initial domain, domid 0, built as
 * Xen builds its hardware domain (sim/xen/dom0.ts). The others are numbered
 * 1, 2, ... in their order (`domainIds`).
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
// The namespace, not `{ z }`: a bundle then leaves out the parts of zod not used here (its 47 locales).
import * as z from 'zod';
export { domainIds } from './domain-ids.js';
import { ROOT } from './package-info.js';
import { vdevNumber } from './services/vdev.js';
import { MAX_MACHINE_MIB } from './xen/frames.js';

const U32 = 'must be an unsigned 32-bit integer (0 to 4294967295)';

const DiskSchema = z.strictObject({
  vdev: z.string().refine((v) => vdevNumber(v) >= 0, 'must be a virtual disk name xl accepts (xvda, xvdb1, hda, sda, d0p1, ...)'),
  target: z.string().min(1, 'must name an image file'),
  mode: z.enum(['r', 'w', 'w!'], { error: 'must be "r", "w" or "w!"' }).default('w'),
  format: z.literal('raw', { error: 'must be "raw" (the only image format)' }).default('raw'),
});

const DomainSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, - or _'),
  kernel: z.string().min(1),
  memoryMiB: z.number({ error: 'must be a number of MiB' }).int('must be a whole number of MiB').min(2, 'must be at least 2 MiB').max(MAX_MACHINE_MIB, `must be at most ${MAX_MACHINE_MIB} MiB (what the simulated machine holds, all domains together)`).default(16),
  vcpus: z.number().int().min(1).max(32).default(1),
  cmdline: z.string().max(1023).default(''),
  privileged: z.boolean().default(false),
  /** the initial domain (domid 0), built as Xen builds dom0; implies privileged */
  dom0: z.boolean().default(false),
  ramdisk: z.string().min(1).optional(),
  symbols: z.string().min(1).optional(),
  disks: z.array(DiskSchema).max(16, 'at most 16 disks per domain').default([]),
});

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  seed: z.number({ error: U32 }).int(U32).min(0, U32).max(0xffffffff, U32).default(0),
  maxInsns: z.number().int().positive().default(2_000_000_000),
  quantum: z.number().int().positive().default(100_000),
  wallclock: z.number().int().nonnegative().default(1767225600),
  domains: z
    .array(DomainSchema)
    .min(1)
    .max(64)
    .refine((ds) => ds.reduce((n, d) => n + d.memoryMiB, 0) <= MAX_MACHINE_MIB, {
      error: (i) => `${(i.input as Array<{ memoryMiB: number }>).reduce((n, d) => n + d.memoryMiB, 0)} MiB of memory in all: the simulated machine holds at most ${MAX_MACHINE_MIB} MiB`,
    }),
  expect: z
    .strictObject({
      console: z.record(z.string(), z.array(z.string())).default({}),
      shutdown: z.record(z.string(), z.enum(['poweroff', 'reboot', 'suspend', 'crash', 'watchdog'])).default({}),
    })
    .default({ console: {}, shutdown: {} }),
});

export type Scenario = z.infer<typeof ScenarioSchema> & { file: string };

export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

/** Validate parsed JSON; `file` is used in messages and to resolve kernel paths. */
export function parseScenario(json: unknown, file: string): Scenario {
  const r = ScenarioSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
    throw new ScenarioError(`${file}: ${where}: ${issue.message}`);
  }
  const names = new Set<string>();
  for (const d of r.data.domains) {
    if (names.has(d.name)) throw new ScenarioError(`${file}: domains: duplicate domain name '${d.name}'`);
    names.add(d.name);
  }
  r.data.domains.forEach((d, k) => {
    const seen = new Map<number, string>();
    d.disks.forEach((disk, j) => {
      const other = seen.get(vdevNumber(disk.vdev));
      if (other !== undefined) throw new ScenarioError(`${file}: domains.${k}.disks.${j}.vdev: ${disk.vdev} is the same device as ${other}`);
      seen.set(vdevNumber(disk.vdev), disk.vdev);
    });
  });
  const dom0s = r.data.domains.flatMap((d, k) => (d.dom0 ? [k] : []));
  if (dom0s.length > 1) throw new ScenarioError(`${file}: domains.${dom0s[1]}.dom0: only one domain can be dom0 (domains.${dom0s[0]} is)`);
  const d0 = dom0s.length === 1 ? r.data.domains[dom0s[0]!]! : undefined;
  if (d0 !== undefined && d0.disks.length > 0) throw new ScenarioError(`${file}: domains.${dom0s[0]}.disks: dom0 has no toolstack disks (its storage would be real hardware)`);
  if (d0 !== undefined) d0.privileged = true;
  for (const key of [...Object.keys(r.data.expect.console), ...Object.keys(r.data.expect.shutdown)]) {
    if (!names.has(key)) throw new ScenarioError(`${file}: expect: no domain named '${key}'`);
  }
  return { ...r.data, file };
}

/** The image path a domain's `kernel` names. */
export function kernelPath(s: Scenario, kernel: string): string {
  if (!kernel.includes('/') && !kernel.endsWith('.elf')) return join(ROOT, 'build', 'corpus', 'pv', `${kernel}.elf`);
  return isAbsolute(kernel) ? kernel : resolve(dirname(s.file), kernel);
}

/** The path a domain's `ramdisk` or `symbols` names (relative to the scenario file). */
export function scenarioPath(s: Scenario, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(s.file), path);
}

/** The image file a disk's `target` names. */
export function diskPath(s: Scenario, target: string): string {
  if (!target.includes('/')) return join(ROOT, 'build', 'corpus', 'disks', target);
  return scenarioPath(s, target);
}

/**
 * A one-domain scenario for running a bare kernel image (with an optional
 * ramdisk and symbol file). Its kernel is named relative to the image itself
 * (the scenario's file), and the other files relative to it too, so the
 * scenario is the same whatever directory it is made from.
 */
export function singleKernel(path: string, opts: { memoryMiB: number; vcpus?: number; cmdline: string; maxInsns: number; seed: number; ramdisk?: string; symbols?: string }): Scenario {
  const base = basename(path);
  const near = (f: string): string => {
    const r = relative(dirname(resolve(path)), resolve(f));
    return r.startsWith('..') || isAbsolute(r) ? r : `./${r}`;
  };
  const extra = { ...(opts.ramdisk !== undefined ? { ramdisk: near(opts.ramdisk) } : {}), ...(opts.symbols !== undefined ? { symbols: near(opts.symbols) } : {}) };
  return parseScenario(
    { name: base, seed: opts.seed, maxInsns: opts.maxInsns, domains: [{ name: 'guest', kernel: `./${base}`, memoryMiB: opts.memoryMiB, vcpus: opts.vcpus ?? 1, cmdline: opts.cmdline, ...extra }] },
    path,
  );
}
