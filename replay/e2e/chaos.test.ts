/**
 * Seeded fault injection in blkback (`--chaos SEED`, a scenario's `chaos`),
 * end to end with the corpus blkfront: with three seeds each run powers off
 * with every check met (the frontend tolerates late, reordered and failed
 * completions and spurious notifications), records to identical bytes
 * twice, replays exactly, diffs against the plain run with the first
 * injected fault at the first divergence, and passes `check --protocol`.
 * Dropped notifications (opt-in) are reported as a lost wake-up at the
 * push whose notify was dropped; restarts (opt-in) are survived through the
 * xenbus handshake. A machine under chaos restored mid-run goes on exactly.
 * Without chaos nothing of it shows: no key in the header's scenario, no
 * chaos state in snapshots, no chaos event.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseScenario, withChaos } from '../../sim/scenario.js';
import { buildMachine, checkExpect } from '../scenario-run.js';
import { expectRestoreContinues } from './restore-check.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const FILE = `${ROOT}corpus/scenarios/blkfront.json`;
const built = existsSync(`${ROOT}build/corpus/pv/blkfront.elf`) && existsSync(`${ROOT}build/corpus/disks/blkfront.img`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
const SEEDS = [1, 2, 3];

type Input = { seq: number; kind: string; source: string; text: string };
const chaosEvents = (trace: string): Input[] =>
  xenrr('dump', trace, '--kind', 'input', '--json').stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Input).filter((e) => e.source === 'chaos');

/** The blkfront scenario with `chaos`, written into `dir` (kernel and disk from the corpus, by absolute path). */
function chaosScenario(dir: string, name: string, chaos: unknown, expect?: unknown): string {
  const s = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
  const d = (s.domains as Array<Record<string, unknown>>)[0]!;
  d.kernel = `${ROOT}build/corpus/pv/blkfront.elf`;
  (d.disks as Array<Record<string, unknown>>)[0]!.target = `${ROOT}build/corpus/disks/blkfront.img`;
  Object.assign(s, { chaos }, expect === undefined ? {} : { expect });
  writeFileSync(`${dir}/${name}.json`, JSON.stringify(s));
  return `${dir}/${name}.json`;
}

describe.skipIf(!built)('chaos in blkback, with the corpus blkfront', () => {
  const dir = fileTempDir('xenrr-chaos-');
  const plain = `${dir}/plain.xrr`;
  const s = parseScenario(JSON.parse(readFileSync(FILE, 'utf8')), FILE);

  it('without chaos: no chaos event, no chaos key in the header\'s scenario, no chaos state in a snapshot', () => {
    const r = xenrr('record', FILE, '-o', plain);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(chaosEvents(plain)).toEqual([]);
    expect(JSON.parse(xenrr('info', plain, '--json').stdout)).not.toHaveProperty('chaos');
    expect(xenrr('info', plain).stdout).not.toMatch(/^chaos/m);
    const m = buildMachine(s);
    m.run(s.maxInsns, () => m.nextSeq > 300);
    expect(JSON.stringify(m.dom0.snapshot().drivers)).not.toMatch(/chaos|held/);
  });

  for (const seed of SEEDS) {
    it(`--chaos ${seed}: powers off with every check met, records to identical bytes twice, replays exactly, passes the protocol checks`, () => {
      const a = `${dir}/c${seed}.xrr`;
      const b = `${dir}/c${seed}-again.xrr`;
      for (const out of [a, b]) {
        const r = xenrr('record', FILE, '--chaos', String(seed), '-o', out);
        expect(r.status, r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toMatch(/all-stopped/);
      }
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
      const faults = chaosEvents(a);
      expect(faults.length).toBeGreaterThan(5);
      // The legal kinds only (drop and restart are off by default).
      for (const f of faults) expect(f.text).toMatch(/^blkback vbd 1\/51712 queue \d: (delay|reorder|spurious|error): /);
      const rep = xenrr('replay', a);
      expect(rep.status, rep.stderr + rep.stdout).toBe(0);
      expect(rep.stdout).toMatch(/all \d+ events match/);
      const chk = xenrr('check', '--protocol', a);
      expect(chk.status, chk.stdout).toBe(0);
      expect(chk.stdout).toMatch(/no protocol violations/);
      expect((JSON.parse(xenrr('info', a, '--json').stdout) as { chaos?: unknown }).chaos).toEqual({ seed });
      expect(xenrr('info', a).stdout).toContain(`chaos      seed ${seed} (faults injected`);
    });

    it(`--chaos ${seed}: diff against the plain run names the first injected fault at its first divergence`, () => {
      const a = `${dir}/c${seed}.xrr`;
      const first = chaosEvents(a)[0]!;
      const d = xenrr('diff', plain, a);
      expect(d.status).toBe(1);
      const m = /first divergence at a#(\d+) \/ b#(\d+)/.exec(d.stdout);
      expect(m, d.stdout).not.toBeNull();
      const at = Number(m![2]);
      expect(first.seq - at).toBeGreaterThanOrEqual(0);
      expect(first.seq - at).toBeLessThanOrEqual(2);
      expect(d.stdout).toContain(`input chaos ${JSON.stringify(first.text)}`);
    });
  }

  it('the three seeds between them inject every legal kind, and the frontend retried each I/O error', () => {
    const texts = SEEDS.flatMap((seed) => chaosEvents(`${dir}/c${seed}.xrr`).map((f) => f.text));
    for (const kind of ['delay', 'reorder', 'spurious', 'error']) expect(texts.some((t) => t.includes(`: ${kind}: `)), kind).toBe(true);
    for (const seed of SEEDS) {
      const errors = chaosEvents(`${dir}/c${seed}.xrr`).filter((f) => f.text.includes(': error: ')).length;
      const out = xenrr('dump', `${dir}/c${seed}.xrr`, '--kind', 'console').stdout;
      expect((out.match(/I\/O error \(operation \d+\), retry/g) ?? []).length).toBe(errors);
    }
  });

  it('a machine under chaos restored mid-run goes on event for event', () => {
    const cs = withChaos(s, 2);
    // A point with responses held back (a delay pending), so the snapshot must carry them.
    const held = (m: ReturnType<typeof buildMachine>): boolean => m.blkback.list.some((d) => d.rings.some((r) => (r.held?.length ?? 0) > 0));
    expectRestoreContinues(cs, held, 3);
  });

  it('drop (opt-in): the dropped notification is reported as a lost wake-up at its push, and the run ends', () => {
    const file = chaosScenario(dir, 'drop', { seed: 7, rates: { drop: 0.5 } });
    const trace = `${dir}/drop.xrr`;
    const r = xenrr('record', file, '-o', trace);
    expect(r.stdout).toMatch(/deadlock|all-stopped/);
    const drops = chaosEvents(trace).filter((f) => f.text.includes(': drop: '));
    expect(drops.length).toBeGreaterThan(0);
    expect(xenrr('replay', trace).status).toBe(0);
    const chk = xenrr('check', '--protocol', trace, '--json');
    expect(chk.status).toBe(1);
    const vs = (JSON.parse(chk.stdout) as { violations: Array<{ check: string; seq: number }> }).violations;
    const lost = vs.filter((v) => v.check === 'lost-wakeup');
    expect(lost.length).toBeGreaterThan(0);
    // The push the checker names comes right after a dropped notification (the ring event dom0 reports as its handler returns).
    for (const v of lost) expect(drops.some((d) => d.seq < v.seq && v.seq - d.seq <= 3), `lost wake-up #${v.seq}, drops at ${drops.map((d) => d.seq).join(',')}`).toBe(true);
    expect(vs.filter((v) => v.check !== 'lost-wakeup')).toEqual([]);
  });

  it('restart (opt-in): blkback restarts mid-stream, the frontend reconnects, every check passes, and it replays', () => {
    const file = chaosScenario(dir, 'restart', { seed: 7, rates: { restart: 0.2 } });
    const trace = `${dir}/restart.xrr`;
    const r = xenrr('record', file, '-o', trace, '--checkpoint-every', '400');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const restarts = chaosEvents(trace).filter((f) => f.text.startsWith('blkback: restart: unload'));
    expect(restarts.length).toBeGreaterThan(0);
    const out = xenrr('dump', trace, '--kind', 'console').stdout;
    const m = /(\d+) reconnects, all data verified/.exec(out);
    expect(m, out).not.toBeNull();
    // A restart while the frontend is between sessions (closing anyway) needs no reconnect.
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThanOrEqual(restarts.length);
    expect(out).toMatch(/backend in state 6: reconnecting/);
    expect(xenrr('replay', trace).status).toBe(0);
    expect(xenrr('check', '--protocol', trace).stdout).toMatch(/no protocol violations/);
  });

  it('a request that fails on every retry: the frontend says so and powers off, no crash', () => {
    const file = chaosScenario(dir, 'errors', { seed: 1, rates: { error: 1 } }, { console: { front: ['blkfront: session 1: reads'] }, shutdown: { front: 'poweroff' } });
    const r = xenrr('run', file);
    expect(r.status, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\[front\] blkfront: request 0x0: I\/O error \(operation 0\), retry 3 of 3\n/);
    expect(r.stdout).toMatch(/\[front\] blkfront: 11-page read failed: giving up after 4 I\/O errors\n/);
    expect(r.stdout).toMatch(/blkfront: stopped, \d+ requests, 0 reconnects, data not verified/);
    expect(r.stdout).not.toMatch(/PANIC|all data verified/);
  });

  it('bad chaos input is one line and exit 2', () => {
    for (const [args, want] of [
      [['run', FILE, '--chaos', 'abc'], /^xenrr: --chaos must be an unsigned 32-bit integer .*got 'abc'\n$/],
      [['record', FILE, '--chaos', '-1', '-o', `${dir}/x.xrr`], /^xenrr: .*--chaos/],
      [['run', chaosScenario(dir, 'bad', { seed: 1, rates: { delay: 1.5 } })], /^xenrr: .*bad\.json: chaos\.rates\.delay: must be a probability from 0 to 1\n$/],
    ] as Array<[string[], RegExp]>) {
      const r = xenrr(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(`${dir}/x.xrr`)).toBe(false);
  });
});

