/**
 * Checkpoints through the trace's page store (trace/page-store.ts), end to
 * end: every checkpoint of a recorded corpus trace, and of a machine whose
 * pages are changed, kept, zeroed, freed and copied between checkpoints,
 * restores (alone, through the index or a scan) to exactly the machine the
 * straight run had there; a page that changed costs one new entry and one
 * that did not costs none; damage to a stored page is found by the frame
 * checks, the deep check and restore; traces older than the page store
 * still replay and seek; the same run recorded twice gives the same bytes,
 * and so does a run recorded through a writer thread.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, type Scenario } from '../sim/scenario.js';
import { machineMemory, restoreMachine, snapshotChanged, snapshotMachine, SnapshotError, type MachineSnapshot } from '../sim/snapshot.js';
import { TraceError, TraceReader } from '../trace/reader.js';
import { FRAME_HEADER } from '../trace/schema.js';
import { testHeader } from '../trace/test-events.js';
import { TraceWriter } from '../trace/writer.js';
import { initZstd } from '../trace/zstd.js';
import { fileTempDir } from './e2e/temp-dir.js';
import { record, traceHeader } from './record.js';
import { buildMachine } from './scenario-run.js';
import { ReplaySession } from './session.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const built = existsSync(`${ROOT}build/corpus/pv/pingpong.elf`);
const DIR = fileTempDir('xenrr-cpstore-');
const load = (name: string): Scenario => parseScenario(JSON.parse(readFileSync(`${ROOT}corpus/scenarios/${name}.json`, 'utf8')), `${ROOT}corpus/scenarios/${name}.json`);
const PAGE = 4096;

/** Checkpoint spacing per scenario: several checkpoints in each run. */
const CORPUS: Array<[string, { checkpointEvery: number; checkpointInsns: number }]> = [
  ['pingpong', { checkpointEvery: 2500, checkpointInsns: 0 }],
  ['gntcopy', { checkpointEvery: 25, checkpointInsns: 0 }],
  ['ringpair', { checkpointEvery: 100, checkpointInsns: 0 }],
  ['timer', { checkpointEvery: 20, checkpointInsns: 0 }],
  ['compute-sha256', { checkpointEvery: 0, checkpointInsns: 2_000_000 }],
  // dom0's blkback: ring pages written through kept views, and the disk overlay in the state.
  ['blkfront', { checkpointEvery: 60, checkpointInsns: 0 }],
  // dom0's netback and the switch: netif rings through kept views, frames in flight in the state.
  ['netfront', { checkpointEvery: 100, checkpointInsns: 0 }],
  ['netfront-pair', { checkpointEvery: 100, checkpointInsns: 0 }],
];

/** The straight run's full snapshots where the recorder's rule takes checkpoints. */
function straight(s: Scenario, every: number, insns: number): MachineSnapshot[] {
  const m = buildMachine(s, { sink: () => {} });
  const out: MachineSnapshot[] = [];
  let [seq, ins] = [0, 0];
  m.run(s.maxInsns, () => {
    if ((every > 0 && m.nextSeq - seq >= every) || (insns > 0 && m.instructions - ins >= insns)) {
      out.push(snapshotMachine(m));
      [seq, ins] = [m.nextSeq, m.instructions];
    }
  });
  return out;
}

/** A fresh machine of `s` restored from checkpoint `i` of `r`, snapshotted. */
function restoredSnap(s: Scenario, r: TraceReader, i: number): MachineSnapshot {
  const m = buildMachine(s);
  restoreMachine(m, r.checkpoint(i));
  return snapshotMachine(m);
}

function expectSame(got: MachineSnapshot, want: MachineSnapshot, what: string): void {
  expect([got.seq, got.time], what).toEqual([want.seq, want.time]);
  expect(Buffer.from(got.stateJson).toString(), what).toBe(Buffer.from(want.stateJson).toString());
  expect(got.pages.map((p) => p.mfn), what).toEqual(want.pages.map((p) => p.mfn));
  const bad = got.pages.findIndex((p, k) => !Buffer.from(p.data).equals(Buffer.from(want.pages[k]!.data)));
  expect(bad < 0 ? 'all pages equal' : `frame ${got.pages[bad]!.mfn} differs`, what).toBe('all pages equal');
}

const entries = (r: TraceReader): number => r.index.pageBlocks.reduce((n, b) => n + b.count, 0);

beforeAll(async () => {
  await initZstd();
});

describe.skipIf(!built)('checkpoints through the page store', () => {
  for (const [name, spacing] of CORPUS) {
    it(`${name}: every checkpoint restores to the straight run's machine there`, async () => {
      const s = load(name);
      const path = `${DIR}/${name}.xrr`;
      await record(s, path, spacing);
      const want = straight(s, spacing.checkpointEvery, spacing.checkpointInsns);
      const r = TraceReader.open(path);
      expect(r.integrity(true)).toEqual([]);
      expect(r.index.checkpoints.length).toBe(want.length);
      expect(want.length).toBeGreaterThanOrEqual(3);
      expect(r.index.pageBlocks.length).toBeGreaterThan(0);
      // From the last to the first: none needs another read before it.
      for (let i = want.length - 1; i >= 0; i--) expectSame(restoredSnap(s, r, i), want[i]!, `${name} checkpoint ${i}`);
      r.close();
    });
  }

  it('a trace cut after a checkpoint (no index) finds its pages by scanning, and restores', async () => {
    const s = load('pingpong');
    const path = `${DIR}/pp-cut-src.xrr`;
    await record(s, path, { checkpointEvery: 2500 });
    const full = TraceReader.open(path);
    const c = full.index.checkpoints[2]!;
    const end = c.offset + FRAME_HEADER + readFileSync(path).readUInt32LE(c.offset + 1);
    const want = restoredSnap(s, full, 2);
    full.close();
    writeFileSync(`${DIR}/pp-cut.xrr`, readFileSync(path).subarray(0, end));
    const r = TraceReader.open(`${DIR}/pp-cut.xrr`);
    expect(r.complete).toBe(false);
    expect(r.damage).toEqual([]);
    expect(r.index.checkpoints.length).toBe(3);
    expect(r.index.pageBlocks.length).toBeGreaterThan(0);
    expectSame(restoredSnap(s, r, 2), want, 'scanned checkpoint 2');
    r.close();
  });

  it('a machine whose pages change, stay, zero, free and move between checkpoints restores exactly; only changed pages cost entries', () => {
    const s = load('hello');
    const m = buildMachine(s);
    const mem = m.xen.frames.mem;
    const path = `${DIR}/synthetic.xrr`;
    const w = new TraceWriter(path, testHeader(), 64, { base: snapshotMachine(m, { resetDirty: true }).pages });
    const guest = m.domains[0]!.p2m;
    const frame = (mfn: number): Uint8Array => new Uint8Array(mem.view(mfn)!.buffer, 0, PAGE);
    // a and k: pages of the loaded kernel (mostly not zero); b, z, q: others.
    const full = guest.filter((mfn) => mem.has(mfn) && frame(mfn).filter((x) => x !== 0).length > 2000);
    const [a, k] = [full[0]!, full[1]!] as const;
    const [b, z, q] = guest.filter((mfn) => !full.includes(mfn)).slice(-3) as [number, number, number];
    const want: MachineSnapshot[] = [];
    const stored: number[] = [];
    // (The machine never runs: every checkpoint is at seq 0, which the trace allows.)
    const cp = (): void => {
      want.push(snapshotMachine(m));
      w.checkpoint(snapshotChanged(m));
      stored.push(w.index.pageBlocks.reduce((n, e) => n + e.count, 0));
    };
    const kBytes = frame(k).slice();
    // 0: a patched, z given bytes, q a copy of k (a base page elsewhere), b left alone.
    const put = (mfn: number): Uint8Array => new Uint8Array(mem.frame(mfn)!.buffer, 0, PAGE);
    put(a)[17]! ^= 0x5a;
    put(z).fill(0x33, 100, 300);
    put(q).set(kBytes);
    cp();
    // 1: nothing changes.
    cp();
    // 2: a back to its bytes as built, z zeroed, b changed, q freed.
    put(a)[17]! ^= 0x5a;
    put(z).fill(0);
    put(b)[4000] = 0x99;
    mem.free(q);
    cp();
    // 3: z as at checkpoint 0 again: no new entry for the page.
    put(z).fill(0x33, 100, 300);
    cp();
    w.close('all-stopped', 0);
    const r = TraceReader.open(path);
    expect(r.integrity(true)).toEqual([]);
    for (let i = 0; i < want.length; i++) {
      const fresh = buildMachine(s);
      restoreMachine(fresh, r.checkpoint(i));
      expectSame(snapshotMachine(fresh), want[i]!, `synthetic checkpoint ${i}`);
    }
    // Entries added per checkpoint (each adds its state's new pieces too, at most a few when little changed).
    const added = stored.map((n, i) => n - (stored[i - 1] ?? 0));
    const statePieces = (i: number): number => r.checkpointHead(i).stateJson.length;
    expect(statePieces(0)).toBeGreaterThan(0);
    // 1 added nothing but state pieces; 3 reuses z's page from 0.
    const cp1 = r.checkpoint(1);
    const cp0 = r.checkpoint(0);
    expect(cp1.pages.map((p) => p.mfn)).toEqual(cp0.pages.map((p) => p.mfn));
    expect(added[1]).toBeLessThanOrEqual(3);
    expect(added[3]).toBeLessThanOrEqual(3);
    // Page ids: unchanged frames keep theirs, a zeroed frame is the zero page, z's bytes at 3 are 0's.
    const at = (c: typeof cp0, mfn: number) => c.pages.find((p) => p.mfn === mfn);
    expect(at(r.checkpoint(2), q)).toBeUndefined();
    expect(at(r.checkpoint(2), z)!.data.every((x) => x === 0)).toBe(true);
    expect(Buffer.from(at(r.checkpoint(3), z)!.data).equals(Buffer.from(at(cp0, z)!.data))).toBe(true);
    // a patched is stored against its own base frame; q (k's bytes) against k's, as all zeros.
    expect(at(cp0, a)!.base).toBe(a);
    expect(at(cp0, a)!.data.filter((x) => x !== 0).length).toBe(1);
    expect(at(cp0, q)!.base).toBe(k);
    expect(at(cp0, q)!.data.every((x) => x === 0)).toBe(true);
    r.close();
  });
});

describe.skipIf(!built)('damage to the page store', () => {
  const s = (): Scenario => load('pingpong');
  const PATH = `${DIR}/pp-damage.xrr`;
  beforeAll(async () => {
    await record(s(), PATH, { checkpointEvery: 2500 });
  });

  /** A copy of the trace with one byte of page block `i`'s payload flipped (`fixCrc`: and the frame's crc made to match). */
  function damaged(i: number, fixCrc: boolean): string {
    const bytes = Buffer.from(readFileSync(PATH));
    const r = TraceReader.open(PATH);
    const b = r.index.pageBlocks[i]!;
    r.close();
    const at = b.offset + FRAME_HEADER + Math.floor(b.compressedSize / 2);
    bytes[at]! ^= 0x20;
    if (fixCrc) bytes.writeUInt32LE(crc32(bytes.subarray(b.offset + FRAME_HEADER, b.offset + FRAME_HEADER + b.compressedSize)), b.offset + 5);
    const out = `${DIR}/pp-damage-${i}-${fixCrc}.xrr`;
    writeFileSync(out, bytes);
    return out;
  }

  it('a damaged page block is named by every reader, and by restoring a checkpoint that uses it', () => {
    const path = damaged(0, false);
    const r = TraceReader.open(path);
    const b = r.index.pageBlocks[0]!;
    expect(r.integrity(false)).toEqual([`page block 0 at 0x${b.offset.toString(16)} is damaged (crc mismatch)`]);
    expect(() => ReplaySession.open(r)).toThrow(TraceError);
    expect(() => r.checkpoint(r.index.checkpoints.length - 1)).toThrow(new RegExp(`page block 0 at 0x${b.offset.toString(16)} is damaged \\(crc mismatch\\)`));
    r.close();
  });

  it('a page block whose crc was made to match fails the deep check and the restore', () => {
    const path = damaged(0, true);
    const r = TraceReader.open(path);
    const b = r.index.pageBlocks[0]!;
    expect(r.integrity(false)).toEqual([]);
    expect(r.integrity(true)).toHaveLength(1);
    expect(r.integrity(true)[0]).toMatch(new RegExp(`^page block 0 at 0x${b.offset.toString(16)} is damaged \\((does not decompress|hash mismatch|does not decode|malformed page block)\\)$`));
    expect(() => r.checkpoint(0)).toThrow(TraceError);
    // replay's full check says so too (exit 2 in the CLI).
    expect(() => ReplaySession.open(r).verify()).toThrow(TraceError);
    r.close();
  });

  it('a stored page that does not match its crc, or a base that is not the recorded one, fails the restore', () => {
    const r = TraceReader.open(PATH);
    const c = r.checkpoint(r.index.checkpoints.length - 1);
    r.close();
    const k = c.pages.findIndex((p) => p.crc !== undefined && p.data.some((x) => x !== 0));
    const bad = { ...c, pages: c.pages.map((p, i) => (i === k ? { ...p, data: p.data.map((x, j) => (j === 9 ? x ^ 1 : x)) } : p)) };
    expect(() => restoreMachine(buildMachine(s()), bad)).toThrow(new RegExp(`frame ${c.pages[k]!.mfn} does not match its checksum`));
    // Against a machine built from another image, the pages stored against its memory do not resolve.
    const other = parseScenario({ ...JSON.parse(readFileSync(`${ROOT}corpus/scenarios/pingpong.json`, 'utf8')), domains: JSON.parse(readFileSync(`${ROOT}corpus/scenarios/pingpong.json`, 'utf8')).domains.map((d: { kernel: string }) => ({ ...d, kernel: 'hello' })) }, `${ROOT}corpus/scenarios/pingpong.json`);
    expect(c.pages.some((p) => p.base !== undefined)).toBe(true);
    expect(() => restoreMachine(buildMachine(other), c)).toThrow(SnapshotError);
  });

  it('a seek that would start from a checkpoint that does not restore says which, in one line', () => {
    // Recorded against a base that is not the machine as built (one byte of each of its pages flipped).
    const sc = s();
    const path = `${DIR}/pp-wrong-base.xrr`;
    let w: TraceWriter | null = null;
    const m = buildMachine(sc, { sink: (e, pos) => w!.append(e, pos) });
    const base = machineMemory(m, { resetDirty: true }).map((p) => ({ ...p, data: p.data.map((x, j) => (j === 0 ? x ^ 1 : x)) }));
    w = new TraceWriter(path, { ...traceHeader(sc, sc.seed, 2500), checkpointInsns: 0 }, undefined, { base });
    let last = 0;
    m.run(sc.maxInsns, () => {
      if (w!.eventCount - last >= 2500) {
        w!.checkpoint(snapshotChanged(m));
        last = w!.eventCount;
      }
    });
    w.close('all-stopped', m.xen.clock);
    const r = TraceReader.open(path);
    expect(r.integrity(true)).toEqual([]);
    const n = r.index.eventCount;
    const at = r.index.checkpoints.at(-1)!.offset;
    expect(() => ReplaySession.open(r).seek(n - 1)).toThrow(new RegExp(`^${path.replace(/[/.]/g, '\\$&')}: checkpoint ${r.index.checkpoints.length - 1} at 0x${at.toString(16)} does not restore \\(frame \\d+ does not match its checksum`));
    // Its events are intact: a replay from the start matches.
    expect(ReplaySession.open(r).verify().divergence).toBeNull();
    r.close();
  });
});

describe.skipIf(!built)('traces older than the page store', () => {
  it('still replay, and seek from their checkpoints to the same machines', async () => {
    const s = load('pingpong');
    const [old, now] = [`${DIR}/pp-old.xrr`, `${DIR}/pp-new.xrr`];
    await record(s, old, { checkpointEvery: 2500, inlinePages: true });
    await record(s, now, { checkpointEvery: 2500 });
    const ro = TraceReader.open(old);
    const rn = TraceReader.open(now);
    expect(ro.index.pageBlocks).toEqual([]);
    expect(ro.integrity(true)).toEqual([]);
    expect(ro.index.checkpoints.length).toBe(rn.index.checkpoints.length);
    expect(ro.size).toBeGreaterThan(rn.size);
    for (let i = 0; i < ro.index.checkpoints.length; i++) {
      expect(ro.checkpoint(i).pages.every((p) => p.base === undefined && p.crc === undefined)).toBe(true);
      expectSame(restoredSnap(s, ro, i), restoredSnap(s, rn, i), `checkpoint ${i}, old against new`);
    }
    const session = ReplaySession.open(ro);
    expect(session.verify().divergence).toBeNull();
    const n = ro.index.eventCount;
    const v = session.seek(n - 10);
    expect(session.stats.lastOrigin).toBe(ro.index.checkpoints.length - 1);
    expect(v.seq).toBe(n - 10);
    ro.close();
    rn.close();
  });
});

describe.skipIf(!built)('determinism', () => {
  it('the same run recorded twice gives the same bytes, checkpoints and page store included', async () => {
    const s = load('ringpair');
    const [a, b] = [`${DIR}/rp-a.xrr`, `${DIR}/rp-b.xrr`];
    await record(s, a, { checkpointEvery: 150 });
    await record(s, b, { checkpointEvery: 150 });
    const r = TraceReader.open(a);
    expect(r.index.checkpoints.length).toBeGreaterThan(2);
    expect(entries(r)).toBeGreaterThan(0);
    r.close();
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  // (record() picks the thread for big machines only: the corpus's are forced through it here.)
  for (const [name, every] of [['ringpair', 150], ['blkfront', 60]] as const) {
    it(`${name}: recorded through a writer thread, the same bytes as in the recorder's thread`, async () => {
      const s = load(name);
      const [a, b] = [`${DIR}/${name}-here.xrr`, `${DIR}/${name}-thread.xrr`];
      const here = await record(s, a, { checkpointEvery: every, writerThread: false });
      const there = await record(s, b, { checkpointEvery: every, writerThread: true });
      expect(there.checkpoints).toBeGreaterThan(2);
      expect(there.bytes).toBe(here.bytes);
      expect(readFileSync(b).equals(readFileSync(a))).toBe(true);
    });
  }
});
