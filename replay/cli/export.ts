/**
 * `xenrr export <trace> --perfetto out.json`: Chrome trace-event JSON for
 * the Perfetto UI and chrome://tracing (mapping: replay/export-perfetto.ts).
 * The file is streamed to `<out>.tmp` and renamed when complete, so a failed
 * export never leaves a truncated JSON file behind.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { imageOverrides } from './errors.js';
import { checkImages, domainOption, imageProblem, outputFile, seqRange } from './inputs.js';

type ExportOpts = { perfetto: string; from?: string; to?: string; dom?: string; image?: string[]; symbols?: string[] };

/** Buffered writes to an fd: a big trace costs one chunk of memory, not the whole JSON. */
function writeChunks(fd: number, chunks: Iterable<string>): number {
  let buf: string[] = [];
  let size = 0;
  let total = 0;
  const flush = (): void => {
    const b = Buffer.from(buf.join(''));
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off);
    total += b.length;
    buf = [];
    size = 0;
  };
  for (const c of chunks) {
    buf.push(c);
    size += c.length;
    if (size >= 1 << 20) flush();
  }
  flush();
  return total;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a trace for other tools (--perfetto: Chrome trace-event JSON for ui.perfetto.dev and chrome://tracing)')
    .argument('<trace>', 'trace file')
    .requiredOption('--perfetto <out.json>', 'write Chrome trace-event JSON here')
    .option('--from <seq>', 'first sequence number')
    .option('--to <seq>', 'last sequence number (inclusive)')
    .option('--dom <n>', 'only this domain (flows to other domains are left out)')
    .option('--image <name=path...>', 'kernel image for a domain, to symbolize RIPs')
    .option('--symbols <name=path...>', 'symbol file for a domain: System.map, unstripped vmlinux, or a kernel with kallsyms (default: the recorded one, else the image\'s own)')
    .action(async (path: string, o: ExportOpts) => {
      const [{ TraceError }, { PerfettoExporter, perfettoText, scenarioDomains }, { loadSymbols }, { symbolOverrides }, { openTrace }] = await Promise.all([
        import('../../trace/reader.js'), import('../export-perfetto.js'), import('../symbols.js'), import('./symbol-args.js'), import('./trace-cmds.js'),
      ]);
      const r = await openTrace(path);
      const { from, end } = seqRange(o.from, o.to);
      const to = end - 1;
      const domains = scenarioDomains(r.header);
      const dom = o.dom === undefined ? undefined : domainOption(o.dom, domains, path).id;
      const images = imageOverrides(o.image);
      checkImages(images, domains, path, (p) => imageProblem(p, false));
      outputFile(o.perfetto, 'a JSON file', [path]);
      const syms = loadSymbols(r.header, images, symbolOverrides(o.symbols), path);
      for (const w of r.warnings) process.stderr.write(`xenrr: warning: ${path}: ${w}\n`);
      const whole = o.from === undefined && o.to === undefined;
      const exporter = new PerfettoExporter(r.header, { syms, ...(dom !== undefined ? { dom } : {}), ...(whole ? { endTime: r.index.endTime } : {}) });
      const tmp = `${o.perfetto}.tmp`;
      let fd: number;
      try {
        fd = openSync(tmp, 'w');
      } catch (e) {
        throw new UsageError(`${o.perfetto}: cannot write (${(e as NodeJS.ErrnoException).code})`);
      }
      let bytes: number;
      try {
        bytes = writeChunks(fd, perfettoText(exporter, r.events(from, to + 1), r.header));
        closeSync(fd);
        renameSync(tmp, o.perfetto);
      } catch (e) {
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
        rmSync(tmp, { force: true });
        if (e instanceof TraceError) throw new UsageError(e.message);
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== undefined) throw new UsageError(`${o.perfetto}: cannot write (${code})`);
        throw e;
      }
      const s = exporter.stats;
      process.stdout.write(`${o.perfetto}: ${s.traceEvents} trace events (${s.hypercalls} hypercall slices, ${s.flows} event-channel flows, ${s.unmatchedSends} sends without a delivery), ${bytes} bytes\n`);
    });
}
