/**
 * `xenrr tui` as a person sees it: run in a detached tmux session of 80x24,
 * keys sent with send-keys, the screen read with capture-pane (with its
 * attributes where highlighting matters). Skipped (with a message) when
 * tmux is not installed. Also: the one-line refusal when stdout is not a
 * terminal.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { record } from '../replay/record.js';
import { parseScenario } from '../sim/scenario.js';
import { initZstd } from '../trace/zstd.js';
import { writeSynthetic } from './test-trace.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIR = `${ROOT}build/tui-test/`;
const BIN = `${ROOT}bin/xenrr`;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
if (!hasTmux) console.warn('tui/e2e.test.ts: tmux is not installed: skipping the terminal end-to-end tests (apt-get install tmux)');
const SESSION = `xenrr-tui-e2e-${process.pid}`;

const tmux = (...args: string[]): string => execFileSync('tmux', args, { encoding: 'utf8' });
const screen = (): string[] => tmux('capture-pane', '-p', '-t', SESSION).replace(/\n$/, '').split('\n');
/** The screen with SGR attributes (tmux emits only changes, so a line may carry none of its own). */
const attrScreen = (): string[] => tmux('capture-pane', '-p', '-e', '-t', SESSION).replace(/\n$/, '').split('\n');

/** Poll the screen until `want` holds (the TUI starts and redraws asynchronously); the last screen otherwise. */
async function until(want: (s: string[]) => boolean, tries = 300): Promise<string[]> {
  let s = screen();
  for (let i = 0; i < tries && !want(s); i++) {
    await new Promise((r) => setTimeout(r, 50));
    s = screen();
  }
  return s;
}
const last = (s: string[]): string => s[s.length - 1] ?? '';

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
  writeSynthetic(`${DIR}e2e-a.xrr`, 200, 16);
  writeSynthetic(`${DIR}e2e-b.xrr`, 200, 16, (e) => (e.seq === 50 ? null : e));
});
const kill = (): void => {
  if (hasTmux) spawnSync('tmux', ['kill-session', '-t', SESSION]);
};
afterEach(kill);
afterAll(kill);

describe('xenrr tui outside a terminal', () => {
  it('says so in one line and exits 2', () => {
    const r = spawnSync(BIN, ['tui', `${DIR}e2e-a.xrr`], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('xenrr: tui needs a terminal: stdout is not a TTY (use `xenrr dump` for text output)\n');
    expect(r.stdout).toBe('');
  });
});

describe.skipIf(!hasTmux)('xenrr tui in tmux at 80x24', () => {
  it('shows the timeline, moves, opens the detail pane, filters, follows a resize and quits', async () => {
    // Ink renders only a final frame when it believes it runs in CI: the person at this terminal is not CI.
    // Started outside the checkout, as from a kernel tree: xenrr must not depend on the working directory.
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', '-c', tmpdir(), `env -u CI ${BIN} tui ${DIR}e2e-a.xrr; echo "exit status $?"; sleep 60`);
    let s = await until((x) => last(x).startsWith('0/200'));
    expect(s).toHaveLength(24);
    expect(s[0]).toMatch(/^ seq +time\(us\) where kind +symbol +summary/);
    expect(s[1]).toMatch(/^ +0 +0\.500 d1v0 hcall +0x400000 +SCHEDOP_yield -> 0$/);
    expect(last(s)).toMatch(/^0\/200 {2}\? help/);

    tmux('send-keys', '-t', SESSION, 'Down', 'Down', 'Down', 'Enter');
    s = await until((x) => x.some((l) => l.startsWith('── detail: event 3')));
    expect(last(s)).toMatch(/^3\/200 /);
    expect(s.join('\n')).toContain('subName="EVTCHNOP_send"');

    tmux('send-keys', '-t', SESSION, 'f');
    tmux('send-keys', '-t', SESSION, '-l', 'kind=console');
    tmux('send-keys', '-t', SESSION, 'Enter');
    s = await until((x) => last(x).includes('[kind=console]'));
    expect(s.slice(1, 4).map((l) => l.trim().split(/\s+/)[0])).toEqual(['8', '9', '24']);

    tmux('resize-window', '-t', SESSION, '-x', '100', '-y', '30');
    s = await until((x) => x.length === 30 && last(x).length > 80);
    expect(s).toHaveLength(30);

    tmux('send-keys', '-t', SESSION, 'q');
    s = await until((x) => x.some((l) => l === 'exit status 0'));
    expect(s.some((l) => l === 'exit status 0')).toBe(true);
  });

  it('starts with DEV=true in the environment (Ink would look for React devtools, not installed)', async () => {
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', `env -u CI DEV=true ${BIN} tui ${DIR}e2e-a.xrr; echo "exit status $?"; sleep 60`);
    let s = await until((x) => last(x).startsWith('0/200') || x.some((l) => l.startsWith('exit status')));
    expect(last(s)).toMatch(/^0\/200 {2}\? help/);
    tmux('send-keys', '-t', SESSION, 'q');
    s = await until((x) => x.some((l) => l === 'exit status 0'));
    expect(s.some((l) => l === 'exit status 0')).toBe(true);
  });

  it('diff mode: both timelines side by side, opened on the first divergence', async () => {
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', `env -u CI ${BIN} tui ${DIR}e2e-a.xrr --against ${DIR}e2e-b.xrr; echo "exit status $?"; sleep 60`);
    const s = await until((x) => last(x).startsWith('row '));
    expect(last(s)).toMatch(/^row 51\/200 {2}region 1\/1 \(first divergence\)/);
    const row = s.find((l) => /^ +50 \S+ .* - *$/.test(l));
    expect(row).toBeDefined();
    tmux('send-keys', '-t', SESSION, 'q');
    expect((await until((x) => x.includes('exit status 0'))).includes('exit status 0')).toBe(true);
  });
});

const built = existsSync(`${ROOT}build/corpus/pv/bugs/offbyone-bad.elf`) && existsSync(`${ROOT}build/corpus/pv/ringpair.elf`);
describe.skipIf(!hasTmux || !built)('xenrr tui --against on a planted bug, in tmux at 80x24', () => {
  it('opens on the first divergence, highlighted, and n/N move between the differing regions', async () => {
    // The split block driver, and its build whose backend publishes rsp_prod one past its last response.
    for (const [name, file] of [['good', 'ringpair.json'], ['bad', 'bugs/offbyone-bad.json']] as const) {
      const path = `${ROOT}corpus/scenarios/${file}`;
      await record(parseScenario(JSON.parse(readFileSync(path, 'utf8')), path), `${DIR}e2e-${name}.xrr`, { checkpointEvery: 50000 });
    }
    tmux('new-session', '-d', '-s', SESSION, '-x', '80', '-y', '24', `env -u CI ${BIN} tui ${DIR}e2e-good.xrr --against ${DIR}e2e-bad.xrr; echo "exit status $?"; sleep 60`);
    let s = await until((x) => last(x).startsWith('row '));
    const first = /^row (\d+)\/\d+ {2}region 1\/(\d+) \(first divergence\)/.exec(last(s));
    expect(first).not.toBeNull();
    const regions = Number(first![2]);
    expect(regions).toBeGreaterThan(1);
    // The selected row is the first divergence: in a only (the bad run stopped sending), shown inverse and red.
    const sel = Number(first![1]) - 1;
    const at = s.findIndex((l) => new RegExp(`^ +${sel} \\S+ .* - *$`).test(l));
    expect(at).toBeGreaterThan(1);
    const attrs = attrScreen()[at]!;
    expect(attrs).toMatch(/\x1b\[(?:[0-9;]*;)?7[;m]/);
    expect(attrs).toMatch(/\x1b\[(?:[0-9;]*;)?31m/);
    // The rows before it are common to both runs, unmarked.
    expect(s[at - 1]).toMatch(new RegExp(`^ +${sel - 1} .* {3}${sel - 1} `));

    const seen = [Number(first![1])];
    for (let k = 2; k <= regions; k++) {
      tmux('send-keys', '-t', SESSION, 'n');
      s = await until((x) => last(x).includes(`region ${k}/${regions}`));
      const m = /^row (\d+)\//.exec(last(s));
      expect(last(s)).toMatch(new RegExp(`region ${k}/${regions}  \\? help  n/N region`));
      seen.push(Number(m![1]));
    }
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    tmux('send-keys', '-t', SESSION, 'n');
    s = await until((x) => last(x).includes('no later differing region'));
    expect(last(s)).toBe(`row ${seen.at(-1)}/${last(s).split('/')[1]!.split(' ')[0]}  region ${regions}/${regions}  no later differing region`);
    for (let k = regions - 1; k >= 1; k--) {
      tmux('send-keys', '-t', SESSION, 'N');
      s = await until((x) => last(x).startsWith(`row ${seen[k - 1]}/`));
      expect(last(s)).toMatch(new RegExp(`^row ${seen[k - 1]}/\\d+  region ${k}/${regions}`));
    }
    expect(last(s)).toMatch(/\(first divergence\)/);
    tmux('send-keys', '-t', SESSION, 'q');
    expect((await until((x) => x.includes('exit status 0'))).includes('exit status 0')).toBe(true);
  });
});
