#!/usr/bin/env node
// Fetches the Debian kernels the scenarios name into build/kernels/ (never
// committed): every `kernel` under build/kernels/ in corpus/scenarios/**.json,
// vmlinuz-<version>, comes from the package linux-image-<version>, which
// `apt-get download` fetches and `dpkg-deb -x` unpacks; boot/vmlinuz-<version>
// and boot/config-<version> are kept, and so are the modules the driver
// scenarios load (corpus/linux/modules.mjs: WANTED_MODULES for the domU,
// DOM0_MODULES for a dom0 serving it, and their dependencies) in
// modules-<version>/, with modules.load and modules-dom0.load giving each
// list's load order and modules.wanted the lists they were kept for. The
// rest is thrown away.
//
// Idempotent: a kernel whose modules-<version>/ holds what both lists ask
// for is left alone; one without them (fetched before modules were kept, or
// kept for other lists) gets them from the package again. If apt does not
// know a package yet, its lists are updated once (`apt-get update`).
// Usage: node corpus/kernels.mjs [--quiet]

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOM0_LOAD_LIST, DOM0_MODULES, LOAD_LIST, WANTED_MODULES, dependsOf, loadOrder, moduleName } from './linux/modules.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'build', 'kernels');
const quiet = process.argv.includes('--quiet');
const say = (s) => quiet || process.stdout.write(`${s}\n`);

/** Kernel versions the scenarios name, from paths build/kernels/vmlinuz-<version>. */
function wantedVersions() {
  const versions = new Set();
  const walk = (dir) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.json')) {
        const s = JSON.parse(readFileSync(p, 'utf8'));
        for (const d of s.domains ?? []) {
          const k = resolve(dirname(p), d.kernel ?? '');
          const m = /^vmlinuz-(.+)$/.exec(basename(k));
          if (dirname(k) === OUT && m) versions.add(m[1]);
        }
      }
    }
  };
  walk(join(ROOT, 'corpus', 'scenarios'));
  return [...versions].sort();
}

let updated = false;
function download(pkg, dir) {
  for (;;) {
    try {
      execFileSync('apt-get', ['download', pkg], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      return readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
    } catch (e) {
      const err = String(e.stderr ?? e.message);
      if (updated || !/Unable to locate package|Can't select candidate|No packages found/i.test(err)) throw new Error(`apt-get download ${pkg} failed: ${err.trim().split('\n').pop()}`);
      say('updating the apt package lists...');
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
      updated = true;
    }
  }
}

/** Each kept list: the modules asked for and the file giving their load order. */
const LISTS = [
  { wanted: WANTED_MODULES, file: LOAD_LIST },
  { wanted: DOM0_MODULES, file: DOM0_LOAD_LIST },
];
/** modules.wanted: one line per list, `<load-order file>: <modules asked for>`; another text means other lists. */
const WANTED_TEXT = LISTS.map((l) => `${l.file}: ${l.wanted.join(' ')}\n`).join('');

/** True when modules-<version>/ was kept for LISTS and holds every module their load-order files name. */
function modulesPresent(dir) {
  try {
    if (readFileSync(join(dir, 'modules.wanted'), 'utf8') !== WANTED_TEXT) return false;
    return LISTS.every((l) => readFileSync(join(dir, l.file), 'utf8').split('\n').filter(Boolean).every((f) => existsSync(join(dir, f))));
  } catch {
    return false;
  }
}

/** Every .ko under `dir`, by module name. */
function moduleFiles(dir) {
  const files = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.ko')) files.set(moduleName(e.name), join(d, e.name));
    }
  };
  walk(dir);
  return files;
}

/** Each list's modules from the unpacked package `root` into `dest` (a fresh directory), with its load-order file; what each kept, by file. */
function keepModules(root, version, dest) {
  const lib = join(root, 'lib', 'modules', version);
  if (!existsSync(lib)) throw new Error(`the package has no lib/modules/${version}`);
  const files = moduleFiles(lib);
  mkdirSync(dest);
  const kept = [];
  for (const l of LISTS) {
    const order = loadOrder(l.wanted, files, dependsOf);
    for (const p of order) copyFileSync(p, join(dest, basename(p)));
    writeFileSync(join(dest, l.file), `${order.map((p) => basename(p)).join('\n')}\n`);
    kept.push(`${l.file}: ${order.map((p) => basename(p, '.ko')).join(' ')}`);
  }
  writeFileSync(join(dest, 'modules.wanted'), WANTED_TEXT);
  return kept;
}

mkdirSync(OUT, { recursive: true });
let failed = false;
for (const version of wantedVersions()) {
  const target = join(OUT, `vmlinuz-${version}`);
  const modules = join(OUT, `modules-${version}`);
  const haveKernel = existsSync(target);
  if (haveKernel && modulesPresent(modules)) {
    say(`${basename(target)}: present, with ${basename(modules)}/`);
    continue;
  }
  const pkg = `linux-image-${version}`;
  const tmp = mkdtempSync(join(OUT, '.fetch-'));
  try {
    say(`${pkg}: downloading`);
    const deb = download(pkg, tmp);
    execFileSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'x')]);
    const config = join(tmp, 'x', 'boot', `config-${version}`);
    if (existsSync(config)) copyFileSync(config, join(OUT, `config-${version}`));
    // Each renamed into place last: an interrupted fetch leaves no partial kernel or module set behind.
    const kept = keepModules(join(tmp, 'x'), version, join(tmp, 'modules'));
    rmSync(modules, { recursive: true, force: true });
    renameSync(join(tmp, 'modules'), modules);
    say(`${basename(modules)}/ from ${deb}, in load order: ${kept.join('; ')}`);
    if (!haveKernel) {
      renameSync(join(tmp, 'x', 'boot', `vmlinuz-${version}`), target);
      say(`${basename(target)}: from ${deb}`);
    }
  } catch (e) {
    process.stderr.write(`kernels: ${e.message}\n`);
    failed = true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
