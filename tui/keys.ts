/**
 * The timeline debugger's state and its key handling, as a pure reducer over
 * a TimelineSource: `(state, key) -> state`. Ink calls it through the
 * functional form of setState, so keys arriving in one batch each see the
 * state the previous one left.
 *
 * Invariant: `sel` is the seq of an event that passes the filter (or the
 * trace is empty / nothing matches, and `sel` is where the view started);
 * `top` is the first row of the timeline window and sel is within it.
 */
import type { SimEvent } from '../sim/events.js';
import { ANY, breakpointKey, hits, parseFilter, searchPred, type Filter, type Pred, type TimelineSource } from './source.js';

export type Pane = 'none' | 'detail' | 'state' | 'console';
/** Lower panes in Tab order. */
export const PANES: readonly Pane[] = ['none', 'detail', 'state', 'console'];
export type PromptKind = 'search' | 'filter' | 'goto';
export const PROMPT_CHAR: Record<PromptKind, string> = { search: '/', filter: 'filter: ', goto: ':' };

export type UiState = {
  sel: number;
  top: number;
  pane: Pane;
  help: boolean;
  prompt: null | { kind: PromptKind; text: string };
  filter: Filter | null;
  search: string | null;
  bps: ReadonlySet<string>;
  /** one-line message in the status bar until the next key */
  message: string;
  quit: boolean;
};

/** The subset of ink's Key the reducer reads. */
export type KeyInfo = Partial<Record<'upArrow' | 'downArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'tab' | 'backspace' | 'delete' | 'ctrl' | 'shift' | 'meta', boolean>>;

/** Rows of the timeline (events, without its header line) for a screen height and lower pane. */
export function timelineRows(height: number, pane: Pane, _help = false): number {
  const body = Math.max(2, height - 1);
  if (pane !== 'none') return Math.max(1, body - lowerHeight(height) - 1);
  return Math.max(1, body - 1);
}

/** Height of the lower pane (title included). */
export const lowerHeight = (height: number): number => Math.max(3, Math.floor((height - 1) / 2));

const pred = (s: UiState): Pred => s.filter?.pred ?? ANY;

export function initialState(src: TimelineSource): UiState {
  const first = src.find(src.first, 1, ANY)?.seq ?? 0;
  return { sel: first, top: first, pane: 'none', help: false, prompt: null, filter: null, search: null, bps: new Set(), message: '', quit: false };
}

/** Keep `sel` inside the window of `rows` matching events starting at `top`. */
export function fixTop(src: TimelineSource, s: UiState, rows: number): UiState {
  const p = pred(s);
  let top = s.top;
  if (s.sel < top) top = s.sel;
  else {
    const win = src.window(top, rows, p);
    const last = win[win.length - 1];
    if (last !== undefined && s.sel > last.seq) top = src.step(s.sel, -(rows - 1), p);
    else if (win.length < rows) top = src.step(s.sel, -(rows - 1), p);
  }
  return top === s.top ? s : { ...s, top };
}

function go(src: TimelineSource, s: UiState, e: SimEvent | null, miss: string): UiState {
  if (e === null) return { ...s, message: miss };
  return { ...s, sel: e.seq };
}

function submit(src: TimelineSource, s: UiState, kind: PromptKind, text: string): UiState {
  const t = text.trim();
  if (kind === 'filter') {
    if (t === '') return { ...s, filter: null, message: 'filter cleared' };
    const f = parseFilter(t);
    if (typeof f === 'string') return { ...s, message: f };
    const e = src.find(s.sel, 1, f.pred) ?? src.find(s.sel, -1, f.pred);
    if (e === null) return { ...s, message: `no event matches ${t}` };
    return { ...s, filter: f, sel: e.seq, top: e.seq };
  }
  if (kind === 'search') {
    if (t === '') return { ...s, search: null };
    const p = searchPred(t);
    const both: Pred = (e) => pred(s)(e) && p(e);
    const e = src.find(s.sel + 1, 1, both) ?? src.find(src.first, 1, both);
    return go(src, { ...s, search: t }, e, `not found: ${t}`);
  }
  // goto: a sequence number, or t<ns> for virtual time
  if (/^t\d+$/.test(t)) {
    const at = src.atTime(Number(t.slice(1)));
    const e = at === null ? null : (src.find(at.seq, 1, pred(s)) ?? src.find(at.seq, -1, pred(s)));
    return go(src, s, e, `no event at or after ${t.slice(1)} ns`);
  }
  if (!/^\d+$/.test(t)) return { ...s, message: `go to: give a sequence number or t<ns>, not '${t}'` };
  const seq = Math.min(Number(t), src.end - 1);
  const e = src.find(seq, 1, pred(s)) ?? src.find(seq, -1, pred(s));
  return go(src, s, e, `no event ${t}`);
}

function promptKey(src: TimelineSource, s: UiState, input: string, key: KeyInfo): UiState {
  const p = s.prompt!;
  if (key.escape) return { ...s, prompt: null };
  if (key.return) return submit(src, { ...s, prompt: null }, p.kind, p.text);
  if (key.backspace || key.delete) return { ...s, prompt: { ...p, text: p.text.slice(0, -1) } };
  if (key.ctrl || key.upArrow || key.downArrow || key.tab) return s;
  // Pasted text (or keys arriving in one read) may carry the Enter inside it.
  const nl = input.search(/[\r\n]/);
  if (nl >= 0) return submit(src, { ...s, prompt: null }, p.kind, p.text + input.slice(0, nl).replace(/[\x00-\x1f]/g, ''));
  return { ...s, prompt: { ...p, text: p.text + input.replace(/[\x00-\x1f]/g, '') } };
}

/**
 * Apply one key. `rows` is the timeline height the key sees (for paging).
 * Several plain keys read at once (ink hands them over as one string) are
 * applied one by one, Tab and Enter included.
 */
export function reduce(src: TimelineSource, s0: UiState, input: string, key: KeyInfo, rows: number): UiState {
  if (input.length > 1 && s0.prompt === null && !key.ctrl && !key.meta) {
    let s = s0;
    for (const c of input) s = reduce(src, s, c === '\t' || c === '\r' ? '' : c, c === '\t' ? { tab: true } : c === '\r' ? { return: true } : {}, rows);
    return s;
  }
  if (s0.prompt !== null) return promptKey(src, s0, input, key);
  const s = s0.message === '' ? s0 : { ...s0, message: '' };
  const p = pred(s);
  const cur = src.get(s.sel);
  if (s.help && (input === '?' || key.escape)) return { ...s, help: false };
  if (key.upArrow || input === 'k') return { ...s, sel: src.step(s.sel, -1, p) };
  if (key.downArrow || input === 'j') return { ...s, sel: src.step(s.sel, 1, p) };
  if (key.pageUp) return { ...s, sel: src.step(s.sel, -rows, p) };
  if (key.pageDown || input === ' ') return { ...s, sel: src.step(s.sel, rows, p) };
  if (key.home || input === 'g') return go(src, s, src.find(src.first, 1, p), 'empty');
  if (key.end || input === 'G') return go(src, s, src.find(src.end - 1, -1, p), 'empty');
  if (key.return) return { ...s, pane: s.pane === 'detail' ? 'none' : 'detail' };
  if (key.tab) {
    const i = PANES.indexOf(s.pane);
    return { ...s, pane: PANES[(i + (key.shift ? PANES.length - 1 : 1)) % PANES.length]! };
  }
  if (input === '?') return { ...s, help: !s.help };
  if (input === 'q') return { ...s, quit: true };
  if (input === '/') return { ...s, prompt: { kind: 'search', text: '' } };
  if (input === 'f') return { ...s, prompt: { kind: 'filter', text: s.filter?.text ?? '' } };
  if (input === ':') return { ...s, prompt: { kind: 'goto', text: '' } };
  if (input === 'n' || input === 'N') {
    if (s.search === null) return { ...s, message: 'no search: press / first' };
    const sp = searchPred(s.search);
    const dir = input === 'n' ? 1 : -1;
    return go(src, s, src.find(s.sel + dir, dir, (e) => p(e) && sp(e)), `no ${dir > 0 ? 'later' : 'earlier'} match for ${s.search}`);
  }
  if (cur === null) return s;
  if (input === 'b') {
    const k = breakpointKey(cur);
    const bps = new Set(s.bps);
    const had = bps.delete(k);
    if (!had) bps.add(k);
    return { ...s, bps, message: `${had ? 'removed' : 'breakpoint on'} ${k}` };
  }
  if (input === 'c' || input === 'C') {
    if (s.bps.size === 0) return { ...s, message: 'no breakpoints: press b on an event' };
    const dir = input === 'c' ? 1 : -1;
    return go(src, s, src.find(s.sel + dir, dir, (e) => p(e) && hits(s.bps, e)), `no breakpoint hit ${dir > 0 ? 'after' : 'before'} this event`);
  }
  if (input === 's' || input === 'S') {
    // Step = the next/previous event of the selected event's vCPU (not one instruction).
    const dir = input === 's' ? 1 : -1;
    const same: Pred = (e) => p(e) && e.dom === cur.dom && e.vcpu === cur.vcpu;
    return go(src, s, src.find(s.sel + dir, dir, same), `no ${dir > 0 ? 'later' : 'earlier'} event of ${cur.dom < 0 ? 'xen' : `d${cur.dom}v${cur.vcpu}`}`);
  }
  return s;
}
