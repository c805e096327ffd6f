/**
 * `xenrr` command dispatcher. Each subcommand lives in replay/cli/; user
 * errors (UsageError) print one line and exit 2, never a stack trace.
 */
import { Command, CommanderError } from 'commander';
import { registerExport } from '../replay/cli/export.js';
import { registerDiff } from '../replay/cli/diff.js';
import { registerRun } from '../replay/cli/run.js';
import { registerTraceCommands } from '../replay/cli/trace-cmds.js';
import { registerReplay } from '../replay/cli/replay-cmd.js';
import { registerCheck } from '../replay/cli/check.js';
import { UsageError } from '../replay/cli/errors.js';
import { registerTui } from '../tui/cli.js';

const program = new Command('xenrr')
  .description('rr for Xen kernel work: deterministic record/replay of x86-64 Xen PV guests on a simulated Xen')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

// `xenrr dump ... | head`: a closed pipe ends the command quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

registerRun(program);
registerTraceCommands(program);
registerDiff(program);
registerExport(program);
registerReplay(program);
registerCheck(program);
registerTui(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  if (e instanceof UsageError) {
    process.stderr.write(`xenrr: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
