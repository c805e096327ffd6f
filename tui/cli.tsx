/**
 * `xenrr tui <trace> [--against other.xrr]` and `xenrr start` (what `npm
 * start` runs): the debugger needs a terminal, so when stdout is not one it
 * says so in one line and exits 2 (`start` prints the run summary instead,
 * exactly as `xenrr run` does).
 *
 * Everything the commands need is imported when they run, not when the CLI
 * starts: other commands do not pay for Ink and React, and the first frame
 * of the debugger does not wait for the simulator (loaded with the first
 * seek of the state or rings pane) or the diff. Hence no JSX in this file:
 * its runtime import would load React with the module, for every `--help`.
 */
import type { Command } from 'commander';
import { imageOverrides, UsageError } from '../replay/cli/errors.js';
import type { TraceReader } from '../trace/reader.js';

type TuiOpts = { against?: string; image?: string[]; symbols?: string[] };

export function registerTui(program: Command): void {
  program
    .command('tui')
    .description('interactive debugger over a trace: timeline, detail, state (registers, disassembly), rings, console; --against shows a diff')
    .argument('<trace>', 'trace file (.xrr)')
    .option('--against <trace>', 'a second trace: show both timelines aligned as `xenrr diff` aligns them')
    .option('--image <name=path...>', 'kernel image for a domain (symbols, replay)')
    .option('--symbols <name=path...>', 'symbol file for a domain: System.map, unstripped vmlinux, or a kernel with kallsyms (default: the recorded one, else the image\'s own)')
    .action(async (path: string, o: TuiOpts) => {
      const { inputFile } = await import('../replay/cli/inputs.js');
      for (const p of [path, ...(o.against !== undefined ? [o.against] : [])]) inputFile(p, 'a trace file');
      await openTui(path, o);
    });

  program
    .command('start')
    .description('what `npm start` runs: on a terminal, record the default scenario and open the debugger on it; otherwise `xenrr run`')
    .action(async () => {
      const { DEFAULT_SCENARIO, loadInput, runCommand } = await import('../replay/cli/run.js');
      if (process.stdout.isTTY !== true) return runCommand([], {});
      const s = await loadInput(DEFAULT_SCENARIO, {});
      if (s === null) throw new UsageError(`${DEFAULT_SCENARIO}: not a scenario`);
      const [{ mkdtempSync }, { tmpdir }, { join }, { record }] = await Promise.all([import('node:fs'), import('node:os'), import('node:path'), import('../replay/record.js')]);
      const out = join(mkdtempSync(join(tmpdir(), 'xenrr-')), `${s.name}.xrr`);
      process.stderr.write(`recording ${s.name} to ${out}...\n`);
      await record(s, out, { checkpointEvery: 50000 });
      await openTui(out, {});
    });
}

async function openTui(path: string, o: TuiOpts): Promise<void> {
  const overrides = imageOverrides(o.image);
  // Yoga (Ink's layout engine) fetch()es its inlined wasm when there is a global fetch, which loads Node's
  // HTTP client for it (a quarter of Ink's start); without one it decodes the bytes itself. xenrr makes no requests.
  delete (globalThis as { fetch?: unknown }).fetch;
  // DEV=true makes Ink look for React's devtools, which xenrr does not install, and (bundled) for its
  // package.json beside its module, which is not there: a crash, not a debugger.
  delete process.env.DEV;
  // zstd's wasm compiles while Ink and the App load.
  const zstd = import('../trace/zstd.js').then((z) => z.initZstd());
  const appModule = o.against === undefined ? import('./app.js') : null;
  // React is CommonJS: in the bundle a dynamic import of it has a default export only.
  const [{ render }, { default: React }, reading, { loadSymbols }, { TimelineSource }, { checkImages, headerDomains, imageProblem }, { symbolOverrides }] = await Promise.all([
    import('ink'), import('react'), import('../trace/reader.js'), import('../replay/symbols.js'), import('./source.js'), import('../replay/cli/inputs.js'), import('../replay/cli/symbol-args.js'), zstd,
  ]);
  const symbolFiles = symbolOverrides(o.symbols);
  // A damaged trace is one line and exit 2 here, before Ink starts (frames checked now; chunk hashes as chunks are read).
  const open = (p: string): TraceReader => {
    try {
      const r = reading.TraceReader.open(p);
      r.checkIntegrity(false);
      return r;
    } catch (e) {
      throw e instanceof reading.TraceError ? new UsageError(e.message) : e;
    }
  };
  const reader = open(path);
  const against = o.against === undefined ? null : open(o.against);
  checkImages(overrides, headerDomains(reader.header), path, (p) => imageProblem(p, o.against === undefined));
  if (process.stdout.isTTY !== true) throw new UsageError('tui needs a terminal: stdout is not a TTY (use `xenrr dump` for text output)');
  const source = new TimelineSource(reader, loadSymbols(reader.header, overrides, symbolFiles, path));
  let app;
  if (o.against !== undefined) {
    const other = against!;
    const otherSource = new TimelineSource(other, loadSymbols(other.header, overrides, symbolFiles, o.against));
    const [{ diffTraces }, { DiffApp }] = await Promise.all([import('../replay/diff.js'), import('./diff-app.js')]);
    process.stderr.write(`aligning ${path} and ${o.against}...\n`);
    const report = diffTraces(reader, other, { symbols: [source.symbols, otherSource.symbols], maxRegions: 1_000_000 });
    app = render(React.createElement(DiffApp, { a: source, b: otherSource, report }), { exitOnCtrlC: true });
  } else {
    const { App } = await appModule!;
    const openPoints = async (): Promise<import('./replay-point.js').PointSource> => {
      const [{ ReplaySession }, points] = await Promise.all([import('../replay/session.js'), import('./replay-point.js')]);
      return points.openPoints(ReplaySession.open(reader, overrides, symbolFiles), source.symbols);
    };
    app = render(React.createElement(App, { source, openPoints }), { exitOnCtrlC: true });
  }
  await app.waitUntilExit();
}
