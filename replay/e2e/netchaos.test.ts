/**
 * Seeded fault injection in netback (`--chaos SEED`), end to end with the
 * corpus netfront: with three seeds each run powers off with every check
 * met (the frontend sends again a frame netback failed or dropped, and
 * takes late rx frames and spurious notifications), records to identical
 * bytes twice, replays exactly, diffs against the plain run with the first
 * injected fault within a few events of the first divergence, and passes
 * `check --protocol`. Dropped notifications (opt-in) are reported as lost
 * wake-ups right after the drop. A machine restored mid-run with rx frames
 * held back goes on exactly. Without chaos, netback's snapshot has no trace of it.
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
const FILE = `${ROOT}corpus/scenarios/netfront.json`;
const built = existsSync(`${ROOT}build/corpus/pv/netfront.elf`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
const SEEDS = [1, 2, 3];

type Input = { seq: number; kind: string; source: string; text: string };
const chaosEvents = (trace: string): Input[] =>
  xenrr('dump', trace, '--kind', 'input', '--json').stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Input).filter((e) => e.source === 'chaos');

describe.skipIf(!built)('chaos in netback, with the corpus netfront', () => {
  const dir = fileTempDir('xenrr-netchaos-');
  const plain = `${dir}/plain.xrr`;
  const s = parseScenario(JSON.parse(readFileSync(FILE, 'utf8')), FILE);

  it('without chaos: no chaos event, and no chaos state or held frames in netback\'s snapshot', () => {
    const r = xenrr('record', FILE, '-o', plain);
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(chaosEvents(plain)).toEqual([]);
    const m = buildMachine(s);
    m.run(s.maxInsns, () => m.nextSeq > 300);
    expect(m.netback.list.length).toBe(1);
    expect(JSON.stringify(m.netback.snapshot())).not.toMatch(/chaos|held/);
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
      // netback's kinds only (drop is off by default).
      for (const f of faults) expect(f.text).toMatch(/^netback vif1\.0 queue \d: (delay|spurious|error): /);
      const rep = xenrr('replay', a);
      expect(rep.status, rep.stderr + rep.stdout).toBe(0);
      expect(rep.stdout).toMatch(/all \d+ events match/);
      const chk = xenrr('check', '--protocol', a);
      expect(chk.status, chk.stdout).toBe(0);
      expect(chk.stdout).toMatch(/no protocol violations/);
    });

    it(`--chaos ${seed}: diff against the plain run has the first injected fault within a few events of the first divergence`, () => {
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

  it('the three seeds between them inject every default kind, and the frontend sent again each failed frame', () => {
    const texts = SEEDS.flatMap((seed) => chaosEvents(`${dir}/c${seed}.xrr`).map((f) => f.text));
    for (const kind of ['delay', 'spurious', 'error']) expect(texts.some((t) => t.includes(`: ${kind}: `)), kind).toBe(true);
    expect(texts.some((t) => t.includes('NETIF_RSP_ERROR'))).toBe(true);
    expect(texts.some((t) => t.includes('NETIF_RSP_DROPPED'))).toBe(true);
    for (const seed of SEEDS) {
      const errors = chaosEvents(`${dir}/c${seed}.xrr`).filter((f) => f.text.includes(': error: ')).length;
      const out = xenrr('dump', `${dir}/c${seed}.xrr`, '--kind', 'console').stdout;
      expect((out.match(/tx status -[12] \(NETIF_RSP_(ERROR|DROPPED)\), sending it again/g) ?? []).length).toBe(errors);
    }
  });

  it('a machine under chaos restored mid-run, with rx frames held back, goes on event for event', () => {
    const cs = withChaos(s, 1);
    const held = (m: ReturnType<typeof buildMachine>): boolean => /"held":\[\{/.test(JSON.stringify(m.netback.snapshot()));
    expectRestoreContinues(cs, held, 2);
  });

  it('drop (opt-in): each lost wake-up `check --protocol` reports comes right after a dropped notification', () => {
    const sc = JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
    (sc.domains as Array<Record<string, unknown>>)[0]!.kernel = `${ROOT}build/corpus/pv/netfront.elf`;
    sc.chaos = { seed: 7, rates: { drop: 0.5 } };
    const file = `${dir}/drop.json`;
    writeFileSync(file, JSON.stringify(sc));
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
    for (const v of lost) expect(drops.some((d) => d.seq < v.seq && v.seq - d.seq <= 3), `lost wake-up #${v.seq}, drops at ${drops.map((d) => d.seq).join(',')}`).toBe(true);
    expect(vs.filter((v) => v.check !== 'lost-wakeup')).toEqual([]);
  });
});
