/**
 * `xenrr export <trace> --perfetto out.json`: Chrome trace-event JSON for
 * the Perfetto UI and chrome://tracing (mapping: replay/export-perfetto.ts).
 * `--pcap out.pcap`: the frames of the virtual switch as a pcap file for
 * tcpdump and Wireshark (replay/export-pcap.ts). Either or both.
 * Each file is streamed to `<out>.tmp` and renamed when complete, so a failed
 * export never leaves a truncated file behind.
 */
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from './errors.js';
import { imageOverrides } from './errors.js';
import { checkImages, domainOption, imageProblem, outputFile, seqRange } from './inputs.js';

type ExportOpts = { perfetto?: string; pcap?: string; from?: string; to?: string; dom?: string; image?: string[]; symbols?: string[] };

/** Buffered writes to an fd: a big trace costs one chunk of memory, not the whole file. */
function writeChunks(fd: number, chunks: Iterable<string | Uint8Array>): number {
  let buf: Array<string | Uint8Array> = [];
  let size = 0;
  let total = 0;
  const flush = (): void => {
    const b = Buffer.concat(buf.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
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

/** Stream `chunks` to `<out>.tmp`, then rename it to `out`: the bytes written. `rethrow` maps a reader's error to a UsageError. */
function writeFile(out: string, chunks: Iterable<string | Uint8Array>, rethrow: (e: unknown) => void): number {
  const tmp = `${out}.tmp`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new UsageError(`${out}: cannot write (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    const bytes = writeChunks(fd, chunks);
    closeSync(fd);
    renameSync(tmp, out);
    return bytes;
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    rethrow(e);
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== undefined) throw new UsageError(`${out}: cannot write (${code})`);
    throw e;
  }
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('export a trace for other tools (--perfetto: Chrome trace-event JSON for ui.perfetto.dev and chrome://tracing; --pcap: the virtual switch\'s frames for tcpdump and Wireshark)')
    .argument('<trace>', 'trace file')
    .option('--perfetto <out.json>', 'write Chrome trace-event JSON here')
    .option('--pcap <out.pcap>', 'write the frames through the virtual switch here (pcap, LINKTYPE_ETHERNET, simulated-time timestamps)')
    .option('--from <seq>', 'first sequence number')
    .option('--to <seq>', 'last sequence number (inclusive)')
    .option('--dom <n>', 'only this domain (flows to other domains are left out)')
    .option('--image <name=path...>', 'kernel image for a domain, to symbolize RIPs')
    .option('--symbols <name=path...>', 'symbol file for a domain: System.map, unstripped vmlinux, or a kernel with kallsyms (default: the recorded one, else the image\'s own)')
    .action(async (path: string, o: ExportOpts) => {
      if (o.perfetto === undefined && o.pcap === undefined) throw new UsageError('export: give --perfetto <out.json> and/or --pcap <out.pcap>');
      const [{ TraceError }, { PerfettoExporter, perfettoText, scenarioDomains }, { frameOfDomain, pcapChunks }, { loadSymbols }, { symbolOverrides }, { openTrace }] = await Promise.all([
        import('../../trace/reader.js'), import('../export-perfetto.js'), import('../export-pcap.js'), import('../symbols.js'), import('./symbol-args.js'), import('./trace-cmds.js'),
      ]);
      const r = await openTrace(path);
      const { from, end } = seqRange(o.from, o.to);
      const to = end - 1;
      const domains = scenarioDomains(r.header);
      const dom = o.dom === undefined ? undefined : domainOption(o.dom, domains, path).id;
      const images = imageOverrides(o.image);
      checkImages(images, domains, path, (p) => imageProblem(p, false));
      if (o.perfetto !== undefined) outputFile(o.perfetto, 'a JSON file', [path]);
      if (o.pcap !== undefined) outputFile(o.pcap, 'a pcap file', [path, ...(o.perfetto !== undefined ? [o.perfetto] : [])]);
      for (const w of r.warnings) process.stderr.write(`xenrr: warning: ${path}: ${w}\n`);
      const rethrow = (e: unknown): void => {
        if (e instanceof TraceError) throw new UsageError(e.message);
      };
      if (o.perfetto !== undefined) {
        const syms = loadSymbols(r.header, images, symbolOverrides(o.symbols), path);
        const whole = o.from === undefined && o.to === undefined;
        const exporter = new PerfettoExporter(r.header, { syms, ...(dom !== undefined ? { dom } : {}), ...(whole ? { endTime: r.index.endTime } : {}) });
        const bytes = writeFile(o.perfetto, perfettoText(exporter, r.events(from, to + 1), r.header), rethrow);
        const s = exporter.stats;
        process.stdout.write(`${o.perfetto}: ${s.traceEvents} trace events (${s.hypercalls} hypercall slices, ${s.flows} event-channel flows, ${s.unmatchedSends} sends without a delivery), ${bytes} bytes\n`);
      }
      if (o.pcap !== undefined) {
        const stats = { frames: 0, bytes: 0 };
        const keep = dom === undefined ? undefined : (e: Parameters<typeof frameOfDomain>[0]): boolean => frameOfDomain(e, dom);
        const bytes = writeFile(o.pcap, pcapChunks(r.events(from, to + 1), r.header.wallclock, stats, keep), rethrow);
        process.stdout.write(`${o.pcap}: ${stats.frames} frames, ${bytes} bytes\n`);
      }
    });
}
