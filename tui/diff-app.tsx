/**
 * Diff mode: two timelines side by side, aligned as `xenrr diff` aligns
 * them (DiffRows). Rows in a differing region are marked `-` (only in a),
 * `+` (only in b) or `~` (both sides, changed); the first divergence is the
 * first region, and the view opens on it. n/N jump between regions.
 */
import { Box, Text, useApp, useInput, type Key } from 'ink';
import { useEffect, useMemo, useState } from 'react';
import type { SimEvent } from '../sim/events.js';
import type { DiffReport } from '../replay/diff.js';
import { summary } from '../replay/format.js';
import { useSize } from './app.js';
import { DiffRows } from './diff-rows.js';
import type { TimelineSource } from './source.js';
import { clip, colourEnabled, fit, KIND_SHORT } from './text.js';

export type DiffAppProps = { a: TimelineSource; b: TimelineSource; report: DiffReport; columns?: number; rows?: number; colour?: boolean };
type DState = { row: number; top: number; help: boolean; message: string; quit: boolean };

/** The keys of diff mode, shown by `?`. */
export const DIFF_HELP = [
  '↑/↓ k/j  move        PgUp/PgDn  page       Home/End g/G  first/last',
  'n/N      next/previous differing region (the first is the first divergence)',
  'marks    -  only in a     +  only in b     ~  in both, changed',
  '?        this help (Esc closes)       q  quit',
];

const half = (e: SimEvent | null, w: number): string => (e === null ? fit('', w) : fit(`${String(e.seq).padStart(6)} ${KIND_SHORT[e.kind].padEnd(7)} ${summary(e)}`, w));

export function DiffApp(props: DiffAppProps): React.JSX.Element {
  const { a, b, report } = props;
  const { exit } = useApp();
  const { w, h } = useSize(props.columns, props.rows);
  const colour = props.colour ?? colourEnabled();
  const rows = useMemo(() => new DiffRows(report), [report]);
  const body = Math.max(1, h - 3);
  const first = rows.regionRows[0] ?? 0;
  const [s0, setS] = useState<DState>(() => ({ row: first, top: Math.max(0, first - Math.floor(body / 2)), help: false, message: '', quit: false }));
  const fix = (s: DState, n: number): DState => {
    const row = Math.max(0, Math.min(rows.count - 1, s.row));
    let top = Math.min(s.top, row);
    if (row >= top + n) top = row - n + 1;
    return { ...s, row, top: Math.max(0, top) };
  };
  const s = fix(s0, body);

  const onKey = (p0: DState, input: string, key: Partial<Key>): DState => {
    const p = { ...p0, message: '' };
    if (input === 'q') return { ...p, quit: true };
    if (input === '?') return { ...p, help: !p.help };
    if (p.help && key.escape) return { ...p, help: false };
    if (key.upArrow || input === 'k') return fix({ ...p, row: p.row - 1 }, body);
    if (key.downArrow || input === 'j') return fix({ ...p, row: p.row + 1 }, body);
    if (key.pageUp) return fix({ ...p, row: p.row - body }, body);
    if (key.pageDown || input === ' ') return fix({ ...p, row: p.row + body }, body);
    if (key.home || input === 'g') return fix({ ...p, row: 0 }, body);
    if (key.end || input === 'G') return fix({ ...p, row: rows.count - 1 }, body);
    if (input === 'n' || input === 'N') {
      const r = rows.region(p.row, input === 'n' ? 1 : -1);
      if (r === null) return { ...p, message: `no ${input === 'n' ? 'later' : 'earlier'} differing region` };
      return fix({ ...p, row: r, top: Math.max(0, r - Math.floor(body / 2)) }, body);
    }
    return p;
  };
  // Several plain keys read at once (typed fast, or sent together) apply one by one.
  useInput((input, key) => setS((p0) => (input.length > 1 && !key.ctrl && !key.meta ? [...input].reduce((p, c) => onKey(p, c, {}), p0) : onKey(p0, input, key))));
  useEffect(() => {
    if (s.quit) exit();
  }, [s.quit, exit]);

  const hw = Math.floor((w - 3) / 2);
  const lines: React.JSX.Element[] = [];
  for (let i = 0; i < body; i++) {
    const r = rows.at(s.top + i);
    if (r === null) {
      lines.push(<Text key={i}>{fit('', w)}</Text>);
      continue;
    }
    const ea = r.a === null ? null : a.get(r.a);
    const eb = r.b === null ? null : b.get(r.b);
    const mark = r.region < 0 ? ' ' : r.a === null ? '+' : r.b === null ? '-' : '~';
    const text = fit(`${half(ea, hw)} ${mark} ${half(eb, hw)}`, w);
    const isFirst = r.region === 0;
    const c = r.region < 0 || !colour ? undefined : isFirst ? 'red' : 'yellow';
    lines.push(
      <Text key={i} inverse={s.top + i === s.row} bold={isFirst} {...(c !== undefined ? { color: c } : {})}>
        {text}
      </Text>,
    );
  }
  const cur = rows.at(s.row);
  const region = cur !== null && cur.region >= 0 ? `region ${cur.region + 1}/${report.regionCount}${cur.region === 0 ? ' (first divergence)' : ''}` : report.equal ? 'EQUIVALENT' : `${report.regionCount} regions`;
  const tail = s.message !== '' ? s.message : '? help  n/N region  ↑↓ PgUp PgDn Home End  q quit';
  const status = <Text inverse>{fit(`row ${s.row + 1}/${rows.count}  ${region}  ${tail}`, w)}</Text>;
  if (s.help) {
    return (
      <Box flexDirection="column" width={w}>
        {[fit(`── help: diff mode ${'─'.repeat(w)}`, w + 1).slice(0, w), ...clip(DIFF_HELP.map((l) => fit(l, w)), h - 2, w)].map((l, i) => (
          <Text key={i} bold={i === 0}>{l}</Text>
        ))}
        {status}
      </Box>
    );
  }
  return (
    <Box flexDirection="column" width={w}>
      <Text bold>{fit(`a: ${report.a.path} (${report.a.events})`, hw)} | {fit(`b: ${report.b.path} (${report.b.events})`, w - hw - 3)}</Text>
      <Text bold>{fit(`${'seq'.padStart(6)} kind    summary`, hw)} | {fit(`${'seq'.padStart(6)} kind    summary`, w - hw - 3)}</Text>
      {lines}
      {status}
    </Box>
  );
}
