/**
 * Toolstack actions from the command line and through record/replay: the
 * idle guest recorded twice gives the same bytes and replays exactly (also
 * from checkpoints taken between actions); `--action` is recorded with the
 * scenario, so a replay re-applies it; bad `--action` values are one line
 * and exit 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { parseAction } from '../cli/actions.js';
import { fileTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const IDLE = `${ROOT}corpus/scenarios/idle.json`;
const KERNEL = `${ROOT}build/corpus/pv/idle.elf`;
const built = existsSync(KERNEL);
const DIR = fileTempDir('xenrr-actions-');
const xenrr = (...args: string[]) => spawnSync(BIN, args, { encoding: 'utf8' });

beforeAll(async () => {
  await initZstd();
});

describe('--action values', () => {
  it('WHEN:DO:DOMAIN[:ARG], console text may hold colons', () => {
    expect(parseAction('2s:shutdown:linux')).toEqual({ at: '2s', do: 'shutdown', domain: 'linux' });
    expect(parseAction('event=5000:sysrq:linux:s')).toEqual({ at: { event: 5000 }, do: 'sysrq', domain: 'linux', key: 's' });
    expect(parseAction('console=login: :pause:guest')).toEqual({ at: { console: 'login: ' }, do: 'pause', domain: 'guest' });
    expect(parseAction('console=a:b:c:destroy:g')).toEqual({ at: { console: 'a:b:c' }, do: 'destroy', domain: 'g' });
  });
});

describe.skipIf(!built)('toolstack actions end to end', () => {
  it('the idle scenario: recorded twice byte-identical, replays exactly, also from checkpoints between its actions', () => {
    const a = join(DIR, 'idle-a.xrr');
    const b = join(DIR, 'idle-b.xrr');
    for (const out of [a, b]) expect(xenrr('record', IDLE, '-o', out, '--checkpoint-every', '10').status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const r = xenrr('replay', a);
    expect([r.status, r.stdout]).toEqual([0, expect.stringMatching(/^replay: all \d+ events match/)]);
    const t = TraceReader.open(a);
    const inputs = [...t.events()].filter((e) => e.kind === 'input');
    expect(inputs.map((e) => e.kind === 'input' && e.text)).toEqual(['sysrq: control/sysrq = h', 'shutdown: control/shutdown = poweroff']);
    // Checkpoints between the two actions: restoring one must not apply the first again, nor lose the second.
    expect(t.index.checkpoints.some((c) => c.seq > inputs[0]!.seq && c.seq <= inputs[1]!.seq)).toBe(true);
    // A seek past the sysrq starts from a checkpoint taken after it, and must not apply it again.
    const at = inputs[1]!.seq + 3;
    const seek = xenrr('replay', a, '--to', String(at));
    expect(seek.status).toBe(0);
    expect(seek.stdout).toContain(`event ${at}`);
    t.close();
  });

  it('--action is recorded with the scenario (not its identity), and replay re-applies it', () => {
    const out = join(DIR, 'kernel.xrr');
    const plainOut = join(DIR, 'kernel-plain.xrr');
    const r = xenrr('record', KERNEL, '-o', out, '--action', '1ms:sysrq:guest:k', '--action', 'console=idle: sysrq:shutdown:guest');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    xenrr('record', KERNEL, '-o', plainOut);
    const h = TraceReader.open(out).header;
    expect((JSON.parse(h.scenarioJson) as { actions: unknown[] }).actions).toEqual([
      { at: '1ms', do: 'sysrq', domain: 'guest', key: 'k' }, { at: { console: 'idle: sysrq' }, do: 'shutdown', domain: 'guest' },
    ]);
    expect(Buffer.from(h.scenarioSha256).equals(Buffer.from(TraceReader.open(plainOut).header.scenarioSha256))).toBe(true);
    expect(xenrr('replay', out).status).toBe(0);
    const run = xenrr('run', KERNEL, '--action', '1ms:sysrq:guest:k', '--action', 'console=idle: sysrq:shutdown:guest');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain("[guest] idle: sysrq 'k'\n[guest] idle: shutdown request \"poweroff\"\n");
  });

  it('bad --action values: one line, exit 2', () => {
    for (const [v, msg] of [
      ['2s:shutdwn:guest', /expected WHEN:DO:DOMAIN\[:ARG\]/],
      ['2 min:shutdown:guest', /must be a virtual time/],
      ['2s:shutdown:nobody', /no domain named 'nobody' \(domains: guest\)/],
      ['2s:sysrq:guest', /a sysrq action needs a `key`/],
      ['event=x:pause:guest', /event= needs a sequence number/],
      ['console=:pause:guest', /console= needs the text/],
    ] as const) {
      const r = xenrr('run', KERNEL, '--action', v);
      expect([r.status, r.stderr.trim().split('\n').length], v).toEqual([2, 1]);
      expect(r.stderr).toMatch(new RegExp(`^xenrr: --action '${v.replace(/[[\]]/g, '\\$&')}': `));
      expect(r.stderr).toMatch(msg);
    }
    const bare = xenrr('run', '--bare', `${ROOT}build/corpus/sort.elf`, '--action', '1ms:pause:guest');
    expect([bare.status, bare.stderr]).toEqual([2, 'xenrr: --action applies to Xen PV guests, not to --bare programs\n']);
  });
});
