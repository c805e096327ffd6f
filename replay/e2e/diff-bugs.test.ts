/**
 * `xenrr diff` on the planted-bug corpus, as a user runs it: the report
 * shows the guest call stack of the first divergent events, and replays
 * both runs to where execution parts. For the lost wake-up that is inside
 * front_push_requests, the function holding the bug, although the first
 * divergent event (the missing notify) is raised by its caller.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { diffTraces } from '../diff.js';
import { partingOfTraces } from '../parting.js';
import { record } from '../record.js';
import { loadSymbols } from '../symbols.js';
import { testTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/diff-bugs-test`;
const built = existsSync(`${ROOT}build/corpus/pv/bugs/lostwakeup-bad.elf`);

async function recorded(name: string): Promise<string> {
  const file = `${ROOT}corpus/scenarios/bugs/${name}.json`;
  const out = `${DIR}/${name}.xrr`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), out, { checkpointEvery: 200 });
  return out;
}

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});

describe.skipIf(!built)('diff of planted bugs', () => {
  it('lost wake-up: the missing notify with its stack, and execution parting inside front_push_requests', async () => {
    const a = await recorded('lostwakeup-good');
    const b = await recorded('lostwakeup-bad');
    const r = spawnSync(BIN, ['diff', a, b], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const out = r.stdout;
    // The first divergent event: the good run's notify, raised from run_front (the caller of the check).
    expect(out).toMatch(/\n {2}a +\d+ +[\d.]+us d1v0 +evtchn_send\+0x[0-9a-f]+ +send port=\d+ -> dom2:\d+\n +stack evtchn_send\+0x[0-9a-f]+ <- run_front\+0x[0-9a-f]+ <- run_roles/);
    // Replaying both: the same instructions until inside the buggy check, then different ones.
    const parts = /execution parts in d1v0, (\d+) instructions after its last common event[^\n]*\n {2}both executed {2}(\S+) +(.*)\n {2}then a at +(\S+) +.*\n {2}then b at +(\S+) +.*\n {2}stack a +(.*)\n {2}stack b +.*\n/.exec(out);
    expect(parts, out).not.toBeNull();
    const [, steps, common, insns, atA, atB, stackA] = parts!;
    // The builds' code differs right there: each run's instruction at that offset is shown.
    expect(insns).toMatch(/^a: \S+ .* {3}b: \S+/);
    expect(Number(steps)).toBeGreaterThan(1000);
    expect(common).toMatch(/^front_push_requests\+0x[0-9a-f]+$/);
    expect(atA).toMatch(/^front_push_requests\+/);
    expect(atB).toMatch(/^front_push_requests\+/);
    expect(atA).not.toBe(atB);
    expect(stackA!.split(' <- ').map((f) => f.replace(/\+.*/, ''))).toEqual(['front_push_requests', 'run_front', 'run_roles', 'kmain', '_start']);
    // dump --stacks: every hypercall of a vCPU with the call chain that made it; a wake-up it causes on another vCPU has none.
    const dump = spawnSync(BIN, ['dump', a, '--stacks', '--dom', '2'], { encoding: 'utf8' }).stdout.split('\n');
    const blocks = dump.flatMap((l, i) => (l.includes('SCHEDOP_block') ? [dump[i + 1]!] : []));
    expect(blocks.length).toBeGreaterThan(10);
    for (const l of blocks) expect(l).toMatch(/^ +stack sched_block\+0x[0-9a-f]+ <- run_back\+0x[0-9a-f]+ <- run_roles\+0x[0-9a-f]+ <- kmain\+0x[0-9a-f]+ <- _start\+0x[0-9a-f]+$/);
    const wakes = dump.flatMap((l, i) => (/ d2v0 .* wake /.test(l) ? [dump[i + 1]!] : []));
    expect(wakes.length).toBeGreaterThan(10);
    for (const l of wakes) expect(l).not.toMatch(/^ +stack /);
    // --no-replay: the trace comparison alone.
    const quick = spawnSync(BIN, ['diff', '--no-replay', a, b], { encoding: 'utf8' });
    expect(quick.status).toBe(1);
    expect(quick.stdout).not.toContain('execution parts');
    expect(quick.stdout).toContain('first divergence at a#');
  });

  it('replay of the good trace with the bad build: a divergence report with both call stacks, symbolized', async () => {
    const a = await recorded('lostwakeup-good');
    const bad = `${ROOT}build/corpus/pv/bugs/lostwakeup-bad.elf`;
    const r = spawnSync(BIN, ['replay', a, '--image', `front=${bad}`, '--image', `back=${bad}`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/warning: domain 'front' runs .*lostwakeup-bad\.elf, not the recorded image/);
    expect(r.stdout).toMatch(/^divergence at event \d+ \(dom 1 vcpu 0, icount \d+, sched_block\+0x[0-9a-f]+\)\n/);
    expect(r.stdout).toMatch(/\n {2}stack +expected evtchn_send\+0x[0-9a-f]+ <- run_front\+0x[0-9a-f]+ <- run_roles.*\n +actual +sched_block\+0x[0-9a-f]+ <- run_front\+/);
    expect(r.stdout).toContain('last 10 common events:');
  });

  it('masked port and off-by-one: the parting is found in the vCPU of the first divergent event', async () => {
    // offbyone: the backend's response push itself differs (rsp_prod one further), seen at its notify, and execution parts in back_push_responses.
    for (const [bug, dom] of [['masked', 2], ['offbyone', 2]] as const) {
      const pa = await recorded(`${bug}-good`);
      const pb = await recorded(`${bug}-bad`);
      const ra = TraceReader.open(pa);
      const rb = TraceReader.open(pb);
      const sa = loadSymbols(ra.header);
      const sb = loadSymbols(rb.header);
      const report = diffTraces(ra, rb, { symbols: [sa, sb] });
      const { parting, note } = partingOfTraces(report, { path: pa, reader: ra, symbols: sa }, { path: pb, reader: rb, symbols: sb });
      expect(note).toBeNull();
      expect(parting?.outcome, bug).toBe('parted');
      expect(parting?.dom, bug).toBe(dom);
      expect(report.firstDivergence!.a[0]?.dom ?? report.firstDivergence!.b[0]?.dom).toBe(dom);
      expect(parting!.a!.at).not.toBe(parting!.b!.at);
      if (bug === 'offbyone') expect(parting!.a!.at).toMatch(/^back_push_responses\+/);
      ra.close();
      rb.close();
    }
  });

  it('an image gone since recording: the trace diff still runs, and says why it could not replay', async () => {
    const a = await recorded('lostwakeup-good');
    const dir = testTempDir('xenrr-gone-');
    const image = join(dir, 'kernel.elf');
    copyFileSync(`${ROOT}build/corpus/pv/bugs/lostwakeup-bad.elf`, image);
    const s = JSON.parse(readFileSync(`${ROOT}corpus/scenarios/bugs/lostwakeup-bad.json`, 'utf8')) as { domains: Array<{ kernel: string }> };
    for (const d of s.domains) d.kernel = image;
    writeFileSync(join(dir, 's.json'), JSON.stringify(s));
    const b = join(dir, 'b.xrr');
    await record(parseScenario(s, join(dir, 's.json')), b);
    rmSync(image);
    const r = spawnSync(BIN, ['diff', a, b], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('first divergence at a#');
    expect(r.stdout).toContain(`note: no instruction-level comparison: image for domain 'front' not found: ${image}`);
    expect(r.stdout).not.toContain('execution parts');
  });
});
