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
import { frame, PacketReader } from '../replay/gdb/packet.js';
import { serveTcp } from '../replay/gdb/server.js';
import { startReplayWorker } from '../replay/gdb/threaded.js';
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
  private readonly got: string[] = [];
  private wake: (() => void) | null = null;
  constructor(private readonly sock: Socket) {
    sock.on('data', (b: Buffer) => {
      for (const x of this.reader.push(b)) if (x.kind === 'packet') this.got.push(x.data.toString('latin1'));
      this.wake?.();
    });
  }
  async next(): Promise<string> {
    while (this.got.length === 0) await new Promise<void>((r) => (this.wake = r));
    return this.got.shift()!;
  }
  ask(p: string): Promise<string> {
    this.sock.write(frame(p));
    return this.next();
  }
  /** A monitor command's output (qRcmd: output, then OK). */
  async monitor(cmd: string): Promise<string> {
    const out = await this.ask(`qRcmd,${Buffer.from(cmd).toString('hex')}`);
    await this.next();
    return Buffer.from(out.slice(1), 'hex').toString();
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

  // As `xenrr gdbserver` serves it: the replay in its worker thread, TCP on 127.0.0.1.
  const session = ReplaySession.open(TraceReader.open(trace));
  const worker = await startReplayWorker({ path: trace, image: [] });
  const port = await new Promise<number>((resolve) => void serveTcp(worker.backend, 0, resolve));
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const c = new Client(sock);
  await c.ask('QStartNoAckMode');
  /** Instructions all vCPUs have retired at the cursor, as `monitor when` says. */
  const total = async (): Promise<number> => [...(await c.monitor('when')).matchAll(/icount (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const hex = (sym: string, dom = 1): string => session.symbolAddress(dom, sym)!.addr.toString(16);
  const rows: Row[] = [];

  // Continue from the start to the first xen_shutdown (reached once each domain is done).
  let t0 = process.hrtime.bigint();
  await c.ask(`Z0,${hex('xen_shutdown')},1`);
  const stop = await c.ask('vCont;c');
  const cont = ms(t0);
  const far = await total();
  rows.push({ request: `continue to a breakpoint (${stop.startsWith('T05') ? 'hit' : stop})`, instructions: far, ms: cont.toFixed(0), 'M insns/s': (far / cont / 1e3).toFixed(1) });
  await c.ask(`z0,${hex('xen_shutdown')},1`);

  // stepi and reverse-stepi, as gdb does them (resume, then read the registers), at the middle of the run.
  await c.monitor(`seek ${Math.floor(rec.events / 2)}`);
  const fwd: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    t0 = process.hrtime.bigint();
    await c.ask('vCont;s:1');
    await c.ask('g');
    fwd.push(ms(t0));
  }
  const rev: number[] = [];
  for (let k = 0; k < STEPS; k++) {
    t0 = process.hrtime.bigint();
    await c.ask('bs');
    await c.ask('g');
    rev.push(ms(t0));
  }
  rows.push({ request: `stepi (vCont;s + g), median of ${STEPS}`, instructions: 1, ms: median(fwd).toFixed(3), 'M insns/s': '' });
  rows.push({ request: `reverse-stepi (bs + g), median of ${STEPS}`, instructions: 1, ms: median(rev).toFixed(3), 'M insns/s': '' });
  rows.push({ request: 'reverse-stepi, slowest (a rebuild from a checkpoint)', instructions: 1, ms: Math.max(...rev).toFixed(1), 'M insns/s': '' });

  // From the end back to the first xs_self_domid (reached only at boot).
  await c.ask('vCont;c');
  const end = await total();
  t0 = process.hrtime.bigint();
  await c.ask(`Z0,${hex('xs_self_domid')},1`);
  const rstop = await c.ask('bc');
  const rcont = ms(t0);
  const back = end - (await total());
  rows.push({ request: `reverse-continue to a breakpoint (${rstop.startsWith('T05') ? 'hit' : rstop})`, instructions: back, ms: rcont.toFixed(0), 'M insns/s': (back / rcont / 1e3).toFixed(1) });

  // What re-execution alone costs on this trace: a plain replay of the whole run.
  t0 = process.hrtime.bigint();
  const v = ReplaySession.open(TraceReader.open(trace)).verify();
  const ver = ms(t0);
  rows.push({ request: `for scale: replay (verify) of the whole run, ${v.events} events`, instructions: rec.summary.instructions, ms: ver.toFixed(0), 'M insns/s': (rec.summary.instructions / ver / 1e3).toFixed(1) });
  await c.ask('D');
  sock.destroy();
  await worker.close();
  return rows;
}
