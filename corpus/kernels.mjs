#!/usr/bin/env node
// Fetches the Debian kernels the scenarios name into build/kernels/ (never
// committed): every `kernel` under build/kernels/ in corpus/scenarios/**.json,
// vmlinuz-<version>, comes from the package linux-image-<version>, which
// `apt-get download` fetches and `dpkg-deb -x` unpacks; boot/vmlinuz-<version>
// and boot/config-<version> are kept, and so are the modules the driver
// scenarios load (corpus/linux/modules.mjs: WANTED_MODULES and their
// dependencies) in modules-<version>/, with modules.load giving their load
// order and modules.wanted the list they were kept for. The rest is thrown
// away.
//
// Idempotent: a kernel whose modules-<version>/ holds what WANTED_MODULES
// asks for is left alone; one without them (fetched before modules were
// kept, or kept for another list) gets them from the package again. If apt
// does not know a package yet, its lists are updated once (`apt-get update`).
// Usage: node corpus/kernels.mjs [--quiet]

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOAD_LIST, WANTED_MODULES, dependsOf, loadOrder, moduleName } from './linux/modules.mjs';

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

const WANTED_TEXT = `${WANTED_MODULES.join('\n')}\n`;

/** True when modules-<version>/ holds every module its modules.load names, kept for WANTED_MODULES. */
function modulesPresent(dir) {
  try {
    if (readFileSync(join(dir, 'modules.wanted'), 'utf8') !== WANTED_TEXT) return false;
    return readFileSync(join(dir, LOAD_LIST), 'utf8').split('\n').filter(Boolean).every((f) => existsSync(join(dir, f)));
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

/** The wanted modules from the unpacked package `root` into `dest` (a fresh directory), with modules.load. */
function keepModules(root, version, dest) {
  const lib = join(root, 'lib', 'modules', version);
  if (!existsSync(lib)) throw new Error(`the package has no lib/modules/${version}`);
  const order = loadOrder(WANTED_MODULES, moduleFiles(lib), dependsOf);
  mkdirSync(dest);
  for (const p of order) copyFileSync(p, join(dest, basename(p)));
  writeFileSync(join(dest, LOAD_LIST), `${order.map((p) => basename(p)).join('\n')}\n`);
  writeFileSync(join(dest, 'modules.wanted'), WANTED_TEXT);
  return order.map((p) => basename(p, '.ko'));
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
    say(`${basename(modules)}/: ${kept.join(' ')} (in load order) from ${deb}`);
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
