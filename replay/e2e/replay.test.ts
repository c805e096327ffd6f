/**
 * Replay: every corpus scenario re-executes to an exact match of its trace;
 * a changed image gives a divergence report at the first differing event;
 * seeking (checkpoint + re-execution) lands on the recorded position.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { record } from '../record.js';
import { ReplaySession } from '../session.js';
import { existsSync } from 'node:fs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIR = `${ROOT}build/replay-test`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const SCENARIOS = ['hello', 'timer', 'pingpong', 'gntcopy', 'fault', 'crash', 'compute-sha256'];

async function recorded(name: string, every = 2000): Promise<string> {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  const out = `${DIR}/${name}.xrr`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), out, { checkpointEvery: every });
  return out;
}

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});

describe.skipIf(!built)('replay', () => {
  for (const name of SCENARIOS) {
    it(`${name}: re-execution matches the trace exactly`, async () => {
      const s = ReplaySession.open(TraceReader.open(await recorded(name)));
      const r = s.verify();
      expect(r.divergence).toBe(null);
      expect(r.events).toBe(s.reader.index.eventCount);
    });
  }

  it('a changed image is reported at the first differing event, field by field', async () => {
    const s = ReplaySession.open(TraceReader.open(await recorded('pingpong')), new Map([['pong', `${ROOT}build/corpus/pv/hello.elf`]]));
    expect(s.warnings[0]).toMatch(/domain 'pong' runs .*hello\.elf, not the recorded image/);
    const d = s.verify().divergence!;
    expect(d).not.toBe(null);
    expect(d.expected?.dom).toBe(2);
    // Field by field: every field that differs, and only those. Where both images run the same runtime
    // code the RIPs may agree (their hypercall pages may lie at the same address); the call stacks cannot.
    expect(d.fields.map((f) => f.field)).toEqual(expect.arrayContaining(['icount', 'stack']));
    for (const f of d.fields) expect(f.actual, f.field).not.toBe(f.expected);
    expect(d.fields.some((f) => f.field === 'rip')).toBe(d.expected!.rip !== d.actual!.rip);
    expect(d.context).toHaveLength(10);
    expect(d.context.at(-1)!.seq).toBe(d.seq - 1);
  });

  it('refuses a missing or silently different image with one clear line', async () => {
    const path = await recorded('hello');
    expect(() => ReplaySession.open(TraceReader.open(path), new Map([['hello', '/nonexistent.elf']]))).toThrow(/image for domain 'hello' not found: \/nonexistent\.elf/);
  });

  it('seek lands exactly on recorded positions, from checkpoints', async () => {
    const s = ReplaySession.open(TraceReader.open(await recorded('pingpong', 1500)));
    const events = [...s.reader.events()];
    expect(s.reader.index.checkpoints.length).toBeGreaterThan(3);
    for (const seq of [0, 1, 999, 1500, 4321, 7777, events.length - 1]) {
      const e = events[seq]!;
      const v = s.seek(seq);
      expect(v.seq).toBe(seq);
      const cpu = v.vcpus.find((x) => x.dom === e.dom && x.vcpu === e.vcpu);
      if (cpu) expect(cpu.icount, `seq ${seq}`).toBe(e.icount);
    }
    // reverse step: seek(t - 1) is an earlier position on the same timeline
    const a = s.seek(5000);
    const b = s.seek(4999);
    expect(b.time).toBeLessThanOrEqual(a.time);
  });

  it('seek by instruction count stops that vCPU exactly there', async () => {
    const s = ReplaySession.open(TraceReader.open(await recorded('pingpong', 1500)));
    const v = s.seekIcount(2, 0, 50_000);
    expect(v.vcpus.find((x) => x.dom === 2 && x.vcpu === 0)!.icount).toBe(50_000);
  });
});
