/**
 * The TUI on a trace shaped like a Linux dom0 next to a small domU: the
 * domU prints and talks over its rings at the start, then dom0 boots on
 * for thousands of events, writing its console through console_io 16
 * bytes at a time. At the end, the console pane shows both domains (the
 * domU's lines are dozens of chunks back), the rings pane the domU's rings
 * with their last slots and dom0's own xenstore ring served by xenstored;
 * a ring whose traffic is beyond the walk's reach is said to be, not
 * called silent.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MachineView } from '../replay/session.js';
import type { SimEvent, SimEventBody } from '../sim/events.js';
import { TraceReader } from '../trace/reader.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import { KEY, openApp, type Harness } from './harness.js';
import type { PointSource } from './replay-point.js';
import { ringsBefore } from './rings.js';
import { TimelineSource } from './source.js';
import { ringLines } from './text.js';

const DIR = fileURLToPath(new URL('../build/tui-test/', import.meta.url));
const TRACE = `${DIR}dom0-domu.xrr`;
const FAR = `${DIR}dom0-domu-far.xrr`;
/** dom0's boot after the domU is done: console_io pieces and hypercalls. */
const DOM0_PIECES = 800;
let h: Harness | null = null;
const trimmed = (x: { lines(): string[] }): string[] => x.lines().map((l) => l.trimEnd());

function write(path: string, chunkEvents: number): number {
  const header = { ...testHeader(), scenarioJson: JSON.stringify({ name: 'dom0-domu', domains: [{ name: 'dom0', dom0: true }, { name: 'hello' }] }) };
  const w = new TraceWriter(path, header, chunkEvents);
  let seq = 0;
  const add = (dom: number, body: SimEventBody): void => {
    w.append({ seq, time: seq * 1000, dom, vcpu: 0, icount: seq, rip: 0x1000n, ...body } as SimEvent);
    seq++;
  };
  const ring = (ring: 'console' | 'xenstore', front: number, back: number, port: number, n: number, slot: Record<string, string | number>): void =>
    add(front, { kind: 'ring', ring, frontDom: front, backDom: back, gref: -1, port, reqProdBefore: n - 1, reqProdAfter: n, rspProdBefore: 0, rspProdAfter: 0, reqCons: n - 1, rspCons: 0, slots: [slot] });
  // hello (d1): its console lines and a xenstore read.
  for (const [k, line] of ['Hello from xenrr PV guest', 'hello: Xen 4.17-xenrr', 'hello: done'].entries()) {
    ring('console', 1, 0, 2, k + 1, { dir: 'req', bytes: line.length + 1, text: `${line}\n` });
    add(1, { kind: 'console', source: 'ring', text: `${line}\n` });
  }
  ring('xenstore', 1, 0, 1, 1, { dir: 'req', type: 'READ', payload: '/local/domain/1/name' });
  // dom0: its own xenstore ring (served by xenstored), then a long console_io boot.
  ring('xenstore', 0, 0, 1, 1, { dir: 'req', type: 'WATCH', payload: 'backend' });
  for (let i = 0; i < DOM0_PIECES; i++) {
    const text = i % 4 === 3 ? `line ${String(i >> 2).padStart(4, '0')} ok\r\n` : `[    1.${String(i).padStart(6, '0')}]`.slice(0, 16);
    add(0, { kind: 'console', source: 'console_io', text });
    add(0, { kind: 'hypercall', op: 18, name: 'console_io', sub: 0, subName: 'CONSOLEIO_write', args: [0n, 16n, 0n, 0n, 0n], decoded: { count: text.length }, result: 0, caller: 0x1000n });
  }
  w.close('all-stopped', seq * 1000);
  return seq;
}

/** The machine at the end: the rings it knows (the replay behind the rings pane, faked). */
const VIEW: MachineView = {
  seq: 0, time: 0, vcpus: [], ports: [], console: [],
  rings: [
    { kind: 'xenstore', dom: 0, backDom: 0, gref: -1, port: 1, reqProd: 1, rspProd: 0 },
    { kind: 'console', dom: 1, backDom: 0, gref: -1, port: 2, reqProd: 3, rspProd: 0 },
    { kind: 'xenstore', dom: 1, backDom: 0, gref: -1, port: 1, reqProd: 1, rspProd: 0 },
  ],
};
const points = (): PointSource => ({ at: (t) => ({ view: { ...VIEW, seq: 'seq' in t ? t.seq : 0 }, code: new Map(), happened: 'seq' in t ? t.seq + 1 : 0 }) });

beforeAll(async () => {
  await initZstd();
  mkdirSync(DIR, { recursive: true });
});
afterEach(() => {
  h?.unmount();
  h = null;
});

describe('the TUI on a Linux dom0 next to a domU', () => {
  it('at the end of dom0\'s boot, the console pane shows both domains and the rings pane the domU\'s rings, 25 chunks back', async () => {
    const n = write(TRACE, 64);
    expect(Math.ceil(n / 64)).toBeGreaterThan(16); // beyond what the rings pane used to walk
    const x = (h = await openApp(TRACE, { openPoints: points, rows: 30, columns: 90 }));
    await x.press('G', KEY.tab, KEY.tab, KEY.tab);
    await x.settled();
    const top = trimmed(x).findIndex((l) => l.startsWith('── rings'));
    const rings = trimmed(x).slice(top, top + 7);
    expect(rings).toEqual([
      `── rings at event ${n - 1} ${'─'.repeat(90)}`.slice(0, 90),
      'xenstore d0->xenstored port 1  req prod 1 cons 0  rsp prod 0 cons 0  @7',
      '  req type="WATCH" payload="backend"',
      'xenstore d1->d0 port 1  req prod 1 cons 0  rsp prod 0 cons 0  @6',
      '  req type="READ" payload="/local/domain/1/name"',
      'console d1->d0 port 2  req prod 3 cons 2  rsp prod 0 cons 0  @4',
      '  req bytes=12 text="hello: done\\n"',
    ]);
    await x.press(KEY.tab);
    await x.settled();
    const con = trimmed(x).slice(top, -1);
    expect(con[0]).toMatch(/^── console up to event \d+ ─/);
    expect(con[0]).not.toContain('(tail)');
    // Half the pane each: dom0's last lines (console_io, as Xen shows them), then hello's (its ring console, by name).
    expect(con.slice(1)).toEqual([
      ...Array.from({ length: 6 }, (_, k) => `(d0) [    1.000${String(4 * (194 + k)).padStart(3, '0')}][    1.000${String(4 * (194 + k) + 1).padStart(3, '0')}][    1.000${String(4 * (194 + k) + 2).padStart(3, '0')}]line ${String(194 + k).padStart(4, '0')} ok`),
      '[hello] Hello from xenrr PV guest',
      '[hello] hello: Xen 4.17-xenrr',
      '[hello] hello: done',
      ...Array<string>(4).fill(''),
    ]);
  });

  it('a ring whose last traffic is beyond the walk back is shown with where the walk stopped, not as silent', async () => {
    const n = write(FAR, 8);
    const src = new TimelineSource(TraceReader.open(FAR));
    const rows = ringsBefore(src, n, VIEW);
    // 64 chunks of 8 events walked back from the end: the domU's rings and dom0's are further.
    const stop = src.reader.index.chunks[src.reader.index.chunks.length - 64]!.firstSeq;
    expect(rows.map((r) => [r.kind, r.frontDom, r.seq, r.before])).toEqual([['xenstore', 0, null, stop], ['console', 1, null, stop], ['xenstore', 1, null, stop]]);
    expect(ringLines(rows, 10, 80)[1]!.trimEnd()).toBe(`console d1->d0 port 2  req prod 3  rsp prod 0  (no traffic since event ${stop})`);
    // From the start the walk reaches the trace's beginning: silent rings are silent.
    expect(ringsBefore(src, 1, VIEW).filter((r) => r.seq === null).every((r) => r.before === undefined)).toBe(true);
    src.reader.close();
  });
});
