/**
 * `xenrr gdbserver <trace> [--port N | --stdio] [--at EVENT]` (and `xenrr
 * replay <trace> --gdb [PORT]`): serve the replay to gdb over its remote
 * protocol. Threads are the vCPUs of every domain (d1v0, d2v0...); gdb's
 * breakpoints, watchpoints, stepi/continue and their reverse forms move the
 * replay (replay/gdb/). Messages go to stderr: with --stdio, stdout is the
 * protocol. The replay runs in a worker thread, so that gdb's Ctrl-C
 * reaches a long continue (replay/gdb/threaded.ts).
 */
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export type GdbOptions = { port?: string; stdio?: boolean; at?: string; image?: string[]; debugProtocol?: boolean };

export function registerGdbserver(program: Command): void {
  program
    .command('gdbserver')
    .description('serve a replay to gdb (target remote): vCPUs as threads, breakpoints, watchpoints, reverse execution')
    .argument('<trace>', 'trace file')
    .option('--port <n>', 'listen on 127.0.0.1:N (default 1234; 0 picks a free port)')
    .option('--stdio', 'talk on stdin/stdout: target remote | xenrr gdbserver --stdio TRACE')
    .option('--at <event>', 'start just before the instruction that raised event EVENT (default: the start of the recording)')
    .option('--image <name=path...>', 'kernel image for a domain (default: the recorded path)')
    .option('--debug-protocol', 'log every packet to stderr')
    .action(async (path: string, o: GdbOptions) => gdbserverCommand(path, o));
}

/** Open the trace and serve one gdb connection. */
export async function gdbserverCommand(path: string, o: GdbOptions): Promise<void> {
  if (o.stdio === true && o.port !== undefined) throw new UsageError('give --port or --stdio, not both');
  const [{ EarlyInput, serve, serveTcp }, { startReplayWorker }] = await Promise.all([import('../gdb/server.js'), import('../gdb/threaded.js')]);
  const early = o.stdio === true ? new EarlyInput(process.stdin, process.stdout) : undefined;
  const port = o.port === undefined ? 1234 : Number(o.port);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got '${o.port}'`);
  const { backend, warnings, image, close } = await startReplayWorker({ path, image: o.image ?? [], ...(o.at !== undefined ? { at: o.at } : {}) });
  for (const w of warnings) process.stderr.write(`xenrr: warning: ${w}\n`);
  const log = o.debugProtocol === true ? (l: string): void => void process.stderr.write(`gdb ${l}\n`) : undefined;
  if (o.stdio === true) {
    await serve(backend, process.stdin, process.stdout, log, early);
    process.stdin.pause();
  } else {
    await serveTcp(backend, port, (p) => {
      process.stderr.write(`xenrr gdbserver: listening on 127.0.0.1:${p}; in gdb: target remote :${p}${image ? ` (symbols: gdb ${image})` : ''}\n`);
    }, log);
  }
  await close();
}
