/**
 * `xenrr replay <trace>`: re-execute and compare (exit 0 on a full match, 1
 * with a divergence report, 3 when the recording is incomplete and its
 * recorded prefix matched), or with --to, stop at a point and print the
 * machine state there, or with --watch, find where guest memory changes,
 * or with --break, where a vCPU next (or last) reaches a code address; or
 * with --gdb, serve it to gdb. A damaged trace, or a --to past the end of
 * the recording, is exit 2.
 */
import type { Command } from 'commander';
import type { SimEvent } from '../../sim/events.js';
import type { TraceEvent } from '../../trace/columns.js';
import { consoleLinesOf, consoleLineText } from '../console-text.js';
import type { Divergence, MachineView, ReplaySession } from '../session.js';
import { eventLocation, stackText, symbolize, type Symbols } from '../symbolize.js';
import { imageOverrides, UsageError } from './errors.js';
import { checkImages, headerDomains, imageProblem } from './inputs.js';
import { line, openTrace } from './trace-cmds.js';

const hex = (v: bigint | number): string => `0x${v.toString(16)}`;
/** Exit code of a replay whose trace is incomplete and whose recorded prefix matched. */
export const EXIT_INCOMPLETE = 3;

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('re-execute a trace and compare it event by event (exit 0 match, 1 divergence, 3 incomplete recording whose recorded part matched), or stop at a point (--to) and show the machine state')
    .argument('<trace>', 'trace file')
    .option('--image <name=path...>', 'kernel image for a domain (default: the recorded path; required if it moved)')
    .option('--symbols <name=path...>', 'symbol file for a domain: System.map, unstripped vmlinux, or a kernel with kallsyms (default: the recorded one, else the image\'s own)')
    .option('--to <point>', 'stop at event SEQ, or at icount:DOM.VCPU:N (instructions retired by that vCPU)')
    .option('--watch <DOM.VCPU:WHERE[:LEN]>', 'where LEN bytes of guest memory (WHERE: 0xADDRESS or SYMBOL[+OFFSET], through that vCPU\'s page tables) change next after --to (default: the start)')
    .option('--break <where...>', 'run from --to (default: the start) to the first point a vCPU is about to execute [DOM[.VCPU]:]ADDRESS|SYMBOL[+OFFSET]')
    .option('--reverse', 'with --watch: where they last changed at or before --to (default: the end); with --break: the last point before --to')
    .option('--gdb [port]', 'serve the replay to gdb on 127.0.0.1:PORT (default 1234), as xenrr gdbserver does')
    .option('--json', 'print the result as JSON')
    .action(async (path: string, o: { image?: string[]; symbols?: string[]; to?: string; json?: boolean; watch?: string; reverse?: boolean; break?: string[]; gdb?: string | boolean }) => {
      if (o.gdb !== undefined) {
        if (o.watch !== undefined || o.break !== undefined || o.to !== undefined) throw new UsageError('--gdb serves the whole replay: no --to, --watch or --break with it (set them in gdb)');
        const { gdbserverCommand } = await import('./gdbserver.js');
        return gdbserverCommand(path, { ...(typeof o.gdb === 'string' ? { port: o.gdb } : {}), ...(o.image ? { image: o.image } : {}) });
      }
      // The simulator loads while the trace is opened.
      const loading = Promise.all([
        import('../../trace/reader.js'), import('../../sim/scenario.js'), import('../session.js'), import('./symbol-args.js'), import('./watch.js'), import('./break.js'),
      ]);
      const reader = await openTrace(path);
      const [{ TraceError }, { ScenarioError }, { ReplaySession }, { symbolOverrides }, { checkVcpu, parseWatch, watchJson, watchPoint, watchReport }, { parseBreak, stopReport }] = await loading;
      const images = imageOverrides(o.image);
      checkImages(images, headerDomains(reader.header), path, (p) => imageProblem(p, true));
      let session;
      try {
        session = ReplaySession.open(reader, images, symbolOverrides(o.symbols));
      } catch (e) {
        if (e instanceof TraceError) throw new UsageError(e.message); // reader messages name the file
        if (e instanceof ScenarioError) throw new UsageError(`${path}: the scenario in its header is invalid: ${e.message}`);
        throw e;
      }
      for (const w of [...session.reader.warnings, ...session.warnings]) process.stderr.write(`xenrr: warning: ${w}\n`);
      if (o.reverse && o.watch === undefined && o.break === undefined) throw new UsageError('--reverse goes with --watch or --break');
      if (o.watch !== undefined && o.break !== undefined) throw new UsageError('give --watch or --break, not both');
      if (o.break !== undefined) {
        const bps = o.break.flatMap((b) => parseBreak(session, b));
        await breakFrom(session, o.to, o.reverse === true);
        const { stop, view } = session.run({ direction: o.reverse ? 'backward' : 'forward', breakpoints: bps, watches: [], step: null, skip: true });
        const text = stopReport(session, stop);
        process.stdout.write(o.json ? `${JSON.stringify({ stop, view }, (_, v) => (typeof v === 'bigint' ? hex(v) : v), 2)}\n` : `${text}${stop.why === 'end' || stop.why === 'start' ? '' : await printView(view, session.symbols)}`);
        return;
      }
      if (o.watch !== undefined) {
        const { spec, label } = parseWatch(session, o.watch);
        const from = watchPoint(session, o.to, spec, o.reverse === true);
        const hit = session.watch(spec, from, o.reverse ? 'backward' : 'forward');
        process.stdout.write(o.json ? watchJson(spec, from, o.reverse === true, hit) : watchReport(session, label, spec, from, o.reverse === true, hit));
        return;
      }
      if (o.to !== undefined) {
        const m = /^icount:(\d+)\.(\d+):(\d+)$/.exec(o.to);
        const r = session.reader;
        const past = `--to ${o.to}: past the end of the recording${r.complete ? '' : ' (it is incomplete)'}`;
        let view: MachineView;
        if (m) {
          const [dom, vcpu, icount] = [Number(m[1]), Number(m[2]), Number(m[3])];
          checkVcpu(session, dom, vcpu, `--to ${o.to}`);
          const end = r.index.vcpus.find((v) => v.dom === dom && v.vcpu === vcpu);
          if (r.complete && end !== undefined && icount > end.icount) throw new UsageError(`${past}: vCPU ${dom}.${vcpu} retired ${end.icount} instructions in it`);
          view = session.seekIcount(dom, vcpu, icount);
          if (!session.reached) throw new UsageError(`${past}: vCPU ${dom}.${vcpu} had retired ${view.vcpus.find((v) => v.dom === dom && v.vcpu === vcpu)?.icount ?? 0} instructions when it ends`);
        } else if (/^\d+$/.test(o.to)) {
          const seq = Number(o.to);
          const n = r.index.eventCount;
          if (seq >= n) throw new UsageError(`${past}: ${n === 0 ? 'it holds no event' : `its last ${r.complete ? '' : 'recorded '}event is ${n - 1}`}`);
          view = session.seek(seq);
        } else throw new UsageError(`--to expects SEQ or icount:DOM.VCPU:N, got '${o.to}'`);
        process.stdout.write(o.json ? `${JSON.stringify(view, (_, v) => (typeof v === 'bigint' ? hex(v) : v), 2)}\n` : await printView(view, session.symbols));
        return;
      }
      const t0 = process.hrtime.bigint();
      const r = session.verify();
      const sec = Number(process.hrtime.bigint() - t0) / 1e9;
      for (const w of r.warnings.slice(session.warnings.length)) process.stderr.write(`xenrr: warning: ${w}\n`);
      const complete = session.reader.complete;
      if (o.json) process.stdout.write(`${JSON.stringify({ ...r, complete }, (_, v) => (typeof v === 'bigint' ? hex(v) : v), 2)}\n`);
      else if (r.divergence !== null) process.stdout.write(report(r.divergence, session.symbols));
      else if (complete) process.stdout.write(`replay: all ${r.events} events match ${path} (${sec.toFixed(2)} s)\n`);
      else process.stdout.write(`replay: ${path} is incomplete (its recorder did not finish): all ${r.events} recorded events match, replayed up to there (${sec.toFixed(2)} s)\n`);
      process.exitCode = r.divergence !== null ? 1 : complete ? 0 : EXIT_INCOMPLETE;
    });
}

/** Put the cursor where a --break run starts: --to (an event or an instruction point), else the start (the end going back). */
async function breakFrom(session: ReplaySession, to: string | undefined, reverse: boolean): Promise<void> {
  const { checkVcpu } = await import('./watch.js');
  if (to === undefined) {
    if (reverse) session.seek(Number.MAX_SAFE_INTEGER);
    return;
  }
  const m = /^icount:(\d+)\.(\d+):(\d+)$/.exec(to);
  if (m) {
    checkVcpu(session, Number(m[1]), Number(m[2]), `--to ${to}`);
    session.seekIcount(Number(m[1]), Number(m[2]), Number(m[3]), { late: true });
  } else if (/^\d+$/.test(to)) {
    if (session.eventAt(Number(to)) === null) throw new UsageError(`--to ${to}: no such event in this trace`);
    session.seek(Number(to));
  } else throw new UsageError(`--to expects SEQ or icount:DOM.VCPU:N, got '${to}'`);
}

/** A divergence as a person reads it: where, both events, the fields that differ, what led there. */
export function report(d: Divergence, syms: Symbols): string {
  const ev = d.actual ?? d.expected!;
  const at = eventLocation(ev);
  const out = [`divergence at event ${d.seq} (dom ${ev.dom} vcpu ${ev.vcpu}, icount ${ev.icount}, ${ev.dom < 0 ? 'xen' : ev.vcpu < 0 ? `dom${ev.dom}` : symbolize(syms, ev.dom, at)})`];
  out.push(`  expected  ${d.expected ? line(d.expected as SimEvent, syms).trim() : '(the recorded run had ended)'}`);
  out.push(`  actual    ${d.actual ? line(d.actual as SimEvent, syms).trim() : '(the replay ended here)'}`);
  if (d.fields.length > 0) {
    const w = Math.max(5, ...d.fields.map((f) => f.field.length));
    out.push(`  ${'field'.padEnd(w)}  expected / actual`);
    const stack = (e: TraceEvent | null): string => (e?.stack === undefined || e.dom < 0 ? '-' : stackText(syms, e.dom, e.stack).join(' <- '));
    for (const f of d.fields) {
      // Call stacks are read as function chains, one run per line.
      if (f.field === 'stack') out.push(`  ${'stack'.padEnd(w)}  expected ${stack(d.expected)}`, `  ${''.padEnd(w)}  actual   ${stack(d.actual)}`);
      else out.push(`  ${f.field.padEnd(w)}  ${f.expected} / ${f.actual}`);
    }
  }
  out.push(`last ${d.context.length} common events:`);
  for (const e of d.context) out.push(`  ${line(e as SimEvent, syms)}`);
  return `${out.join('\n')}\n`;
}

export async function printView(v: MachineView, syms: Symbols): Promise<string> {
  const { fpuItems } = await import('../session-view.js');
  const out = [`machine at event ${v.seq}, virtual time ${(v.time / 1000).toFixed(3)} us`];
  for (const c of v.vcpus) {
    out.push(`d${c.dom}v${c.vcpu} ${c.state} ${c.kernelMode ? 'kernel' : 'user'} icount ${c.icount} rip ${hex(c.rip)} ${symbolize(syms, c.dom, c.rip)} rflags ${hex(c.rflags)}`);
    const names = Object.keys(c.regs);
    for (let k = 0; k < names.length; k += 4) out.push(`  ${names.slice(k, k + 4).map((n) => `${n.padStart(3)}=${c.regs[n]!.toString(16).padStart(16, '0')}`).join(' ')}`);
    const fpu = fpuItems(c.fpu);
    for (let k = 0; k < fpu.length; k += 4) out.push(`  ${fpu.slice(k, k + 4).join(' ')}`);
  }
  for (const p of v.ports) out.push(`d${p.dom} ports bound [${p.bound.join(',')}] pending [${p.pending.join(',')}] masked [${p.masked.join(',')}]`);
  for (const r of v.rings) out.push(`d${r.dom} ${r.kind} ring (back d${r.backDom}${r.gref > 0 ? ` gref ${r.gref}` : ''} port ${r.port}) req_prod ${r.reqProd} rsp_prod ${r.rspProd}`);
  for (const c of v.console) {
    const names = new Map([[c.dom, c.name]]);
    // The last lines of each channel: its PV console, then its console_io (as Xen prints it).
    for (const source of ['ring', 'console_io'] as const) {
      const lines = consoleLinesOf([{ dom: c.dom, source, text: source === 'ring' ? c.tail : c.log }]).filter((l) => l.text !== '');
      for (const l of lines.slice(-3)) out.push(consoleLineText(l, names));
    }
  }
  return `${out.join('\n')}\n`;
}
