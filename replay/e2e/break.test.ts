/**
 * `xenrr replay --break` as a user runs it: the first point a vCPU is about
 * to execute a function, the last one before a point going back, a
 * breakpoint limited to one domain, an upper-half address, and one-line
 * errors for what cannot be a breakpoint.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { initZstd } from '../../trace/zstd.js';
import { record } from '../record.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/break-cli-test`;
const TRACE = `${DIR}/pingpong.xrr`;
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const xenrr = (...args: string[]) => spawnSync(BIN, args, { cwd: ROOT, encoding: 'utf8' });

beforeAll(async () => {
  if (!built) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), TRACE, { checkpointEvery: 2000 });
});

describe.skipIf(!built)('xenrr replay --break', () => {
  it('stops where a vCPU is first about to execute the function, with its stack and the machine state', () => {
    const r = xenrr('replay', TRACE, '--break', 'evtchn_send');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^breakpoint at 0x[0-9a-f]+ evtchn_send\+0x0: d1v0 icount \d+ \(about to execute it\), before event \d+$/m);
    // The caller comes from the top of the stack at the function's entry, then the frame-pointer chain.
    expect(r.stdout).toMatch(/^ {2}stack evtchn_send\+0x0 <- xs_talk\+0x[0-9a-f]+ <- xs_read\+0x[0-9a-f]+ <- .* <- _start\+0x18$/m);
    expect(r.stdout).toMatch(/^d1v0 runnable kernel icount \d+ rip 0x[0-9a-f]+ evtchn_send\+0x0 /m);
  });

  it('going back from a point finds the last arrival before it; a domain prefix limits it to that domain', () => {
    const fwd = JSON.parse(xenrr('replay', TRACE, '--break', '2:pong_event', '--to', '9000', '--json').stdout) as { stop: { why: string; at: { dom: number; icount: number } } };
    expect(fwd.stop).toMatchObject({ why: 'breakpoint', at: { dom: 2 } });
    // Back from just after that stop: the same stop; back from it: an earlier one.
    const back = JSON.parse(xenrr('replay', TRACE, '--break', '2:pong_event', '--to', `icount:2.0:${fwd.stop.at.icount + 1}`, '--reverse', '--json').stdout) as typeof fwd;
    expect(back.stop).toEqual(fwd.stop);
    const before = JSON.parse(xenrr('replay', TRACE, '--break', '2:pong_event', '--to', `icount:2.0:${fwd.stop.at.icount}`, '--reverse', '--json').stdout) as typeof fwd;
    expect(before.stop.why).toBe('breakpoint');
    expect(before.stop.at.icount).toBeLessThan(fwd.stop.at.icount);
  });

  it('an address no vCPU reaches (an upper-half one) runs to the end; bad breakpoints are one-line errors', () => {
    const r = xenrr('replay', TRACE, '--break', '0xffffffff81000000');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('no breakpoint reached: stopped at the end of the recording\n');
    for (const [arg, msg] of [['nosuch', "no symbol 'nosuch'"], ['7:evtchn_send', 'no vCPU 7'], ['a:b:c', 'expects [DOM[.VCPU]:]']]) {
      const e = xenrr('replay', TRACE, '--break', arg!);
      expect(e.status).toBe(2);
      expect(e.stderr).toContain(msg);
      expect(e.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
