/**
 * gdb round trips against `xenrr gdbserver` over TCP on 127.0.0.1, on a
 * long pingpong recording (about 1e8 instructions): what gdb sends for a
 * stepi (vCont;s then g) and a reverse-stepi (bs then g) in the middle of
 * the run, and a continue from the start to a breakpoint reached only at
 * the end (and a reverse-continue from the end back to one reached only at
 * the start), with the instructions re-executed and the rate, since those
 * are re-execution bound.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { initZstd } from '../trace/zstd.js';
import { Dispatcher } from '../replay/gdb/dispatch.js';
import { frame, PacketReader } from '../replay/gdb/packet.js';
import { localBackend, serveTcp } from '../replay/gdb/server.js';
import { GdbTarget } from '../replay/gdb/target.js';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import type { Row } from './cpu-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/bench`;
const ROUNDS = Number(process.env.XENRR_GDB_BENCH_ROUNDS ?? 270_000);
const STEPS = 200;

/** A minimal gdb: one request, one reply, acks off. */
class Client {
  private readonly reader = new PacketReader();
  private waiting: ((p: string) => void) | null = null;
  constructor(private readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      for (const x of this.reader.push(b)) if (x.kind === 'packet' && this.waiting !== null) this.waiting(x.data.toString('latin1'));
    });
  }
  ask(p: string): Promise<string> {
    return new Promise((resolve) => {
      this.waiting = resolve;
      this.sock.write(frame(p));
    });
  }
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchGdb(): Promise<Row[]> {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  const file = `${ROOT}corpus/scenarios/pingpong.json`;
  const base = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
  const s: Scenario = { ...base, maxInsns: 1e12, domains: base.domains.map((d) => ({ ...d, cmdline: d.cmdline.replace(/rounds=\d+/, `rounds=${ROUNDS}`) })) };
  const trace = `${DIR}/pingpong-gdb.xrr`;
  const rec = await record(s, trace, { checkpointEvery: 50_000 });

  const session = ReplaySession.open(TraceReader.open(trace));
  const target = new GdbTarget(session);
  const d = new Dispatcher(target, (dom) => session.imagePath(dom));
  const port = await new Promise<number>((resolve) => void serveTcp(localBackend(d), 0, resolve));
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const c = new Client(sock);
  await c.ask('QStartNoAckMode');
  const total = (): number => session.position.vcpus.reduce((n, v) => n + v.icount, 0);
  const hex = (sym: string, dom = 1): string => session.symbolAddress(dom, sym)!.addr.toString(16);
  const rows: Row[] = [];

  // Continue from the start to the first xen_shutdown (reached once each domain is done).
  let t0 = process.hrtime.bigint();
  await c.ask(`Z0,${hex('xen_shutdown')},1`);
  const stop = await c.ask('vCont;c');
  const cont = ms(t0);
  const far = total();
  rows.push({ request: `continue to a breakpoint (${stop.startsWith('T05') ? 'hit' : stop})`, instructions: far, ms: cont.toFixed(0), 'M insns/s': (far / cont / 1e3).toFixed(1) });
  await c.ask(`z0,${hex('xen_shutdown')},1`);

  // stepi and reverse-stepi, as gdb does them (resume, then read the registers), at the middle of the run.
  await c.ask(`qRcmd,${Buffer.from(`seek ${Math.floor(rec.events / 2)}`).toString('hex')}`);
  const fwd: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    t0 = process.hrtime.bigint();
    await c.ask('vCont;s:1');
    await c.ask('g');
    fwd.push(ms(t0));
  }
  const back: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    t0 = process.hrtime.bigint();
    await c.ask('bs');
    await c.ask('g');
    back.push(ms(t0));
  }
  rows.push({ request: `stepi (vCont;s + g), median of ${STEPS}`, instructions: 1, ms: median(fwd).toFixed(3), 'M insns/s': '' });
  rows.push({ request: `reverse-stepi (bs + g), median of ${STEPS}`, instructions: 1, ms: median(back).toFixed(3), 'M insns/s': '' });
  rows.push({ request: 'reverse-stepi, slowest (a rebuild from a checkpoint)', instructions: 1, ms: Math.max(...back).toFixed(1), 'M insns/s': '' });

  // From the end back to the first xs_self_domid (reached only at boot).
  await c.ask('vCont;c');
  const end = total();
  t0 = process.hrtime.bigint();
  await c.ask(`Z0,${hex('xs_self_domid')},1`);
  const rstop = await c.ask('bc');
  const rcont = ms(t0);
  rows.push({ request: `reverse-continue to a breakpoint (${rstop.startsWith('T05') ? 'hit' : rstop})`, instructions: end - total(), ms: rcont.toFixed(0), 'M insns/s': ((end - total()) / rcont / 1e3).toFixed(1) });

  // What re-execution alone costs on this trace: a plain replay of the whole run.
  t0 = process.hrtime.bigint();
  const v = ReplaySession.open(TraceReader.open(trace)).verify();
  const ver = ms(t0);
  rows.push({ request: `for scale: replay (verify) of the whole run, ${v.events} events`, instructions: rec.summary.instructions, ms: ver.toFixed(0), 'M insns/s': (rec.summary.instructions / ver / 1e3).toFixed(1) });
  await c.ask('D');
  sock.destroy();
  return rows;
}
