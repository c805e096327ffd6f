/**
 * A TraceFile in a writer thread of its own (writer-worker.ts), seen from
 * the recorder's thread. A recording's checkpoints hash, compress and write
 * tens of megabytes (the Linux boot's: ~1 s of CPU); here they leave the
 * recorder's thread nothing but a copy of the pages they give, as rr's
 * compression threads do. The bytes written are the same: the thread takes
 * the calls in order, each whole, and nothing it does depends on timing.
 *
 * Ordering points, over a shared Int32Array (`ctl`):
 * - QUEUED: bytes posted and not yet written. The recorder adds before
 *   posting; the thread subtracts after each message. Above QUEUE_BYTES
 *   the recorder waits, so a fast guest cannot grow the queue without
 *   bound, and a killed recorder loses at most that much.
 * - STATE: 0 while running; 1 once close() has written the trailer, 2 once
 *   a call has failed. The thread posts its result (size, or the error) on
 *   its result port *before* setting it, so the recorder, woken, receives
 *   it synchronously.
 * - STARTED: 1 once the thread is ready: close() gives up waiting for a
 *   thread that never started (its module failed to load) after a minute.
 *
 * Messages are structured clones, never transfers: transferring would
 * detach an ArrayBuffer in the recorder's isolate, and V8 then recompiles
 * every typed-array access of the simulator with a detach check (the CPU
 * core runs 10-20 % slower for the rest of the process).
 */
import { closeSync, readFileSync } from 'node:fs';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ROOT } from '../sim/package-info.js';
import { PAGE } from './page-store.js';
import type { BaseFrames, ChunkData, CheckpointData, TailData } from './trace-file.js';

/** Bytes posted to the writer thread and not yet written, above which the recorder waits. */
export const QUEUE_BYTES = 64 << 20;
export const CTL_QUEUED = 0;
export const CTL_STATE = 1;
export const CTL_STARTED = 2;
const START_WAIT_MS = 60_000;

/** Frames and their bytes, packed: `mfns[k]`'s bytes are at `data[PAGE * slot]`, the slots of the frames `given` in order. */
export type PackedPages = { mfns: Int32Array; given: Uint8Array; data: SharedArrayBuffer };
export type WriterInit = { fd: number; offset: number; base: PackedPages | null; ctl: SharedArrayBuffer; results: MessagePort };
export type WriterMsg = { bytes: number } & ({ chunk: ChunkData } | { checkpoint: Omit<CheckpointData, 'pages'> & { pages: PackedPages } } | { close: TailData });
/** `cpu`: the thread's CPU seconds spent on checkpoints. */
export type WriterResult = { size: number; cpu: number } | { error: { message: string; code?: string; syscall?: string; errno?: number } };

/**
 * The thread's entry point: bin/xenrr runs compiled code, whose writer is
 * compiled beside it (dist/writer-worker.js, bin/compile.mjs); the sources
 * (tests, bench) start writer-worker.ts through tsx (writer-worker-boot.mjs).
 */
const WORKER = import.meta.url.endsWith('.ts') ? `${ROOT}trace/writer-worker-boot.mjs` : `${ROOT}dist/writer-worker.js`;

/** This thread's CPU seconds (Linux's schedstat; elsewhere the process's, all threads). */
export function threadCpu(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e9;
  } catch {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
}

/** `frames` packed; a frame's bytes are copied (they may be views of live memory), a frame given as unchanged (null) takes no slot. */
export function packPages(frames: ReadonlyArray<{ mfn: number; data: Uint8Array | null; base?: number }>): PackedPages {
  const n = frames.length;
  const mfns = new Int32Array(n);
  const given = new Uint8Array(n);
  let slots = 0;
  for (let k = 0; k < n; k++) {
    const f = frames[k]!;
    if (f.base !== undefined) throw new RangeError(`frame ${f.mfn} is given as stored in another trace: a writer thread takes a machine's pages only`);
    if (f.data !== null && f.data.length !== PAGE) throw new RangeError(`frame ${f.mfn} has ${f.data.length} bytes`);
    mfns[k] = f.mfn;
    if (f.data === null) continue;
    given[k] = 1;
    slots++;
  }
  const data = new SharedArrayBuffer(slots * PAGE);
  const bytes = new Uint8Array(data);
  for (let k = 0, slot = 0; k < n; k++) if (given[k] === 1) bytes.set(frames[k]!.data!, PAGE * slot++);
  return { mfns, given, data };
}

/** Inverse of packPages: views of the shared bytes. */
export function unpackPages(p: PackedPages): Array<{ mfn: number; data: Uint8Array | null }> {
  const out = new Array<{ mfn: number; data: Uint8Array | null }>(p.mfns.length);
  for (let k = 0, slot = 0; k < p.mfns.length; k++) out[k] = { mfn: p.mfns[k]!, data: p.given[k] === 1 ? new Uint8Array(p.data, PAGE * slot++, PAGE) : null };
  return out;
}

/** The recorder's side: TraceFile's calls, posted to the writer thread. */
export class ThreadedFile {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private readonly results: MessagePort;
  private readonly worker: Worker;
  private failure: Error | null = null;
  private written = 0;
  /** CPU seconds the thread spent on checkpoints (known at close). */
  checkpointCpu = 0;

  constructor(private readonly fd: number, offset: number, base: BaseFrames | undefined) {
    const { port1, port2 } = new MessageChannel();
    this.results = port1;
    const init: WriterInit = { fd, offset, base: base === undefined ? null : packPages(base), ctl: this.ctl.buffer as SharedArrayBuffer, results: port2 };
    this.worker = new Worker(WORKER, { workerData: init, transferList: [port2] });
    // Its failures come back on the result port; this keeps an unhandled 'error' event from ending the process.
    this.worker.on('error', () => {});
    this.worker.unref();
  }

  /** Bytes written (known at close, 0 before). */
  get size(): number {
    return this.written;
  }

  private post(m: WriterMsg): void {
    this.check();
    Atomics.add(this.ctl, CTL_QUEUED, m.bytes);
    this.worker.postMessage(m);
    for (let q = Atomics.load(this.ctl, CTL_QUEUED); q > QUEUE_BYTES && Atomics.load(this.ctl, CTL_STATE) === 0; q = Atomics.load(this.ctl, CTL_QUEUED)) Atomics.wait(this.ctl, CTL_QUEUED, q, 1000);
    this.check();
  }

  /** Throws what failed in the thread, if anything has (the file closed then: the trace ends where the thread stopped). */
  private check(): void {
    if (this.failure === null && Atomics.load(this.ctl, CTL_STATE) === 2) {
      this.failure = this.receiveError();
      closeSync(this.fd);
    }
    if (this.failure !== null) throw this.failure;
  }

  private receiveError(): Error {
    const r = receiveMessageOnPort(this.results)?.message as WriterResult | undefined;
    if (r === undefined || !('error' in r)) return new Error('the trace writer thread failed');
    return Object.assign(new Error(r.error.message), r.error);
  }

  chunk(c: ChunkData): void {
    this.post({ chunk: c, bytes: c.raw.length });
  }

  checkpoint(c: CheckpointData): void {
    const pages = packPages(c.pages);
    this.post({ checkpoint: { seq: c.seq, time: c.time, stateJson: c.stateJson, pages }, bytes: pages.data.byteLength + c.stateJson.length });
  }

  /** The index and trailer written, the file closed: waits for the thread to be done. */
  close(tail: TailData): void {
    this.post({ close: tail, bytes: 0 });
    for (let waited = 0; Atomics.load(this.ctl, CTL_STATE) === 0; waited += 1000) {
      if (waited >= START_WAIT_MS && Atomics.load(this.ctl, CTL_STARTED) === 0) throw new Error(`the trace writer thread (${WORKER}) did not start`);
      Atomics.wait(this.ctl, CTL_STATE, 0, 1000);
    }
    this.check();
    const r = receiveMessageOnPort(this.results)?.message as WriterResult | undefined;
    if (r === undefined || 'error' in r) throw new Error('the trace writer thread ended without a result');
    this.written = r.size;
    this.checkpointCpu = r.cpu;
    this.results.close();
    closeSync(this.fd);
  }
}
