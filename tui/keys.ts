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

export type Pane = 'none' | 'detail' | 'state' | 'rings' | 'console';
/** Lower panes in Tab order. */
export const PANES: readonly Pane[] = ['none', 'detail', 'state', 'rings', 'console'];
/** Panes that show the replayed machine (and so need a seek). */
export const MACHINE_PANES: ReadonlySet<Pane> = new Set(['state', 'rings']);

/**
 * A position between events: vCPU `dom`.`vcpu` has retired exactly `icount`
 * instructions (`late`: and is about to execute the next, where a
 * breakpoint stopped it; else the first instant it has retired them).
 */
export type InsnPoint = { dom: number; vcpu: number; icount: number; late?: boolean };
export type PromptKind = 'search' | 'filter' | 'goto' | 'watch' | 'watch-back' | 'break';
export const PROMPT_CHAR: Record<PromptKind, string> = {
  search: '/', filter: 'filter: ', goto: ':', watch: 'watch DOM.VCPU:ADDRESS|SYMBOL[:LEN] (next change): ', 'watch-back': 'watch DOM.VCPU:ADDRESS|SYMBOL[:LEN] (last change): ',
  break: 'break at [DOM[.VCPU]:]ADDRESS|SYMBOL[+OFF] (one set: removes it): ',
};
/** A watch asked for at the prompt, run by the app on the replay: `text` as typed, from `from`. */
export type WatchRequest = { text: string; from: InsnPoint; backward: boolean };
/** A run to the code breakpoints (c/C), by the app on the replay, from an instruction point or the selected event. */
export type RunRequest = { from: InsnPoint | { seq: number }; backward: boolean };

export type UiState = {
  sel: number;
  top: number;
  pane: Pane;
  help: boolean;
  prompt: null | { kind: PromptKind; text: string };
  filter: Filter | null;
  search: string | null;
  bps: ReadonlySet<string>;
  /** code breakpoints as typed at the B prompt (the app checks them first: `breakReq`) */
  codeBps: readonly string[];
  breakReq: string | null;
  /** a c/C run to the code breakpoints the app has yet to do; its result sets `point` */
  run: RunRequest | null;
  /**
   * Set by instruction stepping (s/S): the state panes show this point
   * instead of the selected event, and `sel` follows it (the last event of
   * that vCPU before it, once the seek says where that is). Moving the
   * selection any other way returns to the event.
   */
  point: InsnPoint | null;
  /** a watch the app has yet to run (w/W); its result sets `point` */
  watch: WatchRequest | null;
  /** the last watch typed, offered again at the prompt */
  lastWatch: string;
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
  return { sel: first, top: first, pane: 'none', help: false, prompt: null, filter: null, search: null, bps: new Set(), codeBps: [], breakReq: null, run: null, point: null, watch: null, lastWatch: '', message: '', quit: false };
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
  return { ...s, sel: e.seq, point: null };
}

/** Events examined when looking for the event before an instruction point. */
const SYNC_LIMIT = 100_000;

/**
 * After the seek of an instruction point: select the last event of its vCPU
 * (passing the filter) among the `happened` events emitted before it.
 * Unchanged when the point moved on meanwhile or no such event is near.
 */
export function followPoint(src: TimelineSource, s: UiState, point: InsnPoint, happened: number): UiState {
  if (s.point === null || s.point.dom !== point.dom || s.point.vcpu !== point.vcpu || s.point.icount !== point.icount) return s;
  const p = pred(s);
  const e = src.find(happened - 1, -1, (x) => x.dom === point.dom && x.vcpu === point.vcpu && p(x), SYNC_LIMIT);
  return e === null || e.seq === s.sel ? s : { ...s, sel: e.seq };
}

/** The instruction point s (dir 1) or S (dir -1) moves to from the selected event or the current point. */
function stepPoint(s: UiState, cur: SimEvent, dir: 1 | -1): InsnPoint | string {
  const where = `d${cur.dom}v${cur.vcpu}`;
  // At an event the vCPU is inside the instruction that caused it (icount = instructions retired before it):
  // forward completes it, back goes to just before it.
  const base = s.point ?? { dom: cur.dom, vcpu: cur.vcpu, icount: cur.icount };
  const icount = s.point === null ? (dir > 0 ? base.icount + 1 : base.icount) : base.icount + dir;
  if (icount < 0) return `${where} is at its first instruction`;
  return { dom: base.dom, vcpu: base.vcpu, icount };
}

function submit(src: TimelineSource, s: UiState, kind: PromptKind, text: string): UiState {
  const t = text.trim();
  if (kind === 'break') {
    if (t === '') return s;
    if (s.codeBps.includes(t)) return { ...s, codeBps: s.codeBps.filter((b) => b !== t), message: `removed breakpoint at ${t}` };
    return { ...s, breakReq: t, message: `breakpoint at ${t}...` };
  }
  if (kind === 'watch' || kind === 'watch-back') {
    const cur = src.get(s.sel);
    if (t === '') return s;
    // From the instruction point, or just before the instruction that raised the selected event.
    const from = s.point ?? (cur !== null && cur.dom >= 0 && cur.vcpu >= 0 ? { dom: cur.dom, vcpu: cur.vcpu, icount: cur.icount } : null);
    if (from === null) return { ...s, message: 'an event of the hypervisor: select a vCPU\'s event to watch from' };
    return { ...s, lastWatch: t, watch: { text: t, from, backward: kind === 'watch-back' }, message: `watching ${t}...`, pane: MACHINE_PANES.has(s.pane) ? s.pane : 'state' };
  }
  if (kind === 'filter') {
    if (t === '') return { ...s, filter: null, message: 'filter cleared' };
    const f = parseFilter(t);
    if (typeof f === 'string') return { ...s, message: f };
    const e = src.find(s.sel, 1, f.pred) ?? src.find(s.sel, -1, f.pred);
    if (e === null) return { ...s, message: `no event matches ${t}` };
    return { ...s, filter: f, sel: e.seq, top: e.seq, point: null };
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

function promptKey(src: TimelineSource, s: UiState, input: string, key: KeyInfo, rows: number): UiState {
  const p = s.prompt!;
  if (key.escape) return { ...s, prompt: null };
  if (key.return) return submit(src, { ...s, prompt: null }, p.kind, p.text);
  if (key.backspace || key.delete) return { ...s, prompt: { ...p, text: p.text.slice(0, -1) } };
  if (key.ctrl || key.upArrow || key.downArrow || key.tab) return s;
  // Pasted text (or keys arriving in one read) may carry the Enter inside it, and more keys after it.
  const nl = input.search(/[\r\n]/);
  if (nl >= 0) {
    const done = submit(src, { ...s, prompt: null }, p.kind, p.text + input.slice(0, nl).replace(/[\x00-\x1f]/g, ''));
    return eachKey(src, done, input.slice(nl + 1), rows);
  }
  return { ...s, prompt: { ...p, text: p.text + input.replace(/[\x00-\x1f]/g, '') } };
}

/** Plain keys read at once, one by one (Tab and Enter included). */
function eachKey(src: TimelineSource, s0: UiState, input: string, rows: number): UiState {
  let s = s0;
  for (const c of input) s = reduce(src, s, c === '\t' || c === '\r' ? '' : c, c === '\t' ? { tab: true } : c === '\r' ? { return: true } : {}, rows);
  return s;
}

/**
 * Apply one key. `rows` is the timeline height the key sees (for paging).
 * Several plain keys read at once (ink hands them over as one string) are
 * applied one by one, Tab and Enter included.
 */
export function reduce(src: TimelineSource, s0: UiState, input: string, key: KeyInfo, rows: number): UiState {
  if (input.length > 1 && s0.prompt === null && !key.ctrl && !key.meta) return eachKey(src, s0, input, rows);
  if (s0.prompt !== null) return promptKey(src, s0, input, key, rows);
  const s = s0.message === '' ? s0 : { ...s0, message: '' };
  const p = pred(s);
  const cur = src.get(s.sel);
  if (s.help && (input === '?' || key.escape)) return { ...s, help: false };
  if (key.upArrow || input === 'k') return { ...s, sel: src.step(s.sel, -1, p), point: null };
  if (key.downArrow || input === 'j') return { ...s, sel: src.step(s.sel, 1, p), point: null };
  if (key.pageUp) return { ...s, sel: src.step(s.sel, -rows, p), point: null };
  if (key.pageDown || input === ' ') return { ...s, sel: src.step(s.sel, rows, p), point: null };
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
  if (input === 'w' || input === 'W') return { ...s, prompt: { kind: input === 'w' ? 'watch' : 'watch-back', text: s.lastWatch } };
  if (input === 'B') return { ...s, prompt: { kind: 'break', text: '' } };
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
  if ((input === 'c' || input === 'C') && s.codeBps.length > 0) {
    // Code breakpoints: the app runs the replay (event breakpoints, when set too, are weighed against its stop).
    const from = s.point ?? { seq: cur.seq };
    return { ...s, run: { from, backward: input === 'C' }, message: `running ${input === 'c' ? 'forward' : 'back'} to a breakpoint...`, pane: MACHINE_PANES.has(s.pane) ? s.pane : 'state' };
  }
  if (input === 'c' || input === 'C') {
    if (s.bps.size === 0) return { ...s, message: 'no breakpoints: press b on an event, or B for a code address' };
    const dir = input === 'c' ? 1 : -1;
    return go(src, s, src.find(s.sel + dir, dir, (e) => p(e) && hits(s.bps, e)), `no breakpoint hit ${dir > 0 ? 'after' : 'before'} this event`);
  }
  if (input === 's' || input === 'S') {
    // One instruction of the selected vCPU, forward or back; the state pane shows it.
    if (cur.dom < 0 || cur.vcpu < 0) return { ...s, message: 'an event of the hypervisor: no vCPU to step' };
    const pt = stepPoint(s, cur, input === 's' ? 1 : -1);
    if (typeof pt === 'string') return { ...s, message: pt };
    return { ...s, point: pt, pane: MACHINE_PANES.has(s.pane) ? s.pane : 'state' };
  }
  if (input === 'v' || input === 'V') {
    // The next/previous event of the selected event's vCPU.
    const dir = input === 'v' ? 1 : -1;
    const same: Pred = (e) => p(e) && e.dom === cur.dom && e.vcpu === cur.vcpu;
    return go(src, s, src.find(s.sel + dir, dir, same), `no ${dir > 0 ? 'later' : 'earlier'} event of ${cur.dom < 0 ? 'xen' : `d${cur.dom}v${cur.vcpu}`}`);
  }
  return s;
}
