/**
 * Each command loads only what it needs (bin/main.ts, replay/cli/*): the
 * real bin/xenrr runs under a module hook that names every file it loads,
 * and each bundle file's source map says which sources it holds. `--help`
 * loads no simulator, no trace reader, no zod, protobufjs, React or Ink;
 * the trace commands (check --protocol on a trace among them) no simulator
 * (only the scenario schema, with zod: a trace's images are also looked
 * for beside the corpus scenario it names, found by parsing them); `run` no
 * trace reader and no React.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initZstd } from '../trace/zstd.js';
import { writeSynthetic } from '../tui/test-trace.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/command-imports-test/`;
const HOOKS = `data:text/javascript,${encodeURIComponent("export async function load(url, context, next) { if (url.startsWith('file:')) process._rawDebug(`LOADED ${url}`); return next(url, context); }")}`;
const REGISTER = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(HOOKS)});`)}`;

/** The sources (paths as the source maps give them, node_modules included) of every bundle file the command loads. */
function sourcesLoaded(...args: string[]): string[] {
  const r = spawnSync(process.execPath, ['--import', REGISTER, `${ROOT}bin/xenrr`, ...args], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const files = [...r.stderr.matchAll(/^LOADED (file:\S+)$/gm)].map((m) => fileURLToPath(m[1]!)).filter((f) => f.startsWith(`${ROOT}dist/`));
  expect(files).toContain(`${ROOT}dist/main.js`);
  return files.flatMap((f) => (JSON.parse(readFileSync(`${f}.map`, 'utf8')) as { sources: string[] }).sources.map((s) => resolve(dirname(f), s)));
}

const ours = (sources: string[], folder: string): string[] => sources.filter((s) => s.startsWith(`${ROOT}${folder}`));
const pkg = (sources: string[], name: string): string[] => sources.filter((s) => s.includes(`/node_modules/${name}/`));

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  writeSynthetic(`${DIR}small.xrr`, 100);
});

describe('what each command loads', () => {
  it('--help: the command definitions and commander, nothing they run', () => {
    const s = sourcesLoaded('--help');
    expect(pkg(s, 'commander')).not.toEqual([]);
    const cli = ours(s, 'replay/cli/').map((f) => f.slice(`${ROOT}replay/cli/`.length)).sort();
    expect(cli).toEqual(['check.ts', 'diff.ts', 'errors.ts', 'export.ts', 'gdbserver.ts', 'inputs.ts', 'replay-cmd.ts', 'run.ts', 'symbols-cmd.ts', 'trace-cmds.ts']);
    for (const heavy of ['zod', 'protobufjs', 'react', 'ink', 'yoga-layout']) expect(pkg(s, heavy)).toEqual([]);
    expect(ours(s, 'sim/cpu/')).toEqual([]);
    expect(ours(s, 'trace/')).toEqual([]);
    expect(ours(s, 'tui/').map((f) => f.slice(ROOT.length))).toEqual(['tui/cli.tsx']);
  });

  it('info, dump and check --protocol on a trace: the trace reader, of the simulator only the scenario schema, no React', () => {
    // What a trace command may load from sim/: the scenario schema (with the memory limit, disk names, domain ids and addresses it checks) and plain data.
    const allowed = ['sim/package-info.ts', 'sim/elf.ts', 'sim/scenario.ts', 'sim/domain-ids.ts', 'sim/xen/frames.ts', 'sim/cpu/phys-mem.ts', 'sim/services/vdev.ts', 'sim/services/netback/proto.ts'];
    for (const cmd of [['info'], ['dump'], ['check', '--protocol']]) {
      const s = sourcesLoaded(...cmd, `${DIR}small.xrr`);
      expect(ours(s, 'trace/reader.ts')).toHaveLength(1);
      expect(pkg(s, 'protobufjs')).not.toEqual([]);
      expect(ours(s, 'sim/').map((f) => f.slice(ROOT.length)).filter((f) => !allowed.includes(f) && !f.startsWith('sim/xen/public/'))).toEqual([]);
      for (const heavy of ['react', 'ink']) expect(pkg(s, heavy)).toEqual([]);
    }
  });

  it.skipIf(!existsSync(`${ROOT}build/corpus/pv/hello.elf`))('run: the simulator, no trace reader, no React', () => {
    const s = sourcesLoaded('run', 'corpus/scenarios/hello.json');
    expect(ours(s, 'sim/machine.ts')).toHaveLength(1);
    expect(pkg(s, 'zod')).not.toEqual([]);
    expect(ours(s, 'trace/')).toEqual([]);
    for (const heavy of ['protobufjs', 'react', 'ink']) expect(pkg(s, heavy)).toEqual([]);
  });
});
