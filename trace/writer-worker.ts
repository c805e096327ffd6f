/**
 * The writer thread (writer-thread.ts has the protocol): a TraceFile taking
 * the recorder's calls in the order they were posted. A failure (a full
 * disk, say) is posted back once; the calls after it are dropped, and the
 * recorder throws it at its next call. The recorder opened the file and
 * closes it (Node warns of a thread closing another's descriptor).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { TraceFile } from './trace-file.js';
import { CTL_QUEUED, CTL_STARTED, CTL_STATE, threadCpu, unpackPages, type WriterInit, type WriterMsg, type WriterResult } from './writer-thread.js';
import { initZstd } from './zstd.js';

const init = workerData as WriterInit;
const ctl = new Int32Array(init.ctl);
let file: TraceFile | null = null;
let failed = false;
let cpu = 0;

/** The result posted, then the state that wakes the recorder (in that order: see writer-thread.ts). */
function finish(r: WriterResult): void {
  init.results.postMessage(r);
  Atomics.store(ctl, CTL_STATE, 'error' in r ? 2 : 1);
  Atomics.notify(ctl, CTL_STATE);
}

function fail(e: unknown): void {
  failed = true;
  const x = e as NodeJS.ErrnoException;
  finish({ error: { message: String(x?.message ?? e), ...(x?.code === undefined ? {} : { code: x.code }), ...(x?.syscall === undefined ? {} : { syscall: x.syscall }), ...(x?.errno === undefined ? {} : { errno: x.errno }) } });
}

function handle(m: WriterMsg): void {
  if ('chunk' in m) return file!.chunk(m.chunk);
  if ('checkpoint' in m) {
    const t = threadCpu();
    file!.checkpoint({ ...m.checkpoint, pages: unpackPages(m.checkpoint.pages) });
    cpu += threadCpu() - t;
    return;
  }
  file!.close(m.close, true);
  finish({ size: file!.size, cpu });
  parentPort!.close();
}

try {
  await initZstd();
  file = new TraceFile(init.fd, init.offset, init.base === null ? undefined : (unpackPages(init.base) as Array<{ mfn: number; data: Uint8Array }>));
} catch (e) {
  fail(e);
}
Atomics.store(ctl, CTL_STARTED, 1);
parentPort!.on('message', (m: WriterMsg) => {
  try {
    if (!failed) handle(m);
  } catch (e) {
    fail(e);
  } finally {
    Atomics.sub(ctl, CTL_QUEUED, m.bytes);
    Atomics.notify(ctl, CTL_QUEUED);
  }
});
