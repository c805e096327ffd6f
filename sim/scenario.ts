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
 * A domain's `vifs` are network interfaces as xl's vif configuration names
 * them: `mac` (default 00:16:3e:xx:xx:xx, derived from the domain's name
 * and the vif's index, where xl would pick at random), `bridge` (default
 * xenbr0) and `ip` (what xl's ip= writes for the hotplug script: one or more
 * IPv4 addresses). The scenario's `bridges` are the virtual switch's
 * bridges (default: one, xenbr0); each has a built-in `peer` host (default
 * 10.0.0.1/24, MAC 02:78:72:00:00:01, UDP echo on port 7; false: none).
 *
 * At most one domain may be `dom0`: the initial domain, domid 0, built as
 * Xen builds its hardware domain (sim/xen/dom0.ts). The others are numbered
 * 1, 2, ... in their order (`domainIds`).
 */
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
// The namespace, not `{ z }`: a bundle then leaves out the parts of zod not used here (its 47 locales).
import * as z from 'zod';
import { domainIds } from './domain-ids.js';
export { domainIds };
import { ROOT } from './package-info.js';
import { defaultMac, formatMac, parseIPv4, parseMac } from './services/netback/proto.js';
import { dom0BlockDevice, vdevNumber } from './services/vdev.js';
export { dom0BlockDevice };
// Types only: the trace commands load this schema without the machine.
import type { MachineAction } from './toolstack-actions.js';
import { MAX_MACHINE_MIB } from './xen/frames.js';

/** The bridge vifs join by default (xl's default), and the switch's one bridge when a scenario names none. */
export const DEFAULT_BRIDGE = 'xenbr0';

const U32 = 'must be an unsigned 32-bit integer (0 to 4294967295)';

const DiskSchema = z.strictObject({
  vdev: z.string().refine((v) => vdevNumber(v) >= 0, 'must be a virtual disk name xl accepts (xvda, xvdb1, hda, sda, d0p1, ...)'),
  target: z.string().min(1, 'must name an image file'),
  mode: z.enum(['r', 'w', 'w!'], { error: 'must be "r", "w" or "w!"' }).default('w'),
  format: z.literal('raw', { error: 'must be "raw" (the only image format)' }).default('raw'),
});

const MAC = 'must be a unicast MAC address, six hex pairs: 00:16:3e:12:34:56';
const isUnicastMac = (m: string): boolean => (parseMac(m)?.[0] ?? 1) % 2 === 0;

const VifSchema = z.strictObject({
  mac: z.string().refine(isUnicastMac, MAC).optional(),
  bridge: z.string().default(DEFAULT_BRIDGE),
  ip: z.string().refine((v) => v.split(' ').every((a) => parseIPv4(a) >= 0), 'must be IPv4 addresses separated by spaces (10.0.0.2)').optional(),
});

const PeerSchema = z.strictObject({
  ip: z.string().refine((v) => cidr(v) !== null, 'must be an IPv4 address with a prefix length (10.0.0.1/24)').default('10.0.0.1/24'),
  mac: z.string().refine(isUnicastMac, MAC).default('02:78:72:00:00:01'),
  udpEchoPort: z.number().int().min(1, 'must be a UDP port (1 to 65535)').max(65535, 'must be a UDP port (1 to 65535)').default(7),
});

const BridgeSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,15}$/, 'must be an interface name of 1-15 letters, digits, _ . or -'),
  peer: z.union([z.literal(false), PeerSchema], { error: 'must be false or a peer { ip, mac, udpEchoPort }' }).default({ ip: '10.0.0.1/24', mac: '02:78:72:00:00:01', udpEchoPort: 7 }),
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
  vifs: z.array(VifSchema).max(8, 'at most 8 vifs per domain').optional(),
});

/** What a toolstack action does (sim/toolstack-actions.ts says how). */
export const ACTION_KINDS = ['shutdown', 'reboot', 'sysrq', 'pause', 'unpause', 'destroy', 'block-attach', 'block-detach', 'network-attach', 'network-detach'] as const;
export type ActionKind = (typeof ACTION_KINDS)[number];

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, ms: 1e6, s: 1e9 };
const TIME = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s)$/;

/** A virtual time such as "5ms", "2s", "250us", "100ns" (or a number of ns), in ns; null when malformed. */
export function parseTime(t: string | number): number | null {
  if (typeof t === 'number') return Number.isSafeInteger(t) && t >= 0 ? t : null;
  const m = TIME.exec(t.trim());
  if (m === null) return null;
  const ns = Math.round(Number(m[1]) * TIME_UNITS[m[2]!]!);
  return Number.isSafeInteger(ns) ? ns : null;
}

const TIME_ERROR = 'must be a virtual time such as "5ms", "2s", "250us" or "100ns" (or a number of ns)';
/**
 * A toolstack action (sim/toolstack-actions.ts): `at` a virtual time, after event
 * `{ event: N }`, or when a console shows `{ console: "text" }` (the
 * action's domain's console, or `domain`'s); `key` is sysrq's key, `disk`
 * block-attach's disk (as a domain's disks entry), `vdev`
 * block-detach's disk, `vif` network-attach's interface (as a domain's vifs
 * entry), `devid` or `mac` network-detach's interface.
 */
const ActionSchema = z
  .strictObject({
    at: z.union([
      z.union([z.string(), z.number()]).refine((t) => parseTime(t) !== null, { error: TIME_ERROR }),
      z.strictObject({ event: z.number().int().nonnegative() }),
      z.strictObject({ console: z.string().min(1).max(256), domain: z.string().optional() }),
    ]),
    do: z.enum(ACTION_KINDS),
    domain: z.string(),
    key: z.string().length(1, 'must be one character').optional(),
    vdev: z.string().refine((v) => vdevNumber(v) >= 0, 'must be a virtual disk name xl accepts (xvda, xvdb1, hda, sda, d0p1, ...)').optional(),
    disk: DiskSchema.optional(),
    vif: VifSchema.optional(),
    devid: z.number().int('must be a device id (0, 1, ...)').min(0, 'must be a device id (0, 1, ...)').max(0xffff, 'must be a device id (0, 1, ...)').optional(),
    mac: z.string().refine((m) => parseMac(m) !== null, MAC).optional(),
  })
  .superRefine((a, ctx) => {
    const wants = ACTION_FIELDS[a.do];
    for (const f of ['key', 'disk', 'vdev', 'vif', 'devid', 'mac'] as const) {
      if (a[f] !== undefined && !wants.some((w) => w.split('|').includes(f))) ctx.addIssue({ code: 'custom', path: [f], message: `${a.do} takes no \`${f}\`${wants.length > 0 ? ` (it takes ${wants.map((w) => `\`${w}\``).join(', ')})` : ''}` });
    }
    for (const w of wants) {
      const n = w.split('|').filter((f) => a[f as 'key'] !== undefined).length;
      if (n !== 1) ctx.addIssue({ code: 'custom', path: [], message: `a ${a.do} action needs ${w.includes('|') ? `one of ${w.split('|').map((f) => `\`${f}\``).join(' or ')}` : `a \`${w}\``}` });
    }
  });

/** The fields each action kind takes ("a|b": exactly one of them). */
const ACTION_FIELDS: Record<ActionKind, string[]> = {
  shutdown: [], reboot: [], sysrq: ['key'], pause: [], unpause: [], destroy: [],
  'block-attach': ['disk'], 'block-detach': ['vdev'], 'network-attach': ['vif'], 'network-detach': ['devid|mac'],
};
export type ScenarioAction = z.infer<typeof ActionSchema>;

const RATE = 'must be a probability from 0 to 1';
const Rate = z.number({ error: RATE }).min(0, RATE).max(1, RATE).optional();
/**
 * Seeded fault injection in dom0's backends (sim/services/chaos.ts):
 * `seed`, per-kind `rates` (probability per opportunity; kinds not named
 * keep their defaults, drop and restart 0), `maxDelay` (a virtual time).
 */
const ChaosSchema = z.strictObject({
  seed: z.number({ error: U32 }).int(U32).min(0, U32).max(0xffffffff, U32),
  rates: z.strictObject({ delay: Rate, reorder: Rate, spurious: Rate, error: Rate, drop: Rate, restart: Rate }).optional(),
  maxDelay: z.union([z.string(), z.number()]).refine((t) => (parseTime(t) ?? 0) >= 1000, { error: 'must be a virtual time of at least 1us, such as "500us" or "2ms" (or a number of ns)' }).optional(),
});
export type ScenarioChaos = z.infer<typeof ChaosSchema>;

export const ScenarioSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().default(''),
  seed: z.number({ error: U32 }).int(U32).min(0, U32).max(0xffffffff, U32).default(0),
  maxInsns: z.number().int().positive().default(2_000_000_000),
  bridges: z.array(BridgeSchema).min(1).max(16).optional(),
  quantum: z.number().int().positive().default(100_000),
  wallclock: z.number().int().nonnegative().default(1767225600),
  domains: z
    .array(DomainSchema)
    .min(1)
    .max(64)
    .refine((ds) => ds.reduce((n, d) => n + d.memoryMiB, 0) <= MAX_MACHINE_MIB, {
      error: (i) => `${(i.input as Array<{ memoryMiB: number }>).reduce((n, d) => n + d.memoryMiB, 0)} MiB of memory in all: the simulated machine holds at most ${MAX_MACHINE_MIB} MiB`,
    }),
  /** absent unless given: a scenario without actions keeps the identity it had before they existed */
  actions: z.array(ActionSchema).max(1000).optional(),
  /** absent unless given, as `actions` */
  chaos: ChaosSchema.optional(),
  expect: z
    .strictObject({
      console: z.record(z.string(), z.array(z.string())).default({}),
      shutdown: z.record(z.string(), z.enum(['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'destroyed'])).default({}),
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
  checkNetwork(r.data, file);
  const dom0s = r.data.domains.flatMap((d, k) => (d.dom0 ? [k] : []));
  if (dom0s.length > 1) throw new ScenarioError(`${file}: domains.${dom0s[1]}.dom0: only one domain can be dom0 (domains.${dom0s[0]} is)`);
  const d0 = dom0s.length === 1 ? r.data.domains[dom0s[0]!]! : undefined;
  if (d0 !== undefined && d0.disks.length > 0) throw new ScenarioError(`${file}: domains.${dom0s[0]}.disks: dom0 has no toolstack disks (its storage would be real hardware)`);
  if (d0 !== undefined) d0.privileged = true;
  checkDom0Devices(r.data, file, d0 !== undefined);
  for (const key of [...Object.keys(r.data.expect.console), ...Object.keys(r.data.expect.shutdown)]) {
    if (!names.has(key)) throw new ScenarioError(`${file}: expect: no domain named '${key}'`);
  }
  (r.data.actions ?? []).forEach((a, k) => {
    for (const name of [a.domain, typeof a.at === 'object' && 'console' in a.at ? a.at.domain : undefined]) {
      if (name !== undefined && !names.has(name)) throw new ScenarioError(`${file}: actions.${k}: no domain named '${name}' (domains: ${[...names].join(', ')})`);
    }
  });
  return { ...r.data, file };
}

/** `s` with `extra` actions after its own (validated as the scenario's are: a ScenarioError names the problem). */
export function withActions(s: Scenario, extra: readonly ScenarioAction[]): Scenario {
  if (extra.length === 0) return s;
  const { file, ...rest } = s;
  return parseScenario({ ...rest, actions: [...(s.actions ?? []), ...extra] }, file);
}

/** `s` with chaos seeded by `seed` (`--chaos`; the scenario's own rates kept), or `s` itself for undefined. */
export function withChaos(s: Scenario, seed: number | undefined): Scenario {
  if (seed === undefined) return s;
  const { file, ...rest } = s;
  return parseScenario({ ...rest, chaos: { ...(s.chaos ?? {}), seed } }, file);
}

/** The scenario's actions for the machine: domains by id (domainIds: dom0 0, the others 1.. in scenario order), times in ns. */
export function machineActions(s: Pick<Scenario, 'domains' | 'actions'>): MachineAction[] {
  const ids = domainIds(s.domains);
  const id = (name: string): number => ids[s.domains.findIndex((d) => d.name === name)]!;
  return (s.actions ?? []).map((a) => ({
    when: typeof a.at === 'object' ? ('event' in a.at ? { event: a.at.event } : { console: a.at.console, dom: id(a.at.domain ?? a.domain) }) : { time: parseTime(a.at)! },
    do: a.do, dom: id(a.domain), ...(a.key !== undefined ? { key: a.key } : {}),
    ...(a.disk !== undefined ? { disk: { vdev: a.disk.vdev, target: a.disk.target, mode: a.disk.mode } } : {}),
    ...(a.vdev !== undefined ? { vdev: a.vdev } : {}), ...(a.vif !== undefined ? { vif: a.vif } : {}),
    ...(a.devid !== undefined ? { devid: a.devid } : {}), ...(a.mac !== undefined ? { mac: a.mac } : {}),
  }));
}

/** "10.0.0.1/24" -> address and prefix length, or null. */
function cidr(v: string): { ip: number; prefix: number } | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(v);
  const ip = m === null ? -1 : parseIPv4(m[1]!);
  const prefix = m === null ? 33 : Number(m[2]);
  return ip < 0 || prefix > 32 ? null : { ip, prefix };
}

type Parsed = z.infer<typeof ScenarioSchema>;

/** The scenario's bridges (the default xenbr0 with its peer when it names none). */
export function scenarioBridges(s: Pick<Parsed, 'bridges'>): Array<{ name: string; peer: { ip: number; prefix: number; mac: Uint8Array; udpEchoPort: number } | null }> {
  const list = s.bridges ?? [{ name: DEFAULT_BRIDGE, peer: { ip: '10.0.0.1/24', mac: '02:78:72:00:00:01', udpEchoPort: 7 } }];
  return list.map((b) => ({ name: b.name, peer: b.peer === false ? null : { ...cidr(b.peer.ip)!, mac: parseMac(b.peer.mac)!, udpEchoPort: b.peer.udpEchoPort } }));
}

/** Domain `k`'s vifs with every default filled in (device id = index; the MAC xl would have picked, made deterministic). */
export function domainVifs(s: Pick<Parsed, 'domains'>, k: number): Array<{ devid: number; mac: string; bridge: string; ip?: string }> {
  const d = s.domains[k]!;
  return (d.vifs ?? []).map((v, devid) => ({ devid, mac: v.mac ?? defaultMac(d.name, devid), bridge: v.bridge, ...(v.ip !== undefined ? { ip: v.ip } : {}) }));
}

/** Bridges named once, every vif on a bridge of the scenario, no MAC twice on one bridge. */
function checkNetwork(s: Parsed, file: string): void {
  const bridges = scenarioBridges(s);
  const names = bridges.map((b) => b.name);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) throw new ScenarioError(`${file}: bridges.${i}.name: duplicate bridge name '${n}'`);
  });
  const macs = new Map<string, string>(bridges.flatMap((b, i): Array<[string, string]> => (b.peer === null ? [] : [[`${b.name} ${formatMac(b.peer.mac)}`, `the peer of bridges.${i}`]])));
  s.domains.forEach((_, k) => {
    for (const v of domainVifs(s, k)) {
      const where = `domains.${k}.vifs.${v.devid}`;
      if (!names.includes(v.bridge)) throw new ScenarioError(`${file}: ${where}.bridge: no bridge named '${v.bridge}' (the scenario's bridges: ${names.join(', ')})`);
      const key = `${v.bridge} ${v.mac.toLowerCase()}`;
      const other = macs.get(key);
      if (other !== undefined) throw new ScenarioError(`${file}: ${where}.mac: ${v.mac} is on bridge ${v.bridge} already (${other})`);
      macs.set(key, where);
    }
  });
  (s.actions ?? []).forEach((a, k) => {
    if (a.vif !== undefined && !names.includes(a.vif.bridge)) throw new ScenarioError(`${file}: actions.${k}.vif.bridge: no bridge named '${a.vif.bridge}' (the scenario's bridges: ${names.join(', ')})`);
  });
}

/**
 * Domain `k`'s disks with where each is declared: its own `disks`, then the
 * disks its block-attach actions attach, in action order (the images a run
 * reads, and a trace header names, in that order).
 */
export function domainDisks(s: Pick<Parsed, 'domains' | 'actions'>, k: number): Array<{ disk: z.infer<typeof DiskSchema>; where: string; attach: boolean }> {
  const d = s.domains[k]!;
  return [
    ...d.disks.map((disk, j) => ({ disk, where: `domains.${k}.disks.${j}`, attach: false })),
    ...(s.actions ?? []).flatMap((a, i) => (a.do === 'block-attach' && a.domain === d.name && a.disk !== undefined ? [{ disk: a.disk, where: `actions.${i}.disk`, attach: true }] : [])),
  ];
}

/**
 * With a guest dom0 its kernel is every device's backend (xenrr runs no
 * blkback, netback or switch of its own): disks name dom0 block devices,
 * and xenrr's switch (`bridges`) and fault injection (`chaos`) do not
 * exist. Without one, a disk is an image file served by xenrr's blkback.
 */
function checkDom0Devices(s: Parsed, file: string, guestDom0: boolean): void {
  if (guestDom0 && s.bridges !== undefined) throw new ScenarioError(`${file}: bridges: xenrr's virtual switch serves xenrr's own netback; with a guest dom0 its kernel's netback serves the vifs`);
  if (guestDom0 && s.chaos !== undefined) throw new ScenarioError(`${file}: chaos: fault injection is in xenrr's own backends; with a guest dom0 its kernel's backends serve the devices`);
  s.domains.forEach((_, k) => {
    for (const { disk, where } of domainDisks(s, k)) {
      const dev = dom0BlockDevice(disk.target) !== null;
      if (guestDom0 && !dev) throw new ScenarioError(`${file}: ${where}.target: with a guest dom0 a disk is one of dom0's block devices, /dev/loopN or /dev/ramN (dom0's kernel blkback serves it)`);
      if (!guestDom0 && disk.target.startsWith('/dev/')) throw new ScenarioError(`${file}: ${where}.target: ${disk.target} is a dom0 block device: the scenario needs a Linux dom0 ("dom0": true) to serve it`);
    }
  });
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
