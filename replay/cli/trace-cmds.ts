/**
 * `xenrr record`, `xenrr dump`, `xenrr info`. The trace reader and the
 * simulator are imported by the commands that use them, when they run.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { domainIds } from '../../sim/domain-ids.js';
import type { Scenario } from '../../sim/scenario.js';
import type { SimEvent } from '../../sim/events.js';
import type { TraceReader } from '../../trace/reader.js';
import { KIND_ALIASES, summary } from '../format.js';
import { CHECKPOINT_COST, CHECKPOINT_EVERY, CHECKPOINT_INSNS, COLD_INSN_COST, COST_PER_EVENT } from '../record-defaults.js';
import { eventLocation, stackText, symbolize, type Symbols } from '../symbolize.js';
import { imageOverrides, positiveInt, UsageError } from './errors.js';
import { checkImages, domainOption, fsReason, headerDomains, imageProblem, inputFile, outputFile, seqRange } from './inputs.js';
import { addKernelOptions, CHAOS_HELP, chaosOf, DEFAULT_SCENARIO, kernelOptions, loadInput, pvFailed, seedOf } from './run.js';

const hex = (v: bigint): string => `0x${v.toString(16)}`;
/** How checkpoints were spaced, for `info`: " (every N events or M instructions or C of seek cost)", or nothing. */
const spacing = (events: number, insns: number, cost: number): string => {
  const by = [events ? `${events} events` : '', insns ? `${insns} instructions` : '', cost ? `${cost} of seek cost` : ''].filter((x) => x !== '');
  return by.length > 0 ? ` (every ${by.join(' or ')})` : '';
};

/** Open a trace file (zstd ready), or a one-line error (missing, a directory, damaged). */
export async function openTrace(path: string): Promise<TraceReader> {
  inputFile(path, 'a trace file');
  const [{ TraceError, TraceReader }, { initZstd }] = await Promise.all([import('../../trace/reader.js'), import('../../trace/zstd.js')]);
  await initZstd();
  try {
    return TraceReader.open(path);
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerTraceCommands(program: Command): void {
  addKernelOptions(
    program
      .command('record')
      .description('run a scenario (or PV kernel) and record its trace')
      .argument('[input]', 'scenario .json or PV kernel (ELF or bzImage)', DEFAULT_SCENARIO)
      .requiredOption('-o, --output <file>', 'trace file to write (.xrr)')
      .option('--checkpoint-every <n>', 'events between machine checkpoints (0: none)', String(CHECKPOINT_EVERY))
      .option('--checkpoint-insns <n>', 'at most this many guest instructions between machine checkpoints, all vCPUs together (0: no bound)', String(CHECKPOINT_INSNS))
      .option('--checkpoint-cost <n>', `at most this much seek cost between checkpoints: instructions, each counting up to ${COLD_INSN_COST} in cold code (many entries into other code frames), plus ${COST_PER_EVENT} per event, so checkpoints are denser where a seek re-executes slowly (0: no bound); with --checkpoint-every and --checkpoint-insns, whichever comes first`, String(CHECKPOINT_COST))
      .option('--max-insns <n>', 'instruction budget (overrides the scenario)')
      .option('--seed <n>', 'seed (overrides the scenario)')
      .option('--chaos <seed>', CHAOS_HELP)
      .option('--image <name=path...>', 'kernel image (ELF or bzImage) for a scenario domain, in place of the scenario\'s; its ramdisk and command line stay')
      .option('--action <when:do:domain...>', 'WHEN:DO:DOMAIN[:ARG]: a toolstack action (shutdown, reboot, sysrq:KEY, pause, unpause, destroy, block-attach:VDEV=TARGET[,MODE], block-detach:VDEV, network-attach[:bridge=B,mac=M,ip=A], network-detach:DEVID|MAC) at a virtual time (2s), event=N or console=TEXT, e.g. 2s:shutdown:guest; recorded with the scenario, so replay re-applies it'),
  )
    .action(async (input: string, o: { output: string; checkpointEvery: string; checkpointInsns: string; checkpointCost: string; maxInsns?: string; seed?: string; chaos?: string; mem?: string; vcpus?: string; cmdline?: string; ramdisk?: string; symbols?: string; action?: string[]; image?: string[] }) => {
      kernelOptions([input], o);
      const chaos = chaosOf(o);
      const [{ ScenarioError }, { record }, { checkExpect }, { actionOptions }] = await Promise.all([
        import('../../sim/scenario.js'), import('../record.js'), import('../scenario-run.js'), import('./actions.js'),
      ]);
      let s: Scenario | null;
      try {
        s = await loadInput(input, o);
      } catch (e) {
        if (e instanceof ScenarioError) throw new UsageError(e.message);
        throw e;
      }
      if (s === null) throw new UsageError(`${input}: not a Xen PV kernel; only PV guests can be recorded`);
      // --image: another build of a domain's kernel (the boot of dom0 with -56 to diff against -57's).
      const images = imageOverrides(o.image);
      const ids = domainIds(s.domains);
      checkImages(images, s.domains.map((d, k) => ({ id: ids[k]!, name: d.name })), input);
      for (const [name, path] of images) s = { ...s, domains: s.domains.map((d) => (d.name === name ? { ...d, kernel: resolve(path) } : d)) };
      const actions = actionOptions(o.action, s);
      const every = o.checkpointEvery === '0' ? 0 : positiveInt('--checkpoint-every', o.checkpointEvery);
      const insns = o.checkpointInsns === '0' ? 0 : positiveInt('--checkpoint-insns', o.checkpointInsns);
      const cost = o.checkpointCost === '0' ? 0 : positiveInt('--checkpoint-cost', o.checkpointCost);
      const seed = seedOf(o);
      outputFile(o.output, 'a trace file', [input]);
      const tty = process.stderr.isTTY === true;
      let last = 0;
      const t0 = process.hrtime.bigint();
      let r;
      try {
        r = await record(s, o.output, {
          checkpointEvery: every,
          checkpointInsns: insns,
          checkpointCost: cost,
          ...(o.maxInsns ? { maxInsns: positiveInt('--max-insns', o.maxInsns) } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(chaos !== undefined ? { chaos } : {}),
          actions,
          progress: (events, insns) => {
            if (!tty || events - last < 20000) return;
            last = events;
            process.stderr.write(`\rrecording ${s.name}: ${events} events, ${insns} instructions`);
          },
        });
      } catch (e) {
        // The trace file could not be written (the checks above cannot foresee a full disk).
        const why = fsReason(e);
        if (why !== null && (e as NodeJS.ErrnoException).path === o.output) throw new UsageError(`${o.output}: cannot write: ${why}`);
        throw e;
      }
      if (tty) process.stderr.write('\r\x1b[K');
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(`${o.output}: ${r.events} events, ${r.checkpoints} checkpoints, ${r.bytes} bytes (${(r.bytes / Math.max(1, r.events)).toFixed(2)} bytes/event), ${r.summary.stop}, ${r.summary.instructions} instructions in ${sec.toFixed(2)} s\n`);
      // The trace is complete either way; the exit code judges the run as `xenrr run` does.
      if (r.summary.unimplemented !== undefined) process.stdout.write(`stopped: ${r.summary.unimplemented}\n`);
      const problems = checkExpect(s, r.summary);
      for (const p of problems) process.stdout.write(`expectation failed: ${p}\n`);
      for (const d of r.summary.domains) if (d.reason !== 'poweroff' && Object.keys(s.expect.shutdown).length === 0) process.stdout.write(`domain ${d.name}: ${d.state}${d.reason ? ` (${d.reason})` : ''}\n`);
      if (pvFailed(s, r.summary, problems)) process.exitCode = 1;
    });

  program
    .command('dump')
    .description('print a trace, one line per event')
    .argument('<trace>', 'trace file')
    .option('--dom <n>', 'only this domain (id or name; xen: the hypervisor\'s own events; 0 or dom0: dom0\'s services)')
    .option('--kind <list>', `only these kinds (${Object.keys(KIND_ALIASES).join(',')})`)
    .option('--from <seq>', 'first sequence number')
    .option('--to <seq>', 'last sequence number (inclusive)')
    .option('--image <name=path...>', 'kernel image for a domain, to symbolize RIPs')
    .option('--symbols <name=path...>', 'symbol file for a domain: System.map, unstripped vmlinux, or a kernel with kallsyms (default: the recorded one, else the image\'s own)')
    .option('--stacks', 'under each event raised in a hypercall, the guest call stack (frame pointers)')
    .option('--json', 'one JSON object per line')
    .action(async (path: string, o: { dom?: string; kind?: string; from?: string; to?: string; json?: boolean; stacks?: boolean; image?: string[]; symbols?: string[] }) => {
      const r = await openTrace(path);
      const [{ TraceError }, { loadSymbols }, { symbolOverrides }] = await Promise.all([import('../../trace/reader.js'), import('../symbols.js'), import('./symbol-args.js')]);
      const domains = headerDomains(r.header);
      // Xen's own events (timers between slices...) are shown as `xen`, and filtered so; dom0's services' (its backends' xenstore requests, notifications) as d0.
      const dom = o.dom === undefined ? null : domainOption(o.dom === '-1' ? 'xen' : o.dom, [{ id: 0, name: 'dom0' }, ...domains, { id: -1, name: 'xen' }], path).id;
      let kinds: Set<string> | null = null;
      if (o.kind) {
        kinds = new Set();
        for (const w of o.kind.split(',')) {
          const k = KIND_ALIASES[w.trim()];
          if (k === undefined) throw new UsageError(`--kind: unknown kind '${w}' (known: ${Object.keys(KIND_ALIASES).join(', ')})`);
          k.forEach((x) => kinds!.add(x));
        }
      }
      const { from, end: to } = seqRange(o.from, o.to);
      const images = imageOverrides(o.image);
      checkImages(images, domains, path, (p) => imageProblem(p, false));
      const syms = loadSymbols(r.header, images, symbolOverrides(o.symbols), path);
      for (const w of [...r.warnings, ...r.damage]) process.stderr.write(`xenrr: warning: ${path}: ${w}
`);
      try {
        for (const e of r.events(from, to)) {
          if (dom !== null && e.dom !== dom) continue;
          if (kinds !== null && !kinds.has(e.kind)) continue;
          process.stdout.write(o.json ? `${JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? hex(v) : v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') : v))}\n` : `${line(e, syms, o.stacks === true)}\n`);
        }
      } catch (e) {
        if (e instanceof TraceError) throw new UsageError(e.message);
        throw e;
      }
    });

  program
    .command('info')
    .description('summarize a trace: header, counts by kind and hypercall, sizes, compression, checkpoints; checks its integrity (a damaged trace: a warning and exit 1)')
    .argument('<trace>', 'trace file')
    .option('--json', 'print as JSON')
    .action(async (path: string, o: { json?: boolean }) => {
      const r = await openTrace(path);
      const [{ headerIdentity, imageName }, { FRAME_HEADER }] = await Promise.all([import('../images.js'), import('../../trace/schema.js')]);
      for (const w of r.warnings) process.stderr.write(`xenrr: warning: ${path}: ${w}\n`);
      const damage = r.integrity();
      for (const w of damage.slice(0, 5)) process.stderr.write(`xenrr: warning: ${path}: ${w}\n`);
      if (damage.length > 5) process.stderr.write(`xenrr: warning: ${path}: ... and ${damage.length - 5} more problems\n`);
      if (damage.length > 0) process.exitCode = 1;
      const id = headerIdentity(r.header);
      // The run's chaos settings, as the header's scenario holds them (absent: none).
      const chaos = (JSON.parse(r.header.scenarioJson) as { chaos?: { seed: number; rates?: Record<string, number>; maxDelay?: string | number } }).chaos;
      const raw = r.index.chunks.reduce((n, c) => n + c.rawSize, 0);
      const compressed = r.index.chunks.reduce((n, c) => n + c.compressedSize, 0);
      // Checkpoint frames (their lengths from the frame headers) and the page store they share.
      const frameLen = (offset: number): number => (offset + FRAME_HEADER <= r.size ? FRAME_HEADER + Buffer.from(r.read(offset + 1, 4)).readUInt32LE(0) : 0);
      const pageStore = { entries: r.index.pageBlocks.reduce((n, b) => n + b.count, 0), frames: r.index.pageBlocks.length, bytes: r.index.pageBlocks.reduce((n, b) => n + FRAME_HEADER + b.compressedSize, 0) };
      const checkpointBytes = r.index.checkpoints.reduce((n, c) => n + frameLen(c.offset), 0) + pageStore.bytes;
      const info = {
        file: path, complete: r.complete, damage, bytes: r.size, formatVersion: r.header.formatVersion, xenrrVersion: r.header.xenrrVersion,
        scenario: id.name, scenarioSha256: id.sha256, seed: r.header.seed, ...(chaos !== undefined ? { chaos } : {}),
        images: r.header.images.map((i, k) => ({ role: i.role || 'kernel', domain: i.domain, name: imageName(r.header, k), ...(i.path ? { path: i.path } : {}), sha256: Buffer.from(i.sha256).toString('hex'), size: i.size })),
        events: r.index.eventCount, countsByKind: r.index.countsByKind, countsByHypercall: r.index.countsByHypercall,
        chunks: r.index.chunks.length, checkpoints: r.index.checkpoints.length, checkpointEvery: r.header.checkpointEvery, checkpointInsns: r.header.checkpointInsns ?? 0,
        checkpointCost: r.header.checkpointCost ?? 0,
        checkpointBytes, pageStore,
        bytesPerEvent: r.index.eventCount ? r.size / r.index.eventCount : 0,
        eventBytesPerEvent: r.index.eventCount ? compressed / r.index.eventCount : 0,
        compressionRatio: compressed ? raw / compressed : 0, endTime: r.index.endTime, stopReason: r.index.stopReason,
      };
      if (o.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const lines = [
        `trace      ${path}${damage.length > 0 ? '  (DAMAGED: see the warnings)' : r.complete ? '' : '  (INCOMPLETE: no footer index)'}`,
        `format     v${info.formatVersion}, recorded by xenrr ${info.xenrrVersion}`,
        `scenario   ${info.scenario}${id.sha256 ? ` (sha256 ${id.sha256.slice(0, 16)}...)` : ''}, seed ${info.seed}, stop: ${info.stopReason}, virtual time ${(info.endTime / 1e6).toFixed(3)} ms`,
        ...(chaos !== undefined ? [`chaos      seed ${chaos.seed}${Object.entries(chaos.rates ?? {}).map(([k, v]) => `, ${k} ${v}`).join('')}${chaos.maxDelay !== undefined ? `, maxDelay ${chaos.maxDelay}` : ''} (faults injected in dom0's backends; replay re-applies them)`] : []),
        ...info.images.map((i) => `${(i.role === 'kernel' ? 'image' : i.role).padEnd(10)} ${i.domain}: ${i.name}${i.path && i.path !== i.name ? ` (${i.path})` : ''} (${i.size} bytes, sha256 ${i.sha256.slice(0, 16)}...)`),
        ...(r.index.vcpus.length > 0 ? [`vcpus      ${r.index.vcpus.map((v) => `d${v.dom}v${v.vcpu} ${v.icount}`).join(', ')} instructions retired`] : []),
        `events     ${info.events} in ${info.chunks} chunks; ${info.checkpoints} checkpoints${spacing(info.checkpointEvery, info.checkpointInsns, info.checkpointCost)}`,
        ...(info.checkpoints > 0 ? [`checkpoint ${checkpointBytes} bytes for all${pageStore.frames > 0 ? `, of which the page store ${pageStore.bytes} (${pageStore.entries} pages and state pieces in ${pageStore.frames} frames)` : ' (each with its own pages: a trace older than the page store)'}`] : []),
        `size       ${info.bytes} bytes, ${info.bytesPerEvent.toFixed(2)} bytes/event overall, ${info.eventBytesPerEvent.toFixed(2)} bytes/event in event chunks, compression ${info.compressionRatio.toFixed(1)}x`,
        `by kind    ${Object.entries(info.countsByKind).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ')}`,
        `hypercalls ${Object.entries(info.countsByHypercall).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}


/** seq, virtual time (µs), dom/vcpu, symbol, summary. */
export function line(e: SimEvent, syms: Symbols, stacks = false): string {
  const where = e.dom < 0 ? 'xen' : `d${e.dom}v${e.vcpu < 0 ? '-' : e.vcpu}`;
  const t = (e.time / 1000).toFixed(3).padStart(12);
  // Inside a hypercall an event is shown at the hypercall's caller: the RIP itself is in the hypercall page.
  // Events without a vCPU (Xen's own, dom0's services) have no guest location.
  const sym = e.dom < 0 || e.vcpu < 0 ? '' : symbolize(syms, e.dom, eventLocation(e));
  const text = `${String(e.seq).padStart(8)} ${t}us ${where.padEnd(6)} ${sym.padEnd(28)} ${summary(e)}`;
  return stacks && e.stack !== undefined && e.dom >= 0 ? `${text}\n${' '.repeat(34)}stack ${stackText(syms, e.dom, e.stack).join(' <- ')}` : text;
}
