/**
 * Debian's gdb, in batch mode, attached to a recorded pingpong through
 * `xenrr gdbserver` as a user attaches it: a breakpoint on a function,
 * continue, the backtrace (against the frame-pointer stack the trace
 * recorded at that point), every vCPU as a thread, stepi and reverse-stepi
 * back to identical registers, a watchpoint found going back where `replay
 * --watch --reverse` finds it, monitor commands, both ends of the
 * recording, refused writes, and the TCP transport; and an interrupt (what
 * gdb sends for Ctrl-C) stopping a long continue both ways.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../sim/scenario.js';
import { TraceReader } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { record } from '../record.js';
import { frame, PacketReader } from '../gdb/packet.js';
import { ReplaySession } from '../session.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const DIR = `${ROOT}build/gdb-test`;
const TRACE = `${DIR}/pingpong.xrr`;
const ELF = `${ROOT}build/corpus/pv/pingpong.elf`;
const hasGdb = spawnSync('gdb', ['--version']).status === 0;
const ready = hasGdb && existsSync(ELF);

beforeAll(async () => {
  if (!ready) return;
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), TRACE, { checkpointEvery: 2000 });
});

const HEAD = ['set pagination off', 'set confirm off', 'set width 0'];
const REMOTE = `target remote | ${BIN} gdbserver --stdio ${TRACE}`;

/** Run gdb in batch mode on a script; its whole output. */
function gdb(lines: string[], name: string): string {
  const script = `${DIR}/${name}.gdb`;
  writeFileSync(script, `${[...HEAD, ...lines].join('\n')}\n`);
  // gdb writes monitor output to stderr: both into one stream, in order.
  const r = spawnSync('sh', ['-c', 'exec gdb -batch -nx -x "$0" "$1" 2>&1', script, ELF], { encoding: 'utf8', timeout: 120_000 });
  return r.stdout;
}

/** d1v0's instruction count as `monitor when` prints it (the last such line). */
function icountOf(out: string, name: string): number {
  const all = [...out.matchAll(new RegExp(`${name} \\(thread \\d+\\) . icount (\\d+)`, 'g'))];
  return Number(all[all.length - 1]![1]);
}

describe.skipIf(!ready)('gdb attached to a replay', () => {
  it('stops at a breakpoint on a function; bt is the stack the trace recorded there; every vCPU is a thread', () => {
    const out = gdb([REMOTE, 'break evtchn_send', 'continue', 'bt', 'info threads', 'monitor when'], 'break');
    expect(out).toMatch(/Thread 1 "d1v0" hit Breakpoint 1, evtchn_send \(port=1\)/);
    expect(out).toMatch(/^\* 1\s+Thread 1 "d1v0" \(ping runnable kernel\) evtchn_send/m);
    expect(out).toMatch(/^ {2}2\s+Thread 2 "d2v0" \(pong runnable kernel\)/m);
    // The hypercall evtchn_send makes next carries the stack walked along frame pointers (dump --stacks):
    // its return addresses past the one into evtchn_send are gdb's frames 1.. (inlined frames share an address).
    const next = Number(/event (\d+) of \d+ is next/.exec(out)![1]);
    const s = ReplaySession.open(TraceReader.open(TRACE));
    let e = s.eventAt(next);
    while (e !== null && !(e.dom === 1 && e.kind === 'hypercall')) e = s.eventAt(e.seq + 1);
    const want = e!.stack!.slice(1).map((a) => `0x${a.toString(16).padStart(16, '0')}`);
    const frames = [...out.matchAll(/^#(\d+)\s+(0x[0-9a-f]+) in /gm)].map((m) => m[2]!);
    expect(frames).toEqual(want);
    expect(out).toMatch(/^#0\s+evtchn_send \(port=1\) at .*events\.c:\d+$/m);
    // The same stop as the replay session's own breakpoint run.
    s.run({ direction: 'forward', breakpoints: [{ addr: s.symbolAddress(1, 'evtchn_send')!.addr }], watches: [], step: null, skip: false });
    expect(icountOf(out, 'd1v0')).toBe(s.position.vcpus[0]!.icount);
    expect(icountOf(out, 'd2v0')).toBe(s.position.vcpus[1]!.icount);
  });

  it('stepi N times, then reverse-stepi N times, passes back through identical registers', () => {
    const out = gdb([
      REMOTE, 'break ping_event', 'continue', 'delete',
      'python',
      'names = ["rax","rbx","rcx","rdx","rsi","rdi","rbp","rsp","r8","r9","r10","r11","r12","r13","r14","r15","rip","eflags","cs","ss","fs_base","gs_base"]',
      'def regs(): return [str(gdb.parse_and_eval("$" + n)) for n in names]',
      'seen = [regs()]',
      'for i in range(40):',
      '    gdb.execute("stepi", to_string=True)',
      '    seen.append(regs())',
      'bad = 0',
      'for i in range(40, 0, -1):',
      '    gdb.execute("reverse-stepi", to_string=True)',
      '    if regs() != seen[i - 1]: bad += 1',
      'print("STEPS distinct=%d mismatches=%d" % (len(set(tuple(r) for r in seen)), bad))',
      'end',
    ], 'steps');
    const m = /STEPS distinct=(\d+) mismatches=(\d+)/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBe(41);
    expect(Number(m![2])).toBe(0);
  });

  it('a watchpoint going back stops before the instruction that last wrote the variable, as replay --watch --reverse finds it', () => {
    const out = gdb([REMOTE, 'break ping_event', 'continue', 'continue', 'continue', 'delete', 'monitor when', 'watch -l received', 'reverse-continue', 'monitor when', 'info registers rip', 'print received'], 'watch');
    const from = icountOf(out.slice(0, out.indexOf('watchpoint 2')), 'd1v0');
    const r = spawnSync(BIN, ['replay', TRACE, '--watch', '1.0:received', '--to', `icount:1.0:${from}`, '--reverse', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const hit = (JSON.parse(r.stdout) as { hit: { at: { icount: number; rip: string } } }).hit;
    expect(out).toMatch(/Hardware watchpoint 2: -location received\s+Old value = 2\s+New value = 1/);
    expect(out).toMatch(new RegExp(`^rip\\s+${hit.at.rip}\\s`, 'm'));
    expect(icountOf(out, 'd1v0')).toBe(hit.at.icount - 1);
    expect(out).toMatch(/^\$1 = 1$/m);
  });

  it('read and access watchpoints stop after the instruction that touched the variable, and just before it going back', () => {
    const out = gdb([REMOTE, 'rwatch received', 'continue', 'continue', 'print $pc', 'reverse-continue', 'print $pc', 'delete', 'awatch received', 'continue', 'continue'], 'rwatch');
    expect(out).toMatch(/Thread 1 "d1v0" hit Hardware read watchpoint 1: received\s+Value = 0\s+0x[0-9a-f]+ in run_ping/);
    // ping_event's received++ reads it at +0x1 (mov received,%rax), after which gdb stops at +0x8; back, before the load.
    const pcs = [...out.matchAll(/^\$\d+ = \(void \(\*\)\(\)\) (0x[0-9a-f]+) <ping_event\+(\d+)>$/gm)].map((m) => Number(m[2]));
    expect(pcs).toEqual([8, 1]);
    expect(out).toMatch(/hit Hardware access \(read\/write\) watchpoint 2: received\s+Old value = 0\s+New value = 1/);
  });

  it('says there is no more history at either end, refuses writes, and answers monitor commands', () => {
    const out = gdb([
      REMOTE, 'reverse-stepi', 'monitor events 3', 'monitor checkpoint', 'break pong_event', 'continue', 'monitor restart 1', 'monitor bogus',
      'delete', 'continue', 'info registers rip', 'set var $rax = 1',
    ], 'ends');
    const parts = out.split('No more reverse-execution history.');
    expect(parts.length).toBe(3);
    expect(out).toMatch(/---- you are here ----/);
    expect(out).toMatch(/checkpoint 1: d1v0 icount 0 at 0x100000 _start\+0x0, before event 0/);
    expect(out).toMatch(/Thread 2 "d2v0" hit Breakpoint 1(\.1)?, pong_event/);
    expect(out).toMatch(/^d1v0 icount 0 at 0x100000 _start\+0x0, before event 0$/m);
    expect(out).toMatch(/unknown monitor command 'bogus'/);
    expect(out).toMatch(/Could not write register "rax"; remote failure reply 'E\.xenrr replays a recording: registers and memory cannot be changed'/);
  });

  it('serves gdb over TCP on 127.0.0.1', async () => {
    const server = spawn(BIN, ['gdbserver', TRACE, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const port = await new Promise<number>((resolve, reject) => {
      let err = '';
      server.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
        if (m) resolve(Number(m[1]));
      });
      server.on('exit', () => reject(new Error(err)));
    });
    const out = gdb([`target remote 127.0.0.1:${port}`, 'info threads', 'detach'], 'tcp');
    expect(out).toMatch(/Thread 2 "d2v0"/);
    const code = await new Promise<number | null>((resolve) => server.on('exit', resolve));
    expect(code).toBe(0);
  });
});

/** `xenrr gdbserver --port 0` on a trace; its port once it listens. */
async function server(trace: string): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(BIN, ['gdbserver', trace, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    proc.on('exit', () => reject(new Error(err)));
  });
  return { proc, port };
}

describe.skipIf(!existsSync(ELF))('interrupting a replay (gdb\'s Ctrl-C)', () => {
  const LONG = `${DIR}/pingpong-long.xrr`;
  beforeAll(async () => {
    await initZstd();
    mkdirSync(DIR, { recursive: true });
    const file = `${ROOT}corpus/scenarios/pingpong.json`;
    const base = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
    await record({ ...base, domains: base.domains.map((d) => ({ ...d, cmdline: d.cmdline.replace(/rounds=\d+/, 'rounds=40000') })) }, LONG, { checkpointEvery: 50_000 });
  });

  it('a 0x03 stops a continue with SIGINT inside the run, and a reverse-continue where it started', async () => {
    const { proc, port } = await server(LONG);
    const sock = connect(port, '127.0.0.1');
    const reader = new PacketReader();
    const replies: string[] = [];
    let wake: (() => void) | null = null;
    sock.on('data', (b: Buffer) => {
      for (const x of reader.push(b)) if (x.kind === 'packet') replies.push(x.data.toString('latin1'));
      wake?.();
    });
    const next = async (): Promise<string> => {
      while (replies.length === 0) await new Promise<void>((r) => (wake = r));
      return replies.shift()!;
    };
    const ask = (p: string): Promise<string> => {
      sock.write(frame(p));
      return next();
    };
    await new Promise((r) => sock.once('connect', r));
    expect(await ask('QStartNoAckMode')).toBe('OK');
    const when = async (): Promise<string> => Buffer.from((await ask(`qRcmd,${Buffer.from('when').toString('hex')}`)).slice(1), 'hex').toString() + (await next());
    // Forward: interrupted somewhere inside the run, not at its end; the next continue goes on to the end.
    sock.write(frame('vCont;c'));
    await new Promise((r) => setTimeout(r, 300));
    sock.write(Buffer.from([3]));
    expect(await next()).toMatch(/^T02thread:[0-9a-f]+;$/);
    const inside = await when();
    expect(inside).toMatch(/^event (\d+) of (\d+) is next/);
    const [, at, total] = /^event (\d+) of (\d+)/.exec(inside)!;
    expect(Number(at)).toBeGreaterThan(0);
    expect(Number(at)).toBeLessThan(Number(total));
    expect(await ask('vCont;c')).toMatch(/replaylog:end;$/);
    // Back from the end to a breakpoint no vCPU ever reaches: interrupted, the cursor stays at the end.
    expect(await ask('Z0,ffffffff81000000,1')).toBe('OK');
    const end = await when();
    sock.write(frame('bc'));
    await new Promise((r) => setTimeout(r, 300));
    sock.write(Buffer.from([3]));
    expect(await next()).toMatch(/^T02thread:[0-9a-f]+;$/);
    expect(await when()).toBe(end);
    expect(await ask('D')).toBe('OK');
    sock.destroy();
    expect(await new Promise((r) => proc.on('exit', r))).toBe(0);
  });
});

