/**
 * `xenrr` command dispatcher. Each subcommand lives in replay/cli/; user
 * errors (UsageError) print one line and exit 2, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { UsageError } from '../replay/cli/errors.js';
import { VERSION } from '../sim/package-info.js';

type Register = (program: Command) => void;
/**
 * Errors about what the user gave us (a scenario, a kernel image, an ELF, a
 * trace), by name so that this entry point need not load their modules:
 * commands turn them into UsageErrors with more context where they can; any
 * that get here are still one line, never a stack trace.
 */
const INPUT_ERRORS = new Set(['ScenarioError', 'BuildError', 'ElfError', 'TraceError']);
/**
 * Each command's module, loaded only when that command runs (all of them
 * for the command list of `--help`). A module's top level holds the
 * command's definition only; what its action needs (the simulator, zod,
 * protobufjs, Ink) is imported when the action runs, so `--help` loads none
 * of it and `xenrr info` no simulator.
 */
const MODULES: Record<string, () => Promise<Register>> = {
  run: async () => (await import('../replay/cli/run.js')).registerRun,
  trace: async () => (await import('../replay/cli/trace-cmds.js')).registerTraceCommands,
  diff: async () => (await import('../replay/cli/diff.js')).registerDiff,
  export: async () => (await import('../replay/cli/export.js')).registerExport,
  replay: async () => (await import('../replay/cli/replay-cmd.js')).registerReplay,
  gdbserver: async () => (await import('../replay/cli/gdbserver.js')).registerGdbserver,
  check: async () => (await import('../replay/cli/check.js')).registerCheck,
  tui: async () => (await import('../tui/cli.js')).registerTui,
};
/** command name -> its module (record, dump and info share one; so do check and bisect, tui and start) */
const COMMANDS: Record<string, string> = {
  run: 'run', record: 'trace', dump: 'trace', info: 'trace', diff: 'diff', export: 'export',
  replay: 'replay', gdbserver: 'gdbserver', check: 'check', bisect: 'check', tui: 'tui', start: 'tui',
};

const program = new Command('xenrr')
  .description('rr for Xen kernel work: deterministic record/replay of x86-64 Xen PV guests on a simulated Xen')
  .version(VERSION)
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

// `xenrr dump ... | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const first = process.argv[2];
const wanted = first !== undefined && COMMANDS[first] !== undefined ? [COMMANDS[first]] : Object.keys(MODULES);
for (const register of await Promise.all(wanted.map((m) => MODULES[m]!()))) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  if (e instanceof UsageError || (e instanceof Error && INPUT_ERRORS.has(e.name))) {
    process.stderr.write(`xenrr: ${e.message}\n`);
    process.exit(2);
  }
  // A file the user named could not be read or written, in a place no command checks for.
  const fs = e as NodeJS.ErrnoException;
  if (typeof fs?.path === 'string' && typeof fs.syscall === 'string' && typeof fs.code === 'string') {
    process.stderr.write(`xenrr: ${fs.path}: ${fs.code === 'ENOENT' ? 'no such file' : fs.code === 'EISDIR' ? 'is a directory' : fs.code === 'EACCES' ? 'permission denied' : `cannot ${fs.syscall} (${fs.code})`}\n`);
    process.exit(2);
  }
  throw e;
}
