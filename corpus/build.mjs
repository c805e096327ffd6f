#!/usr/bin/env node
// Builds the xenrr guest corpus into build/corpus/.
//
// For each compute guest <name>:
//   build/corpus/<name>.elf       flat-harness image (static ELF64 at 0x100000)
//   build/corpus/<name>.native    host executable built from the same sources
//   build/corpus/<name>.expected  stdout of <name>.native (must exit 0)
//
// For each Xen PV guest kernel <name>:
//   build/corpus/pv/<name>.elf    PV64 kernel (corpus/pv/<name>.c + the runtime)
//
// Variants of PV kernels, the same source with extra -D switches:
//   build/corpus/pv/bugs/<name>-good.elf, <name>-bad.elf   a planted bug off / on
//   build/corpus/pv/bisect/<name>-v<n>.elf                 a bisect sequence, -DVERSION=n
//
// For Linux PV guests (kernels themselves come from Debian: npm run kernels):
//   build/corpus/linux/init                 our static /init (corpus/linux/init.c)
//   build/corpus/linux/initramfs.cpio.gz    it, with /dev/console, as an initramfs
//   build/corpus/linux/initramfs-drivers-<version>.cpio.gz
//                                           the same plus the kernel modules
//                                           `npm run kernels` kept in
//                                           build/kernels/modules-<version>/
//                                           (skipped, saying so, until they are there)
//   build/corpus/linux/initramfs-dom0-<version>.cpio.gz
//                                           the same init with the dom0 modules
//                                           (modules-dom0.load) and disks/ext4.img
//
// Disk images for the block-device scenarios (corpus/disks.mjs):
//   build/corpus/disks/<name>.img          a pattern every reader can check,
//                                          or an ext4 filesystem (mke2fs)
//
// And each compute guest <name> again as a Xen PV kernel:
//   build/corpus/pv/compute-<name>.elf  the guest's sources + corpus/compute/rt.c, rt-float.c
//                                 built with -DXENRR_PV + the adapter
//                                 corpus/pv/compute-main.c + the PV runtime;
//                                 its console output equals <name>.expected
//
// Incremental: a target is rebuilt only when it is missing or older than one
// of its inputs (including this script). Usage:
//   node corpus/build.mjs [--quiet] [--force]
// The C compiler is $CC, or gcc.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDiskImage, writeExt4Image } from './disks.mjs';
import { INIT_CFLAGS, INIT_DEPS, INIT_SOURCES, dom0InitramfsEntries, driversInitramfsEntries, initramfsEntries, moduleList, writeInitramfs } from './linux/initramfs.mjs';
import { DOM0_LOAD_LIST, LOAD_LIST } from './linux/modules.mjs';

// ---- configuration ----------------------------------------------------------

// Compute guests: each is <name>.c in corpus/compute/ defining guest_main(),
// plus any extra sources listed in `extra`. Add new guests here. `simd`: the
// guest's own sources are compiled with SSE allowed (everything else, the
// runtimes included, keeps -mgeneral-regs-only: event and trap handlers must
// not touch the XMM registers of the code they interrupt). `cflags`: extra
// flags for the guest's own sources, in every build (flat, native, PV).
const COMPUTE_GUESTS = [
  { name: 'sort' },
  { name: 'crc32' },
  { name: 'sha256' },
  { name: 'bignum' },
  { name: 'format' },
  { name: 'simd', simd: true },
  { name: 'matmul', simd: true },
  // -fno-math-errno: sqrt and lrint are the instructions (no libm to call)
  { name: 'fpconv', simd: true, extra: ['fpspecial.c'], cflags: ['-fno-math-errno'] },
];

// Xen PV guest kernels: each is <name>.c in corpus/pv/ defining kmain(),
// plus any `extra` sources, linked with the PV runtime below. Add new
// kernels here.
const PV_GUESTS = [
  { name: 'hello' },
  { name: 'timer' },
  { name: 'pingpong' },
  { name: 'gntcopy' },
  { name: 'fault' },
  { name: 'crash' },
  { name: 'ringpair', deps: ['include/ring.h'] },
  { name: 'idle' },
  { name: 'coldhot' },
  { name: 'blkfront', extra: ['blkfront-io.c'], deps: ['include/ring.h', 'include/blkif.h', 'include/xenbus.h', 'blkfront.h'] },
  { name: 'netfront', extra: ['netfront-dev.c', 'netfront-ip.c'], deps: ['include/ring.h', 'include/netif.h', 'include/xenbus.h', 'netfront.h'] },
];

// Disk images (build/corpus/disks/<name>), sizes in MiB: the pattern, or
// `ext4` (corpus/disks.mjs ext4Files, for Linux's xvda in linux/drivers.json).
const DISK_IMAGES = [
  { name: 'blkfront.img', mib: 8 },
  { name: 'ext4.img', mib: 32, ext4: true },
];

// Kernel versions whose modules go into a drivers initramfs and a dom0 one.
const DRIVER_KERNELS = ['6.1.0-57-amd64'];
// The disk image (in DISK_IMAGES) the dom0 initramfs carries for its loop device.
const DOM0_DISK_IMAGE = 'ext4.img';

// Planted bugs: each is built twice from corpus/pv/<source>.c, good (as is)
// and bad (-D<define>), into build/corpus/pv/bugs/<name>-{good,bad}.elf. The
// two images differ only in the function `fn` (corpus/pv/bugs.test.ts checks).
const PV_BUG_VARIANTS = [
  { name: 'lostwakeup', source: 'ringpair', define: 'RINGPAIR_BUG_LOST_WAKEUP', fn: 'front_push_requests' },
  { name: 'masked', source: 'ringpair', define: 'RINGPAIR_BUG_MASKED_PORT', fn: 'back_bind_port' },
  { name: 'offbyone', source: 'ringpair', define: 'RINGPAIR_BUG_RSP_OFF_BY_ONE', fn: 'back_push_responses' },
  { name: 'finalcheck', source: 'ringpair', define: 'RINGPAIR_BUG_NO_FINAL_CHECK', fn: 'back_requests_ready' },
  { name: 'grantleak', source: 'ringpair', define: 'RINGPAIR_BUG_GRANT_LEAK', fn: 'front_end_grants' },
  { name: 'mapleak', source: 'ringpair', define: 'RINGPAIR_BUG_MAP_LEAK', fn: 'back_disconnect' },
  { name: 'xenbus', source: 'ringpair', define: 'RINGPAIR_BUG_XENBUS_SKIP', fn: 'back_announce' },
];

// Bisect sequences: corpus/pv/<source>.c built with -DVERSION=1..versions into
// build/corpus/pv/bisect/<name>-v<n>.elf (see corpus/scenarios/bisect/README.md).
const PV_BISECT_SEQUENCES = [{ name: 'ringpair', source: 'ringpair', versions: 8 }];

const SELF = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(SELF), '..');
const COMPUTE = join(ROOT, 'corpus', 'compute');
const PV = join(ROOT, 'corpus', 'pv');
const OUT = join(ROOT, 'build', 'corpus');
const PV_OUT = join(OUT, 'pv');
const CC = process.env.CC || 'gcc';

const WARN = ['-Wall', '-Wextra'];

// Freestanding code for our own little kernels: no libc, no SSE, no red zone
// (interrupts and upcalls land on the kernel stack), static at a fixed address.
const FREESTANDING = [
  '-ffreestanding',
  '-nostdlib',
  '-static',
  '-mgeneral-regs-only',
  '-mno-red-zone',
  '-fno-pic',
  '-fno-pie',
  '-no-pie',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-fcf-protection=none',
  '-Wl,--build-id=none',
];

const FLAT_CFLAGS = ['-O2', ...FREESTANDING, '-DXENRR_FLAT'];

/** The same flags with SSE allowed (for a `simd` guest's own sources). */
const withSse = (flags) => flags.filter((f) => f !== '-mgeneral-regs-only');

const NATIVE_CFLAGS = ['-O2'];

const PV_CFLAGS = [
  '-O2',
  // Frame pointers let Xen-side stack walks (hypercall events' `stack`) name
  // every function on the way to a hypercall, as a kernel built with
  // CONFIG_FRAME_POINTER gives gdb and perf.
  '-fno-omit-frame-pointer',
  // DWARF for gdb (xenrr gdbserver): line numbers, variables and the call
  // frame information its backtrace needs; -O2 schedules prologues, which
  // defeats gdb's guess without it. Not loaded: the guest's bytes are the same.
  '-g',
  ...FREESTANDING,
  '-mcmodel=small',
];

// Runtime shared by every compute guest, and the files every build depends on.
const COMMON_FLAT_SOURCES = ['entry.S', 'rt.c', 'rt-float.c'];
const COMMON_NATIVE_SOURCES = ['native-main.c', 'rt.c', 'rt-float.c'];
const COMMON_DEPS = ['rt.h', 'flat.ld'];

// PV runtime linked into every PV kernel, and the files every PV build depends on.
const PV_RUNTIME_SOURCES = [
  'head.S',
  'entry.S',
  'setup.c',
  'console.c',
  'traps.c',
  'events.c',
  'time.c',
  'xenstore.c',
  'gnttab.c',
  'lib.c',
];
const PV_DEPS = ['include/xen-abi.h', 'include/hypercall.h', 'include/rt.h', 'kernel.ld'];

// PV flavour of the compute guests: adapter (in corpus/pv) and compute runtime
// (in corpus/compute) linked around each guest's sources.
const PV_COMPUTE_ADAPTER = 'compute-main.c';
// Same code generation as the bare builds (no frame pointers), so a PV run
// does exactly the bare run's work plus boot and console.
const PV_COMPUTE_CFLAGS = ['-DXENRR_PV', '-fomit-frame-pointer'];

const NATIVE_TIMEOUT_MS = 30_000;

// ---- helpers ------------------------------------------------------------------

const args = new Set(process.argv.slice(2));
for (const a of args) {
  if (a !== '--quiet' && a !== '--force') {
    console.error(`build.mjs: unknown argument ${a} (expected --quiet or --force)`);
    process.exit(2);
  }
}
const quiet = args.has('--quiet');
const force = args.has('--force');

class BuildError extends Error {}

function rel(p) {
  return relative(process.cwd(), p) || p;
}

function mtimeOrNull(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** True when every output exists and is newer than every input (and than this script: its flags are inputs too). */
function upToDate(outputs, inputs) {
  if (force) return false;
  inputs = [...inputs, fileURLToPath(import.meta.url)];
  let oldestOut = Infinity;
  for (const o of outputs) {
    const t = mtimeOrNull(o);
    if (t === null) return false;
    oldestOut = Math.min(oldestOut, t);
  }
  for (const i of inputs) {
    const t = mtimeOrNull(i);
    if (t === null) throw new BuildError(`missing input ${rel(i)}`);
    if (t > oldestOut) return false;
  }
  return true;
}

function shellQuote(s) {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function commandLine(cmd, argv) {
  return [cmd, ...argv].map((a) => shellQuote(a.startsWith(ROOT + '/') ? rel(a) : a)).join(' ');
}

/** Runs a command; resolves with {stdout, stderr, code}. */
function run(cmd, argv, { timeoutMs } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      const why = e.code === 'ENOENT' ? `${cmd} not found` : e.message;
      const err = new BuildError(`cannot run ${commandLine(cmd, argv)}: ${why}`);
      err.why = why;
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolvePromise({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8'),
        code: timedOut ? `timeout after ${timeoutMs} ms` : signal ? `signal ${signal}` : code,
      });
    });
  });
}

/** A temporary name next to `path`, unique to this process. */
function tmpName(path) {
  return `${path}.tmp-${process.pid}`;
}

/**
 * Compiles to `output` via a temporary file renamed into place, so that
 * concurrent builds (e.g. several test workers) never see a partial file.
 * On failure shows the compiler's diagnostics and throws.
 */
async function compile(argv, output) {
  const tmp = tmpName(output);
  const shown = commandLine(CC, [...argv, '-o', output]);
  let res;
  try {
    res = await run(CC, [...argv, '-o', tmp]);
  } catch (e) {
    throw new BuildError(`cannot run ${shown}: ${e.why ?? e.message}`);
  }
  if (res.code !== 0) {
    rmSync(tmp, { force: true });
    if (res.stderr) process.stderr.write(res.stderr);
    throw new BuildError(`command failed (exit ${res.code}): ${shown}`);
  }
  if (res.stderr && !quiet) process.stderr.write(res.stderr);
  renameSync(tmp, output);
}

function note(msg) {
  if (!quiet) console.log(msg);
}

// ---- build steps ----------------------------------------------------------------

async function buildCompute(guest) {
  const src = (f) => join(COMPUTE, f);
  const guestSources = [`${guest.name}.c`, ...(guest.extra ?? [])].map(src);
  const deps = [...COMMON_DEPS.map(src), SELF];
  const elf = join(OUT, `${guest.name}.elf`);
  const native = join(OUT, `${guest.name}.native`);
  const expected = join(OUT, `${guest.name}.expected`);

  const flatSources = [...COMMON_FLAT_SOURCES.map(src), ...guestSources];
  const nativeSources = [...COMMON_NATIVE_SOURCES.map(src), ...guestSources];

  const flatStep = upToDate([elf], [...flatSources, ...deps])
    ? Promise.resolve()
    : (async () => {
        // A simd guest's own sources become SSE-enabled objects linked with the general-registers runtime.
        const own = guest.cflags ?? [];
        const objs = guest.simd ? await sseObjects(guestSources, [...FLAT_CFLAGS, ...own, ...WARN], join(OUT, 'obj', `${guest.name}.flat`)) : guestSources;
        const common = COMMON_FLAT_SOURCES.map(src);
        await compile([...FLAT_CFLAGS, ...(guest.simd ? [] : own), ...WARN, '-T', src('flat.ld'), ...common, ...objs], elf);
        note(`built ${rel(elf)}`);
      })();

  const nativeStep = (async () => {
    if (!upToDate([native], [...nativeSources, ...deps])) {
      await compile([...NATIVE_CFLAGS, ...(guest.cflags ?? []), ...WARN, ...nativeSources], native);
      note(`built ${rel(native)}`);
    }
    if (upToDate([expected], [native])) return;
    const res = await run(native, [], { timeoutMs: NATIVE_TIMEOUT_MS });
    if (res.code !== 0) {
      if (res.stderr) process.stderr.write(res.stderr);
      const tail = res.stdout.toString('utf8').split('\n').filter((l) => l.startsWith('FAIL'));
      for (const l of tail.slice(0, 10)) process.stderr.write(`${l}\n`);
      rmSync(expected, { force: true });
      throw new BuildError(`command failed (exit ${res.code}): ${rel(native)}`);
    }
    if (res.stdout.length === 0) throw new BuildError(`${rel(native)} printed nothing`);
    const tmp = tmpName(expected);
    writeFileSync(tmp, res.stdout);
    renameSync(tmp, expected);
    note(`built ${rel(expected)}`);
  })();

  // Let both steps finish (no compiler left running) before reporting a failure.
  const results = await Promise.allSettled([flatStep, nativeStep]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

/** Compile `sources` to objects under `dir` with `flags` minus -mgeneral-regs-only; their paths. */
async function sseObjects(sources, flags, dir) {
  mkdirSync(dir, { recursive: true });
  return Promise.all(
    sources.map(async (s) => {
      const obj = join(dir, `${s.split('/').pop().replace(/\.[cS]$/, '')}.o`);
      await compile([...withSse(flags), '-c', s], obj);
      return obj;
    }),
  );
}

// A PV kernel to build: its sources, extra dependencies and extra flags on top
// of the PV runtime. pvKernel: a corpus/pv kernel; pvComputeKernel: a compute
// guest's PV flavour, compute-<name>.

function pvKernel(guest) {
  return {
    name: guest.name,
    sources: [join(PV, `${guest.name}.c`), ...(guest.extra ?? []).map((f) => join(PV, f))],
    deps: (guest.deps ?? []).map((f) => join(PV, f)),
    cflags: [],
  };
}

/** A PV_GUESTS kernel built as `name` (a path under build/corpus/pv) with extra -D switches. */
function pvVariant(source, name, defines) {
  const guest = PV_GUESTS.find((g) => g.name === source);
  if (guest === undefined) throw new BuildError(`variant ${name}: ${source} is not in PV_GUESTS`);
  return { ...pvKernel(guest), name, cflags: defines.map((d) => `-D${d}`) };
}

function pvVariantKernels() {
  const out = [];
  for (const v of PV_BUG_VARIANTS) {
    out.push(pvVariant(v.source, `bugs/${v.name}-good`, []));
    out.push(pvVariant(v.source, `bugs/${v.name}-bad`, [v.define]));
  }
  for (const b of PV_BISECT_SEQUENCES)
    for (let n = 1; n <= b.versions; n++) out.push(pvVariant(b.source, `bisect/${b.name}-v${n}`, [`VERSION=${n}`]));
  return out;
}

function pvComputeKernel(guest) {
  const src = (f) => join(COMPUTE, f);
  const own = [`${guest.name}.c`, ...(guest.extra ?? [])].map(src);
  return {
    name: `compute-${guest.name}`,
    sources: [join(PV, PV_COMPUTE_ADAPTER), src('rt.c'), src('rt-float.c'), ...(guest.simd ? [] : own)],
    sseSources: guest.simd ? own : [],
    deps: [src('rt.h')],
    cflags: [...PV_COMPUTE_CFLAGS, ...(guest.cflags ?? [])],
  };
}

async function buildPv(kernel) {
  const src = (f) => join(PV, f);
  const sources = [...PV_RUNTIME_SOURCES.map(src), ...kernel.sources];
  const sse = kernel.sseSources ?? [];
  const deps = [...PV_DEPS.map(src), ...kernel.deps, SELF];
  const elf = join(PV_OUT, `${kernel.name}.elf`);
  if (upToDate([elf], [...sources, ...sse, ...deps])) return;
  mkdirSync(dirname(elf), { recursive: true });
  const flags = [...PV_CFLAGS, ...kernel.cflags, ...WARN, '-I', src('include')];
  const objs = sse.length > 0 ? await sseObjects(sse, flags, join(OUT, 'obj', `${kernel.name}.pv`)) : [];
  await compile([...flags, '-T', src('kernel.ld'), ...sources, ...objs], elf);
  note(`built ${rel(elf)}`);
}

async function buildDisk(disk) {
  const out = join(OUT, 'disks', disk.name);
  if (upToDate([out], [join(ROOT, 'corpus', 'disks.mjs')])) return;
  mkdirSync(dirname(out), { recursive: true });
  try {
    (disk.ext4 ? writeExt4Image : writeDiskImage)(out, disk.mib);
  } catch (e) {
    throw new BuildError(`${rel(out)}: ${e.message}`);
  }
  note(`built ${rel(out)}`);
}

const LINUX = join(ROOT, 'corpus', 'linux');
const INIT = join(OUT, 'linux', 'init');
const INITRAMFS_INPUTS = [join(LINUX, 'initramfs.mjs'), join(LINUX, 'cpio.mjs'), join(LINUX, 'modules.mjs'), SELF];

/** Our /init, then the plain initramfs, then the drivers and dom0 ones (each needs init; dom0's needs the disks built). */
async function buildInitramfs() {
  const sources = INIT_SOURCES.map((f) => join(LINUX, f));
  if (!upToDate([INIT], [...sources, ...INIT_DEPS.map((f) => join(LINUX, f)), SELF])) {
    mkdirSync(dirname(INIT), { recursive: true });
    await compile([...INIT_CFLAGS, ...sources], INIT);
    note(`built ${rel(INIT)}`);
  }
  const cpio = join(OUT, 'linux', 'initramfs.cpio.gz');
  if (!upToDate([cpio], [INIT, ...INITRAMFS_INPUTS])) {
    writeInitramfs(cpio, initramfsEntries(readFileSync(INIT)));
    note(`built ${rel(cpio)}`);
  }
  for (const v of DRIVER_KERNELS) {
    buildModulesInitramfs(v, 'drivers', LOAD_LIST, [], (init, modules) => driversInitramfsEntries(init, modules));
    const disk = join(OUT, 'disks', DOM0_DISK_IMAGE);
    buildModulesInitramfs(v, 'dom0', DOM0_LOAD_LIST, [disk], (init, modules) => dom0InitramfsEntries(init, modules, disk));
  }
}

/**
 * initramfs-<kind>-<version>.cpio.gz from `entries(init, modulesDir)`, once
 * `npm run kernels` has kept the modules its load-order file `list` names;
 * until then it says what is missing. `inputs`: other files it holds.
 */
function buildModulesInitramfs(version, kind, list, inputs, entries) {
  const modules = join(ROOT, 'build', 'kernels', `modules-${version}`);
  const cpio = join(OUT, 'linux', `initramfs-${kind}-${version}.cpio.gz`);
  let files;
  try {
    files = [join(modules, list), ...moduleList(modules, list).map((m) => join(modules, m))];
  } catch {
    console.log(`build.mjs: skipping ${rel(cpio)}: no kernel modules in ${rel(modules)}/ (run \`npm run kernels\`)`);
    return;
  }
  if (upToDate([cpio], [INIT, ...INITRAMFS_INPUTS, ...files, ...inputs])) return;
  writeInitramfs(cpio, entries(readFileSync(INIT), modules));
  note(`built ${rel(cpio)}`);
}

/** Runs tasks with at most `limit` in flight; rejects with the first failure. */
async function runLimited(tasks, limit) {
  const queue = [...tasks];
  let firstError = null;
  async function worker() {
    while (queue.length > 0 && firstError === null) {
      const task = queue.shift();
      try {
        await task();
      } catch (e) {
        firstError ??= e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (firstError !== null) throw firstError;
}

async function main() {
  if (!existsSync(PV_OUT)) mkdirSync(PV_OUT, { recursive: true });
  const tasks = [
    ...COMPUTE_GUESTS.map((g) => () => buildCompute(g)),
    ...PV_GUESTS.map((g) => () => buildPv(pvKernel(g))),
    ...pvVariantKernels().map((k) => () => buildPv(k)),
    ...COMPUTE_GUESTS.map((g) => () => buildPv(pvComputeKernel(g))),
    // Disks first: the dom0 initramfs carries one.
    async () => {
      for (const d of DISK_IMAGES) await buildDisk(d);
      await buildInitramfs();
    },
  ];
  await runLimited(tasks, Math.min(availableParallelism(), 8));
}

main().catch((e) => {
  if (e instanceof BuildError) {
    console.error(`build.mjs: ${e.message}`);
  } else {
    console.error(`build.mjs: internal error: ${e?.stack ?? e}`);
  }
  process.exit(1);
});
