/**
 * dom0's block backend end to end, with the corpus's blkfront: the
 * scenario meets its expectations and is deterministic; recorded twice it
 * gives byte-identical traces, which replay; the disk image is an input
 * (its sha256 in the header, a changed image refused in one line); mode
 * "w" never touches the image, "w!" writes through, "r" refuses writes;
 * the frontend survives a backend restart; a frontend that dies leaves no
 * grant mapped and no device behind.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { SimEvent } from '../../sim/events.js';
import type { Machine } from '../../sim/machine.js';
import { sring } from '../../sim/xen/public/io/ring.js';
import { parseScenario, type Scenario } from '../../sim/scenario.js';
import { buildMachine, checkExpect } from '../scenario-run.js';
import { testTempDir } from './temp-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = `${ROOT}bin/xenrr`;
const FILE = `${ROOT}corpus/scenarios/blkfront.json`;
const IMAGE = `${ROOT}build/corpus/disks/blkfront.img`;
const built = existsSync(`${ROOT}build/corpus/pv/blkfront.elf`) && existsSync(IMAGE);
const xenrr = (cwd: string, ...args: string[]) => spawnSync(BIN, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
const json = (): Record<string, unknown> => JSON.parse(readFileSync(FILE, 'utf8')) as Record<string, unknown>;
const consoleOf = (m: Machine): string => Buffer.from(m.domains[0]!.console).toString('latin1');

/** The blkfront scenario in `dir`, its disk a copy of the corpus image named `./front.img`, with changes. */
function scenarioIn(dir: string, disk: Record<string, unknown>, domain: Record<string, unknown> = {}, expect?: unknown): string {
  copyFileSync(IMAGE, `${dir}/front.img`);
  const s = json();
  const d = (s.domains as Array<Record<string, unknown>>)[0]!;
  Object.assign(d, domain, { disks: [{ vdev: 'xvda', target: './front.img', mode: 'w', format: 'raw', ...disk }] });
  if (expect !== undefined) s.expect = expect;
  writeFileSync(`${dir}/blkfront.json`, JSON.stringify(s));
  return `${dir}/blkfront.json`;
}

/** Runs `s`, calling `at` between slices; returns the machine, its summary and console. */
function run(s: Scenario, at?: (m: Machine) => void) {
  const m = buildMachine(s);
  const summary = m.run(s.maxInsns, at === undefined ? undefined : () => at(m));
  return { m, summary, text: consoleOf(m) };
}

describe.skipIf(!built)('blkback with the corpus blkfront', () => {
  const s = parseScenario(json(), FILE);

  it('the scenario meets its expectations, and the disk holds what the guest wrote (the image does not)', () => {
    const before = sha(IMAGE);
    const { m, summary } = run(s);
    expect(checkExpect(s, summary)).toEqual([]);
    expect(sha(IMAGE)).toBe(before);
    const disk = m.toolstack.disksOf(1)[0]!;
    expect([disk.vdev, disk.devid]).toEqual(['xvda', 51712]);
    const b = new Uint8Array(512);
    disk.store.read(1008 * 512, 512, b, 0);
    // corpus/pv/blkfront.h write_byte(tag 1, sector 1008, i)
    expect([...b.subarray(0, 4)]).toEqual([0, 1, 2, 3].map((i) => (61 + 1008 * 29 + i * 13) & 0xff));
    disk.store.read(1000 * 512, 512, b, 0);
    expect(b.every((x) => x === 0)).toBe(true); // discarded
    // Every grant the backend mapped is unmapped again (the frontend checked too: end_access succeeded).
    expect([...m.domains[0]!.active.values()].every((a) => a.hostR + a.hostW + a.devR + a.devW === 0)).toBe(true);
  });

  it('recorded twice: byte-identical traces, the disk in the header, and replay matches', () => {
    const dir = testTempDir('xenrr-blk-');
    expect(xenrr(ROOT, 'record', FILE, '-o', `${dir}/a.xrr`, '--checkpoint-every', '200').status).toBe(0);
    expect(xenrr(ROOT, 'record', FILE, '-o', `${dir}/b.xrr`, '--checkpoint-every', '200').status).toBe(0);
    expect(readFileSync(`${dir}/a.xrr`).equals(readFileSync(`${dir}/b.xrr`))).toBe(true);
    const info = JSON.parse(xenrr(ROOT, 'info', '--json', `${dir}/a.xrr`).stdout) as { images: Array<{ role: string; domain: string; name: string; sha256: string }> };
    expect(info.images.map((i) => [i.role, i.domain, i.name])).toEqual([['kernel', 'front', 'blkfront'], ['disk', 'front', 'blkfront.img']]);
    expect(info.images[1]!.sha256).toBe(sha(IMAGE));
    const r = xenrr(ROOT, 'replay', `${dir}/a.xrr`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^replay: all \d+ events match/);
    // blkif traffic is in the trace, decoded, and dom0's notifications with it.
    const rings = xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--kind', 'ring').stdout;
    expect(rings).toMatch(/blkif dom1->dom0 req \d+->\d+ rsp/);
    expect(xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--dom', '0', '--kind', 'evtchn_send').stdout).toMatch(/d0v- +send port=\d+ -> dom1:\d+/);
    expect(xenrr(ROOT, 'dump', `${dir}/a.xrr`, '--dom', 'dom0', '--kind', 'xenstore').stdout).toMatch(/XS_WRITE \/local\/domain\/0\/backend\/vbd\/1\/51712\/state = "4"/);
  });

  it('replay refuses a disk image that differs from the recorded one: one line, exit 2', () => {
    const dir = testTempDir('xenrr-blk-');
    const file = scenarioIn(dir, {});
    expect(xenrr(dir, 'record', file, '-o', `${dir}/t.xrr`).status).toBe(0);
    const img = readFileSync(`${dir}/front.img`);
    img[123456] = img[123456]! ^ 1;
    writeFileSync(`${dir}/front.img`, img);
    const r = xenrr(dir, 'replay', `${dir}/t.xrr`);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/disk image \.\/front\.img of domain 'front' differs from the recorded one: .*front\.img \(sha256 [0-9a-f]{16}\.\.\., recorded [0-9a-f]{16}\.\.\./);
  });

  it('mode "w!" writes through to the image; its recording replays only with the image as it was', () => {
    const dir = testTempDir('xenrr-blk-');
    const file = scenarioIn(dir, { mode: 'w!' });
    const orig = readFileSync(`${dir}/front.img`);
    expect(xenrr(dir, 'record', file, '-o', `${dir}/t.xrr`).status).toBe(0);
    const now = readFileSync(`${dir}/front.img`);
    expect(now.equals(orig)).toBe(false);
    expect([...now.subarray(1008 * 512, 1008 * 512 + 4)]).toEqual([0, 1, 2, 3].map((i) => (61 + 1008 * 29 + i * 13) & 0xff));
    expect(now.subarray(1000 * 512, 1001 * 512).every((x) => x === 0)).toBe(true);
    expect(now.subarray(5000 * 512, 5001 * 512).equals(orig.subarray(5000 * 512, 5001 * 512))).toBe(true);
    expect(xenrr(dir, 'replay', `${dir}/t.xrr`).status).toBe(2);
    writeFileSync(`${dir}/front.img`, orig);
    const r = xenrr(dir, 'replay', `${dir}/t.xrr`);
    expect(r.status).toBe(0);
    expect(readFileSync(`${dir}/front.img`).equals(orig)).toBe(true); // replay never writes through
  });

  it('mode "r": a read-only disk, reads work and every write is refused', () => {
    const dir = testTempDir('xenrr-blk-');
    const file = scenarioIn(dir, { mode: 'r' }, { cmdline: 'readonly=1' }, { console: { front: ['blkfront: read-only disk ok'] }, shutdown: { front: 'poweroff' } });
    const ro = parseScenario(JSON.parse(readFileSync(file, 'utf8')), file);
    const be = '/local/domain/0/backend/vbd/1/51712';
    let seen: Array<string | null> | null = null;
    const { summary } = run(ro, (m) => {
      if (seen === null && m.store.read(`${be}/state`) === '4') seen = ['info', 'feature-flush-cache', 'feature-barrier', 'feature-discard', 'discard-granularity'].map((k) => m.store.read(`${be}/${k}`));
    });
    expect(checkExpect(ro, summary)).toEqual([]);
    expect(seen).toEqual(['4', '0', '0', null, null]);
  });

  it('the frontend reconnects after a backend restart, mid-session, and every check still passes', () => {
    for (const mark of ['session 1: reads', 'session 2: what session 1 wrote']) {
      let phase = 0;
      let slices = 0;
      const { summary, text } = run(s, (m) => {
        if (phase === 0 && consoleOf(m).includes(mark)) {
          m.blkback.unload();
          phase = 1;
        } else if (phase === 1 && ++slices === 3) {
          m.blkback.load();
          phase = 2;
        }
      });
      expect(phase, mark).toBe(2);
      expect(checkExpect(s, summary), mark).toEqual([]);
      expect(text, mark).toMatch(/blkfront: backend in state 6: reconnecting/);
      expect(text, mark).toMatch(/blkfront: done, \d+ requests, \d+ KiB read, \d+ KiB written, [1-9]\d* reconnects, all data verified/);
    }
  });

  it('a backend that comes back while the frontend stays connected attaches to its ring where it stood', () => {
    let phase = 0;
    const { summary, text } = run(s, (m) => {
      if (phase === 0 && consoleOf(m).includes('session 1: indirect read and write')) {
        m.blkback.unload();
        m.blkback.load();
        phase = 1;
      }
    });
    expect(phase).toBe(1);
    expect(checkExpect(s, summary)).toEqual([]);
    expect(text).toMatch(/all data verified/);
  });

  it('a frontend publishing more requests than its ring holds gets its ring halted, as blkback halts it', () => {
    const events: SimEvent[] = [];
    const m = buildMachine(s, { sink: (e) => events.push(e) });
    let done = false;
    m.run(s.maxInsns, () => {
      const ring = m.blkback.list[0]?.rings[0];
      if (!consoleOf(m).includes('session 1: reads') || ring === undefined) return false;
      const head = m.xen.frames.mem.frame(ring.pages[0]!.mfn)!;
      head.setUint32(sring.req_prod, (head.getUint32(sring.rsp_prod, true) + ring.entries + 1) >>> 0, true);
      const before = ring.reqCons;
      m.xen.send(m.domains[0]!, ring.fePort, null);
      expect(ring.halted).toBe(true);
      expect(ring.reqCons).toBe(before);
      done = true;
      return true;
    });
    expect(done).toBe(true);
    expect(events.some((e) => e.kind === 'milestone' && /blkback 1\/51712: frontend provided bogus ring requests .* halting ring processing/.test(e.text))).toBe(true);
  });

  it('a frontend that dies mid-session leaves no grant mapped, no dom0 port and no device behind', () => {
    let killed = false;
    const { m } = run(s, (mm) => {
      if (!killed && consoleOf(mm).includes('session 1: indirect read and write')) {
        mm.xen.shutdown(mm.domains[0]!, 'crash');
        killed = true;
      }
    });
    expect(killed).toBe(true);
    expect(m.store.read('/local/domain/0/backend/vbd/1/51712/state')).toBeNull();
    expect(m.store.read('/local/domain/1/device/vbd/51712/state')).toBeNull();
    expect(m.blkback.list).toEqual([]);
    expect([...m.domains[0]!.active.values()].every((a) => a.hostR + a.hostW + a.devR + a.devW === 0)).toBe(true);
    const st = m.dom0.snapshot();
    expect(st.maptrack.every((x) => x === null)).toBe(true);
    expect(st.ports.filter((p) => p !== null && p.driver === 'vbd')).toEqual([]);
  });
});
