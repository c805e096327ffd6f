/**
 * The transport of `xenrr gdbserver`: one gdb connection, over TCP on
 * 127.0.0.1 (as gdbserver listens) or over stdin/stdout (`target remote |
 * xenrr gdbserver --stdio t.xrr`). Packets are answered in order, each
 * acknowledged until gdb turns acknowledgements off (QStartNoAckMode); a
 * `-` resends the last reply. The session ends when gdb detaches, kills
 * or hangs up.
 *
 * The replay runs in a worker thread (worker.ts) so that this one keeps
 * reading while a continue re-executes: gdb's interrupt (Ctrl-C, a bare
 * 0x03) then stops the run at its next clean point, and gdb gets a SIGINT
 * stop there (going back: where it started).
 */
import { createServer, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { frame, PacketReader } from './packet.js';
import type { Dispatcher, Reply } from './dispatch.js';

/**
 * Start reading a connection before the replay is ready: packets are
 * acknowledged at once (gdb resends a packet not acknowledged within its
 * remote timeout, two seconds, and opening a long trace can take longer)
 * and kept for `serve`.
 */
export class EarlyInput {
  readonly pending: Buffer[] = [];
  /** packets acknowledged (no QStartNoAckMode can have been asked for: it needs our reply to qSupported first) */
  acked = 0;
  private readonly reader = new PacketReader();
  private readonly onData = (b: Buffer): void => {
    this.pending.push(b);
    for (const x of this.reader.push(b)) {
      if (x.kind !== 'packet') continue;
      this.output.write('+');
      this.acked++;
    }
  };

  constructor(readonly input: Readable, private readonly output: Writable) {
    input.on('data', this.onData);
  }

  /** Stop buffering; what was read so far. */
  take(): Buffer[] {
    this.input.off('data', this.onData);
    return this.pending.splice(0);
  }
}

/**
 * What answers requests: a Dispatcher in this thread (tests, benches) or
 * the replay's worker thread (the command), which a Ctrl-C can interrupt.
 */
export interface Backend {
  handle(p: string): Promise<Reply>;
  /** QStartNoAckMode was answered */
  readonly noAck: boolean;
  /** gdb sent an interrupt (0x03) while a request runs */
  interrupt(): void;
}

/** A Dispatcher in this thread: nothing to interrupt, since nothing reads while it runs. */
export function localBackend(d: Dispatcher): Backend {
  const handle = async (p: string): Promise<Reply> => {
    try {
      return d.handle(p);
    } catch (e) {
      return { packets: [`E.${(e as Error).message}`] };
    }
  };
  return { handle, get noAck() { return d.noAck; }, interrupt: () => {} };
}

/**
 * Serve one connection until gdb leaves; resolves then. Requests are
 * answered one at a time, in order; an interrupt while one runs goes to the
 * backend (and is dropped when none does: it came after the stop it wanted).
 * `early`: bytes read (and acknowledged) before, by EarlyInput. `log` gets
 * a line per packet when debugging the protocol.
 */
export function serve(b: Backend, input: Readable, output: Writable, log?: (line: string) => void, early?: EarlyInput): Promise<void> {
  return new Promise((resolve) => {
    const reader = new PacketReader();
    const queue: string[] = [];
    let last: Buffer | null = null;
    let done = false;
    let busy = false;
    let acked = 0;
    let prev: string | null = null;
    const finish = (): void => {
      if (done) return;
      done = true;
      input.off('data', onData);
      resolve();
    };
    const send = (x: Buffer): void => void output.write(x);
    const work = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      while (queue.length > 0 && !done) {
        const req = queue.shift()!;
        log?.(`<- ${req}`);
        const r = await b.handle(req);
        for (const p of r.packets) {
          log?.(`-> ${p.length > 200 ? `${p.slice(0, 200)}...` : p}`);
          last = frame(p);
          send(last);
        }
        if (r.close === true) finish();
      }
      busy = false;
    };
    const onData = (chunk: Buffer): void => {
      for (const x of reader.push(chunk)) {
        if (done) return;
        if (x.kind === 'nack' && last !== null) send(last);
        else if (x.kind === 'bad') send(Buffer.from('-'));
        else if (x.kind === 'interrupt') {
          if (busy) b.interrupt();
        } else if (x.kind === 'packet') {
          const req = x.data.toString('latin1');
          if (acked > 0) {
            // Acknowledged early: gdb may have sent it again meanwhile, wanting one reply.
            acked--;
            if (req === prev) continue;
          } else if (!b.noAck) send(Buffer.from('+'));
          prev = req;
          queue.push(req);
          // Started now, so that an interrupt later in this chunk finds it running.
          void work();
        }
      }
    };
    if (early !== undefined) {
      acked = early.acked;
      onData(Buffer.concat(early.take()));
    }
    input.on('data', onData);
    input.on('end', finish);
    input.on('close', finish);
    input.on('error', finish);
  });
}

/**
 * Listen on 127.0.0.1:`port` (0: any free port), tell `ready` the port,
 * serve the first connection, then stop listening.
 */
export function serveTcp(b: Backend, port: number, ready: (port: number) => void, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true });
    server.once('error', reject);
    server.once('connection', (sock: Socket) => {
      server.close();
      sock.setNoDelay(true);
      void serve(b, sock, sock, log).then(() => {
        sock.end();
        resolve();
      });
    });
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      ready(typeof a === 'object' && a !== null ? a.port : port);
    });
  });
}
