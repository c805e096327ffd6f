/**
 * The replay behind `xenrr gdbserver`, in a worker thread. A continue can
 * re-execute for minutes; meanwhile the main thread keeps reading the
 * connection, and a Ctrl-C from gdb sets the shared flag this side checks
 * at every clean point of the run (GdbTarget's `interrupted`).
 *
 * Messages: in, a request packet's payload; out, first `{ ready }` or
 * `{ error }` (a one-line reason, `usage` when the input is at fault), then
 * one `{ reply, noAck }` per request, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceError } from '../../trace/reader.js';
import { initZstd } from '../../trace/zstd.js';
import { imageOverrides, UsageError } from '../cli/errors.js';
import { openSession } from '../session.js';
import { Dispatcher } from './dispatch.js';
import { GdbTarget } from './target.js';

/** What the main thread hands over: the trace, the options, and the interrupt flag (an Int32 in shared memory). */
export type WorkerInit = { path: string; image: string[]; at?: string; flag: SharedArrayBuffer };
export type WorkerOut =
  | { ready: true; warnings: string[]; image: string | null }
  | { error: string; usage: boolean }
  | { reply: { packets: string[]; close?: boolean }; noAck: boolean };

const port = parentPort!;
const init = workerData as WorkerInit;
const flag = new Int32Array(init.flag);
const post = (m: WorkerOut): void => port.postMessage(m);

try {
  await initZstd();
  const session = openSession(init.path, imageOverrides(init.image));
  const target = new GdbTarget(session, () => Atomics.load(flag, 0) !== 0);
  if (init.at !== undefined) {
    if (!/^\d+$/.test(init.at) || session.eventAt(Number(init.at)) === null) throw new UsageError(`--at ${init.at}: no such event in this trace`);
    target.seekEvent(Number(init.at));
  }
  const d = new Dispatcher(target, (dom) => session.imagePath(dom));
  port.on('message', (p: string) => {
    let reply;
    try {
      reply = d.handle(p);
    } catch (e) {
      // A request we could not take apart (bad hex, say): an error for gdb, not the end of the session.
      reply = { packets: [`E.${(e as Error).message}`] };
    }
    post({ reply, noAck: d.noAck });
  });
  post({ ready: true, warnings: [...session.reader.warnings, ...session.warnings], image: session.imagePath(1) });
} catch (e) {
  const usage = e instanceof UsageError || e instanceof TraceError;
  post({ error: usage ? (e as Error).message : (e as Error).stack ?? String(e), usage });
}
