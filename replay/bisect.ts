/**
 * `check` and `bisect`: is a build good or bad for a scenario, and which
 * build in an ordered list is the first bad one.
 *
 * A run is good when every domain stopped (no deadlock, no budget), the
 * scenario's expectations hold, every `--expect` text appears on a console
 * (a PV console, or a domain's console_io output: dom0's console)
 * and, with `--against`, its events equal the good trace's after
 * normalization (replay/diff.ts), and with `protocol` the protocol checks
 * (replay/protocol/) find nothing. A missing image means "skip" (git bisect's
 * 125: the build failed, this commit cannot be judged).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelPath, type Scenario } from '../sim/scenario.js';
import { TraceReader } from '../trace/reader.js';
import { diffTraces, type DiffReport } from './diff.js';
import { partingOfTraces } from './parting.js';
import { checkTrace } from './protocol/check.js';
import { record } from './record.js';
import { checkExpect } from './scenario-run.js';
import { loadSymbols } from './symbols.js';

export type Verdict = 'good' | 'bad' | 'skip';
export type CheckOptions = { against?: string; expect?: string[]; maxInsns?: number; seed?: number; keepTrace?: string; protocol?: boolean };
export type CheckResult = { verdict: Verdict; reasons: string[]; trace: string | null; diff: DiffReport | null };

/** The scenario with domain `domain`'s kernel replaced by `image` (an absolute path). */
export function withImage(s: Scenario, domain: string, image: string): Scenario {
  if (!s.domains.some((d) => d.name === domain)) throw new Error(`scenario ${s.name} has no domain '${domain}'`);
  return { ...s, domains: s.domains.map((d) => (d.name === domain ? { ...d, kernel: image } : d)) };
}

export async function checkScenario(s: Scenario, opts: CheckOptions = {}): Promise<CheckResult> {
  for (const d of s.domains) {
    const p = kernelPath(s, d.kernel);
    if (!existsSync(p)) return { verdict: 'skip', reasons: [`image for domain '${d.name}' not found: ${p}`], trace: null, diff: null };
  }
  const dir = mkdtempSync(join(tmpdir(), 'xenrr-check-'));
  const trace = opts.keepTrace ?? join(dir, 'run.xrr');
  try {
    const r = await record(s, trace, { checkpointEvery: 0, ...(opts.maxInsns ? { maxInsns: opts.maxInsns } : {}), ...(opts.seed !== undefined ? { seed: opts.seed } : {}) });
    const reasons: string[] = [];
    if (r.summary.stop !== 'all-stopped') reasons.push(`the run ended in ${r.summary.stop}`);
    reasons.push(...checkExpect(s, r.summary));
    // A console: a domain's PV console, or what it wrote with console_io (dom0's only console, hvc0).
    for (const text of opts.expect ?? []) if (!r.summary.domains.some((d) => d.console.includes(text) || d.log.includes(text))) reasons.push(`no console shows '${text}'`);
    if (opts.protocol) {
      const mine = TraceReader.open(trace);
      try {
        for (const v of checkTrace(mine)) reasons.push(`${v.check} at #${v.seq}: ${v.message}`);
      } finally {
        mine.close();
      }
    }
    let diff: DiffReport | null = null;
    if (opts.against !== undefined) {
      const good = TraceReader.open(opts.against);
      const mine = TraceReader.open(trace);
      try {
        diff = diffTraces(good, mine, { symbols: [loadSymbols(good.header), loadSymbols(mine.header)] });
      } finally {
        good.close();
        mine.close();
      }
      if (!diff.equal) reasons.push(`its events differ from ${opts.against} (${diff.regionCount} differing regions)`);
    }
    return { verdict: reasons.length === 0 ? 'good' : 'bad', reasons, trace: opts.keepTrace ?? null, diff };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type BisectStep = { index: number; image: string; verdict: Verdict; reasons: string[] };
export type BisectResult = { firstBad: number | null; lastGood: number | null; steps: BisectStep[]; diff: DiffReport | null };

/**
 * Binary search over `images` (good first, bad last) for the first bad one,
 * varying domain `domain`. The last image is checked first (it must be bad),
 * the first is taken as good: at most ceil(log2 N) + 1 runs. Skipped images
 * are stepped over. Ends with the diff of the last good run against the
 * first bad one; when the last good is the first image, its run for the diff
 * judges it too: bad, it is the result (`lastGood` null: no good image);
 * missing, there is no diff.
 */
export async function bisect(s: Scenario, domain: string, images: string[], opts: CheckOptions = {}, onStep?: (st: BisectStep) => void): Promise<BisectResult> {
  const steps: BisectStep[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'xenrr-bisect-'));
  const traceOf = (i: number): string => join(dir, `${i}.xrr`);
  const judge = async (i: number): Promise<Verdict> => {
    const r = await checkScenario(withImage(s, domain, images[i]!), { ...opts, keepTrace: traceOf(i) });
    const st = { index: i, image: images[i]!, verdict: r.verdict, reasons: r.reasons };
    steps.push(st);
    onStep?.(st);
    return r.verdict;
  };
  try {
    const n = images.length;
    if (n < 2) throw new Error('bisect needs at least two images (good first, bad last)');
    if ((await judge(n - 1)) !== 'bad') return { firstBad: null, lastGood: null, steps, diff: null };
    let good = 0;
    let bad = n - 1;
    while (bad - good > 1) {
      let mid = (good + bad) >> 1;
      let v = await judge(mid);
      // A skipped image: try its neighbours inside the interval.
      for (let off = 1; v === 'skip' && off < bad - good; off++) {
        const cand = [mid + off, mid - off].find((c) => c > good && c < bad && !steps.some((x) => x.index === c));
        if (cand === undefined) continue;
        mid = cand;
        v = await judge(mid);
      }
      if (v === 'skip') break;
      if (v === 'good') good = mid;
      else bad = mid;
    }
    // The diff needs the last good run's trace. The search never runs the first image (taken as good):
    // run it now, and judge it as any other, so that a first image that is bad too is said, not diffed.
    if (!steps.some((x) => x.index === good)) {
      const v = await judge(good);
      if (v === 'bad') return { firstBad: good, lastGood: null, steps, diff: null };
      if (v === 'skip') return { firstBad: bad, lastGood: good, steps, diff: null };
    }
    const ra = TraceReader.open(traceOf(good));
    const rb = TraceReader.open(traceOf(bad));
    let diff: DiffReport;
    try {
      const syms = [loadSymbols(ra.header), loadSymbols(rb.header)] as const;
      diff = diffTraces(ra, rb, { symbols: [...syms] });
      // Where the two builds' executions part, by replaying both runs.
      if (!diff.equal) {
        const { parting, note } = partingOfTraces(diff, { path: traceOf(good), reader: ra, symbols: syms[0] }, { path: traceOf(bad), reader: rb, symbols: syms[1] });
        diff.parting = parting;
        if (note !== null) diff.notes.push(note);
      }
    } finally {
      ra.close();
      rb.close();
    }
    return { firstBad: bad, lastGood: good, steps, diff };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
