/**
 * `xenrr check` (git bisect run exit codes: 0 good, 1 bad, 125 skip) and
 * `xenrr bisect` (the search done here, over prebuilt images).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { domainIds } from '../../sim/domain-ids.js';
import type { Scenario } from '../../sim/scenario.js';
import { positiveInt, UsageError } from './errors.js';
import { imageOverrides } from './errors.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { checkImageNames, headerDomains, inputFile, seedOption } from './inputs.js';
import { loadInput } from './run.js';

/** What both commands run on: the simulator, the recorder and the diff, loaded when one of them runs. */
const load = () => Promise.all([import('../../sim/scenario.js'), import('../../trace/zstd.js'), import('../bisect.js'), import('../diff-render.js')]);

type CheckOpts = { against?: string; expect?: string[]; maxInsns?: string; image?: string[]; symbols?: string[]; seed?: string; protocol?: boolean; json?: boolean };

async function scenarioOf(input: string, o: CheckOpts): Promise<Scenario> {
  const [{ ScenarioError }, , { withImage }] = await load();
  let s: Scenario | null;
  try {
    s = await loadInput(input, {});
  } catch (e) {
    if (e instanceof ScenarioError) throw new UsageError(e.message);
    throw e;
  }
  if (s === null) throw new UsageError(`${input}: not a Xen PV kernel or scenario`);
  // A missing image is not an error here: it means "skip" (the build failed).
  const images = imageOverrides(o.image);
  checkImageNames(images, s.domains.map((d, k) => ({ id: domainIds(s!.domains)[k]!, name: d.name })), input);
  for (const [name, path] of images) s = withImage(s, name, resolve(path));
  return s;
}

const common = (o: CheckOpts) => ({
  ...(o.against ? { against: o.against } : {}),
  ...(o.expect ? { expect: o.expect } : {}),
  ...(o.maxInsns ? { maxInsns: positiveInt('--max-insns', o.maxInsns) } : {}),
  ...(o.seed !== undefined ? { seed: seedOption(o.seed) } : {}),
  ...(o.protocol ? { protocol: true } : {}),
});

/** Whether `path` is a trace (by its magic), not a scenario or a kernel. */
async function isTrace(path: string): Promise<boolean> {
  const { FILE_MAGIC } = await import('../../trace/schema.js');
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(FILE_MAGIC.length);
    return readSync(fd, b, 0, b.length, 0) === b.length && b.toString('latin1') === FILE_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** `check --protocol <trace>`: report violations; exit 0 none, 1 some, 2 bad input. */
async function checkTraceFile(path: string, o: CheckOpts): Promise<void> {
  const scenarioOnly = (['against', 'expect', 'maxInsns', 'seed'] as const).find((k) => o[k] !== undefined);
  if (scenarioOnly !== undefined) throw new UsageError(`--${scenarioOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to a scenario run, not to a trace (${path})`);
  const [{ TraceError, TraceReader }, { loadSymbols }, { checkTrace }, render, { symbolOverrides }] = await Promise.all([
    import('../../trace/reader.js'), import('../symbols.js'), import('../protocol/check.js'), import('../protocol/render.js'), import('./symbol-args.js'),
  ]);
  try {
    const reader = TraceReader.open(path);
    reader.checkIntegrity(false);
    for (const w of reader.warnings) process.stderr.write(`warning: ${w}\n`);
    const overrides = imageOverrides(o.image);
    checkImageNames(overrides, headerDomains(reader.header), path);
    const syms = loadSymbols(reader.header, overrides, symbolOverrides(o.symbols), path);
    const vs = checkTrace(reader);
    if (o.json) process.stdout.write(`${JSON.stringify({ trace: path, events: reader.index.eventCount, complete: reader.complete, stop: reader.index.stopReason, violations: vs.map((v) => render.violationJson(v, syms)) }, null, 2)}\n`);
    else process.stdout.write(render.renderReport(vs, reader.index.eventCount, syms));
    process.exitCode = vs.length > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(e.message);
    throw e;
  }
}

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('judge a build for `git bisect run`: exit 0 good, 1 bad, 125 skip (image missing); with --protocol on a trace, report ring, event-channel, grant and xenbus protocol violations')
    .argument('<input>', 'scenario .json (or PV kernel); with --protocol, a trace .xrr too')
    .option('--protocol', 'protocol checks: ring index invariants, lost wake-ups, grant leaks, xenbus state machine; on a trace: exit 0 none, 1 violations, 2 bad input; on a scenario: violations make the run bad')
    .option('--json', 'with --protocol on a trace: the violations as JSON')
    .option('--against <trace>', 'good run: the events must match it (normalized, as xenrr diff compares)')
    .option('--expect <text...>', 'text that must appear on a console')
    .option('--max-insns <n>', 'instruction budget')
    .option('--image <name=path...>', 'kernel image for a domain')
    .option('--symbols <name=path...>', 'with --protocol on a trace: symbol file for a domain\'s stacks (System.map, unstripped vmlinux, or a kernel with kallsyms; default: the recorded one, else the image\'s own)')
    .option('--seed <n>', 'seed (overrides the scenario)')
    .action(async (input: string, o: CheckOpts) => {
      inputFile(input, o.protocol ? 'a trace or a scenario' : 'a scenario or a kernel');
      if (await isTrace(input)) {
        if (!o.protocol) throw new UsageError(`${input}: is a trace; check runs a scenario or kernel (check --protocol checks a trace)`);
        // A trace needs the reader and the checks, not the simulator.
        await (await import('../../trace/zstd.js')).initZstd();
        return checkTraceFile(input, o);
      }
      const [, { initZstd }, { checkScenario }, { renderDiff }] = await load();
      await initZstd();
      if (o.json) throw new UsageError('--json applies to --protocol on a trace');
      if (o.symbols !== undefined) throw new UsageError('--symbols applies to --protocol on a trace');
      const s = await scenarioOf(input, o);
      const opts = common(o);
      if (o.against !== undefined) inputFile(o.against, 'a trace file');
      const r = await checkScenario(s, opts);
      process.stdout.write(`${r.verdict}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''}\n`);
      if (r.diff && !r.diff.equal) process.stdout.write(renderDiff(r.diff, { regions: 5 }));
      process.exitCode = r.verdict === 'good' ? 0 : r.verdict === 'skip' ? 125 : 1;
    });

  program
    .command('bisect')
    .description('find the first bad image in an ordered list (good first, bad last) and show where it parts from the last good one')
    .argument('<scenario>', 'scenario .json')
    .requiredOption('--images <image...>', 'kernel images (ELF or bzImage) in order, oldest (good) first')
    .option('--domain <name|id>', 'domain whose kernel is varied, by name or id (default: the first); its ramdisk and command line stay')
    .option('--against <trace>', 'good run the events must match')
    .option('--protocol', 'protocol violations (check --protocol) make a build bad')
    .option('--expect <text...>', 'text that must appear on a console')
    .option('--max-insns <n>', 'instruction budget')
    .option('--seed <n>', 'seed (overrides the scenario)')
    .action(async (input: string, o: CheckOpts & { images: string[]; domain?: string }) => {
      const [, { initZstd }, { bisect }, { renderDiff }] = await load();
      await initZstd();
      const s = await scenarioOf(input, o);
      const opts = common(o);
      if (o.against !== undefined) inputFile(o.against, 'a trace file');
      // --domain: a name, or a domain id (0 is a `"dom0": true` domain, then 1, 2, ... in order).
      const ids = domainIds(s.domains);
      const byId = o.domain !== undefined && /^\d+$/.test(o.domain) ? s.domains[ids.indexOf(Number(o.domain))] : undefined;
      const domain = byId?.name ?? o.domain ?? s.domains[0]!.name;
      if (!s.domains.some((d) => d.name === domain)) throw new UsageError(`--domain: scenario ${s.name} has no domain '${domain}' (domains: ${s.domains.map((d, k) => `${ids[k]} ${d.name}`).join(', ')})`);
      if (o.images.length < 2) throw new UsageError('--images needs at least two images (good first, bad last)');
      const images = o.images.map((p) => resolve(p));
      const r = await bisect(s, domain, images, opts, (st) => process.stdout.write(`  ${o.images[st.index]}: ${st.verdict}${st.reasons.length ? ` (${st.reasons[0]})` : ''}\n`));
      if (r.firstBad === null) {
        process.stdout.write(`the last image is not bad: nothing to bisect\n`);
        process.exitCode = 1;
        return;
      }
      if (r.lastGood === null) {
        process.stdout.write(`the first image is bad too (it must be good): nothing to bisect\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`\nfirst bad image: ${o.images[r.firstBad]} (last good: ${o.images[r.lastGood]}), ${r.steps.length} runs\n`);
      if (r.diff) process.stdout.write(renderDiff(r.diff, { regions: 5 }));
    });
}
