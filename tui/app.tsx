/**
 * The timeline debugger: a timeline of events over the whole screen width,
 * one lower pane (detail, state, rings or console; Tab cycles, Enter
 * toggles detail), and a status bar. All state changes go through `reduce`
 * (keys.ts); this component renders and runs the side effects: quitting,
 * and the seek behind the state and rings panes.
 *
 * Seeking re-executes the machine (up to about a second on long traces, and
 * synchronous), so it runs only while such a pane is shown, for the selected
 * event `seekDelay` ms after the selection stopped moving, and at once for
 * an instruction step (s/S).
 */
import { headerDomains } from '../replay/cli/inputs.js';
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import { symbolize } from '../replay/symbols.js';
import { fixTop, followPoint, initialState, lowerHeight, MACHINE_PANES, PROMPT_CHAR, reduce, timelineRows, type UiState } from './keys.js';
import type { Point, PointSource, PointTarget, RunResult, WatchResult } from './replay-point.js';
import { violationLines } from '../replay/protocol/render.js';
import type { Violation } from '../replay/protocol/report.js';
import { scanProtocol } from './protocol-scan.js';
import { ringsBefore } from './rings.js';
import { hits, type TimelineSource } from './source.js';
import { clip, codeLines, colourEnabled, consoleLines, eventFields, fit, KIND_COLOUR, pack, ringLines, stateLines, TIMELINE_HEADER, timelineRow, whereOf } from './text.js';

// The disassembler pulls in the CPU's decoder and opcode table: loaded with the first seek, not for the first frame.
type Disasm = typeof import('../sim/cpu/disasm.js');
let disasm: Disasm | null = null;
const decoded = new WeakMap<Point, Map<string, ReturnType<Disasm['around']>>>();
const vcpuKey = (dom: number, vcpu: number): string => whereOf({ dom, vcpu });

export type AppProps = {
  source: TimelineSource;
  /** opens the replay behind the state and rings panes (throws or rejects with a one-line reason when it cannot) */
  openPoints?: () => PointSource | Promise<PointSource>;
  /** fixed size (tests); otherwise the terminal's, following resizes */
  columns?: number;
  rows?: number;
  /** ms between the selection settling and a seek (default 150) */
  seekDelay?: number;
  /** run the protocol checks and mark what they find (default true) */
  protocol?: boolean;
  colour?: boolean;
};

/** The terminal size, following resize events. */
export function useSize(columns?: number, rows?: number): { w: number; h: number } {
  const { stdout } = useStdout();
  const read = (): { w: number; h: number } => ({ w: columns ?? stdout.columns ?? 80, h: rows ?? stdout.rows ?? 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const on = (): void => setSize(read());
    stdout.on('resize', on);
    return () => void stdout.off('resize', on);
  }, [stdout, columns, rows]);
  return columns !== undefined && rows !== undefined ? { w: columns, h: rows } : size;
}

export const HELP = [
  '↑/↓ k/j  move        PgUp/PgDn  page       Home/End g/G  first/last',
  'Enter    detail pane  Tab  next lower pane (detail, state, rings, console)',
  '/        search summaries          n/N  next/previous match',
  'f        filter: dom=N vcpu=N kind=K name=HYPERCALL (empty clears)',
  ':        go to sequence number, or t<ns> for virtual time',
  'b/B      breakpoint: this event\'s kind / code ADDRESS|SYMBOL  c/C  next/prev hit',
  's/S      step / reverse-step one instruction of this vCPU (state pane)',
  'v/V      next/previous event of this vCPU   p/P  next/previous violation (!)',
  'w/W      watch memory D.V:ADDRESS|SYMBOL[:LEN]: go to its next / last change',
  '?        this help (Esc closes)       q  quit',
];

type Seek = { key: string; point: Point | null; error: string } | null;

const targetKey = (t: PointTarget): string => ('seq' in t ? `seq ${t.seq}` : `icount ${vcpuKey(t.dom, t.vcpu)}:${t.icount}${t.late === true ? ' late' : ''}`);

export function App(props: AppProps): React.JSX.Element {
  const { source: src } = props;
  const { exit } = useApp();
  const { w, h } = useSize(props.columns, props.rows);
  const colour = props.colour ?? colourEnabled();
  const [s0, setS] = useState<UiState>(() => initialState(src));
  const rows = timelineRows(h, s0.pane, s0.help);
  const s = fixTop(src, s0, rows);

  useInput((input, key) => setS((prev) => fixTop(src, reduce(src, prev, input, key, timelineRows(h, prev.pane, prev.help)), timelineRows(h, prev.pane, prev.help))));
  useEffect(() => {
    if (s.quit) exit();
  }, [s.quit, exit]);

  // The protocol checks, over the whole trace in the background: `!` marks and reports in the detail pane.
  const [violations, setViolations] = useState<Map<number, Violation[]>>(() => new Map());
  useEffect(() => {
    if (props.protocol === false) return void setS((prev) => ({ ...prev, scan: 'off' }));
    return scanProtocol(src.reader, (found) => {
      setViolations(found);
      setS((prev) => ({ ...prev, marks: [...found.keys()].sort((a, b) => a - b), scan: 'done' }));
    });
  }, [src]);

  const events = useMemo(() => src.window(s.top, rows, s.filter?.pred ?? (() => true)), [src, s.top, rows, s.filter, s.sel]);
  const cur = src.get(s.sel);
  const names = useMemo(() => new Map(headerDomains(src.reader.header).map((d) => [d.id, d.name])), [src]);

  // The seek behind the state and rings panes: the instruction point, or the selected event.
  const points = useRef<PointSource | string | null>(null);
  /** The replay, opened once (a string: why it cannot be). */
  const openSource = async (): Promise<PointSource | string> => {
    try {
      return props.openPoints ? await props.openPoints() : 'no replay session';
    } catch (e) {
      return (e as Error).message;
    }
  };
  const [seek, setSeek] = useState<Seek>(null);
  const machinePane = MACHINE_PANES.has(s.pane) && !s.help && cur !== null && !(s.pane === 'state' && s.point === null && (cur.dom < 0 || cur.vcpu < 0));
  const target: PointTarget | null = !machinePane ? null : s.point ?? { seq: s.sel };
  const want = target === null ? '' : targetKey(target);
  /** the last point a seek was started for: a re-render while it runs must not start it again */
  const asked = useRef('');
  useEffect(() => {
    if (target === null || seek?.key === want || asked.current === want) return;
    const run = async (): Promise<void> => {
      asked.current = want;
      const ps = (points.current ??= await openSource());
      if (typeof ps === 'string') return setSeek({ key: want, point: null, error: ps });
      disasm ??= await import('../sim/cpu/disasm.js');
      try {
        const point = ps.at(target);
        setSeek({ key: want, point, error: '' });
        if (!('seq' in target)) setS((prev) => followPoint(src, prev, target, point.happened));
      } catch (e) {
        setSeek({ key: want, point: null, error: (e as Error).message });
      }
    };
    const t = setTimeout(() => void run(), 'seq' in target ? (props.seekDelay ?? 150) : 0);
    return () => clearTimeout(t);
  }, [want, seek?.key]);
  const ready = seek !== null && seek.key === want ? seek : null;

  // A code breakpoint typed at the B prompt: kept once the replay says it names something.
  useEffect(() => {
    const text = s.breakReq;
    if (text === null) return;
    const t = setTimeout(() => {
      void (async () => {
        const ps = (points.current ??= await openSource());
        const err = typeof ps === 'string' ? `breakpoints need the replay: ${ps}` : ps.checkBreak === undefined ? 'code breakpoints unavailable here' : ps.checkBreak(text);
        setS((prev) => (prev.breakReq !== text ? prev : { ...prev, breakReq: null, codeBps: err === null ? [...prev.codeBps, text] : prev.codeBps, message: err ?? `breakpoint at ${text} (c/C run to it)` }));
      })();
    }, 0);
    return () => clearTimeout(t);
  }, [s.breakReq]);

  // c/C with code breakpoints: run the replay there; an event breakpoint hit first (when set too) wins.
  useEffect(() => {
    const req = s.run;
    if (req === null) return;
    const t = setTimeout(() => {
      void (async () => {
        const ps = (points.current ??= await openSource());
        let r: RunResult;
        if (typeof ps === 'string') r = { at: null, message: `run unavailable: ${ps}`, happened: -1 };
        else if (ps.run === undefined) r = { at: null, message: 'run unavailable here', happened: -1 };
        else {
          try {
            r = ps.run(s.codeBps, req.from, req.backward);
          } catch (e) {
            r = { at: null, message: (e as Error).message, happened: -1 };
          }
        }
        setS((prev) => {
          if (prev.run !== req) return prev;
          const dir = req.backward ? -1 : 1;
          const e = prev.bps.size === 0 || r.happened < 0 ? null : src.find(prev.sel + dir, dir, (x) => (prev.filter?.pred ?? (() => true))(x) && hits(prev.bps, x));
          if (e !== null && (req.backward ? e.seq >= r.happened : e.seq < r.happened)) return { ...prev, run: null, sel: e.seq, point: null, message: `event breakpoint at event ${e.seq}` };
          return { ...prev, run: null, point: r.at ?? prev.point, message: r.message };
        });
      })();
    }, 0);
    return () => clearTimeout(t);
  }, [s.run]);

  // A watch typed at the w/W prompt: run it on the replay, then show the point after the change.
  useEffect(() => {
    const req = s.watch;
    if (req === null) return;
    const t = setTimeout(() => {
      void (async () => {
        const ps = (points.current ??= await openSource());
        let r: WatchResult;
        if (typeof ps === 'string') r = { at: null, message: `watch unavailable: ${ps}` };
        else if (ps.watch === undefined) r = { at: null, message: 'watch unavailable here' };
        else {
          try {
            r = ps.watch(req.text, req.from, req.backward);
          } catch (e) {
            r = { at: null, message: (e as Error).message };
          }
        }
        setS((prev) => (prev.watch !== req ? prev : { ...prev, watch: null, point: r.at ?? prev.point, message: r.message }));
      })();
    }, 0);
    return () => clearTimeout(t);
  }, [s.watch]);

  const symOf = (dom: number, a: bigint): string | null => {
    const r = src.symbols.get(dom)?.(a);
    return r ? (r.offset === 0 ? r.name : `${r.name}+0x${r.offset.toString(16)}`) : null;
  };
  /** Up to `n` instructions around the vCPU's RIP from the seek's code bytes (decoded once per point and vCPU). */
  const code = (p: Point, dom: number, vcpu: number, n: number): string[] => {
    const c = p.code.get(vcpuKey(dom, vcpu));
    const v = p.view.vcpus.find((x) => x.dom === dom && x.vcpu === vcpu);
    if (c === undefined || v === undefined || n <= 0 || disasm === null) return [];
    const memo = decoded.get(p) ?? new Map<string, ReturnType<Disasm['around']>>();
    decoded.set(p, memo);
    let wide = memo.get(vcpuKey(dom, vcpu));
    if (wide === undefined) memo.set(vcpuKey(dom, vcpu), (wide = disasm.around(c.bytes, c.addr, c.addr, v.rip, 3, 8, (a) => symOf(dom, a))));
    if (wide.cur < 0) return [];
    const before = Math.min(Math.min(3, Math.floor((n - 1) / 2)), wide.cur);
    const from = wide.cur - before;
    const fn = src.symbols.get(dom)?.(v.rip)?.name ?? null;
    return codeLines(wide.lines.slice(from, from + n), before, fn, (a) => symOf(dom, a));
  };

  const lower = (): string[] => {
    const lh = lowerHeight(h);
    const body = lh - 1;
    const title = (t: string): string => fit(`── ${t} ${'─'.repeat(w)}`, w + 1).slice(0, w);
    if (cur === null) return [title(s.pane), ...clip([], body, w)];
    if (s.pane === 'detail') {
      const found = violations.get(cur.seq) ?? [];
      const report = found.flatMap((v) => [...violationLines(v, src.symbols).map((l) => fit(l, w)), fit('', w)]);
      return [title(`detail: event ${cur.seq}${found.length > 0 ? ` (protocol violation${found.length > 1 ? 's' : ''})` : ''}`), ...clip([...report, ...pack(eventFields(cur, src.where(cur), src.stack(cur)), w)], body, w)];
    }
    if (s.pane === 'console') {
      const c = src.consoleUpTo(cur.seq, 4000, 32, [...names.keys()]);
      return [title(`console up to event ${cur.seq}${c.cut ? ' (tail)' : ''}`), ...clip(consoleLines(c.byDom, names, body, w), body, w)];
    }
    const at = s.point === null ? `event ${cur.seq}` : `icount ${s.point.icount}`;
    if (s.pane === 'rings') {
      const where = s.point === null ? `event ${cur.seq}` : `icount ${vcpuKey(s.point.dom, s.point.vcpu)}:${s.point.icount}`;
      // At an event, that event has happened; at an instruction point, what the replay says has.
      const end = s.point === null ? cur.seq + 1 : ready?.point?.happened ?? null;
      if (end === null) return [title(`rings at ${where}`), ...clip([fit(ready?.error ? `rings unavailable: ${ready.error}` : 'seeking...', w)], body, w)];
      const rs = ringsBefore(src, end, ready?.point?.view ?? null);
      // The trace's rings show at once; the replay adds those without traffic yet.
      const pending = ready === null ? [fit('seeking... (rings without traffic come from the replay)', w)] : [];
      return [title(`rings at ${where}`), ...clip([...pending, ...ringLines(rs, body - pending.length, w)], body, w)];
    }
    const dom = s.point?.dom ?? cur.dom;
    const vcpu = s.point?.vcpu ?? cur.vcpu;
    const where = dom < 0 ? 'xen' : `d${dom}v${vcpu}`;
    if (dom < 0 || vcpu < 0) return [title(`state at event ${cur.seq}`), ...clip([fit(dom < 0 ? 'event of the hypervisor: no vCPU to show' : `event of d${dom} without a vCPU (a dom0 service's): no vCPU to show`, w)], body, w)];
    if (ready === null) return [title(`state of ${where} at ${at}`), ...clip([fit('seeking...', w)], body, w)];
    if (ready.point === null) return [title(`state of ${where} at ${at}`), ...clip([fit(`state unavailable: ${ready.error}`, w)], body, w)];
    const p = ready.point;
    const sym = (rip: bigint): string => symbolize(src.symbols, dom, rip);
    return [title(`state of ${where} at ${at}`), ...clip(stateLines(p.view, dom, vcpu, sym, w, body, (n) => code(p, dom, vcpu, n)), body, w)];
  };

  const status = (): string => {
    if (s.prompt !== null) return fit(`${PROMPT_CHAR[s.prompt.kind]}${s.prompt.text}█`, w);
    const pos = s.point !== null ? `icount ${vcpuKey(s.point.dom, s.point.vcpu)}:${s.point.icount}` : `${cur === null ? '-' : cur.seq}/${src.count}`;
    const f = s.filter ? ` [${s.filter.text}]` : '';
    const nbp = s.bps.size + s.codeBps.length;
    const bp = nbp > 0 ? ` bp:${nbp}` : '';
    const marks = s.marks.length > 0 ? ` !:${s.marks.length} (p/P)` : '';
    const tail = s.message !== '' ? s.message : '? help  / search  f filter  : goto  b c s w  Tab pane  q quit';
    return fit(`${pos}${f}${bp}${marks}  ${tail}`, w);
  };

  const showLower = s.pane !== 'none';
  if (s.help) {
    return (
      <Box flexDirection="column" width={w}>
        {[fit(`── help ${'─'.repeat(w)}`, w + 1).slice(0, w), ...clip(HELP.map((l) => fit(l, w)), h - 2, w)].map((l, i) => (
          <Text key={i} bold={i === 0}>{l}</Text>
        ))}
        <Text inverse>{status()}</Text>
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={w}>
      <Text bold>{fit(TIMELINE_HEADER, w)}</Text>
      {events.map((e) => {
        const c = colour ? KIND_COLOUR[e.kind] : undefined;
        return (
          <Text key={e.seq} inverse={e.seq === s.sel} {...(c !== undefined ? { color: c } : {})}>
            {timelineRow(e, src.where(e), violations.has(e.seq) ? '!' : hits(s.bps, e) ? '*' : ' ', w)}
          </Text>
        );
      })}
      {Array.from({ length: rows - events.length }, (_, i) => (
        <Text key={`pad${i}`}>{fit(i === 0 && events.length === 0 ? '(no events)' : '', w)}</Text>
      ))}
      {showLower ? lower().map((l, i) => <Text key={`l${i}`} bold={i === 0}>{l}</Text>) : null}
      <Text inverse>{status()}</Text>
    </Box>
  );
}
