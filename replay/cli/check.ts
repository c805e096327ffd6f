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
import { checkImageNames, inputFile, seedOption } from './inputs.js';
import { loadInput } from './run.js';

/** What both commands run on: the simulator, the recorder and the diff, loaded when one of them runs. */
const load = () => Promise.all([import('../../sim/scenario.js'), import('../../trace/zstd.js'), import('../bisect.js'), import('../diff-render.js')]);

type CheckOpts = { against?: string; expect?: string[]; maxInsns?: string; image?: string[]; seed?: string };

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
});

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('judge a build for `git bisect run`: exit 0 good, 1 bad, 125 skip (image missing)')
    .argument('<scenario>', 'scenario .json (or PV kernel)')
    .option('--against <trace>', 'good run: the events must match it (normalized, as xenrr diff compares)')
    .option('--expect <text...>', 'text that must appear on a console')
    .option('--max-insns <n>', 'instruction budget')
    .option('--image <name=path...>', 'kernel image for a domain')
    .option('--seed <n>', 'seed (overrides the scenario)')
    .action(async (input: string, o: CheckOpts) => {
      const [, { initZstd }, { checkScenario }, { renderDiff }] = await load();
      await initZstd();
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
    .requiredOption('--images <elf...>', 'images in order, oldest (good) first')
    .option('--domain <name>', 'domain whose kernel is varied (default: the first)')
    .option('--against <trace>', 'good run the events must match')
    .option('--expect <text...>', 'text that must appear on a console')
    .option('--max-insns <n>', 'instruction budget')
    .option('--seed <n>', 'seed (overrides the scenario)')
    .action(async (input: string, o: CheckOpts & { images: string[]; domain?: string }) => {
      const [, { initZstd }, { bisect }, { renderDiff }] = await load();
      await initZstd();
      const s = await scenarioOf(input, o);
      const opts = common(o);
      if (o.against !== undefined) inputFile(o.against, 'a trace file');
      const domain = o.domain ?? s.domains[0]!.name;
      if (!s.domains.some((d) => d.name === domain)) throw new UsageError(`--domain: scenario ${s.name} has no domain '${domain}'`);
      if (o.images.length < 2) throw new UsageError('--images needs at least two images (good first, bad last)');
      const images = o.images.map((p) => resolve(p));
      const r = await bisect(s, domain, images, opts, (st) => process.stdout.write(`  ${o.images[st.index]}: ${st.verdict}${st.reasons.length ? ` (${st.reasons[0]})` : ''}\n`));
      if (r.firstBad === null) {
        process.stdout.write(`the last image is not bad: nothing to bisect\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`\nfirst bad image: ${o.images[r.firstBad]} (last good: ${o.images[r.lastGood!]}), ${r.steps.length} runs\n`);
      if (r.diff) process.stdout.write(renderDiff(r.diff, { regions: 5 }));
    });
}
