/**
 * `xenrr tui <trace> [--against other.xrr]` and `xenrr start` (what `npm
 * start` runs): the debugger needs a terminal, so when stdout is not one it
 * says so in one line and exits 2 (`start` prints the run summary instead,
 * exactly as `xenrr run` does).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { render } from 'ink';
import { imageOverrides, openTrace } from '../replay/cli/trace-cmds.js';
import { UsageError } from '../replay/cli/errors.js';
import { DEFAULT_SCENARIO, loadInput, runCommand } from '../replay/cli/run.js';
import { diffTraces } from '../replay/diff.js';
import { record } from '../replay/record.js';
import { ReplaySession } from '../replay/session.js';
import { loadSymbols } from '../replay/symbols.js';
import { initZstd } from '../trace/zstd.js';
import { App } from './app.js';
import { DiffApp } from './diff-app.js';
import { TimelineSource } from './source.js';

type TuiOpts = { against?: string; image?: string[] };

export function registerTui(program: Command): void {
  program
    .command('tui')
    .description('interactive debugger over a trace: timeline, detail, state, console; --against shows a diff')
    .argument('<trace>', 'trace file (.xrr)')
    .option('--against <trace>', 'a second trace: show both timelines aligned as `xenrr diff` aligns them')
    .option('--image <name=path...>', 'kernel image for a domain (symbols, replay)')
    .action(async (path: string, o: TuiOpts) => {
      if (process.stdout.isTTY !== true) throw new UsageError('tui needs a terminal: stdout is not a TTY (use `xenrr dump` for text output)');
      await initZstd();
      await openTui(path, o);
    });

  program
    .command('start')
    .description('what `npm start` runs: on a terminal, record the default scenario and open the debugger on it; otherwise `xenrr run`')
    .action(async () => {
      if (process.stdout.isTTY !== true) return runCommand([], {});
      const s = loadInput(DEFAULT_SCENARIO, {});
      if (s === null) throw new UsageError(`${DEFAULT_SCENARIO}: not a scenario`);
      const out = join(mkdtempSync(join(tmpdir(), 'xenrr-')), `${s.name}.xrr`);
      process.stderr.write(`recording ${s.name} to ${out}...\n`);
      await record(s, out, { checkpointEvery: 50000 });
      await openTui(out, {});
    });
}

async function openTui(path: string, o: TuiOpts): Promise<void> {
  const overrides = imageOverrides(o.image);
  const reader = openTrace(path);
  const source = new TimelineSource(reader, loadSymbols(reader.header, overrides));
  let app;
  if (o.against !== undefined) {
    const other = openTrace(o.against);
    const otherSource = new TimelineSource(other, loadSymbols(other.header, overrides));
    process.stderr.write(`aligning ${path} and ${o.against}...\n`);
    const report = diffTraces(reader, other, { symbols: [source.symbols, otherSource.symbols], maxRegions: 1_000_000 });
    app = render(<DiffApp a={source} b={otherSource} report={report} />, { exitOnCtrlC: true });
  } else {
    app = render(<App source={source} openSession={() => ReplaySession.open(reader, overrides)} />, { exitOnCtrlC: true });
  }
  await app.waitUntilExit();
}
