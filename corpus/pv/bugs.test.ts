/**
 * Planted bugs for the replay/diff/bisect tooling (corpus/pv/ringpair.c,
 * built by corpus/build.mjs into build/corpus/pv/bugs/ and bisect/):
 * - each good scenario (corpus/scenarios/bugs/<name>-good.json) meets its
 *   expectations; each bad one fails the way its bug predicts, shown both by
 *   the run summary and by the shared ring's indices left in guest memory;
 * - the good and bad image of each bug differ in exactly one function (all
 *   other functions have the same size and, addresses normalised, the same
 *   disassembly);
 * - the bisect sequence: ringpair-v1..v5 pass the bisect template, v6..v8
 *   deadlock (v6 introduced the lost wake-up).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { beforeAll, describe, expect, it } from 'vitest';

import { checkExpect, runScenario } from '../../replay/scenario-run.js';
import { parseElf, SectionFlag, SymbolType, type ElfFile } from '../../sim/elf.js';
import type { Machine, RunSummary } from '../../sim/machine.js';
import { parseScenario, type Scenario } from '../../sim/scenario.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PV_OUT = join(ROOT, 'build', 'corpus', 'pv');
const SCENARIOS = join(ROOT, 'corpus', 'scenarios');

/** Must match PV_BUG_VARIANTS in corpus/build.mjs. */
const BUGS = [
  { name: 'lostwakeup', define: 'RINGPAIR_BUG_LOST_WAKEUP', fn: 'front_push_requests' },
  { name: 'masked', define: 'RINGPAIR_BUG_MASKED_PORT', fn: 'back_bind_port' },
  { name: 'offbyone', define: 'RINGPAIR_BUG_RSP_OFF_BY_ONE', fn: 'back_push_responses' },
  { name: 'finalcheck', define: 'RINGPAIR_BUG_NO_FINAL_CHECK', fn: 'back_requests_ready' },
  { name: 'grantleak', define: 'RINGPAIR_BUG_GRANT_LEAK', fn: 'front_end_grants' },
  { name: 'mapleak', define: 'RINGPAIR_BUG_MAP_LEAK', fn: 'back_disconnect' },
  { name: 'xenbus', define: 'RINGPAIR_BUG_XENBUS_SKIP', fn: 'back_announce' },
] as const;

/** The bisect sequence (PV_BISECT_SEQUENCES): versions 1..8, bad from FIRST_BAD on. */
const VERSIONS = 8;
const FIRST_BAD = 6;

/** The workload every ringpair scenario runs: 61 reads in bursts of 4. */
const REQUESTS = 61;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'corpus', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
});

function load(file: string, frontKernel?: string): Scenario {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { domains: Array<{ name: string; kernel: string }> };
  if (frontKernel !== undefined) {
    const front = json.domains.find((d) => d.name === 'front');
    if (front === undefined) throw new Error(`${file}: no domain 'front'`);
    front.kernel = frontKernel;
  }
  return parseScenario(json, file);
}

function run(s: Scenario): { summary: RunSummary; machine: Machine; problems: string[] } {
  const { summary, machine } = runScenario(s);
  return { summary, machine, problems: checkExpect(s, summary) };
}

function dom(r: RunSummary, name: string) {
  const d = r.domains.find((x) => x.name === name);
  if (d === undefined) throw new Error(`no domain ${name}`);
  return d;
}

function elfOf(path: string): ElfFile {
  return parseElf(new Uint8Array(readFileSync(path)));
}

/** The blkif sring header {req_prod, req_event, rsp_prod, rsp_event} as the
 * frontend (domain 1, which owns the page) sees it at the end of the run. */
function ringHeader(machine: Machine, image: string): { reqProd: number; reqEvent: number; rspProd: number; rspEvent: number } {
  const va = elfOf(image).symbol('ring_page')!.value;
  const bytes = machine.domains[0]!.vcpus[0]!.guest.read(va, 16)!;
  const v = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return { reqProd: v.getUint32(0, true), reqEvent: v.getUint32(4, true), rspProd: v.getUint32(8, true), rspEvent: v.getUint32(12, true) };
}

/** Pending and mask bits of `port` in the shared_info of domain `k` (0-based). */
function portBits(machine: Machine, k: number, image: string, port: number): { pending: boolean; masked: boolean } {
  const va = elfOf(image).symbol('shared_info_page')!.value;
  const g = machine.domains[k]!.vcpus[0]!.guest;
  const word = (off: number): bigint => new DataView(g.read(va + BigInt(off + (port >> 6) * 8), 8)!.buffer).getBigUint64(0, true);
  const bit = 1n << BigInt(port & 63);
  return { pending: (word(2048) & bit) !== 0n, masked: (word(2560) & bit) !== 0n };
}

// ---- function-level comparison ------------------------------------------------------

/**
 * Each function's disassembly with addresses made position-independent:
 * branch targets become <symbol+off>, rip-relative and absolute addresses
 * inside the image become section+offset. Keyed by symbol name.
 */
function functionBodies(path: string): Map<string, string> {
  const e = elfOf(path);
  const alloc = e.sections.filter((s) => (s.flags & SectionFlag.ALLOC) !== 0n && s.addr !== 0n);
  const place = (addr: bigint): string | null => {
    const s = alloc.find((x) => addr >= x.addr && addr < x.addr + BigInt(x.size));
    return s === undefined ? null : `${s.name}+0x${(addr - s.addr).toString(16)}`;
  };
  const normalise = (insn: string): string =>
    insn
      .replace(/\s+#\s*[0-9a-f]+ (<[^>]+>)$/, ' # $1')          // rip-relative comment: keep the symbol
      .replace(/-?0x[0-9a-f]+\(%rip\)/g, '(%rip)')              // its displacement moves with the code
      .replace(/\b[0-9a-f]+ (<[^>]+>)/g, '$1')                  // branch target address
      .replace(/\$?0x([0-9a-f]+)/g, (m, hex: string) => place(BigInt(`0x${hex}`)) ?? m);
  const dis = execFileSync('objdump', ['-d', '-w', '--no-show-raw-insn', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const bodies = new Map<string, string>();
  let name: string | null = null;
  let lines: string[] = [];
  const flush = (): void => {
    if (name === null) return;
    let key = name;
    for (let k = 2; bodies.has(key); k++) key = `${name}#${k}`;
    bodies.set(key, lines.join('\n'));
  };
  for (const line of dis.split('\n')) {
    const head = /^[0-9a-f]+ <(.+)>:$/.exec(line);
    if (head !== null) {
      flush();
      name = head[1]!;
      lines = [];
      continue;
    }
    const insn = /^\s*[0-9a-f]+:\t(.*)$/.exec(line);
    if (insn !== null && name !== null) lines.push(normalise(insn[1]!));
  }
  flush();
  return bodies;
}

/** FUNC symbol sizes by name (nm -S). */
function functionSizes(path: string): Map<string, bigint> {
  const sizes = new Map<string, bigint>();
  for (const s of elfOf(path).symbols) if (s.type === SymbolType.FUNC && s.shndx !== 0) sizes.set(s.name, s.size);
  return sizes;
}

function differing<T>(a: Map<string, T>, b: Map<string, T>): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

// ---- tests ----------------------------------------------------------------------------------

describe('bug variants', () => {
  it('match PV_BUG_VARIANTS in corpus/build.mjs', () => {
    const script = readFileSync(join(ROOT, 'corpus', 'build.mjs'), 'utf8');
    const list = /const PV_BUG_VARIANTS = \[([\s\S]*?)\];/.exec(script);
    expect(list).not.toBeNull();
    const entries = [...list![1]!.matchAll(/name: '([\w-]+)', source: 'ringpair', define: '(\w+)', fn: '(\w+)'/g)];
    expect(entries.map((m) => ({ name: m[1], define: m[2], fn: m[3] }))).toEqual(BUGS.map((b) => ({ ...b })));
  });

  describe.each(BUGS)('$name', ({ name, fn }) => {
    const good = join(PV_OUT, 'bugs', `${name}-good.elf`);
    const bad = join(PV_OUT, 'bugs', `${name}-bad.elf`);

    it(`good and bad builds differ only in ${fn}`, () => {
      const [gb, bb] = [functionBodies(good), functionBodies(bad)];
      expect(gb.size).toBeGreaterThan(90);
      expect([...gb.keys()].sort()).toEqual([...bb.keys()].sort());
      expect(differing(gb, bb)).toEqual([fn]);
      const [gs, bs] = [functionSizes(good), functionSizes(bad)];
      expect([...gs.keys()].sort()).toEqual([...bs.keys()].sort());
      expect(differing(gs, bs).filter((n) => n !== fn)).toEqual([]);
    });

    it('the good scenario powers both domains off and meets its expectations', () => {
      const { summary, problems } = run(load(join(SCENARIOS, 'bugs', `${name}-good.json`)));
      expect(summary.stop).toBe('all-stopped');
      expect(problems).toEqual([]);
      expect(dom(summary, 'front').console).toContain(`front: done, ${REQUESTS} requests, ${REQUESTS} sectors verified`);
      expect(dom(summary, 'back').console).toContain(`back: done, ${REQUESTS} requests served`);
    });
  });

  it('lostwakeup-bad: the lone last request is published at req_event without a notify; deadlock', () => {
    const s = load(join(SCENARIOS, 'bugs', 'lostwakeup-bad.json'));
    const { summary, machine, problems } = run(s);
    expect(summary.stop).toBe('deadlock');
    expect(problems).not.toEqual([]);
    const front = dom(summary, 'front');
    expect(front.console).toContain('front: 48/61 requests done');
    expect(front.console).not.toContain('front: done');
    expect(dom(summary, 'back').console).not.toContain('back: done');
    expect(summary.domains.map((d) => d.state)).toEqual(['running', 'running']);
    // 60 answered; the 61st sits published with req_event == req_prod: the
    // backend asked to be woken for exactly that slot and never was.
    expect(ringHeader(machine, join(PV_OUT, 'bugs', 'lostwakeup-bad.elf'))).toEqual({ reqProd: 61, reqEvent: 61, rspProd: 60, rspEvent: 61 });
  });

  it('masked-bad: the backend never wakes for the first burst; deadlock with the event pending behind its mask', () => {
    const image = join(PV_OUT, 'bugs', 'masked-bad.elf');
    const { summary, machine, problems } = run(load(join(SCENARIOS, 'bugs', 'masked-bad.json')));
    expect(summary.stop).toBe('deadlock');
    expect(problems).not.toEqual([]);
    expect(dom(summary, 'front').console.trimEnd().split('\n').at(-1)).toBe('front: backend connected');
    expect(dom(summary, 'back').console.trimEnd().split('\n').at(-1)).toMatch(/^back: connected to domain 1: ring gref \d+, port \d+ /);
    expect(ringHeader(machine, image)).toEqual({ reqProd: 4, reqEvent: 1, rspProd: 0, rspEvent: 1 });
    const port = Number(/back: connected .* port (\d+) /.exec(dom(summary, 'back').console)![1]);
    expect(portBits(machine, 1, image, port)).toEqual({ pending: true, masked: true });
  });

  it('offbyone-bad: rsp_prod runs one past the responses; the frontend panics on a garbage id', () => {
    const { summary, machine, problems } = run(load(join(SCENARIOS, 'bugs', 'offbyone-bad.json')));
    expect(problems).not.toEqual([]);
    const front = dom(summary, 'front');
    expect([front.state, front.reason]).toEqual(['crashed', 'crash']);
    expect(front.console).toContain('PANIC: front: response 4 carries id 0x0, which matches no request in flight');
    // The backend, still waiting for requests, is all that is left.
    expect(summary.stop).toBe('deadlock');
    expect(dom(summary, 'back').state).toBe('running');
    expect(ringHeader(machine, join(PV_OUT, 'bugs', 'offbyone-bad.elf'))).toMatchObject({ reqProd: 4, rspProd: 5 });
  });

  it('finalcheck-bad: the backend sleeps after the first burst with req_event behind req_prod; deadlock', () => {
    const { summary, machine, problems } = run(load(join(SCENARIOS, 'bugs', 'finalcheck-bad.json')));
    expect(summary.stop).toBe('deadlock');
    expect(problems).not.toEqual([]);
    // 4 answered, 4 more published without a notify (req_event 1 is not in (4, 8]); the frontend waits for them.
    expect(ringHeader(machine, join(PV_OUT, 'bugs', 'finalcheck-bad.elf'))).toEqual({ reqProd: 8, reqEvent: 1, rspProd: 4, rspEvent: 5 });
  });

  it.each(['grantleak', 'mapleak', 'xenbus'])('%s-bad: the run completes as the good one does (only the protocol is broken)', (name) => {
    const { summary, problems } = run(load(join(SCENARIOS, 'bugs', `${name}-bad.json`)));
    expect(summary.stop).toBe('all-stopped');
    expect(problems).toEqual([]);
    expect(dom(summary, 'front').console).toContain('front: closed');
    // The leak shows on the console too: the frontend could not end the grant the backend still maps.
    if (name === 'mapleak') expect(dom(summary, 'front').console).toMatch(/front: grant \d+ still mapped by the backend/);
    else expect(dom(summary, 'front').console).not.toContain('still mapped');
  });

  it('ringpair.json (the plain build) meets its expectations', () => {
    const { summary, problems } = run(load(join(SCENARIOS, 'ringpair.json')));
    expect(summary.stop).toBe('all-stopped');
    expect(problems).toEqual([]);
  });
});

describe('bisect sequence ringpair-v1..v8', () => {
  const template = join(SCENARIOS, 'bisect', 'ringpair.json');

  it('the template runs v1 as domain front against the fixed ringpair backend', () => {
    const s = load(template);
    expect(s.domains.map((d) => [d.name, d.kernel])).toEqual([
      ['front', '../../../build/corpus/pv/bisect/ringpair-v1.elf'],
      ['back', 'ringpair'],
    ]);
  });

  it.each(Array.from({ length: VERSIONS }, (_, k) => k + 1))('v%i', (n) => {
    const image = `../../../build/corpus/pv/bisect/ringpair-v${n}.elf`;
    const { summary, problems } = run(load(template, image));
    const front = dom(summary, 'front');
    if (n >= 2) expect(front.console).toContain(`ringpair: frontend v${n}\n`);
    else expect(front.console).not.toContain('ringpair: frontend v');
    if (n < FIRST_BAD) {
      expect(summary.stop).toBe('all-stopped');
      expect(problems).toEqual([]);
    } else {
      expect(summary.stop).toBe('deadlock');
      expect(problems).toContain(`front: console lacks 'front: done, ${REQUESTS} requests, ${REQUESTS} sectors verified'`);
    }
  });

  it('v8 and lostwakeup-bad are the same code', () => {
    const a = functionBodies(join(PV_OUT, 'bisect', 'ringpair-v8.elf'));
    const b = functionBodies(join(PV_OUT, 'bugs', 'lostwakeup-bad.elf'));
    expect(differing(a, b)).toEqual([]);
  });
});
