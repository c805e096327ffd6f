/**
 * The replay in its worker thread (worker.ts) as a Backend: requests go
 * over, replies come back in order, and an interrupt sets the shared flag
 * the worker's run checks at every clean point (cleared before each
 * request, so a late Ctrl-C cannot stop the next one).
 */
import { Worker } from 'node:worker_threads';
import { ROOT } from '../../sim/package-info.js';
import { UsageError } from '../cli/errors.js';
import type { Reply } from './dispatch.js';
import type { Backend } from './server.js';
import type { WorkerInit, WorkerOut } from './worker.js';

export type Threaded = { backend: Backend; warnings: string[]; image: string | null; close: () => Promise<void> };

/**
 * The worker's entry point: bin/xenrr runs compiled code, whose worker is
 * compiled beside it (dist/gdb-worker.js, bin/compile.mjs); the sources
 * (tests, bench) start worker.ts through tsx (worker-boot.mjs).
 */
const WORKER = import.meta.url.endsWith('.ts') ? `${ROOT}replay/gdb/worker-boot.mjs` : `${ROOT}dist/gdb-worker.js`;

/** Start the worker on a trace; resolves once the replay is open (rejects with a UsageError when the input is bad). */
export function startReplayWorker(opts: Omit<WorkerInit, 'flag'>): Promise<Threaded> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const w = new Worker(WORKER, { workerData: { ...opts, flag: flag.buffer } satisfies WorkerInit });
  const waiting: Array<(r: Reply) => void> = [];
  let noAck = false;
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.on('message', (m: WorkerOut) => {
      if ('error' in m) return reject(m.usage ? new UsageError(m.error) : new Error(m.error));
      if ('ready' in m) {
        const backend: Backend = {
          handle: (p) => new Promise((res) => {
            Atomics.store(flag, 0, 0);
            waiting.push(res);
            w.postMessage(p);
          }),
          get noAck() {
            return noAck;
          },
          interrupt: () => void Atomics.store(flag, 0, 1),
        };
        return resolve({ backend, warnings: m.warnings, image: m.image, close: async () => void (await w.terminate()) });
      }
      noAck = m.noAck;
      waiting.shift()?.(m.reply);
    });
  });
}
