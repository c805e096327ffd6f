/**
 * check and bisect over the corpus build sequence (ringpair v1..v8, where
 * v6 introduces a lost wakeup): exit codes for git bisect, bisect's own
 * search within ceil(log2 N) + 1 runs, and `git bisect run xenrr check`
 * over a throwaway git history made here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { initZstd } from '../../trace/zstd.js';
import { bisect } from '../bisect.js';
import { testTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const V = (n: number): string => `${ROOT}build/corpus/pv/bisect/ringpair-v${n}.elf`;
const built = existsSync(V(8));
const TEMPLATE = `${ROOT}corpus/scenarios/bisect/ringpair.json`;

beforeAll(async () => {
  await initZstd();
});

/** The bisect template with domain 'front' running `image`. */
function scenarioFile(dir: string, image: string): string {
  const s = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { domains: Array<{ name: string; kernel: string }> };
  for (const d of s.domains) d.kernel = d.name === 'front' ? image : join(ROOT, 'build/corpus/pv', `${d.kernel}.elf`);
  const f = join(dir, 'ringpair.json');
  writeFileSync(f, JSON.stringify(s));
  return f;
}

describe.skipIf(!built)('check and bisect', () => {
  it('check exits 0 for a good build, 1 for a bad one, 125 when the image is missing', () => {
    const dir = testTempDir('xenrr-check-');
    const run = (image: string) => spawnSync(BIN, ['check', scenarioFile(dir, image)], { encoding: 'utf8' });
    let r = run(V(5));
    expect([r.status, r.stdout.trim()]).toEqual([0, 'good']);
    r = run(V(6));
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^bad: the run ended in deadlock/);
    r = run(join(dir, 'missing.elf'));
    expect(r.status).toBe(125);
    expect(r.stdout).toMatch(/^skip: image for domain 'front' not found/);
  });

  it('bisect finds v6 in at most ceil(log2 8) + 1 runs and shows where it parts from v5', async () => {
    const s = parseScenario(JSON.parse(readFileSync(TEMPLATE, 'utf8')), TEMPLATE);
    const r = await bisect(s, 'front', [1, 2, 3, 4, 5, 6, 7, 8].map(V));
    expect(r.firstBad).toBe(5); // index of v6
    expect(r.lastGood).toBe(4);
    expect(r.steps.length).toBeLessThanOrEqual(Math.ceil(Math.log2(8)) + 1);
    expect(r.diff?.equal).toBe(false);
    // The bad run lacks the good run's final notifications and shutdowns.
    expect(r.diff!.byKind.domain_state?.deleted).toBe(2);
  });

  it('bisect judges the first image when it runs it for the diff: bad too, it says so (exit 1) instead of diffing it as good', () => {
    const r = spawnSync(BIN, ['bisect', TEMPLATE, '--domain', '1', '--images', V(6), V(7)], { encoding: 'utf8' });
    expect(r.stdout).toContain(`  ${V(6)}: bad (the run ended in deadlock)`);
    expect(r.stdout).toContain('the first image is bad too (it must be good): nothing to bisect');
    expect(r.stdout).not.toContain('first bad image');
    expect(r.status).toBe(1);
    // --domain by id names the scenario's domains when it names none.
    const u = spawnSync(BIN, ['bisect', TEMPLATE, '--domain', '9', '--images', V(6), V(7)], { encoding: 'utf8' });
    expect([u.status, u.stderr.trim()]).toEqual([2, "xenrr: --domain: scenario ringpair has no domain '9' (domains: 1 front, 2 back)"]);
  });

  it('git bisect run xenrr check finds the commit that introduced the bug', () => {
    const repo = testTempDir('xenrr-git-');
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' } });
    git('init', '-q');
    const scenario = scenarioFile(repo, join(repo, 'kernel.elf'));
    for (let v = 1; v <= 8; v++) {
      copyFileSync(V(v), join(repo, 'kernel.elf'));
      git('add', 'kernel.elf', 'ringpair.json');
      git('commit', '-qm', `ringpair v${v}`);
    }
    const log = git('log', '--format=%H %s').trim().split('\n').map((l) => l.split(' '));
    const first = log.at(-1)![0]!;
    git('bisect', 'start', 'HEAD', first);
    const out = git('bisect', 'run', BIN, 'check', scenario);
    expect(out).toMatch(/is the first bad commit/);
    const bad = /^([0-9a-f]{40}) is the first bad commit/m.exec(out)![1]!;
    expect(git('log', '-1', '--format=%s', bad).trim()).toBe('ringpair v6');
  });
});
