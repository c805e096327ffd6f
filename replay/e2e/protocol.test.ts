/**
 * `xenrr check --protocol` on recorded corpus runs: every planted bug's bad
 * run gets exactly one violation, of the right check, naming the right
 * ring, device and guest call stack; every clean corpus run (all scenarios,
 * the good builds, the bisect sequence's good versions) gets none. And the
 * command as a user runs it: exit 0 / 1 / 2, text and JSON, a scenario
 * judged for `git bisect run`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import { parseScenario } from '../../sim/scenario.js';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { checkEvents, checkTrace } from '../protocol/check.js';
import { violationLines } from '../protocol/render.js';
import { record } from '../record.js';
import { loadSymbols } from '../symbols.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const SCENARIOS = `${ROOT}corpus/scenarios`;
const built = existsSync(`${ROOT}build/corpus/pv/bugs/xenbus-bad.elf`);
const DIR = fileTempDir('xenrr-protocol-');

/** What each planted bug's bad run must be told: the check, the message, frames of the stacks shown. */
const BAD: Record<string, { check: string; message: RegExp; stack: string[]; related?: string[] }> = {
  lostwakeup: { check: 'lost-wakeup', message: /^d1v0 published requests 60 -> 61 on the blkif ring d1->d2 gref \d+ port \d+ while the backend d2's req_event was 61, in \(60, 61\]: RING_PUSH_REQUESTS_AND_CHECK_NOTIFY says notify, but d1v0 blocked/, stack: ['sched_block', 'run_front'] },
  masked: { check: 'lost-wakeup', message: /^notification from d1v0 to d2 port \d+ found the port masked, and d2 slept to the end of the run \(deadlock\)/, stack: ['evtchn_send', 'run_front'], related: ['evtchn_bind_interdomain', 'back_bind_port', 'run_back'] },
  offbyone: { check: 'ring-index', message: /^rsp_prod 5 is beyond req_prod 4 on the blkif ring/, stack: ['evtchn_send', 'run_back'] },
  finalcheck: { check: 'lost-wakeup', message: /^d2v0 blocked with every vCPU of d2 asleep while req_event 1 <= req_prod 4 on the blkif ring/, stack: ['sched_block', 'run_back'] },
  grantleak: { check: 'grant-leak', message: /^d1v0 went Closed on vbd 0 of d1 \(backend d2\) still granting d2 grant ref \d+, which d2 does not map/, stack: ['switch_state', 'run_front'], related: ['publish', 'run_front'] },
  mapleak: { check: 'grant-leak', message: /^d2v0 went Closed on vbd 0 of d1 \(backend d2\) still mapping d1's grant ref \d+ \(the blkif ring page\)/, stack: ['switch_state', 'run_back'], related: ['gnttab_map', 'run_back'] },
  xenbus: { check: 'xenbus', message: /^d2v0 \(backend of vbd 0\) went Initialising -> Connected: .*skipped InitWait; connected before the frontend is ready: d1 is Initialising/, stack: ['switch_state', 'run_back'] },
};

const scenarioFiles = (): string[] => [
  ...readdirSync(SCENARIOS).filter((f) => f.endsWith('.json')).map((f) => join(SCENARIOS, f)),
  ...readdirSync(join(SCENARIOS, 'bugs')).map((f) => join(SCENARIOS, 'bugs', f)),
  join(SCENARIOS, 'bisect', 'ringpair.json'),
];

async function recorded(file: string, name = file.replace(/^.*\//, '').replace(/\.json$/, '')): Promise<string> {
  const out = join(DIR, `${name}.xrr`);
  if (!existsSync(out)) await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), out);
  return out;
}

/** Frame names of a symbolized stack line. */
const frames = (line: string | undefined): string[] => (line ?? '').replace(/^\s*(stack|see.*)\s+/, '').split(' <- ').map((f) => f.replace(/\+0x[0-9a-f]+$/, '').trim());

beforeAll(async () => {
  await initZstd();
});

describe.skipIf(!built)('protocol checks on the corpus', () => {
  it.each(Object.keys(BAD))('%s: the bad run gets one violation with the right diagnosis; the good run none', async (bug) => {
    const want = BAD[bug]!;
    for (const kind of ['good', 'bad'] as const) {
      const path = await recorded(join(SCENARIOS, 'bugs', `${bug}-${kind}.json`));
      const r = TraceReader.open(path);
      const vs = checkTrace(r);
      if (kind === 'good') {
        expect(vs, `${bug}-good`).toEqual([]);
        continue;
      }
      expect(vs.map((v) => v.check)).toEqual([want.check]);
      const v = vs[0]!;
      expect(v.message).toMatch(want.message);
      const lines = violationLines(v, loadSymbols(r.header));
      expect(lines[0]).toMatch(new RegExp(`^${want.check}  #${v.seq}  [\\d.]+us  d${v.dom}v${v.vcpu}  \\w+\\+0x[0-9a-f]+$`));
      const stack = frames(lines.find((l) => l.startsWith('  stack')));
      expect(stack.filter((f) => want.stack.includes(f))).toEqual(want.stack);
      if (want.related) expect(frames(lines.find((l) => l.startsWith('          stack'))).filter((f) => want.related!.includes(f))).toEqual(want.related);
      if (bug !== 'grantleak' && bug !== 'xenbus') expect(v.ring).toMatchObject({ kind: 'blkif', front: 1, back: 2 });
      r.close();
    }
  });

  it.skipIf(!existsSync(`${ROOT}build/corpus/pv/blkfront.elf`))('blkfront against dom0\'s blkback: its rings and device are checked, clean, and a notify blkback drops would be reported', async () => {
    const r = TraceReader.open(await recorded(join(SCENARIOS, 'blkfront.json')));
    const events = [...r.events()];
    r.close();
    expect(checkEvents(events, 'all-stopped')).toEqual([]);
    // The blkif rings dom0 serves are followed from both ends: the frontend's pushes, dom0's at its notifies and as its handlers return.
    const blkif = events.filter((e): e is Extract<SimEvent, { kind: 'ring' }> => e.kind === 'ring' && e.ring === 'blkif' && e.backDom === 0);
    expect(new Set(blkif.map((e) => `${e.dom}/${e.seen}`))).toEqual(new Set(['1/notify', '0/notify', '0/deschedule']));
    // Session 1's two-page ring says it has 64 slots; session 2's one-page rings their kind's 32.
    expect(new Set(blkif.map((e) => e.entries))).toEqual(new Set([64, undefined]));
    // dom0's xenbus writes (backend/vbd/1/51712/state) and the device's grants are followed too: the device closes twice, cleanly.
    const backState = events.filter((e) => e.kind === 'xenstore' && e.op === 'WRITE' && e.dom === 0 && /^\/local\/domain\/0\/backend\/vbd\/1\/\d+\/state$/.test(e.path));
    expect(backState.filter((e) => e.kind === 'xenstore' && e.value === '6')).toHaveLength(2);
    expect(events.some((e) => e.kind === 'grants' && e.dom === 0 && e.mapped.length > 0)).toBe(true);
    // Had blkback not notified after a push that needed it, its handler's return shows the lost wake-up.
    const k = events.findIndex((e) => e.kind === 'ring' && e.dom === 0 && e.seen === 'notify');
    const dropped = events.filter((_, i) => !(i === k + 1 && events[i]!.kind === 'evtchn_send')).map((e, i) => (i === k ? { ...e, seen: 'deschedule' as const } : e));
    expect(dropped.length).toBe(events.length - 1);
    const vs = checkEvents(dropped, 'all-stopped');
    expect(vs.map((v) => [v.check, v.seq, v.dom])).toEqual([['lost-wakeup', events[k]!.seq, 0]]);
    expect(vs[0]!.message).toMatch(/RING_PUSH_RESPONSES_AND_CHECK_NOTIFY says notify, but dom0's backend returned from its handler/);
  });

  it('every other corpus run is clean: all scenarios, and the bisect sequence up to its first bad version', async () => {
    const bugNames = Object.keys(BAD).map((b) => `${b}-bad.json`);
    for (const f of scenarioFiles().filter((x) => !bugNames.some((b) => x.endsWith(b)))) {
      const vs = checkTrace(TraceReader.open(await recorded(f)));
      expect(vs.map((v) => `${v.check} #${v.seq}: ${v.message}`), f).toEqual([]);
    }
    for (const [v, clean] of [[5, true], [6, false]] as const) {
      const s = JSON.parse(readFileSync(join(SCENARIOS, 'bisect', 'ringpair.json'), 'utf8')) as { domains: Array<{ kernel: string }> };
      s.domains[0]!.kernel = `../../../build/corpus/pv/bisect/ringpair-v${v}.elf`;
      const file = join(SCENARIOS, 'bisect', `v${v}-protocol-test.json`);
      const vs = checkTrace(TraceReader.open(await (async () => {
        const out = join(DIR, `bisect-v${v}.xrr`);
        await record(parseScenario(s, file), out);
        return out;
      })()));
      expect(vs.map((x) => x.check)).toEqual(clean ? [] : ['lost-wakeup']);
    }
  });

  it('the CLI: exit 1 with the report, 0 when clean, --json, 2 for bad input', async () => {
    const bad = await recorded(join(SCENARIOS, 'bugs', 'lostwakeup-bad.json'));
    const good = await recorded(join(SCENARIOS, 'bugs', 'lostwakeup-good.json'));
    const r = spawnSync(BIN, ['check', '--protocol', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^lost-wakeup {2}#\d+ {2}[\d.]+us {2}d1v0 {2}sched_block\+0x[0-9a-f]+\n {2}d1v0 published requests 60 -> 61/);
    expect(r.stdout).toMatch(/\n {2}ring {4}blkif front d1 back d2 gref \d+ port \d+\n {2}stack {3}sched_block\+0x[0-9a-f]+ <- run_front\+/);
    expect(r.stdout).toMatch(/\n1 protocol violation in \d+ events: 1 lost-wakeup\n$/);
    const clean = spawnSync(BIN, ['check', '--protocol', good], { encoding: 'utf8' });
    expect([clean.status, clean.stdout]).toEqual([0, expect.stringMatching(/^no protocol violations in \d+ events\n$/)]);
    const j = spawnSync(BIN, ['check', '--protocol', '--json', bad], { encoding: 'utf8' });
    expect(j.status).toBe(1);
    const doc = JSON.parse(j.stdout) as { violations: Array<{ check: string; seq: number; stack: string[]; ring: unknown; at: string }>; stop: string };
    expect(doc.stop).toBe('deadlock');
    expect(doc.violations).toHaveLength(1);
    expect(doc.violations[0]!.check).toBe('lost-wakeup');
    expect(doc.violations[0]!.stack.map((f) => f.replace(/\+.*/, ''))).toEqual(['sched_block', 'run_front', 'run_roles', 'kmain', '_start']);
    // --symbols: the stacks named from a System.map given for the domain (here the kernel's own names, prefixed).
    const nm = spawnSync('nm', [`${ROOT}build/corpus/pv/bugs/lostwakeup-bad.elf`], { encoding: 'utf8' });
    const map = join(DIR, 'front.map');
    writeFileSync(map, nm.stdout.replace(/^([0-9a-f]+ [A-Za-z] )/gm, '$1m_'));
    const named = spawnSync(BIN, ['check', '--protocol', bad, '--symbols', `front=${map}`], { encoding: 'utf8' });
    expect(named.status).toBe(1);
    expect(named.stdout).toMatch(/\n {2}stack {3}m_sched_block\+0x[0-9a-f]+ <- m_run_front\+/);
    // bad input: one line on stderr, exit 2
    const damaged = join(DIR, 'damaged.xrr');
    const bytes = readFileSync(bad);
    const k = Math.floor(bytes.length / 2);
    bytes[k] = bytes[k]! ^ 0xff;
    writeFileSync(damaged, bytes);
    for (const args of [['check', '--protocol', join(DIR, 'missing.xrr')], ['check', '--protocol', damaged], ['check', '--protocol', '--seed', '3', bad], ['check', '--json', join(SCENARIOS, 'hello.json')],
      ['check', '--protocol', bad, '--symbols', `front=${join(DIR, 'missing.map')}`], ['check', join(SCENARIOS, 'hello.json'), '--symbols', `front=${map}`]]) {
      const x = spawnSync(BIN, args, { encoding: 'utf8' });
      expect([x.status, x.stderr.trim().split('\n').length], args.join(' ')).toEqual([2, 1]);
      expect(x.stderr).toMatch(/^xenrr: /);
    }
  });

  it('check <scenario> --protocol judges a build for git bisect run: the leak alone makes it bad', () => {
    const good = spawnSync(BIN, ['check', join(SCENARIOS, 'bugs', 'grantleak-good.json'), '--protocol'], { encoding: 'utf8' });
    expect([good.status, good.stdout]).toEqual([0, 'good\n']);
    const plain = spawnSync(BIN, ['check', join(SCENARIOS, 'bugs', 'grantleak-bad.json')], { encoding: 'utf8' });
    expect(plain.status).toBe(0);
    const bad = spawnSync(BIN, ['check', join(SCENARIOS, 'bugs', 'grantleak-bad.json'), '--protocol'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/^bad: grant-leak at #\d+: d1v0 went Closed on vbd 0 of d1 \(backend d2\) still granting d2 grant ref \d+/);
  });
});
