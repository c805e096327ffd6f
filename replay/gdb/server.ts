/**
 * The transport of `xenrr gdbserver`: one gdb connection, over TCP on
 * 127.0.0.1 (as gdbserver listens) or over stdin/stdout (`target remote |
 * xenrr gdbserver --stdio t.xrr`). Packets are answered in order, each
 * acknowledged until gdb turns acknowledgements off (QStartNoAckMode); a
 * `-` resends the last reply. The session ends when gdb detaches, kills
 * or hangs up.
 *
 * A resume runs to its stop before the next byte is read, so an interrupt
 * (Ctrl-C) sent meanwhile arrives after the stop reply and is dropped: a
 * replay always stops, at the latest at either end of the recording.
 */
import { createServer, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { frame, PacketReader } from './packet.js';
import type { Dispatcher } from './dispatch.js';

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
 * Serve one connection until gdb leaves; resolves then. `early`: bytes read
 * (and acknowledged) before, by EarlyInput. `log` gets a line per packet
 * when debugging the protocol.
 */
export function serve(d: Dispatcher, input: Readable, output: Writable, log?: (line: string) => void, early?: EarlyInput): Promise<void> {
  return new Promise((resolve) => {
    const reader = new PacketReader();
    let last: Buffer | null = null;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      input.off('data', onData);
      resolve();
    };
    const send = (b: Buffer): void => {
      output.write(b);
    };
    let acked = 0;
    let prev: string | null = null;
    const onData = (chunk: Buffer): void => {
      for (const x of reader.push(chunk)) {
        if (done) return;
        if (x.kind === 'nack' && last !== null) send(last);
        else if (x.kind === 'bad') send(Buffer.from('-'));
        else if (x.kind === 'packet') {
          const req = x.data.toString('latin1');
          if (acked > 0) {
            // Acknowledged early: gdb may have sent it again meanwhile, wanting one reply.
            acked--;
            if (req === prev) continue;
          } else if (!d.noAck) send(Buffer.from('+'));
          prev = req;
          log?.(`<- ${req}`);
          const r = d.handle(req);
          for (const p of r.packets) {
            log?.(`-> ${p.length > 200 ? `${p.slice(0, 200)}...` : p}`);
            last = frame(p);
            send(last);
          }
          if (r.close === true) return finish();
        }
        // Acks need nothing; an interrupt can only come after its stop was answered (see above).
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
export function serveTcp(d: Dispatcher, port: number, ready: (port: number) => void, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true });
    server.once('error', reject);
    server.once('connection', (sock: Socket) => {
      server.close();
      sock.setNoDelay(true);
      void serve(d, sock, sock, log).then(() => {
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
