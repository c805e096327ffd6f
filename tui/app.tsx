/**
 * The timeline debugger: a timeline of events over the whole screen width,
 * one lower pane (detail, state or console; Tab cycles, Enter toggles
 * detail), and a status bar. All state changes go through `reduce`
 * (keys.ts); this component renders and runs the two side effects: quitting
 * and the debounced seek behind the state pane.
 *
 * Seeking re-executes the machine (up to about a second on long traces, and
 * synchronous), so it runs only while the state pane is shown, only for the
 * selected event, `seekDelay` ms after the selection stopped moving.
 */
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { MachineView, ReplaySession } from '../replay/session.js';
import { symbolize } from '../replay/symbols.js';
import { fixTop, initialState, lowerHeight, PROMPT_CHAR, reduce, timelineRows, type UiState } from './keys.js';
import { hits, type TimelineSource } from './source.js';
import { clip, colourEnabled, consoleLines, eventFields, fit, KIND_COLOUR, pack, stateLines, TIMELINE_HEADER, timelineRow } from './text.js';

export type AppProps = {
  source: TimelineSource;
  /** opens the replay session behind the state pane (throws with a one-line reason when it cannot) */
  openSession?: () => ReplaySession;
  /** fixed size (tests); otherwise the terminal's, following resizes */
  columns?: number;
  rows?: number;
  /** ms between the selection settling and a seek (default 150) */
  seekDelay?: number;
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
  'Enter    detail pane  Tab  next lower pane (detail, state, console, none)',
  '/        search summaries          n/N  next/previous match',
  'f        filter: dom=N vcpu=N kind=K name=HYPERCALL (empty clears)',
  ':        go to sequence number, or t<ns> for virtual time',
  'b        toggle breakpoint on this event\'s hypercall / port / kind',
  'c/C      continue / reverse-continue to a breakpoint hit',
  's/S      step / reverse-step: next/previous event of this vCPU',
  '?        this help (Esc closes)       q  quit',
];

type Seek = { seq: number; view: MachineView | null; error: string } | null;

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

  // The state pane's seek: debounced, for the selected event only.
  const session = useRef<ReplaySession | string | null>(null);
  const [seek, setSeek] = useState<Seek>(null);
  const wantSeek = s.pane === 'state' && !s.help ? s.sel : -1;
  useEffect(() => {
    if (wantSeek < 0 || seek?.seq === wantSeek) return;
    const t = setTimeout(() => {
      if (session.current === null) {
        try {
          session.current = props.openSession ? props.openSession() : 'no replay session';
        } catch (e) {
          session.current = (e as Error).message;
        }
      }
      const ses = session.current;
      if (typeof ses === 'string') return setSeek({ seq: wantSeek, view: null, error: ses });
      try {
        setSeek({ seq: wantSeek, view: ses.seek(wantSeek), error: '' });
      } catch (e) {
        setSeek({ seq: wantSeek, view: null, error: (e as Error).message });
      }
    }, props.seekDelay ?? 150);
    return () => clearTimeout(t);
  }, [wantSeek, seek?.seq]);

  const events = useMemo(() => src.window(s.top, rows, s.filter?.pred ?? (() => true)), [src, s.top, rows, s.filter, s.sel]);
  const cur = src.get(s.sel);
  const names = useMemo(() => new Map(src.reader.header.images.map((img, k) => [k + 1, img.domain])), [src]);

  const lower = (): string[] => {
    const lh = lowerHeight(h);
    const body = lh - 1;
    const title = (t: string): string => fit(`── ${t} ${'─'.repeat(w)}`, w + 1).slice(0, w);
    if (cur === null) return [title(s.pane), ...clip([], body, w)];
    if (s.pane === 'detail') return [title(`detail: event ${cur.seq}`), ...clip(pack(eventFields(cur, src.where(cur)), w), body, w)];
    if (s.pane === 'console') {
      const c = src.consoleUpTo(cur.seq, 4000);
      return [title(`console up to event ${cur.seq}${c.cut ? ' (tail)' : ''}`), ...clip(consoleLines(c.byDom, names, body, w), body, w)];
    }
    const where = cur.dom < 0 ? 'xen' : `d${cur.dom}v${cur.vcpu}`;
    if (cur.dom < 0) return [title(`state at event ${cur.seq}`), ...clip([fit('event of the hypervisor: no vCPU to show', w)], body, w)];
    if (seek === null || seek.seq !== cur.seq) return [title(`state of ${where} at event ${cur.seq}`), ...clip([fit('seeking...', w)], body, w)];
    if (seek.view === null) return [title(`state of ${where} at event ${cur.seq}`), ...clip([fit(`state unavailable: ${seek.error}`, w)], body, w)];
    const sym = (rip: bigint): string => symbolize(src.symbols, cur.dom, rip);
    return [title(`state of ${where} at event ${cur.seq}`), ...clip(stateLines(seek.view, cur.dom, cur.vcpu, sym, w), body, w)];
  };

  const status = (): string => {
    if (s.prompt !== null) return fit(`${PROMPT_CHAR[s.prompt.kind]}${s.prompt.text}█`, w);
    const pos = `${cur === null ? '-' : cur.seq}/${src.count}`;
    const f = s.filter ? ` [${s.filter.text}]` : '';
    const bp = s.bps.size > 0 ? ` bp:${s.bps.size}` : '';
    const tail = s.message !== '' ? s.message : '? help  / search  f filter  : goto  b c s  Tab pane  q quit';
    return fit(`${pos}${f}${bp}  ${tail}`, w);
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
            {timelineRow(e, src.where(e), hits(s.bps, e) ? '*' : ' ', w)}
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
