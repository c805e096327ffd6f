#!/usr/bin/env node
// Fetches the Debian kernels the scenarios name into build/kernels/ (never
// committed): every `kernel` under build/kernels/ in corpus/scenarios/**.json,
// vmlinuz-<version>, comes from the package linux-image-<version>, which
// `apt-get download` fetches and `dpkg-deb -x` unpacks; boot/vmlinuz-<version>
// and boot/config-<version> are kept, the rest is thrown away.
//
// Idempotent: a kernel already in build/kernels/ is left alone. If apt does
// not know a package yet, its lists are updated once (`apt-get update`).
// Usage: node corpus/kernels.mjs [--quiet]

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

mkdirSync(OUT, { recursive: true });
let failed = false;
for (const version of wantedVersions()) {
  const target = join(OUT, `vmlinuz-${version}`);
  if (existsSync(target)) {
    say(`${basename(target)}: present`);
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
    // Renamed into place last: an interrupted fetch leaves no kernel behind.
    renameSync(join(tmp, 'x', 'boot', `vmlinuz-${version}`), target);
    say(`${basename(target)}: from ${deb}`);
  } catch (e) {
    process.stderr.write(`kernels: ${e.message}\n`);
    failed = true;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
process.exit(failed ? 1 : 0);
