/**
 * record / dump / info as a user runs them, including a recorder killed
 * mid-run (SIGKILL): dump reads every event of the complete chunks and info
 * warns about the missing footer.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECKPOINT_COST } from '../record-defaults.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/record-test`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });

describe.skipIf(!built)('xenrr record, dump, info', () => {
  it('records a scenario, dumps it with filters, and summarizes it', () => {
    mkdirSync(DIR, { recursive: true });
    const rec = xenrr('record', 'corpus/scenarios/gntcopy.json', '-o', `${DIR}/gntcopy.xrr`);
    expect(rec.status).toBe(0);
    expect(rec.stdout).toMatch(/gntcopy\.xrr: \d+ events, 0 checkpoints, \d+ bytes/);
    const all = xenrr('dump', `${DIR}/gntcopy.xrr`).stdout.trim().split('\n');
    const info = JSON.parse(xenrr('info', '--json', `${DIR}/gntcopy.xrr`).stdout) as { events: number; complete: boolean; countsByKind: Record<string, number> };
    expect(info.complete).toBe(true);
    expect(all).toHaveLength(info.events);
    expect(all[0]).toMatch(/^ *0 +[\d.]+us d1v0 +\S+ +set_trap_table/);
    const grants = xenrr('dump', `${DIR}/gntcopy.xrr`, '--kind', 'hypercall', '--dom', '2').stdout.trim().split('\n');
    expect(grants.every((l) => / d2v0 /.test(l))).toBe(true);
    expect(grants.some((l) => /GNTTABOP_map_grant_ref .* -> 0$/.test(l))).toBe(true);
    const window = xenrr('dump', `${DIR}/gntcopy.xrr`, '--from', '10', '--to', '14').stdout.trim().split('\n');
    expect(window.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual([10, 11, 12, 13, 14]);
    const json = xenrr('dump', `${DIR}/gntcopy.xrr`, '--json', '--to', '0').stdout.trim();
    expect(JSON.parse(json)).toMatchObject({ seq: 0, kind: 'hypercall', name: 'set_trap_table' });
    const text = xenrr('info', `${DIR}/gntcopy.xrr`).stdout;
    expect(text).toMatch(/^events +\d+ in \d+ chunks/m);
    expect(text).toMatch(/hypercalls .*grant_table_op/);
  });

  it('--image records another build of a domain\'s kernel: the trace names it, and the run is that build\'s', () => {
    mkdirSync(DIR, { recursive: true });
    const v6 = 'build/corpus/pv/bisect/ringpair-v6.elf';
    const rec = xenrr('record', 'corpus/scenarios/bisect/ringpair.json', '--image', `front=${v6}`, '-o', `${DIR}/ringpair-v6.xrr`);
    expect(rec.stdout).toMatch(/ringpair-v6\.xrr: \d+ events, .*deadlock/);
    const info = JSON.parse(xenrr('info', '--json', `${DIR}/ringpair-v6.xrr`).stdout) as { images: Array<{ domain: string; name: string }> };
    expect(info.images.find((i) => i.domain === 'front')?.name).toBe(`${ROOT}${v6}`);
    const bad = xenrr('record', 'corpus/scenarios/bisect/ringpair.json', '--image', `frnt=${v6}`, '-o', `${DIR}/x.xrr`);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, `xenrr: --image frnt=${v6}: no domain 'frnt' in corpus/scenarios/bisect/ringpair.json (domains: front, back)`]);
    const gone = xenrr('record', 'corpus/scenarios/bisect/ringpair.json', '--image', 'front=nope.elf', '-o', `${DIR}/x.xrr`);
    expect([gone.status, gone.stderr.trim()]).toEqual([2, 'xenrr: --image front=nope.elf: no such file']);
  });

  it('--checkpoint-insns: checkpoints by guest instructions, as info reports', () => {
    mkdirSync(DIR, { recursive: true });
    const out = `${DIR}/sha.xrr`;
    // compute-sha256: 12.5M instructions and 73 events (its GRANTS report as it stops, and xl destroying its console 0, included); by events alone it gets no checkpoint.
    const rec = xenrr('record', 'corpus/scenarios/compute-sha256.json', '-o', out, '--checkpoint-insns', '3000000');
    expect(rec.status).toBe(0);
    expect(rec.stdout).toMatch(/sha\.xrr: 73 events, 4 checkpoints, /);
    // (the default seek cost is not reached: 12.5M instructions count at most 3 each)
    expect(xenrr('info', out).stdout).toMatch(new RegExp(`^events +73 in \\d+ chunks; 4 checkpoints \\(every 50000 events or 3000000 instructions or ${CHECKPOINT_COST} of seek cost\\)$`, 'm'));
    const info = JSON.parse(xenrr('info', '--json', out).stdout) as { checkpointEvery: number; checkpointInsns: number; checkpointCost: number };
    expect([info.checkpointEvery, info.checkpointInsns, info.checkpointCost]).toEqual([50000, 3000000, CHECKPOINT_COST]);
    const none = xenrr('record', 'corpus/scenarios/compute-sha256.json', '-o', out, '--checkpoint-insns', '0', '--checkpoint-every', '0', '--checkpoint-cost', '0');
    expect(none.stdout).toMatch(/ 0 checkpoints, /);
    expect(xenrr('info', out).stdout).toMatch(/^events +73 in \d+ chunks; 0 checkpoints$/m);
  });

  it('--checkpoint-cost: checkpoints by seek cost, as info reports; a bad value is one line, exit 2', () => {
    mkdirSync(DIR, { recursive: true });
    const out = `${DIR}/sha-cost.xrr`;
    // 12.5M instructions and 73 events: by instructions alone 3 checkpoints; its calls across code frames make 5.
    const rec = xenrr('record', 'corpus/scenarios/compute-sha256.json', '-o', out, '--checkpoint-insns', '0', '--checkpoint-cost', '4000000');
    expect(rec.status).toBe(0);
    expect(rec.stdout).toMatch(/sha-cost\.xrr: 73 events, 5 checkpoints, /);
    expect(xenrr('info', out).stdout).toMatch(/^events +73 in \d+ chunks; 5 checkpoints \(every 50000 events or 4000000 of seek cost\)$/m);
    const bad = xenrr('record', 'corpus/scenarios/compute-sha256.json', '-o', out, '--checkpoint-cost', 'lots');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/--checkpoint-cost/);
  });

  it('bad input: missing file, not a trace, bad --kind: one line, exit 2', () => {
    mkdirSync(DIR, { recursive: true });
    writeFileSync(`${DIR}/junk.xrr`, 'junk');
    for (const [args, msg] of [
      [['dump', `${DIR}/none.xrr`], /no such file/],
      [['info', `${DIR}/junk.xrr`], /not a xenrr trace/],
      [['dump', `${DIR}/junk.xrr`], /not a xenrr trace/],
    ] as const) {
      const r = xenrr(...args);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('a recorder killed with SIGKILL leaves a readable prefix', async () => {
    mkdirSync(DIR, { recursive: true });
    const out = `${DIR}/killed.xrr`;
    // A long pingpong so the recorder is surely mid-run when killed.
    writeFileSync(`${DIR}/long.json`, JSON.stringify({ name: 'long-pingpong', domains: [
      { name: 'ping', kernel: 'pingpong', memoryMiB: 16, cmdline: 'role=ping peer=2' },
      { name: 'pong', kernel: 'pingpong', memoryMiB: 16, cmdline: 'role=pong peer=1 rounds=2000000' },
    ] }));
    const child = spawn(BIN, ['record', `${DIR}/long.json`, '-o', out, '--checkpoint-every', '0'], { cwd: ROOT, stdio: 'ignore' });
    // Kill once several chunks are on disk (a chunk of pingpong events is ~2 KB).
    for (let k = 0; k < 600 && !(existsSync(out) && statSync(out).size > 12_000); k++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const info = xenrr('info', '--json', out);
    expect(info.status).toBe(0);
    expect(info.stderr).toMatch(/warning: .*no footer index: the recording did not finish; read (\d+) complete chunks \((\d+) events\)/);
    const parsed = JSON.parse(info.stdout) as { complete: boolean; events: number; chunks: number };
    expect(parsed.complete).toBe(false);
    expect(parsed.chunks).toBeGreaterThan(1);
    const lines = execFileSync(BIN, ['dump', out], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 }).trim().split('\n');
    expect(lines).toHaveLength(parsed.events);
    expect(lines.at(-1)!.trim().split(/\s+/)[0]).toBe(String(parsed.events - 1));
  });
});

describe.skipIf(!built)('recording every corpus scenario', () => {
  const SCENARIOS = ['hello', 'timer', 'pingpong', 'gntcopy', 'fault', 'crash', 'compute-sha256'];
  it('records each twice to byte-identical files that dump and info read completely', async () => {
    const { readFileSync } = await import('node:fs');
    const { parseScenario } = await import('../../sim/scenario.js');
    const { record } = await import('../record.js');
    const { TraceReader } = await import('../../trace/reader.js');
    mkdirSync(DIR, { recursive: true });
    for (const name of SCENARIOS) {
      const file = `${ROOT}corpus/scenarios/${name}.json`;
      const s = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
      const a = await record(s, `${DIR}/${name}-a.xrr`, { checkpointEvery: 1000 });
      await record(s, `${DIR}/${name}-b.xrr`, { checkpointEvery: 1000 });
      expect(Buffer.compare(readFileSync(`${DIR}/${name}-a.xrr`), readFileSync(`${DIR}/${name}-b.xrr`)), name).toBe(0);
      const r = TraceReader.open(`${DIR}/${name}-a.xrr`);
      expect(r.complete).toBe(true);
      expect([...r.events()].length, name).toBe(a.events);
      expect(r.index.eventCount).toBe(a.events);
      r.close();
    }
  });
});
