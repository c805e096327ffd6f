/**
 * gdb round trips on a Linux boot (corpus/scenarios/linux/boot.json, its
 * first 3e8 instructions recorded): `xenrr gdbserver` opening the trace and
 * making gdb's symbol file (cold cache), a continue from the start to
 * start_kernel, stepi and reverse-stepi there (without breakpoints, and with
 * one inserted, as gdb inserts them on every resume), and a continue through
 * the rest of the recording with a breakpoint never reached (the rate of
 * Linux code under a breakpoint). Needs `npm run kernels` and the
 * initramfs; without them the table is empty.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScenario } from '../sim/scenario.js';
import { serveTcp } from '../replay/gdb/server.js';
import { startReplayWorker } from '../replay/gdb/threaded.js';
import { readKallsyms } from '../replay/image/kallsyms.js';
import { kernelImage } from '../replay/image/kernel-image.js';
import { record } from '../replay/record.js';
import type { Row } from './cpu-bench.js';
import { Client, median, ms } from './gdb-bench.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const KERNEL = `${ROOT}build/kernels/vmlinuz-6.1.0-57-amd64`;
const INITRAMFS = `${ROOT}build/corpus/linux/initramfs.cpio.gz`;
const INSNS = 300_000_000;
const STEPS = 100;

export async function benchGdbLinux(): Promise<Row[]> {
  if (!existsSync(KERNEL) || !existsSync(INITRAMFS)) return [];
  const dir = `${ROOT}build/bench`;
  mkdirSync(dir, { recursive: true });
  const file = `${ROOT}corpus/scenarios/linux/boot.json`;
  const trace = `${dir}/linux-boot-gdb.xrr`;
  const rec = await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), trace, { maxInsns: INSNS, checkpointInsns: 250_000_000, checkpointEvery: 50_000 });
  const syms = new Map(readKallsyms(kernelImage(new Uint8Array(readFileSync(KERNEL))).elf)!.map((s) => [s.name, s.addr.toString(16)]));
  const rows: Row[] = [];

  // Opening, as the command does it, with an empty symbol-file cache.
  const cache = mkdtempSync(join(tmpdir(), 'xenrr-bench-cache-'));
  const was = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  let t0 = process.hrtime.bigint();
  const worker = await startReplayWorker({ path: trace, image: [] });
  rows.push({ request: 'gdbserver ready: open the trace, make the symbol file (cold cache)', instructions: 0, ms: ms(t0).toFixed(0), 'M insns/s': '' });
  if (was === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = was;
  rmSync(cache, { recursive: true, force: true });
  const port = await new Promise<number>((resolve) => void serveTcp(worker.backend, 0, resolve));
  const sock = connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const c = new Client(sock);
  await c.ask('QStartNoAckMode');
  const icount = async (): Promise<number> => Number(/icount (\d+)/.exec(await c.monitor('when'))![1]);

  const start = syms.get('start_kernel')!;
  t0 = process.hrtime.bigint();
  await c.ask(`Z0,${start},1`);
  await c.ask('vCont;c');
  await c.ask('g');
  const toStart = ms(t0);
  const at = await icount();
  rows.push({ request: 'continue from the start to start_kernel (+ g)', instructions: at, ms: toStart.toFixed(0), 'M insns/s': (at / toStart / 1e3).toFixed(1) });
  await c.ask(`z0,${start},1`);

  const time = async (n: number, req: string): Promise<number[]> => {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      t0 = process.hrtime.bigint();
      await c.ask(req);
      await c.ask('g');
      out.push(ms(t0));
    }
    return out;
  };
  const fwd = await time(STEPS, 'vCont;s:1');
  rows.push({ request: `stepi in start_kernel (vCont;s + g), median of ${STEPS}`, instructions: 1, ms: median(fwd).toFixed(3), 'M insns/s': '' });
  const rev = await time(STEPS, 'bs');
  rows.push({ request: `reverse-stepi there (bs + g), median of ${STEPS}`, instructions: 1, ms: median(rev).toFixed(1), 'M insns/s': '' });
  rows.push({ request: 'reverse-stepi, slowest', instructions: 1, ms: Math.max(...rev).toFixed(1), 'M insns/s': '' });
  await c.ask(`Z0,${start},1`);
  await time(10, 'vCont;s:1');
  const revBp = await time(10, 'bs');
  rows.push({ request: 'reverse-stepi with a breakpoint inserted, median of 10', instructions: 1, ms: median(revBp).toFixed(1), 'M insns/s': '' });
  await c.ask(`z0,${start},1`);

  // To the end of the recording past a breakpoint nobody reaches (the power-off comes much later).
  const never = syms.get('kernel_power_off')!;
  const from = await icount();
  t0 = process.hrtime.bigint();
  await c.ask(`Z0,${never},1`);
  await c.ask('vCont;c');
  const run = ms(t0);
  const ran = (await icount()) - from;
  rows.push({ request: `continue to the recording's end (${(rec.summary.instructions / 1e6).toFixed(0)}M insns) under a breakpoint`, instructions: ran, ms: run.toFixed(0), 'M insns/s': (ran / run / 1e3).toFixed(1) });
  await c.ask('D');
  sock.destroy();
  await worker.close();
  return rows;
}
