/**
 * A damaged or partial trace never passes (issue 11):
 * - a damaged chunk is one line naming it and its offset, exit 2, from
 *   replay, diff, check and the TUI; info warns and exits 1;
 * - flipping any single byte of a recorded trace (header, chunks,
 *   checkpoints, page store, footer, trailer) never replays as a match;
 * - an incomplete recording (cut at a chunk boundary, or a recorder killed
 *   with SIGKILL) replays its recorded prefix, stops there and exits 3; a
 *   divergence inside the prefix is still 1;
 * - --to past the end of the recording is one line, exit 2;
 * - record exits as run does for the same run, and its trace is complete;
 * - the same run recorded from any directory gives the same bytes, and
 *   replay finds the images again by name.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { TraceError, TraceReader } from '../../trace/reader.js';
import { FRAME_HEADER, TRAILER } from '../../trace/schema.js';
import { TraceWriter } from '../../trace/writer.js';
import { initZstd } from '../../trace/zstd.js';
import { UsageError } from '../cli/errors.js';
import { record } from '../record.js';
import { ReplaySession } from '../session.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/integrity-test`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const FLIPS = Number(process.env.XENRR_FLIP_POSITIONS ?? 3000);
const xenrr = (args: string[], cwd = ROOT) => spawnSync(BIN, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
const scenario = (name: string) => {
  const file = `${ROOT}corpus/scenarios/${name}.json`;
  return parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
};

/** What `xenrr replay` exits with for this trace, through the same API (CLI: replay-cmd.ts; main.ts maps both errors to 2). */
function replayCode(path: string, overrides = new Map<string, string>()): 0 | 1 | 2 | 3 {
  let reader: TraceReader | null = null;
  try {
    reader = TraceReader.open(path);
    const r = ReplaySession.open(reader, overrides).verify();
    return r.divergence !== null ? 1 : r.complete ? 0 : 3;
  } catch (e) {
    if (e instanceof TraceError || e instanceof UsageError) return 2;
    throw e;
  } finally {
    reader?.close();
  }
}

/** `src` rewritten with `chunkEvents` events per chunk (same header, events and checkpoints): a small trace with every kind of frame. */
function rechunk(src: string, dst: string, chunkEvents: number): void {
  const r = TraceReader.open(src);
  const w = new TraceWriter(dst, r.header, chunkEvents);
  const cps = r.index.checkpoints.map((_, i) => r.checkpoint(i));
  for (const e of r.events()) {
    while (cps.length > 0 && cps[0]!.seq === e.seq) w.checkpoint(cps.shift()!);
    w.append(e);
  }
  for (const c of cps) w.checkpoint(c);
  w.close(r.index.stopReason, r.index.endTime, r.index.vcpus);
  r.close();
}

/** The first `n` chunks of a complete trace and what precedes them, as a killed recorder would leave it. */
function prefix(src: string, dst: string, chunks: number): number {
  const r = TraceReader.open(src);
  const c = r.index.chunks;
  const end = chunks === 0 ? c[0]!.offset : c[chunks - 1]!.offset + FRAME_HEADER + c[chunks - 1]!.compressedSize;
  const events = chunks === 0 ? 0 : c[chunks - 1]!.firstSeq + c[chunks - 1]!.count;
  r.close();
  writeFileSync(dst, readFileSync(src).subarray(0, end));
  return events;
}

const PP = `${DIR}/pp.xrr`;
const SMALL = `${DIR}/small.xrr`;
/** PP cut after its first chunk, as a killed recorder leaves a trace, and its event count */
const CUT = `${DIR}/cut.xrr`;
let CUT_N = 0;

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  if (!built) return;
  await record(scenario('pingpong'), PP, { checkpointEvery: 5000 });
  await record(scenario('timer'), `${DIR}/timer.xrr`, { checkpointEvery: 40 });
  rechunk(`${DIR}/timer.xrr`, SMALL, 16);
  CUT_N = prefix(PP, CUT, 1);
});

describe.skipIf(!built)('a damaged trace', () => {
  it('replay, diff, check and the TUI name the damaged chunk and its offset in one line (exit 2); info warns (exit 1)', () => {
    const bytes = readFileSync(PP);
    const r = TraceReader.open(PP);
    const at = r.index.chunks[0]!.offset;
    r.close();
    for (let k = 0; k < 20; k++) bytes[at + 64 + k]! ^= 0x5a;
    const flip = `${DIR}/flip.xrr`;
    writeFileSync(flip, bytes);
    const line = new RegExp(`^xenrr: ${flip.replace(/[/.]/g, '\\$&')}: chunk 0 at 0x${at.toString(16)} is damaged \\(crc mismatch\\)\\n$`);
    for (const args of [['replay', flip], ['diff', PP, flip], ['diff', flip, PP, '--no-replay'], ['check', 'corpus/scenarios/pingpong.json', '--against', flip], ['replay', flip, '--to', '5']]) {
      const x = xenrr(args);
      expect(x.stderr, args.join(' ')).toMatch(line);
      expect(x.status, args.join(' ')).toBe(2);
    }
    const info = xenrr(['info', flip]);
    expect(info.status).toBe(1);
    expect(info.stderr).toBe(`xenrr: warning: ${flip}: chunk 0 at 0x${at.toString(16)} is damaged (crc mismatch)\n`);
    expect(info.stdout).toMatch(/^trace +\S+ +\(DAMAGED/);
    // The TUI, on a real terminal (script gives it a pty): one line, exit 2, no Ink error screen.
    const tui = spawnSync('script', ['-qec', `${BIN} tui ${flip}`, '/dev/null'], { cwd: ROOT, encoding: 'utf8' });
    expect(tui.status).toBe(2);
    expect(tui.stdout.replace(/\r/g, '')).toMatch(line);
    expect(tui.stdout).not.toMatch(/ERROR|at .*\.tsx?:\d+/);
  });

  it(`flipping any single byte (${FLIPS} positions over header, chunks, checkpoints, page store, footer, trailer) never replays as a match`, () => {
    const good = readFileSync(SMALL);
    const r = TraceReader.open(SMALL);
    const { chunks, checkpoints, pageBlocks } = r.index;
    const span = (offset: number): readonly [number, number] => [offset, offset + FRAME_HEADER + good.readUInt32LE(offset + 1)] as const;
    const frames = checkpoints.map((c) => span(c.offset));
    const blocks = pageBlocks.map((b) => span(b.offset));
    const footerAt = good.readUInt32LE(good.length - TRAILER);
    r.close();
    expect(chunks.length).toBeGreaterThan(4);
    expect(checkpoints.length).toBeGreaterThan(0);
    expect(pageBlocks.length).toBeGreaterThan(0);
    expect(checkpoints[0]!.offset).toBeLessThan(chunks.at(-1)!.offset);
    // Every byte but the page store's page data, over which the rest of the positions are spread evenly.
    const inPages = (i: number): boolean => blocks.some(([a, b]) => i >= a + 40 && i < b);
    const all = [...Array(good.length).keys()];
    const outside = all.filter((i) => !inPages(i));
    const pages = all.filter(inPages);
    const stride = Math.max(1, Math.floor(pages.length / Math.max(1, FLIPS - outside.length)));
    const positions = [...outside, ...pages.filter((_, k) => k % stride === 0)];
    const region = (i: number): string => (i < chunks[0]!.offset ? 'header' : i >= good.length - TRAILER ? 'trailer' : i >= footerAt ? 'footer' : frames.some(([a, b]) => i >= a && i < b) ? 'checkpoint' : blocks.some(([a, b]) => i >= a && i < b) ? 'pages' : 'chunks');
    const seen: Record<string, Record<number, number>> = {};
    const file = `${DIR}/flip1.xrr`;
    for (const i of positions) {
      const bytes = Buffer.from(good);
      bytes[i]! ^= 1 + ((i * 37) % 255);
      writeFileSync(file, bytes);
      const code = replayCode(file);
      expect([1, 2], `byte ${i} (${region(i)})`).toContain(code);
      const byRegion = (seen[region(i)] ??= {});
      byRegion[code] = (byRegion[code] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).toEqual(['checkpoint', 'chunks', 'footer', 'header', 'pages', 'trailer']);
    // The unflipped trace replays, so the 2s above are the flips'.
    expect(replayCode(SMALL)).toBe(0);
    // And a few as a user runs them.
    for (const i of [3, chunks[1]!.offset + 12, good.length - 20, good.length - 3]) {
      const bytes = Buffer.from(good);
      bytes[i]! ^= 0x40;
      writeFileSync(file, bytes);
      const x = xenrr(['replay', file]);
      expect(x.status, `byte ${i}`).toBe(2);
      expect(x.stderr.trim().split('\n'), `byte ${i}`).toHaveLength(1);
    }
  });
});

describe.skipIf(!built)('an incomplete recording', () => {
  it('replays its recorded prefix and stops there (exit 3), even with no event recorded; a divergence in it is still 1', () => {
    const [cut, n] = [CUT, CUT_N];
    const r = TraceReader.open(cut);
    expect(r.complete).toBe(false);
    const s = ReplaySession.open(r);
    const v = s.verify();
    expect(v).toMatchObject({ events: n, divergence: null, complete: false });
    // The end of this recording is its last recorded event, not the end of the run.
    expect(s.seek(Number.MAX_SAFE_INTEGER).seq).toBe(n - 1);
    r.close();
    const x = xenrr(['replay', cut]);
    expect(x.status).toBe(3);
    expect(x.stdout).toMatch(new RegExp(`is incomplete \\(its recorder did not finish\\): all ${n} recorded events match`));
    const none = `${DIR}/none.xrr`;
    prefix(PP, none, 0);
    const y = xenrr(['replay', none]);
    expect(y.status).toBe(3);
    expect(y.stdout).toMatch(/all 0 recorded events match/);
    const z = xenrr(['replay', cut, '--image', `pong=${ROOT}build/corpus/pv/hello.elf`]);
    expect(z.status).toBe(1);
    expect(z.stdout).toMatch(/^divergence at event \d+/);
  });

  it('a recorder killed with SIGKILL leaves a prefix that replays (exit 3)', async () => {
    const out = `${DIR}/killed.xrr`;
    rmSync(out, { force: true }); // a previous run's file would pass the size wait at once, and be the one read
    writeFileSync(`${DIR}/long.json`, JSON.stringify({ name: 'long-pingpong', domains: [
      { name: 'ping', kernel: 'pingpong', memoryMiB: 16, cmdline: 'role=ping peer=2' },
      { name: 'pong', kernel: 'pingpong', memoryMiB: 16, cmdline: 'role=pong peer=1 rounds=2000000' },
    ] }));
    // A trace left by an earlier run would be over the size at once: the recorder killed before it started, the stale file read.
    rmSync(out, { force: true });
    const child = spawn(BIN, ['record', `${DIR}/long.json`, '-o', out, '--checkpoint-every', '20000'], { cwd: ROOT, stdio: 'ignore' });
    for (let k = 0; k < 600 && !(existsSync(out) && statSync(out).size > 40_000); k++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const r = TraceReader.open(out);
    const n = r.index.eventCount;
    expect(r.complete).toBe(false);
    expect(n).toBeGreaterThan(0);
    r.close();
    const x = xenrr(['replay', out]);
    expect(x.status).toBe(3);
    expect(x.stdout).toMatch(new RegExp(`all ${n} recorded events match`));
    expect(xenrr(['replay', out, '--to', String(n - 1)]).status).toBe(0);
    const past = xenrr(['replay', out, '--to', String(n)]);
    expect(past.status).toBe(2);
    expect(past.stderr).toMatch(new RegExp(`past the end of the recording \\(it is incomplete\\): its last recorded event is ${n - 1}\\n$`));
  });
});

describe.skipIf(!built)('--to past the end of the recording', () => {
  it('is one line and exit 2, by seq or by icount, complete or not', () => {
    const r = TraceReader.open(PP);
    const n = r.index.eventCount;
    const end = r.index.vcpus.find((v) => v.dom === 1 && v.vcpu === 0)!.icount;
    r.close();
    const cases: Array<[string, string, RegExp]> = [
      [PP, String(n), new RegExp(`--to ${n}: past the end of the recording: its last event is ${n - 1}\\n$`)],
      [PP, 'icount:1.0:999999999', new RegExp(`past the end of the recording: vCPU 1.0 retired ${end} instructions in it\\n$`)],
      [CUT, '999999', new RegExp(`past the end of the recording \\(it is incomplete\\): its last recorded event is ${CUT_N - 1}\\n$`)],
      [CUT, 'icount:2.0:99999999', /past the end of the recording \(it is incomplete\): vCPU 2.0 had retired \d+ instructions when it ends\n$/],
    ];
    for (const [trace, to, msg] of cases) {
      const x = xenrr(['replay', trace, '--to', to]);
      expect(x.status, `${trace} --to ${to}`).toBe(2);
      expect(x.stderr, `${trace} --to ${to}`).toMatch(msg);
      expect(x.stdout).toBe('');
    }
    expect(xenrr(['replay', PP, '--to', `icount:1.0:${end}`]).status).toBe(0);
  });
});

describe.skipIf(!built)('record', () => {
  it('exits as run does for the same run, and leaves a complete trace that replays', () => {
    const inputs: string[][] = [
      ['build/corpus/pv/crash.elf'],
      ['corpus/scenarios/crash.json'],
      ['corpus/scenarios/hello.json'],
      ['corpus/scenarios/bugs/lostwakeup-bad.json'],
      ['corpus/scenarios/hello.json', '--max-insns', '5000'],
    ];
    const codes: number[] = [];
    inputs.forEach((args, k) => {
      const run = xenrr(['run', ...args]);
      const out = `${DIR}/exit-${k}.xrr`;
      const rec = xenrr(['record', ...args, '-o', out]);
      expect(rec.status, args.join(' ')).toBe(run.status);
      codes.push(rec.status!);
      const r = TraceReader.open(out);
      expect(r.complete).toBe(true);
      expect(r.integrity()).toEqual([]);
      r.close();
      expect(replayCode(out), args.join(' ')).toBe(0);
    });
    expect(codes).toEqual([1, 0, 0, 1, 1]);
  });
});

describe.skipIf(!built)('header identity', () => {
  it('the same run recorded from any directory, by a relative or an absolute path, gives the same bytes', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'xenrr-cwd-'));
    try {
      const runs: Array<[string, string[]]> = [
        [ROOT, ['record', 'corpus/scenarios/hello.json', '-o', `${DIR}/id-a.xrr`]],
        [elsewhere, ['record', `${ROOT}corpus/scenarios/hello.json`, '-o', `${DIR}/id-b.xrr`]],
        [`${ROOT}corpus`, ['record', 'scenarios/../scenarios/hello.json', '-o', `${DIR}/id-c.xrr`]],
        [ROOT, ['record', 'build/corpus/pv/hello.elf', '-o', `${DIR}/id-d.xrr`]],
        [elsewhere, ['record', `${ROOT}build/corpus/pv/hello.elf`, '-o', `${DIR}/id-e.xrr`]],
      ];
      for (const [cwd, args] of runs) expect(xenrr(args, cwd).status, args.join(' ')).toBe(0);
      const a = readFileSync(`${DIR}/id-a.xrr`);
      expect(readFileSync(`${DIR}/id-b.xrr`).equals(a)).toBe(true);
      expect(readFileSync(`${DIR}/id-c.xrr`).equals(a)).toBe(true);
      expect(readFileSync(`${DIR}/id-e.xrr`).equals(readFileSync(`${DIR}/id-d.xrr`))).toBe(true);
      // No path of this machine is in them.
      for (const f of ['a', 'd']) expect(readFileSync(`${DIR}/id-${f}.xrr`).includes(Buffer.from(ROOT.replace(/\/$/, '')))).toBe(false);
      // info shows the identity; replay from elsewhere finds the images.
      const info = xenrr(['info', `${DIR}/id-a.xrr`]).stdout;
      expect(info).toMatch(/^scenario +hello \(sha256 [0-9a-f]{16}\.\.\.\), seed/m);
      expect(info).toMatch(/^image +hello: hello \(\d+ bytes, sha256/m);
      expect(xenrr(['replay', `${DIR}/id-a.xrr`], elsewhere).status).toBe(0);
      expect(xenrr(['replay', `${DIR}/id-d.xrr`], elsewhere).status).toBe(0);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('replay finds images by the name the scenario gives them: relative to the scenario, the trace, the working directory; else one line naming where it looked', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'xenrr-img-'));
    try {
      // A corpus scenario naming its kernel by a path relative to itself, replayed from a copy of the trace elsewhere.
      const bug = `${DIR}/bug.xrr`;
      expect(xenrr(['record', 'corpus/scenarios/bugs/lostwakeup-good.json', '-o', bug]).status).toBe(0);
      copyFileSync(bug, join(tmp, 'bug.xrr'));
      expect(xenrr(['replay', 'bug.xrr'], tmp).status).toBe(0);
      // A user's scenario with its kernel beside it.
      mkdirSync(join(tmp, 'work', 'k'), { recursive: true });
      copyFileSync(`${ROOT}build/corpus/pv/hello.elf`, join(tmp, 'work', 'k', 'kern.elf'));
      writeFileSync(join(tmp, 'work', 's.json'), JSON.stringify({ name: 'mine', domains: [{ name: 'd', kernel: 'k/kern.elf' }] }));
      expect(xenrr(['record', 's.json', '-o', 't.xrr'], join(tmp, 'work')).status).toBe(0);
      expect(xenrr(['replay', 't.xrr'], join(tmp, 'work')).status).toBe(0);
      expect(xenrr(['replay', join(tmp, 'work', 't.xrr')], ROOT).status).toBe(0);
      copyFileSync(join(tmp, 'work', 't.xrr'), join(tmp, 't.xrr'));
      const lost = xenrr(['replay', join(tmp, 't.xrr')], ROOT);
      expect(lost.status).toBe(2);
      expect(lost.stderr).toMatch(/^xenrr: image for domain 'd' not found: \/\S+\/k\/kern\.elf, \/\S+\/k\/kern\.elf \(the scenario names it 'k\/kern\.elf', sha256 [0-9a-f]{16}\.\.\.; give it with --image d=PATH\)\n$/);
      expect(xenrr(['replay', join(tmp, 't.xrr'), '--image', `d=${join(tmp, 'work', 'k', 'kern.elf')}`], ROOT).status).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
