/**
 * Protocol violations in the timeline: the lost wake-up of the planted-bug
 * corpus, recorded, is marked `!` once the background check is done; p/P go
 * to it with its report (ring, call stack) in the detail pane.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../replay/record.js';
import { parseScenario } from '../sim/scenario.js';
import { initZstd } from '../trace/zstd.js';
import { fileTempDir } from '../replay/e2e/temp-dir.js';
import { loadSymbols } from '../replay/symbols.js';
import { TraceReader } from '../trace/reader.js';
import { openApp, tick, type Harness } from './harness.js';
import { TimelineSource } from './source.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const built = existsSync(`${ROOT}build/corpus/pv/bugs/lostwakeup-bad.elf`);
const DIR = fileTempDir('xenrr-tui-protocol-');
const TRACE = `${DIR}/lostwakeup-bad.xrr`;
let h: Harness | null = null;
const lines = (x: Harness): string[] => x.lines().map((l) => l.trimEnd());
/** Until the background check has reported (the status bar counts the marks) or `ms` passed. */
async function checked(x: Harness, ms = 10_000): Promise<void> {
  for (let t = 0; t < ms && !x.status().includes('!:'); t += 5) await tick();
}

beforeAll(async () => {
  await initZstd();
  if (!built) return;
  const file = `${ROOT}corpus/scenarios/bugs/lostwakeup-bad.json`;
  await record(parseScenario(JSON.parse(readFileSync(file, 'utf8')), file), TRACE);
});
afterEach(() => {
  h?.unmount();
  h = null;
});

describe.skipIf(!built)('protocol violations in the TUI', () => {
  it('marks the violation with ! and goes to it with p, the report in the detail pane', async () => {
    const reader = TraceReader.open(TRACE);
    const x = (h = await openApp(TRACE, { rows: 30, columns: 120, source: new TimelineSource(reader, loadSymbols(reader.header)) }));
    await x.press('p'); // too early (or not): either way a message, no move
    await checked(x);
    expect(x.status()).toMatch(/^0\/\d+ !:1 \(p\/P\) {2}/);
    await x.press('p');
    const l = lines(x);
    const row = l.find((r) => r.startsWith('!'));
    expect(row).toMatch(/^! +(\d+) +[\d.]+ d1v0 ring +sched_block\+0x[0-9a-f]+ +blkif dom1->dom2 req 60->61 rsp 60->60 \(1 slots, seen at block\)$/);
    const seq = Number(/^! +(\d+)/.exec(row!)![1]);
    expect(x.status()).toMatch(new RegExp(`^${seq}/\\d+ !:1 `));
    const title = l.findIndex((r) => r.startsWith(`── detail: event ${seq} (protocol violation)`));
    expect(title).toBeGreaterThan(0);
    expect(l[title + 1]).toMatch(new RegExp(`^lost-wakeup  #${seq}  [\\d.]+us  d1v0  sched_block\\+0x[0-9a-f]+$`));
    expect(l[title + 2]).toMatch(/^ {2}d1v0 published requests 60 -> 61 on the blkif ring d1->d2 gref \d+ port \d+ while the backend d2's req_event was 61/);
    expect(l.slice(title).some((r) => /^ {2}stack {3}sched_block\+0x[0-9a-f]+ <- run_front\+0x[0-9a-f]+ <- run_roles/.test(r))).toBe(true);
    await x.press('p');
    expect(x.status()).toContain('no protocol violation after this event');
    await x.press('G', 'P');
    expect(x.status()).toMatch(new RegExp(`^${seq}/`));
  });

  it('--no-protocol: no marks, and p says the checks are off', async () => {
    const x = (h = await openApp(TRACE, { rows: 30, columns: 120, protocol: false }));
    await tick();
    await x.press('p');
    expect(x.status()).toMatch(/^0\/\d+ {2}protocol checks are off \(--no-protocol\)$/);
    expect(lines(x).some((r) => r.startsWith('!'))).toBe(false);
  });
});
