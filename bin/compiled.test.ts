/**
 * bin/xenrr runs the compiled bundle in dist/ (bin/compile.mjs), never stale
 * code: checked on a copy of the sources (so that editing them is safe),
 * which compiles on first use, not again while nothing changed, once for
 * starts that race, and again after an edit, whose effect then shows.
 * `--version` compiles nothing. A source that does not compile is an error,
 * not a run of the old bundle.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const COPY = mkdtempSync(join(tmpdir(), 'xenrr-compiled-'));
for (const f of ['bin', 'sim', 'trace', 'replay', 'tui', 'package.json', 'package-lock.json', 'tsconfig.json']) {
  cpSync(`${ROOT}${f}`, `${COPY}/${f}`, { recursive: true, filter: (src) => !src.endsWith('.test.ts') && !src.endsWith('.test.tsx') });
}
symlinkSync(`${ROOT}node_modules`, `${COPY}/node_modules`);
afterAll(() => rmSync(COPY, { recursive: true, force: true }));

type Run = { status: number | null; stdout: string; stderr: string };
const BIN = `${COPY}/bin/xenrr`;
const xenrr = (...args: string[]): Run => spawnSync(BIN, args, { cwd: tmpdir(), encoding: 'utf8' });
const xenrrAsync = (...args: string[]): Promise<Run> =>
  new Promise((resolve) => {
    const p = spawn(BIN, args, { cwd: tmpdir() });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
const EXPORT = `${COPY}/replay/cli/export.ts`;
const original = readFileSync(EXPORT, 'utf8');

describe('bin/xenrr and dist/', () => {
  it('--version answers from package.json without compiling anything', () => {
    const r = xenrr('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${(JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string }).version}\n`);
    expect(existsSync(`${COPY}/dist`)).toBe(false);
  });

  it('compiles on first use and not again while the sources are unchanged', () => {
    const first = xenrr('--help');
    expect(first.status).toBe(0);
    expect(first.stderr).toBe('xenrr: compiling to dist/ (dist/ holds no complete build)\n');
    expect(first.stdout).toContain('export [options] <trace>');
    expect(existsSync(`${COPY}/dist/main.js`)).toBe(true);
    const again = xenrr('--help');
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(first.stdout);
  });

  it('runs an edited source at once, compiled once by one of several racing starts', async () => {
    writeFileSync(EXPORT, original.replace("'export a trace for other tools", "'EDITED: export a trace for other tools"));
    const runs = await Promise.all([1, 2, 3].map(() => xenrrAsync('--help')));
    for (const r of runs) {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('EDITED: export a trace');
    }
    expect(runs.map((r) => r.stderr).join('')).toBe('xenrr: compiling to dist/ (replay/cli/export.ts changed)\n');
    expect(existsSync(`${COPY}/dist/.lock`)).toBe(false);
  });

  it('refuses to run when a source does not compile, and recovers when it does', () => {
    writeFileSync(EXPORT, `${original}\nexport const = ;\n`);
    const bad = xenrr('--help');
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n').at(-1)).toMatch(/^xenrr: cannot compile the sources to dist\/: Build failed with 1 error/);
    expect(xenrr('--help').status).toBe(1); // no run of the previous bundle either
    writeFileSync(EXPORT, original);
    const good = xenrr('--help');
    expect(good.status).toBe(0);
    expect(good.stdout).toContain('export a trace for other tools');
    expect(good.stdout).not.toContain('EDITED');
  });
});
