/**
 * `xenrr diff <a.xrr> <b.xrr>`: semantic difference of two runs (exit 0
 * equivalent, 1 different, 2 bad input).
 */
import type { Command } from 'commander';
import type { TraceReader } from '../../trace/reader.js';
import { positiveInt, UsageError } from './errors.js';
import { imageOverrides } from './errors.js';
import { checkImages, headerDomains, imageProblem } from './inputs.js';

type DiffOpts = { ignore?: string; json?: boolean; replay: boolean; maxSteps: string; context: string; regions: string; window: string; image?: string[]; imageA?: string[]; imageB?: string[]; symbols?: string[] };

const FIELD_HELP = `
Events are compared normalized: kind, dom, vcpu, the symbol of the RIP
without offset (a hypercall's caller; only for domains symbolized in both
runs), and the payload minus addresses, frame numbers and times. Fields
--ignore can name:
  every kind    dom vcpu at
  hypercall     op sub result arg (all decoded arguments) arg.<name> or just
                <name> (port, count, flags, status, text, ...)
  evtchn_send   port toDom toPort virq         evtchn_deliver  ports
  exception     vector errorCode bounced       sched           what
  console       source text                    domain_state    state reason
  xenstore      op txId path value result      input           source text
  ring          ring frontDom backDom port reqDelta rspDelta slot (all slots)
                or a slot field (id, status, text, payload, ...)
A name drops every field it names at any depth (port: evtchn_send port, ring
port, hypercall arg.port); a dotted name (arg.port) only that one.
Never compared: seq, time, icount, RIPs, pointers, MFNs/PFNs/grant refs,
timer deadlines and timeouts; hex numbers and printk time stamps
("[    1.603485]") in console text are masked.
`;

function nonNegative(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

/** The components of a field name, list indices removed: `slot[2].id` -> slot, id. */
const parts = (f: string): string[] => f.replace(/\[\d+\]/g, '').split('.');

/** Field names (components, at any depth) of the decoded payloads of `v`: hypercall arguments, ring slots. */
function decodedNames(v: unknown, out: Set<string>): void {
  if (Array.isArray(v)) for (const x of v) decodedNames(x, out);
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      for (const p of parts(k)) out.add(p);
      decodedNames(x, out);
    }
  }
}

/**
 * `--ignore` names a field events have: every component of the name is one
 * of the fixed fields or a decoded field that occurs in one of the traces
 * (read until all are found: a misspelt name costs a read of both).
 */
async function checkIgnore(ignore: string[], readers: TraceReader[], paths: string[]): Promise<void> {
  const [{ TraceError }, { FIELD_NAMES }] = await Promise.all([import('../../trace/reader.js'), import('../normalize.js')]);
  const fixed = new Set(FIELD_NAMES);
  const wanted = new Set(ignore.flatMap(parts).filter((p) => !fixed.has(p)));
  if (wanted.size === 0) return;
  const seen = new Set<string>();
  try {
    for (const r of readers) {
      for (const e of r.events()) {
        if (e.kind === 'hypercall') decodedNames(e.decoded, seen);
        else if (e.kind === 'ring') decodedNames(e.slots, seen);
        else continue;
        if ([...wanted].every((w) => seen.has(w))) return;
      }
    }
  } catch (e) {
    if (e instanceof TraceError) throw new UsageError(e.message);
    throw e;
  }
  const bad = ignore.find((f) => parts(f).some((p) => !fixed.has(p) && !seen.has(p)))!;
  throw new UsageError(`--ignore: no field '${bad}' in ${[...new Set(paths)].join(' or ')} (fields: ${[...FIELD_NAMES, ...[...seen].filter((n) => !fixed.has(n)).sort()].join(', ')})`);
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('compare two traces semantically (normalized events, Myers alignment); exit 0 equivalent, 1 different')
    .argument('<a>', 'first trace (.xrr)')
    .argument('<b>', 'second trace (.xrr)')
    .option('--ignore <fields>', 'comma-separated field names to leave out of the comparison (see below)')
    .option('--context <n>', 'common events shown before the first divergence', '5')
    .option('--regions <n>', 'differing regions listed in the text report', '20')
    .option('--window <n>', 'events per side aligned at once (memory bound)', '4096')
    .option('--image <name=path...>', 'kernel image of a domain, for both traces')
    .option('--image-a <name=path...>', 'kernel image of a domain of trace a')
    .option('--image-b <name=path...>', 'kernel image of a domain of trace b')
    .option('--symbols <name=path...>', 'symbol file of a domain (System.map, unstripped vmlinux, kernel with kallsyms), for both traces')
    .option('--no-replay', 'compare the traces only: do not replay both runs to find where execution parts')
    .option('--max-steps <n>', 'instructions stepped in both runs when looking for where execution parts', '2000000')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', FIELD_HELP)
    .action(async (pa: string, pb: string, o: DiffOpts) => {
      const [{ TraceError }, { diffTraces }, { renderDiff }, { FIELD_NAMES }, { loadSymbols }, { symbolOverrides }, { openTrace }] = await Promise.all([
        import('../../trace/reader.js'), import('../diff.js'), import('../diff-render.js'), import('../normalize.js'), import('../symbols.js'), import('./symbol-args.js'), import('./trace-cmds.js'),
      ]);
      const ignore = (o.ignore ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
      for (const f of ignore) {
        if (f === 'kind') throw new UsageError(`--ignore: 'kind' cannot be ignored (events of different kinds never match)`);
        if (!/^[A-Za-z_][\w]*(\[\d+\])?(\.[A-Za-z_][\w]*(\[\d+\])?)*$/.test(f)) throw new UsageError(`--ignore: '${f}' is not a field name (known: ${FIELD_NAMES.join(', ')}, or a decoded field)`);
      }
      const context = nonNegative('--context', o.context);
      const regions = nonNegative('--regions', o.regions);
      const window = positiveInt('--window', o.window);
      const maxSteps = positiveInt('--max-steps', o.maxSteps);
      const ra = await openTrace(pa);
      const rb = await openTrace(pb);
      await checkIgnore(ignore, [ra, rb], [pa, pb]);
      const both = imageOverrides(o.image);
      const [da, db] = [headerDomains(ra.header), headerDomains(rb.header)];
      checkImages(both, [...da, ...db.filter((d) => !da.some((x) => x.name === d.name))], `${pa} or ${pb}`, (p) => imageProblem(p, false));
      checkImages(imageOverrides(o.imageA), da, pa, (p) => imageProblem(p, false), '--image-a');
      checkImages(imageOverrides(o.imageB), db, pb, (p) => imageProblem(p, false), '--image-b');
      const oa = new Map([...both, ...imageOverrides(o.imageA)]);
      const ob = new Map([...both, ...imageOverrides(o.imageB)]);
      const files = symbolOverrides(o.symbols);
      const sa = loadSymbols(ra.header, oa, files, pa);
      const sb = loadSymbols(rb.header, ob, files, pb);
      for (const [r, p] of [[ra, pa], [rb, pb]] as const) for (const w of r.warnings) process.stderr.write(`xenrr: warning: ${p}: ${w}\n`);
      let report;
      try {
        report = diffTraces(ra, rb, { ignore, context, window, symbols: [sa, sb] });
        // Where execution parts: replay both runs to the divergent vCPU's last common event and step them together.
        if (!report.equal && o.replay) {
          const { partingOfTraces } = await import('../parting.js');
          const { parting, note } = partingOfTraces(report, { path: pa, reader: ra, symbols: sa, overrides: oa }, { path: pb, reader: rb, symbols: sb, overrides: ob }, maxSteps);
          report.parting = parting;
          if (note !== null) report.notes.push(note);
        }
      } catch (e) {
        if (e instanceof TraceError) throw new UsageError(e.message);
        throw e;
      } finally {
        ra.close();
        rb.close();
      }
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : renderDiff(report, { regions }));
      process.exitCode = report.equal ? 0 : 1;
    });
}
